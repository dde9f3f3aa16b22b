"""The `acct-tui` command: with no subcommand it starts the app; subcommands work without a terminal UI.

Errors print one line on stderr and exit non-zero (2 for a refused or invalid request, the
`StoreUnavailable.exit_code` for a database that cannot be used); a traceback is never shown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from acct_tui import __version__
from acct_tui.errors import DomainError, StoreUnavailable
from acct_tui.sync.command import add_sync_parser, start_serving_quickly
from acct_tui.text import printable

if TYPE_CHECKING:
    from acct_tui.template import Template

CHECK_FAILED = 1  # `db check` found problems (each printed on its own line)
USAGE_ERROR = 2
# Python hands over bytes of the command line that are not UTF-8 as lone surrogates, which no database
# or terminal can take.
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"acct-tui: {message} (see acct-tui --help)\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def _open_quietly(args: argparse.Namespace) -> list[str]:
    """Open the database; returns the warnings to give the user (a database other users can read)."""
    from acct_tui.store.backend import is_database_url
    from acct_tui.store.db import (
        open_database,
        permission_problems,
        refuse_unreachable,
        refuse_unsafe_companions,
        resolve_database_path,
    )

    path = resolve_database_path(args.db)
    if not is_database_url(path):
        refuse_unreachable(path)
        refuse_unsafe_companions(path)
    open_database(path, on_upgrade=_say_upgrading)
    return [] if is_database_url(path) else permission_problems(path)


def _say_upgrading(version: int, latest: int) -> None:
    print(f"acct-tui: upgrading the database from schema {version} to {latest}; a large portfolio takes a "
          "minute or more…", file=sys.stderr, flush=True)


def _open(args: argparse.Namespace) -> None:
    for problem in _open_quietly(args):
        print(f"acct-tui: warning: {problem}", file=sys.stderr)


def cmd_template(args: argparse.Namespace) -> int:
    from acct_tui.template import load_template

    template = load_template(args.file)
    if args.json:
        _print_json(template.as_json())
    else:
        for step in template.steps:
            covers = f"  (covers {', '.join(map(str, step.covers))})" if step.is_approval else ""
            print(f"{step.number:>2}. {step.title}{covers}")
    return 0


def cmd_template_check(args: argparse.Namespace) -> int:
    from acct_tui.template import TemplateError, parse_template, read_template_text

    text = read_template_text(args.file)
    try:
        template = parse_template(text, args.file)
    except TemplateError as error:
        place = f"{args.file}:{error.line}" if error.line else args.file
        print(f"{printable(place)}: {printable(error.problem)}", file=sys.stderr)
        return USAGE_ERROR
    print(f"{args.file}: a valid template “{printable(template.name)}” ({template.key}): "
          f"{len(template.steps)} steps, {len(template.approvals)} approvals.")
    return 0


def _template_argument(spec: str) -> Template:
    """A template named on the command line: a file, or the number of a version installed in the database."""
    from acct_tui.store.templates import current_template, template_version
    from acct_tui.template import load_template

    if spec.removeprefix("v").isdigit() and not Path(spec).exists():
        return template_version(current_template().key, int(spec.removeprefix("v")))
    return load_template(Path(spec))


def cmd_template_diff(args: argparse.Namespace) -> int:
    from acct_tui.store.templates import current_template
    from acct_tui.template.diff import diff_templates

    _open(args)
    old = _template_argument(args.old) if args.new else current_template()
    new = _template_argument(args.new or args.old)
    for line in diff_templates(old, new):
        print(printable(line))
    return 0


def cmd_template_install(args: argparse.Namespace) -> int:
    from acct_tui.store.upgrades import install_template
    from acct_tui.template import read_template_text
    from acct_tui.template.diff import diff_templates

    _open(args)
    installed = install_template(read_template_text(args.file), args.file)
    template = installed.template
    print(f"Installed version {template.version} of “{printable(template.name)}” ({template.key}): new runs "
          "start on it; existing runs keep the version they follow until upgraded.")
    if installed.previous is not None:
        for line in diff_templates(installed.previous, template):
            print(f"  {printable(line)}")
    return 0


def cmd_template_list(args: argparse.Namespace) -> int:
    from acct_tui.store.templates import template_versions

    _open(args)
    for row in template_versions():
        newest = "  ← new runs start on it" if row.current else ""
        print(f"{row.name}  version {row.version}  “{printable(row.title)}”  installed "
              f"{row.installed_at:%Y-%m-%d} by {printable(row.installed_by)}  {row.runs} "
              f"run{'s' if row.runs != 1 else ''}{newest}")
    return 0


def cmd_template_upgrade(args: argparse.Namespace) -> int:
    from acct_tui.store.queries import find_account
    from acct_tui.store.upgrades import preview_upgrades, upgrade_run

    if bool(args.account) == args.all:
        raise DomainError("Name one account, or give --all for every run on an older version.")
    _open(args)
    account = find_account(args.account).id if args.account else None
    previews = preview_upgrades(account, args.to)
    if not previews:
        print(f"No run follows a version older than {args.to}.")
        return 0
    for preview in previews:
        print(printable(preview.account))
        for line in preview.plan.lines():
            print(f"  {printable(line)}")
    losing = [preview for preview in previews if preview.plan.loses_answers]
    if losing and not args.allow_loss:
        raise DomainError(f"{len(losing)} run{'s' if len(losing) != 1 else ''} would lose answers (LOSES above); "
                          "nothing was changed. Give --allow-loss to upgrade anyway.")
    if not args.yes and not (sys.stdin.isatty() and input(f"Upgrade {len(previews)} run(s)? [y/N] ") in ("y", "Y")):
        print("Nothing was changed (--yes applies the upgrade without asking).")
        return 0
    for preview in previews:
        upgrade_run(preview.run_id, args.to, allow_loss=args.allow_loss)
    print(f"{len(previews)} run{'s' if len(previews) != 1 else ''} now follow version {args.to}.")
    return 0


def cmd_accounts_list(args: argparse.Namespace) -> int:
    from rich.cells import cell_len

    from acct_tui.store.queries import account_rows
    from acct_tui.text import column_text, fit_cells

    _open(args)
    rows = account_rows(include_archived=args.all)
    if args.json:
        _print_json([
            {
                "id": str(row.id), "name": row.name, "owner": row.owner, "segment": row.segment,
                "stage": row.stage, "done": row.done, "total": row.total, "current_step": row.current_step,
                "next_approval": row.next_approval, "overdue": row.overdue,
                "last_activity": row.last_activity.isoformat(timespec="seconds") + "Z", "archived": row.archived,
            }
            for row in rows
        ])
        return 0
    if not rows:
        print("No accounts yet. Add one with: acct-tui accounts add NAME   (or load the demo: acct-tui demo)")
        return 0
    names = [column_text(row.name) for row in rows]
    width = min(40, max(cell_len(name) for name in names))  # terminal cells: a wide character takes two
    for row, name in zip(rows, names):
        step = f"step {row.current_step}" if row.current_step else "finished"
        print(f"{fit_cells(name, width)}  {fit_cells(column_text(row.owner), 16)}  {row.segment:<13}  "
              f"{row.done:>2}/{row.total}  {step}")
    return 0


def cmd_accounts_add(args: argparse.Namespace) -> int:
    from acct_tui.store.services import create_account

    _open(args)
    create_account(args.name, owner=args.owner, segment=args.segment, stage=args.stage,
                   industry=args.industry, annual_revenue=args.revenue)
    print(f"Added “{printable(args.name.strip())}”.")
    return 0


def cmd_db_path(args: argparse.Namespace) -> int:
    from acct_tui.store.db import describe_database, resolve_database_path

    print(describe_database(resolve_database_path(args.db)))
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from acct_tui.store.maintenance import backup_database
    from acct_tui.store.team import refuse_on_team_database

    refuse_on_team_database(args.db, "backup")
    _open(args)
    backup = backup_database(args.file, force=args.force)
    print(f"Backed up {backup.accounts:,} accounts to {printable(backup.path)} ({backup.size:,} bytes, checked).")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    from acct_tui.store.db import resolve_database_path
    from acct_tui.store.maintenance import check_database, repair_summaries
    from acct_tui.store.team import refuse_on_team_database

    refuse_on_team_database(args.db, "check")
    if args.repair:
        _open(args)
        repair_summaries()
        print("Rebuilt the report summaries from the records.")
    health = check_database(resolve_database_path(args.db))
    for problem in health.problems:
        print(f"acct-tui: {printable(problem)}", file=sys.stderr)
    if health.healthy:
        print(f"{printable(health.path)}: healthy ({'; '.join(health.facts)}).")
        return 0
    return CHECK_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from acct_tui.demo import load_demo_portfolio

    _open(args)
    count = load_demo_portfolio()
    print(f"Loaded the demo portfolio: {count} accounts.")
    return 0


def cmd_team_init(args: argparse.Namespace) -> int:
    from acct_tui.store.team import APPROVER_ROLE, MANAGER_ROLE, MANAGERS_OWN, init_team

    managers = init_team(args.db, args.managers)
    scope = "only the accounts they own" if managers == MANAGERS_OWN else "every account"
    print(f"The team database is ready: roles {MANAGER_ROLE} and {APPROVER_ROLE}, with the rules PostgreSQL "
          f"enforces; managers work on {scope}. Give people a role with: acct-tui team grant LOGIN "
          "manager|approver")
    return 0


def cmd_team_grant(args: argparse.Namespace) -> int:
    from acct_tui.store.team import grant_role

    role = grant_role(args.db, args.login, args.role)
    print(f"{printable(args.login)} is now a member of {role}.")
    return 0


def cmd_team_import(args: argparse.Namespace) -> int:
    from acct_tui.store.team import import_portfolio

    imported = import_portfolio(args.db, args.file)
    if not imported.total:
        print(f"Nothing to import: everything in {printable(args.file)} is already in the team database.")
    else:
        print(f"Imported {imported.accounts:,} accounts ({imported.total:,} records with their history) from "
              f"{printable(args.file)}.")
    return 0


def _export_progress(fraction: float) -> None:
    print(f"\racct-tui: exporting… {fraction:4.0%}", end="", file=sys.stderr, flush=True)


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import date

    from acct_tui.reports import (
        ExportExists,
        default_export_path,
        export_portfolio,
        render_account,
        write_export,
    )
    from acct_tui.store.queries import find_account
    from acct_tui.store.reports import account_report

    _open(args)
    today = date.today()
    progress = _export_progress if args.output != "-" and sys.stderr.isatty() else None
    if args.kind == "portfolio":
        subject, content = "portfolio", export_portfolio(args.format, today, progress)
    else:
        account = find_account(args.name)
        subject, content = account.name, render_account(account_report(account.id, today), args.format, progress)
    if progress:
        print(file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(content)
        return 0
    path = args.output or default_export_path(subject, today, args.format)
    try:
        written = write_export(content, path, force=args.force, create_folder=args.output is None)
    except ExportExists as error:
        raise DomainError(f"{error} Use --force to replace it, or -o to choose another file.") from None
    print(f"Wrote {printable(written)}")
    return 0


def cmd_views_list(args: argparse.Namespace) -> int:
    from acct_tui.store.views import saved_views

    _open(args)
    views = saved_views()
    if args.json:
        _print_json([view.as_json() for view in views])
        return 0
    if not views:
        print("No saved views yet. In the account list, press v to save the current view on a key.")
        return 0
    for view in views:
        print(f"{view.key:<6}  {printable(view.name, keep_newlines=False)[:30]:<30}  "
              f"{printable(view.filter_text, keep_newlines=False) or '(no filter)'}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from acct_tui.keymap import binding_catalogue, keymap_path, load_keymap

    user_keymap = load_keymap()
    if user_keymap.problem:
        print(f"acct-tui: warning: {printable(user_keymap.problem)}", file=sys.stderr)
    bindings = [
        {"id": info.id, "description": info.description, "where": info.where, "default": info.default,
         "key": user_keymap.keys.get(info.id, info.default)}
        for info in binding_catalogue().values()
    ]
    if args.json:
        _print_json(bindings)
        return 0
    print(f"Keymap file: {printable(keymap_path())}")
    width = max(len(binding["id"]) for binding in bindings)
    for binding in bindings:
        moved = "" if binding["key"] == binding["default"] else f"  (default {binding['default']})"
        print(f"{binding['id']:<{width}}  {binding['key']:<14}  {binding['description']}{moved}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    from acct_tui.store.db import resolve_database_path

    path = resolve_database_path(args.db)
    warnings = _open_quietly(args)  # shown inside the app: the full-screen UI would paint over stderr
    from acct_tui.app import AcctApp

    app = AcctApp(path, startup_warnings=warnings)
    app.run()
    return app.return_code or 0


def build_parser() -> argparse.ArgumentParser:
    from acct_tui.reports import FORMATS

    parser = _Parser(prog="acct-tui", description="Run the account-management workflow on your accounts.")
    parser.add_argument("--version", action="version", version=f"acct-tui {__version__}")
    parser.add_argument("--db", metavar="PATH", help="database file, or a postgresql:// URL of a team database "
                                                    "(default: $ACCT_TUI_DB, else your data folder)")
    parser.set_defaults(handler=cmd_app)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    template = commands.add_parser("template", help="show, check, install and upgrade the workflow template")
    template.add_argument("--json", action="store_true", help="print it as JSON")
    template.add_argument("--file", metavar="TOML", help="load and check this template file instead")
    template.set_defaults(handler=cmd_template)
    template_commands = template.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    check = template_commands.add_parser("check", help="check a template file: FILE:LINE: problem, exit 2")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(handler=cmd_template_check)
    diff = template_commands.add_parser("diff", help="what NEW changes from OLD (default: the installed version)")
    diff.add_argument("old", metavar="OLD", help="a template file or an installed version number")
    diff.add_argument("new", metavar="NEW", nargs="?", help="a template file or an installed version number")
    diff.set_defaults(handler=cmd_template_diff)
    install = template_commands.add_parser("install", help="install FILE as the next version: new runs start on it")
    install.add_argument("file", metavar="FILE")
    install.set_defaults(handler=cmd_template_install)
    template_commands.add_parser("list", help="the installed versions and how many runs follow each").set_defaults(
        handler=cmd_template_list)
    upgrade = template_commands.add_parser("upgrade", help="move runs to a newer version, after a preview")
    upgrade.add_argument("account", metavar="ACCOUNT", nargs="?", help="the account whose run moves")
    upgrade.add_argument("--all", action="store_true", help="every run on an older version")
    upgrade.add_argument("--to", type=int, required=True, metavar="VERSION", help="the version to move to")
    upgrade.add_argument("--allow-loss", "--force", action="store_true", dest="allow_loss",
                         help="upgrade even when answers would be lost (they stay in the history)")
    upgrade.add_argument("--yes", action="store_true", help="apply after the preview without asking")
    upgrade.set_defaults(handler=cmd_template_upgrade)

    accounts = commands.add_parser("accounts", help="list or add accounts")
    account_commands = accounts.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser,
                                               required=True)
    listing = account_commands.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--all", action="store_true", help="include archived accounts")
    listing.set_defaults(handler=cmd_accounts_list)
    add = account_commands.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--owner", default="")
    add.add_argument("--segment", default="Transactional", help="Transactional, Relationship, Strategic or Key")
    add.add_argument("--stage", default="Prospecting", help="lifecycle stage, e.g. Onboarding")
    add.add_argument("--industry", default="")
    add.add_argument("--revenue", default=None, help="annual revenue")
    add.set_defaults(handler=cmd_accounts_add)

    db = commands.add_parser("db", help="database tools")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser, required=True)
    db_commands.add_parser("path", help="print where the database is").set_defaults(handler=cmd_db_path)
    backup = db_commands.add_parser("backup", help="copy the database to FILE, safely while the app runs")
    backup.add_argument("file", metavar="FILE", help="the copy to write (a folder: a dated file in it)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=cmd_db_backup)
    check_db = db_commands.add_parser("check", help="check the database's integrity, schema, report summaries and "
                                                   "permissions")
    check_db.add_argument("--repair", action="store_true",
                          help="first rebuild the report summaries from the records (when the check says they differ)")
    check_db.set_defaults(handler=cmd_db_check)

    report = commands.add_parser("report", help="write the portfolio report or an account's report to a file")
    report_commands = report.add_subparsers(title="reports", metavar="REPORT", parser_class=_Parser, required=True)
    for kind, what in (("portfolio", "every active account"), ("account", "one account in full")):
        formats = FORMATS[kind]
        one = report_commands.add_parser(kind, help=f"the {kind} report: {what}")
        if kind == "account":
            one.add_argument("name", metavar="NAME", help="the account's name (case does not matter)")
        one.add_argument("--format", choices=formats, default=formats[0], help=f"file format (default: {formats[0]})")
        one.add_argument("-o", "--output", metavar="FILE",
                         help="file to write, - for standard output (default: acct-NAME-DATE.EXT in your "
                              "documents folder)")
        one.add_argument("--force", action="store_true", help="replace FILE if it exists")
        one.set_defaults(handler=cmd_report, kind=kind)

    views = commands.add_parser("views", help="your saved views of the account list")
    view_commands = views.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser, required=True)
    view_listing = view_commands.add_parser("list", help="list your saved views")
    view_listing.add_argument("--json", action="store_true", help="print JSON")
    view_listing.set_defaults(handler=cmd_views_list)

    keys = commands.add_parser("keys", help="list every key binding: its id, default key and your key")
    keys.add_argument("--json", action="store_true", help="print JSON")
    keys.set_defaults(handler=cmd_keys)

    team = commands.add_parser("team", help="a team database on PostgreSQL: set it up, grant roles, import")
    team_commands = team.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser, required=True)
    init = team_commands.add_parser("init", help="create the schema, the roles and their rules (database owner)")
    init.add_argument("--managers", choices=("own", "all"),
                      help="managers work on the accounts they own, or on all (default: as set before; at first all)")
    init.set_defaults(handler=cmd_team_init)
    grant = team_commands.add_parser("grant", help="give a PostgreSQL login a team role")
    grant.add_argument("login", metavar="LOGIN")
    grant.add_argument("role", choices=("manager", "approver"))
    grant.set_defaults(handler=cmd_team_grant)
    import_ = team_commands.add_parser("import", help="copy a personal SQLite portfolio into the team database")
    import_.add_argument("file", metavar="FILE", help="the acct-tui database file to import")
    import_.set_defaults(handler=cmd_team_import)

    add_sync_parser(commands)
    demo = commands.add_parser("demo", help="fill the database with a demo portfolio to try the app")
    demo.set_defaults(handler=cmd_demo)
    return parser


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except StoreUnavailable as error:
        print(f"acct-tui: {printable(str(error))}", file=sys.stderr)
        return error.exit_code
    except DomainError as error:
        print(f"acct-tui: {printable(str(error))}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # whatever the process writes (database, exports) is private to this user
    start_serving_quickly(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if any(isinstance(value, str) and _NOT_UTF8.search(value) for value in vars(args).values()):
        print("acct-tui: an argument holds bytes that are not UTF-8 text; set the terminal to UTF-8 "
              "(for instance LANG=C.UTF-8) and type it again.", file=sys.stderr)
        return USAGE_ERROR
    return run_guarded(args.handler, args)
