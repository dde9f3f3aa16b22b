"""Helpers for tests that run acct-tui as real processes: the CLI as a user runs it, and writer children.

A child process has its own SQLite connection, its own locks and its own death: what two terminals, a
closed SSH session or `kill -9` do to a real user. Nothing here is mocked.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
BURST_WRITER = Path(__file__).with_name("burst_writer.py")

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment (its private database folder and user), with this checkout importable."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": path, "NO_COLOR": "1", **extra}


def _drop_root_override() -> None:
    """In the child, before exec: root loses the power to ignore file modes, so a read-only file is read-only
    for it as for any user (the capabilities leave the bounding set, and exec recomputes root's from it)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def _limit_file_size(limit: int) -> Callable[[], None]:
    """A full disk as the process sees it: writes past `limit` bytes in any file fail (EFBIG), without root,
    a special file system or filling the real disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def modes_bind_everyone() -> bool:
    """Whether a child can be made to respect file modes (always for a normal user; for root, if it may drop
    its override capability, which containers normally allow)."""
    result = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_drop_root_override, capture_output=True)
    return result.returncode == 0


def acct(*args: str, db: Path | str | None = None, read_only_rules: bool = False, file_size_limit: int = 0,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `acct-tui [--db DB] ARGS` as a separate process."""
    steps = ([_drop_root_override] if read_only_rules else []) + (
        [_limit_file_size(file_size_limit)] if file_size_limit else [])

    def prepare() -> None:
        for step in steps:
            step()

    command = [sys.executable, "-m", "acct_tui", *(["--db", str(db)] if db else []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=child_env(),
                          preexec_fn=prepare if steps else None, stdin=subprocess.DEVNULL,
                          # relative names (a backup FILE) land beside the database file
                          cwd=db.parent if isinstance(db, Path) and db.parent.is_dir() else None)


def start_writer(db: Path, label: str, count: int, *extra: str) -> subprocess.Popen[str]:
    """A child that writes `count` times through the services and prints each committed id at once."""
    return subprocess.Popen(
        [sys.executable, str(BURST_WRITER), str(db), label, str(count), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(), stdin=subprocess.DEVNULL,
    )
