"""`acct-tui sync`: two (or three) real databases brought to one state, field by field, conflicts kept."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acct_tui.cli import main
from acct_tui.store import kpis, services
from acct_tui.store.models import Account, AuditEvent, FieldValue, Run, StepState, TemplateVersion
from acct_tui.sync import changelog, session
from acct_tui.sync.command import SSH_COMMAND_ENV
from acct_tui.sync.conflicts import conflicts, duplicate_names, merge_duplicate, resolve
from acct_tui.sync.entities import make_key
from acct_tui.sync.session import SyncError
from acct_tui.sync.snapshot import is_empty, json_value, send_snapshot
from tests.portfolio_builder import finish_steps
from tests.sync_support import PIPE_COMMAND, Replica, content, history, sync_in_process

SSHD_START_SECONDS = 10


@pytest.fixture
def laptop(tmp_path: Path) -> Replica:
    return Replica(tmp_path / "laptop.db").use()


@pytest.fixture
def host(tmp_path: Path) -> Replica:
    return Replica(tmp_path / "host.db").use()


def sync_over_pipe(client: Replica, server: Replica, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SSH_COMMAND_ENV, PIPE_COMMAND)
    code = main(["--db", str(client.path), "sync", "jump.example", "--remote-db", str(server.path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def run_id(account_id) -> str:
    return str(Run.get(Run.account == account_id).id)


def field_value(run: str, step_key: str, key: str) -> str | None:
    return FieldValue.select(FieldValue.value).where(
        (FieldValue.run == run) & (FieldValue.step_key == step_key) & (FieldValue.key == key)).scalar()


def test_edits_to_different_fields_on_both_sides_both_land(laptop, host, capsys, monkeypatch):
    host.use()
    acme = services.create_account("Acme", owner="Ann")
    run = run_id(acme)
    out = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert out.startswith("Sync done: 31 change(s) in")  # a copy: all 31 changes of the host, its template too
    laptop.use()
    services.set_field(run, 1, "notes", "met the CFO")
    services.edit_account(acme, owner="Bob")
    host.use()
    services.set_field(run, 2, "notes", "records asked for")
    services.edit_account(acme, industry="Retail")
    out = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert "no conflicts" in out
    for side in (laptop, host):
        side.use()
        account = Account.get_by_id(acme)
        assert (account.owner, account.industry) == ("Bob", "Retail")
        assert field_value(run, "identify-account", "notes") == "met the CFO"
        assert field_value(run, "gather-records", "notes") == "records asked for"
    assert content(laptop) == content(host)
    again = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert again.startswith("Sync done: 0 change(s) in, 0 out")


def test_same_field_changed_on_both_sides_is_a_conflict_until_resolved(laptop, host, capsys, monkeypatch):
    laptop.use()
    acme = services.create_account("Acme")
    run = run_id(acme)
    sync_over_pipe(laptop, host, capsys, monkeypatch)
    services.set_field(run, 1, "notes", "laptop's note", actor="ann")
    host.use()
    services.set_field(run, 1, "notes", "host's note", actor="bob")
    out = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert "1 conflict waiting" in out
    for side, mine in ((laptop, "laptop's note"), (host, "host's note")):
        side.use()
        assert field_value(run, "identify-account", "notes") == mine  # each keeps its own value meanwhile
        (conflict,) = conflicts()
        assert conflict.account_name == "Acme"
        assert {(v.shown, v.actor) for v in conflict.versions} == {("laptop's note", "ann"), ("host's note", "bob")}
        assert conflict.versions[0].local and conflict.versions[0].shown == mine
    laptop.use()
    resolve(conflict.key, json.dumps("both notes, merged"))
    assert conflicts() == []
    out = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert "no conflicts" in out
    host.use()
    assert conflicts() == []
    assert field_value(run, "identify-account", "notes") == "both notes, merged"
    assert history(host, make_key("field", run, "identify-account", "notes")) >= {
        "laptop's note", "host's note", "both notes, merged"}


def test_three_machines_converge(tmp_path, host, capsys, monkeypatch):
    host.use()
    acme = services.create_account("Acme")
    run = run_id(acme)
    a, b = Replica(tmp_path / "a.db"), Replica(tmp_path / "b.db")
    sync_over_pipe(a, host, capsys, monkeypatch)
    sync_over_pipe(b, host, capsys, monkeypatch)
    a.use()
    services.set_field(run, 1, "notes", "from A")
    services.create_account("Made on A")
    b.use()
    services.set_field(run, 2, "notes", "from B")
    services.archive_account(acme)
    for laptop_ in (a, b, a):
        sync_over_pipe(laptop_, host, capsys, monkeypatch)
    assert content(a) == content(host) == content(b)
    a.use()
    assert Account.get_by_id(acme).archived
    assert Account.select().where(Account.name == "Made on A").count() == 1


def test_a_clock_a_year_ahead_does_not_decide(laptop, host, monkeypatch):
    laptop.use()
    acme = services.create_account("Acme")
    run = run_id(acme)
    sync_in_process(laptop, host)
    year = 365 * 24 * 3600 * 1000 << 16
    real = changelog._physical_now
    monkeypatch.setattr(changelog, "_physical_now", lambda: real() + year)
    services.set_field(run, 1, "notes", "written on the laptop, clock a year ahead")
    sync_in_process(laptop, host)
    monkeypatch.setattr(changelog, "_physical_now", real)
    host.use()
    services.set_field(run, 1, "notes", "written later on the host")  # descends from the laptop's value
    sync_in_process(laptop, host)
    for side in (laptop, host):
        side.use()
        assert field_value(run, "identify-account", "notes") == "written later on the host"
        assert conflicts() == []


@pytest.mark.parametrize("stop_after", ["send", "server-apply"])
def test_interrupted_sync_leaves_each_side_whole_and_the_next_one_completes(laptop, host, stop_after):
    laptop.use()
    acme = services.create_account("Acme")
    host.use()
    services.create_account("Beta")
    before = content(host)
    sync_in_process(laptop, host, stop_after=stop_after)
    if stop_after == "send":
        assert content(host) == before
    laptop.use()
    assert Account.select().count() == 1
    sync_in_process(laptop, host)
    assert content(laptop) == content(host)
    host.use()
    assert Account.get_by_id(acme).name == "Acme"


def test_a_merge_never_leaves_a_step_done_behind_a_gate_not_granted(laptop, host):
    laptop.use()
    acme = services.create_account("Acme")
    run = run_id(acme)
    finish_steps(run, 4)  # gate 5 pending
    sync_in_process(laptop, host)
    services.approve(run, 5, "Fine.", actor="manager")
    services.complete_step(run, 6)
    host.use()
    services.reject(run, 5, "Redo the history.", actor="director")
    sync_in_process(laptop, host)
    host.use()
    statuses = dict(StepState.select(StepState.number, StepState.status).where(StepState.run == run).tuples())
    assert statuses[5] == "rejected"  # the host's decision stays until the conflict is resolved
    assert statuses[6] == "open"  # done on the laptop, behind a gate the host did not grant
    (conflict,) = [c for c in conflicts() if c.kind == "step"]
    assert {json.loads(v.value)["status"] for v in conflict.versions} == {"approved", "rejected"}
    assert Run.get_by_id(run).done_count == sum(s in ("done", "approved") for s in statuses.values())
    content(host)  # the report summaries follow the steps the merge reopened


def test_accounts_created_with_the_same_name_on_both_sides(laptop, host):
    laptop.use()
    mine = services.create_account("Acme")
    host.use()
    theirs = services.create_account("ACME")
    sync_in_process(laptop, host)
    for side in (laptop, host):
        side.use()
        assert Account.select().count() == 2
        (duplicate,) = duplicate_names()
        assert duplicate[0] in (str(mine), str(theirs))
    laptop.use()
    services.edit_account(duplicate_names()[0][0], name="Acme (Berlin)")
    assert duplicate_names() == []
    sync_in_process(laptop, host)
    host.use()
    assert duplicate_names() == []
    assert sorted(Account.select(Account.name).tuples()) in ([("ACME",), ("Acme (Berlin)",)],
                                                             [("Acme",), ("Acme (Berlin)",)])


def test_deletions_and_kpis_travel(laptop, host):
    laptop.use()
    acme = services.create_account("Acme")
    entry = kpis.add_kpi(acme, "nps", 40, "2026-05-01")
    sync_in_process(laptop, host)
    host.use()
    assert kpis.kpi_entries(acme)[0].value == 40
    laptop.use()
    kpis.delete_kpi(entry)
    sync_in_process(laptop, host)
    host.use()
    assert kpis.kpi_entries(acme) == ()
    assert content(laptop) == content(host)


def test_export_and_import_carry_the_same_changes(laptop, host, tmp_path, capsys):
    laptop.use()
    acme = services.create_account("Acme")
    bundle = tmp_path / "changes.jsonl"
    assert main(["--db", str(laptop.path), "sync", "--export", str(bundle)]) == 0
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert main(["--db", str(host.path), "sync", "--import", str(bundle)]) == 0
    assert main(["--db", str(host.path), "sync", "--import", str(bundle)]) == 0
    assert "0 change(s) in" in capsys.readouterr().out.splitlines()[-1]
    host.use()
    assert Account.get_by_id(acme).name == "Acme"


def test_incompatible_far_side_is_one_line_naming_the_side_to_upgrade(laptop, tmp_path, capsys, monkeypatch):
    far = tmp_path / "far.py"
    far.write_text('import sys\nsys.stdin.readline()\nprint(\'{"type": "hello", "protocol": 99, "app": "9.0", '
                   '"replica": "x"}\', flush=True)\n')
    monkeypatch.setenv(SSH_COMMAND_ENV, f"{sys.executable} {far}")
    assert main(["--db", str(laptop.path), "sync", "host"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("acct-tui: Sync protocol 99 there, 1 here") and "upgrade acct-tui on this side" in err[-1]


def test_far_side_that_cannot_start_is_one_line_not_a_traceback(laptop, capsys, monkeypatch):
    monkeypatch.setenv(SSH_COMMAND_ENV, "sh -c 'echo ssh: connect to host nowhere: refused >&2; exit 255' sh")
    assert main(["--db", str(laptop.path), "sync", "nowhere"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "closed the connection" in err and "refused" in err and "Traceback" not in err


def _wait_until_listening(daemon: subprocess.Popen, port: int, log: Path) -> None:
    """sshd takes a moment to listen after it starts: a sync started before then was refused now and then."""
    deadline = time.monotonic() + SSHD_START_SECONDS
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(f"sshd stopped: {log.read_text() if log.exists() else 'no log'}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)  # an outside daemon starting, not the app: nothing to be signalled by
    pytest.fail(f"sshd did not listen on port {port} in {SSHD_START_SECONDS} s")


def test_real_ssh_against_a_private_sshd(tmp_path, laptop, host, capsys, monkeypatch):
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if sshd is None or shutil.which("ssh") is None:
        pytest.skip("no sshd/ssh binary on this machine: the sync over real ssh is tested where one is installed")
    keys = tmp_path / "sshd"
    keys.mkdir(mode=0o700)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    shutil.copy(keys / "client_key.pub", keys / "authorized_keys")
    with socket.socket() as probe:  # a port free now (one picked from the pid could be taken)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host_key'}\nPidFile {keys / 'pid'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPasswordAuthentication no\nUsePAM no\nStrictModes no\n")
    daemon = subprocess.Popen([sshd, "-D", "-f", str(keys / "sshd_config"), "-E", str(keys / "log")])
    try:
        _wait_until_listening(daemon, port, keys / "log")
        # A `ssh` first on PATH runs the real ssh with the test's options, and has the far login find this
        # checkout's acct-tui (the PATH sshd gives a login does not have it).
        shim = tmp_path / "bin"
        shim.mkdir()
        (shim / "acct-tui").write_text(f"#!/bin/sh\nexec {sys.executable} -m acct_tui \"$@\"\n")
        (shim / "acct-tui").chmod(0o700)
        options = ["-p", str(port), "-i", str(keys / "client_key"), "-o", "StrictHostKeyChecking=no",
                   "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"]
        (shim / "ssh").write_text(
            f"#!{sys.executable}\nimport os, sys\nargs = sys.argv[1:]\n"
            f"args[-1] = 'PATH={shim}:$PATH ' + args[-1]\n"
            f"os.execv({shutil.which('ssh')!r}, ['ssh', *{options!r}, *args])\n")
        (shim / "ssh").chmod(0o700)
        monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.delenv(SSH_COMMAND_ENV, raising=False)
        host.use()
        services.create_account("On the host")
        code = main(["--db", str(laptop.path), "sync", "127.0.0.1", "--remote-db", str(host.path)])
        assert code == 0, capsys.readouterr().err
        laptop.use()
        assert Account.select().where(Account.name == "On the host").exists()
    finally:
        daemon.terminate()
        daemon.wait()


def test_a_duplicate_from_a_sync_can_be_edited_before_it_is_renamed(laptop, host):
    laptop.use()
    services.create_account("Acme")
    host.use()
    services.create_account("Acme")
    sync_in_process(laptop, host)
    laptop.use()
    ((duplicate, _),) = duplicate_names()
    services.edit_account(duplicate, owner="Zoe")
    assert Account.get_by_id(duplicate).owner == "Zoe"
    assert duplicate_names() == [(duplicate, "Acme")]


def test_a_due_date_travels_with_the_step_copy_the_overdue_list_reads(laptop, host):
    laptop.use()
    acme = services.create_account("Acme")
    run = run_id(acme)
    sync_in_process(laptop, host)
    services.set_field(run, 2, "due", "2026-07-01")
    sync_in_process(laptop, host)
    host.use()
    due = StepState.select(StepState.due_on).where((StepState.run == run) & (StepState.number == 2)).scalar()
    assert str(due) == "2026-07-01"


def test_a_kpi_value_that_came_by_sync_can_be_deleted_on_the_other_side(laptop, host):
    laptop.use()
    acme = services.create_account("Acme")
    kpis.add_kpi(acme, "nps", 40, "2026-05-01")
    sync_in_process(laptop, host)
    host.use()
    (entry,) = kpis.kpi_entries(acme)
    kpis.delete_kpi(entry.id)
    sync_in_process(laptop, host)
    laptop.use()
    assert kpis.kpi_entries(acme) == ()


def test_accounts_created_with_the_same_name_merged_into_one(laptop, host):
    laptop.use()
    mine = services.create_account("Acme", owner="Ann")
    kpis.add_kpi(mine, "nps", 40, "2026-05-01")
    my_run = run_id(mine)
    services.set_field(my_run, 1, "notes", "met the CFO", actor="ann")
    host.use()
    theirs = services.create_account("ACME", industry="Retail")
    kpis.add_kpi(theirs, "nps", 55, "2026-06-01")
    their_run = run_id(theirs)
    services.set_field(their_run, 1, "notes", "met the CEO", actor="bob")
    services.set_field(their_run, 2, "notes", "records asked for")
    kpis.add_objective(their_run, "Grow the account", "10 new seats")
    sync_in_process(laptop, host)
    laptop.use()
    ((duplicate, _),) = duplicate_names()
    kept = merge_duplicate(duplicate)
    assert kept == min(str(mine), str(theirs))
    other = str(theirs) if kept == str(mine) else str(mine)
    kept_run = run_id(kept)
    assert duplicate_names() == []
    assert Account.get_by_id(other).archived and not Account.get_by_id(kept).archived
    account = Account.get_by_id(kept)
    assert (account.owner, account.industry) == ("Ann", "Retail")  # each side's value where the other had none
    assert field_value(kept_run, "gather-records", "notes") == "records asked for"
    assert {(e.measured_on.isoformat(), e.value) for e in kpis.kpi_entries(kept)} == {
        ("2026-05-01", 40), ("2026-06-01", 55)}
    assert [o.title for o in kpis.objectives(kept_run)] == ["Grow the account"]
    (conflict,) = conflicts()  # the same field with two values: a conflict like any other
    assert conflict.key == make_key("field", kept_run, "identify-account", "notes")
    assert {(v.shown, v.actor) for v in conflict.versions} == {("met the CFO", "ann"), ("met the CEO", "bob")}
    assert AuditEvent.select().where((AuditEvent.action == "account.merge")
                                     & (AuditEvent.account_id == kept)).exists()
    assert field_value(run_id(other), "identify-account", "notes")  # the merged account keeps its history
    sync_in_process(laptop, host)
    assert content(laptop) == content(host)
    host.use()
    assert duplicate_names() == [] and [c.key for c in conflicts()] == [conflict.key]
    resolve(conflict.key, json.dumps("met the CFO and the CEO"))
    sync_in_process(laptop, host)
    for side in (laptop, host):
        side.use()
        assert conflicts() == []
        assert field_value(kept_run, "identify-account", "notes") == "met the CFO and the CEO"
    assert content(laptop) == content(host)


def test_both_sides_merging_the_same_pair_keep_the_same_account(laptop, host):
    laptop.use()
    services.create_account("Acme", owner="Ann")
    host.use()
    services.create_account("Acme", owner="Bob")
    sync_in_process(laptop, host)
    kept = set()
    for side in (laptop, host):
        side.use()
        ((duplicate, _),) = duplicate_names()
        kept.add(merge_duplicate(duplicate))
    sync_in_process(laptop, host)
    assert len(kept) == 1
    assert content(laptop) == content(host)
    laptop.use()
    assert Account.select().where(~Account.archived).count() == 1
    assert [c.what for c in conflicts()] == ["Owner"]


def test_a_first_sync_into_an_empty_database_copies_it_whole(laptop, host, capsys, monkeypatch):
    host.use()
    acme = services.create_account("Acme", owner="Ann")
    kpis.add_kpi(acme, "nps", 40, "2026-05-01")
    finish_steps(run_id(acme), 4)
    out = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert "no conflicts" in out
    assert content(laptop) == content(host)
    for side in (laptop, host):
        side.use()
        assert Account.get_by_id(acme).owner == "Ann"
        assert AuditEvent.select().where(AuditEvent.account_id == acme).count() > 4
    assert history(laptop, make_key("account", acme, "owner")) == {"Ann"}
    again = sync_over_pipe(laptop, host, capsys, monkeypatch)
    assert again.startswith("Sync done: 0 change(s) in, 0 out")


def test_a_copy_cut_off_half_way_leaves_the_empty_database_as_it_was(laptop, host):
    host.use()
    services.create_account("Acme")
    services.create_account("Beta")
    messages: list[dict] = []
    send_snapshot(messages.append)
    cut = b"".join(json.dumps(message, default=json_value).encode() + b"\n" for message in messages[:-1])
    laptop.use()
    with pytest.raises(SyncError, match="dropped"):
        session._receive_and_apply(io.BytesIO(cut), lambda _: None)
    assert is_empty()
    assert Account.select().count() == 0 and TemplateVersion.select().count() == 1


def test_the_far_side_on_a_file_starts_without_textual_or_the_postgresql_driver(tmp_path):
    probe = ("import sys\nfrom acct_tui.cli import main\n"
             f"main(['--db', {str(tmp_path / 'far.db')!r}, 'sync', '--serve'])\n"
             "print(sorted(name for name in ('textual', 'psycopg', 'psycopg2') if sys.modules.get(name)))\n")
    done = subprocess.run([sys.executable, "-c", probe], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.splitlines()[-1] == "[]", done.stderr


@pytest.mark.parametrize("line", [b"Welcome to the jump host\n", b"5\n", b'["hello"]\n'])
def test_an_answer_that_is_not_a_message_ends_the_sync_with_one_line(line):
    with pytest.raises(SyncError, match="not the sync protocol"):
        session._receive(io.BytesIO(line), "hello")
    with pytest.raises(SyncError, match="came in damaged"):
        session._next_message(io.BytesIO(line))
