"""Files acct-tui writes for the user (report exports and database backups), written one way only.

A file is written whole into a private (0600) temporary file made with O_EXCL beside the target, then
renamed into place, so a crash never leaves half a file and a shared folder cannot hand us someone else's
file. Whatever the user confirms (`--force`, `y` in the app), some targets are never written: anything
that is not a regular file (a folder, a device such as /dev/null, a pipe, a symbolic link), an SQLite
database (the live one above all) and a database's `-wal`, `-shm` and `-journal` files.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, TypeVar

from acct_tui.errors import DomainError

Result = TypeVar("Result")

SQLITE_HEADER = b"SQLite format 3\x00"
WAL_HEADERS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")
SHOWN_PATH_CHARACTERS = 120  # a longer path is shortened in messages, which stay one readable line


class TargetExists(DomainError):
    """The chosen file exists and replacing it was not confirmed; `path` is the file."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{shown_path(path)} already exists.")
        self.path = path


def shown_path(path: str | os.PathLike[str]) -> str:
    """`path` for a message: its beginning and its end when it is very long."""
    text = os.fspath(path)
    if len(text) <= SHOWN_PATH_CHARACTERS:
        return text
    half = SHOWN_PATH_CHARACTERS // 2
    return f"{text[:half]}…{text[-half:]}"


def target_path(text: str | os.PathLike[str]) -> Path:
    """The path the user gave, `~` expanded; a name no file can have is refused with the reason."""
    try:
        path = Path(text).expanduser()
        os.fspath(path).encode()  # lone surrogates (bytes that are not UTF-8) cannot name a file here
    except (RuntimeError, UnicodeError):  # `~nobody/x`, bytes that are not UTF-8
        raise DomainError(f"“{shown_path(text)}” cannot be used as a file name.") from None
    if "\x00" in os.fspath(path):
        raise DomainError(f"“{shown_path(text)}” cannot be used as a file name.")
    return path


def _status(path: Path, follow: bool = False) -> os.stat_result | None:
    """The file's status, None when nothing is there; a path that cannot be looked at is refused."""
    try:
        return path.stat() if follow else path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:  # permission denied on a folder on the way, a name too long, a loop of links
        raise DomainError(f"Cannot use {shown_path(path)}: {error.strerror or error}.") from None


def _starts_with(path: Path, headers: tuple[bytes, ...]) -> bool:
    try:
        with path.open("rb") as file:
            start = file.read(max(len(header) for header in headers))
    except OSError as error:
        raise DomainError(f"Cannot read {shown_path(path)} to make sure it is not a database: "
                          f"{error.strerror or error}. Nothing was written.") from None
    return any(start.startswith(header) for header in headers)


def _is_database(path: Path) -> bool:
    info = _status(path, follow=True)
    return info is not None and stat.S_ISREG(info.st_mode) and _starts_with(path, (SQLITE_HEADER,))


def check_target(path: Path) -> bool:
    """Whether `path` exists (so replacing it needs the user's word). Raises DomainError, with the reason,
    for a file that may never be written whatever the user says: not a regular file, a database, a
    database's `-wal`/`-shm`/`-journal`, or a name that cannot be looked at."""
    for suffix in DATABASE_COMPANIONS:
        if path.name.endswith(suffix) and _is_database(path.with_name(path.name.removesuffix(suffix))):
            raise DomainError(f"{shown_path(path)} belongs to the database beside it; choose another file.")
    info = _status(path)
    if info is None:
        return False
    if stat.S_ISDIR(info.st_mode):
        raise DomainError(f"{shown_path(path)} is a folder: give a file name.")
    if stat.S_ISLNK(info.st_mode):
        raise DomainError(f"{shown_path(path)} is a symbolic link; give the file it points to, or another name.")
    if not stat.S_ISREG(info.st_mode):
        raise DomainError(f"{shown_path(path)} is not a regular file (a device or a pipe); choose a file name.")
    if _starts_with(path, (SQLITE_HEADER, *WAL_HEADERS)):
        raise DomainError(f"{shown_path(path)} is an SQLite database; it is never replaced. Choose another file.")
    return True


def write_file(target: Path, fill: Callable[[BinaryIO, Path], Result], *, force: bool = False,
               create_folder: bool = False) -> Result:
    """Write `target` through `fill(stream, temporary_path)` (bytes into `stream`, or a program that opens
    `temporary_path` itself) and return what `fill` returned. Raises `TargetExists` when the file exists and
    `force` is false, and DomainError with the reason when it may not or cannot be written."""
    if check_target(target) and not force:
        raise TargetExists(target)
    folder = target.parent
    try:
        if create_folder:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise DomainError(f"Cannot create the folder {shown_path(folder)}: {error.strerror or error}.") from None
    folder_info = _status(folder, follow=True)
    if folder_info is None:
        raise DomainError(f"The folder {shown_path(folder)} does not exist.")
    if not stat.S_ISDIR(folder_info.st_mode):
        raise DomainError(f"{shown_path(folder)} is not a folder.")
    try:
        # O_CREAT | O_EXCL, 0600, a fresh random name on collision: never a file someone else put there.
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name[:100]}.", suffix=".part")
    except OSError as error:
        raise DomainError(f"Cannot write {shown_path(target)}: {error.strerror or error}.") from None
    temporary = Path(name)
    created = os.fstat(descriptor)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            result = fill(stream, temporary)
            stream.flush()
            os.fsync(stream.fileno())
        if check_target(target) and not force:  # created while this one was written
            raise TargetExists(target)
        if force:
            os.replace(temporary, target)
        else:
            _link_without_replacing(temporary, target)
    except FileExistsError:
        raise TargetExists(target) from None
    except OSError as error:
        raise DomainError(f"Cannot write {shown_path(target)}: {error.strerror or error}. "
                          "Nothing was written.") from None
    finally:
        _remove_if_ours(temporary, created)
    return result


def _remove_if_ours(temporary: Path, created: os.stat_result) -> None:
    """Remove the temporary file only if the name still holds the file this process created."""
    info = _status(temporary)
    if info is not None and (info.st_dev, info.st_ino) == (created.st_dev, created.st_ino):
        temporary.unlink(missing_ok=True)


def _link_without_replacing(temporary: Path, target: Path) -> None:
    """Put the finished file in place only if nothing is there: a hard link fails if the name is taken,
    even when another program creates it at the same moment. File systems without hard links (FAT on a
    USB stick) fall back to check-then-rename."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        if _status(target) is not None:
            raise FileExistsError(target) from None
        os.replace(temporary, target)
