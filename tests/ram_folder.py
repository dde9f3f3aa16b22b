"""A folder in RAM for what the tests write, where the machine has one with room: on a disk, every SQLite
commit (`synchronous=full`) is an fsync, about 25 ms a test, and cloning a PostgreSQL database writes its
files out, about 250 ms; in RAM both cost a few ms. No test looks at what a power cut would leave."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

RAM_FOLDER = Path("/dev/shm")
ROOM_NEEDED = 2 * 1024**3


def ram_folder() -> Path | None:
    """The RAM folder, if it is there, writable and has room; else None (the system's temporary folder)."""
    try:
        roomy = os.access(RAM_FOLDER, os.W_OK) and shutil.disk_usage(RAM_FOLDER).free >= ROOM_NEEDED
    except OSError:
        return None
    return RAM_FOLDER if roomy else None
