"""Where an export goes and writing it: private (0600), atomic (a temporary file renamed into place, so a
crash never leaves half a report), and never over an existing file unless the user said so.
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import date
from pathlib import Path

from platformdirs import user_documents_path

from acct_tui.output_files import TargetExists, target_path, write_file

MAX_SLUG = 60


ExportExists = TargetExists  # the name the reports' callers know it by


def slug(name: str) -> str:
    """A file-name-safe form of an account name: letters and digits of any script, joined by dashes."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = re.sub(r"[^\w]+|_+", "-", text).strip("-")
    return text[:MAX_SLUG].rstrip("-") or "account"


def default_export_path(subject: str, as_of: date, extension: str) -> Path:
    """`~/Documents/acct-<subject>-<date>.<ext>` (the documents folder as the desktop defines it)."""
    return user_documents_path() / f"acct-{slug(subject)}-{as_of.isoformat()}.{extension}"


def write_export(content: str, path: str | os.PathLike[str], force: bool = False, *,
                 create_folder: bool = False) -> Path:
    """Write `content` (UTF-8) to `path` and return it. Raises `ExportExists` when the file exists and
    `force` is false, and DomainError with the reason when the file may not or cannot be written (see
    `acct_tui.output_files`: never a database, its companion files or anything but a regular file)."""
    target = target_path(path)
    write_file(target, lambda stream, _: stream.write(content.encode("utf-8")), force=force,
               create_folder=create_folder)
    return target
