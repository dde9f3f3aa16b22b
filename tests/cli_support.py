"""`acct-tui ARGS` run inside the test process: what the command prints, and its exit code, without the half
second of starting Python and importing the app again for every call. The tests that need the process itself
(the entry point, a database held by another process, signals, limits) run it as one (tests/processes.py)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import traceback

from acct_tui.cli import main
from acct_tui.store.db import close_database


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`main(args)` with `env` added to the environment, its stdout and stderr captured and its exit code as
    the process would have it (the value returned or given to SystemExit; 1 and the traceback on stderr for
    an exception). The umask, the environment and the working folder are put back, and its database closed."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environment, saved_folder = dict(os.environ), os.getcwd()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = _exit_code(exit_.code, stderr)
            except Exception:  # noqa: BLE001  (a process would print it and exit 1: the test sees both)
                traceback.print_exc()
                code = 1
    finally:
        close_database()
        os.environ.clear()
        os.environ.update(saved_environment)
        os.chdir(saved_folder)
        os.umask(saved_umask)
    return subprocess.CompletedProcess(["acct-tui", *args], code, stdout.getvalue(), stderr.getvalue())


def _exit_code(code: object, stderr: io.StringIO) -> int:
    """What Python's exit does with a SystemExit argument: None is 0, a number is itself, anything else is
    printed on stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)
    return 1
