"""Writing an export file: private (0600), atomic (a temporary file renamed into place, so a crash never
leaves half a report), and never over an existing file unless the user said so.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from datetime import date
from pathlib import Path

from platformdirs import user_documents_path

from acct_tui.errors import DomainError

MAX_SLUG = 60


class ExportExists(DomainError):
    """The chosen file exists and replacing it was not confirmed; `path` is the file."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists.")
        self.path = path


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
    `force` is false, and DomainError with the reason when the file cannot be written."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise DomainError(f"{target} is a folder: give a file name.")
    if not force and target.exists():
        raise ExportExists(target)
    folder = target.parent
    try:
        if create_folder:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        elif not folder.exists():
            raise DomainError(f"The folder {folder} does not exist.")
        elif not folder.is_dir():
            raise DomainError(f"{folder} is not a folder.")
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise DomainError(f"Cannot write {target}: {error.strerror or error}.") from None
    try:
        with os.fdopen(descriptor, "wb") as stream:  # mkstemp made it 0600 whatever the umask
            stream.write(content.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        if force:
            os.replace(temporary, target)
        else:
            _link_without_replacing(temporary, target)
    except FileExistsError:
        raise ExportExists(target) from None
    except OSError as error:
        raise DomainError(f"Cannot write {target}: {error.strerror or error}. Nothing was written.") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _link_without_replacing(temporary: str, target: Path) -> None:
    """Put the finished file in place only if nothing is there: a hard link fails if the name is taken,
    even when another program creates it at the same moment. File systems without hard links (FAT on a
    USB stick) fall back to check-then-rename."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(temporary, target)
