"""The `acct-tui` command as a user runs it: its output, its exit code, the file it writes. The entry point,
a template error and the demo run as real processes; the other commands run in the test process
(tests/cli_support.py), which is the same `main` without starting Python again for each call."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from acct_tui.template import packaged_template
from tests.cli_support import run_cli

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "account-management-template.txt"


def acct(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acct_tui", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


def test_template_json_has_the_documented_shape():
    result = acct("template", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "Account Management Template"
    assert len(data["steps"]) == 20
    approvals = {step["number"]: step["covers"] for step in data["steps"] if step["kind"] == "approval"}
    assert approvals == {5: [1, 2, 3, 4], 8: [6, 7], 15: [13, 14], 19: [18]}
    assert all("covers" not in step for step in data["steps"] if step["kind"] == "task")
    step4 = data["steps"][3]
    assert {"key", "label", "type", "options"} <= set(step4["fields"][0])
    assert step4["fields"][0]["options"] == ["Very Satisfied", "Satisfied", "Neutral", "Dissatisfied",
                                             "Very Dissatisfied"]
    assert data == json.loads(json.dumps(packaged_template().as_json()))


@pytest.mark.skipif(not SOURCE.exists(), reason="the shared template source is not beside the repository")
def test_template_json_titles_and_options_match_the_source_exactly():
    lines = [line.strip() for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    data = json.loads(run_cli("template", "--json").stdout)
    titles = [step["title"] for step in data["steps"]]
    # The source opens with a numbered index of the 20 titles.
    assert titles == [lines[index] for index in range(2, 41, 2)]
    options = [option for step in data["steps"] for field in step["fields"] for option in field["options"]]
    body = lines[41:]
    numbered = [body[i + 1] for i in range(len(body) - 1) if body[i].isdigit() and not body[i + 1].isdigit()]
    assert options == numbered


def test_template_file_errors_name_the_place(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "T"\ndescription = "D"\n[[steps]]\nnumber = 1\ntitle = \n', encoding="utf-8")
    result = acct("template", "--file", str(broken))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "broken.toml" in result.stderr and "line 5" in result.stderr
    assert "Traceback" not in result.stderr


def test_accounts_add_and_list_in_a_private_database(tmp_path):
    db = tmp_path / "fresh" / "acct.db"
    env = {"ACCT_TUI_DB": str(db)}
    added = run_cli("accounts", "add", "Northwind Traders", "--owner", "alice", "--segment", "Key", env=env)
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    run_cli("accounts", "add", "[bold]Globex[/bold]", env=env)
    listed = json.loads(run_cli("accounts", "list", "--json", env=env).stdout)
    assert [(row["name"], row["owner"], row["done"], row["total"]) for row in listed] == [
        ("[bold]Globex[/bold]", "", 0, 20),
        ("Northwind Traders", "alice", 0, 20),
    ]
    plain = run_cli("accounts", "list", env=env).stdout
    assert "Northwind Traders" in plain and "[bold]Globex[/bold]" in plain


def test_db_flag_wins_over_the_environment(tmp_path):
    flagged = tmp_path / "flag.db"
    result = run_cli("--db", str(flagged), "db", "path", env={"ACCT_TUI_DB": str(tmp_path / "env.db")})
    assert result.stdout.strip() == str(flagged)
    run_cli("--db", str(flagged), "accounts", "add", "Acme")
    assert flagged.exists() and not (tmp_path / "env.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("accounts", "add", "X", "--segment", "Gold"), "Segment must be one of"),
        (("accounts", "add", "   "), "Account name cannot be empty"),
        (("accounts", "add", "X", "--revenue", "lots"), "not a number"),
        (("accounts", "add", "X", "--revenue", "9999999999999.995"), "from 0 up to 9,999,999,999,999.99"),
        (("accounts", "add", "X", "--revenue", "1e999999999"), "from 0 up to 9,999,999,999,999.99"),
        (("accounts", "add", "\u200b\ufeff\u3164"), "Account name cannot be empty"),
        (("accounts", "frobnicate"), "invalid choice"),
        (("nonsense",), "invalid choice"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_2(tmp_path, args, message):
    result = run_cli(*args, env={"ACCT_TUI_DB": str(tmp_path / "acct.db")})
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_duplicate_name_is_refused_and_control_characters_never_reach_the_terminal(tmp_path):
    env = {"ACCT_TUI_DB": str(tmp_path / "acct.db")}
    run_cli("accounts", "add", "Acme", env=env)
    duplicate = run_cli("accounts", "add", "ACME", env=env)
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    hostile = run_cli("accounts", "add", "evil\x1b]0;pwned\x07", env=env)
    assert hostile.returncode == 2
    assert "\x1b" not in hostile.stderr and "control characters" in hostile.stderr


def test_demo_loads_a_portfolio_at_varied_stages_once(tmp_path):
    env = {"ACCT_TUI_DB": str(tmp_path / "acct.db")}
    loaded = acct("demo", env=env)
    assert loaded.returncode == 0, loaded.stderr
    rows = json.loads(run_cli("accounts", "list", "--json", env=env).stdout)
    assert 24 <= len(rows) <= 60
    assert len({row["done"] for row in rows}) >= 8
    assert any(row["current_step"] is None for row in rows) and any(row["done"] == 0 for row in rows)
    again = run_cli("demo", env=env)
    assert again.returncode == 2 and "already loaded" in again.stderr


def test_the_app_starts_without_the_postgresql_driver():
    """psycopg costs every start about 140 ms and 25 MB: it is loaded for a postgresql:// URL only (the team
    tests run the PostgreSQL side)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, acct_tui.app, acct_tui.cli, peewee; "
                               "print('psycopg' in sys.modules, 'psycopg2' in sys.modules, peewee.psycopg)"],
        capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["False", "False", "None"]
