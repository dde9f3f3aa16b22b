"""What a new user gets: the wheel carries the stylesheet and the template; the README's commands are the ones CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_stylesheet_and_the_template(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [wheel] = tmp_path.glob("acct_tui-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "acct_tui/screens.tcss" in names
        assert "acct_tui/template/account_management.toml" in names
        assert archive.read("acct_tui/screens.tcss") == (ROOT / "screens.tcss").read_bytes()
        entry_points = next(name for name in names if name.endswith("entry_points.txt"))
        assert "acct-tui = acct_tui.cli:main" in archive.read(entry_points).decode()


def test_the_readme_has_exactly_two_set_up_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"<!-- (run|test)-command -->\n```sh\n(.+)\n```", readme)
    assert [kind for kind, _ in commands] == ["run", "test"]
    run_command, test_command = (command for _, command in commands)
    assert "pip install ." in run_command and run_command.endswith("acct-tui")
    assert "'.[test]'" in test_command and "pytest" in test_command
    ci_command = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run"), "--print-command"], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    assert ci_command == test_command
