"""Reports (steps 13-15 and 20): the portfolio at a glance, or the current account in full, with charts
that read without colour, their numbers one key away, and exports to Markdown, CSV, JSON and HTML.

Reports are read and built in thread workers that return plain documents; exports run in a thread worker
too, reporting progress to a bar, so a 100,000-account export never freezes the screen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.messages import DataChanged
from acct_tui.newest_read import newest_read
from acct_tui.reports import (
    ACCOUNT,
    FORMATS,
    PORTFOLIO,
    ExportExists,
    default_export_path,
    export_portfolio,
    render_account,
    write_export,
)
from acct_tui.reports.build import account_document, portfolio_document
from acct_tui.reports.document import Document
from acct_tui.screens.binding_commands import ScreenBindingCommands
from acct_tui.screens.export_dialog import ExportDialog
from acct_tui.screens.mode_screen import ModeScreen
from acct_tui.store.reports import account_report, portfolio_report
from acct_tui.text import printable
from acct_tui.widgets.charts import ReportView
from acct_tui.widgets.key_footer import KeyFooter
from acct_tui.widgets.write_status import WriteStatus

LOAD_GROUP = "reports-load"
EXPORT_GROUP = "reports-export"
PENDING_ON_SCREEN = 20  # the oldest approvals; the approval queue (3) and the exports list them all
NO_ACCOUNT = ("No account is chosen. Open one from the account list (1, then enter), "
              "then come back here with 4 and press v.")
# Export progress: reading the data, then rendering (reported row by row), then writing the file.
READ_SHARE, RENDER_SHARE = 0.3, 0.6


@dataclass(frozen=True, slots=True)
class LoadedReport:
    view: str
    subject: str  # "portfolio", or the account's name: it names the export file
    document: Document | None
    problem: str = ""


class ReportsScreen(ModeScreen):
    """The portfolio report (v: the current account's report), n: charts or numbers, e: export."""

    SUB_TITLE = "Reports"
    COMMANDS = {ScreenBindingCommands}
    BINDINGS = [
        Binding("n", "show_numbers(True)", "Numbers", tooltip="Show every chart's numbers", id="reports.numbers"),
        Binding("n", "show_numbers(False)", "Charts", tooltip="Show charts again", id="reports.charts"),
        Binding("v", "show_view('account')", "Account", tooltip="The current account's report",
                id="reports.account"),
        Binding("v", "show_view('portfolio')", "Portfolio", tooltip="The portfolio report", id="reports.portfolio"),
        Binding("e", "export", "Export", tooltip="Write this report to a file", id="reports.export"),
        Binding("r", "reload", "Refresh", show=False, tooltip="Read the report again", id="reports.refresh"),
        Binding("j", "scroll_body(1)", "Scroll down", show=False, id="reports.down"),
        Binding("k", "scroll_body(-1)", "Scroll up", show=False, id="reports.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = PORTFOLIO
        self.numbers = False
        self.loaded: LoadedReport | None = None
        self.exporting = False
        self.notice = ""  # the outcome of the last export, shown until the next key changes the view
        self._export_request: tuple[LoadedReport, date, str, Path] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="reports-status")
        yield ProgressBar(total=100, show_eta=False, id="reports-progress")
        with VerticalScroll(id="reports-body"):
            yield ReportView(id="report")
        yield WriteStatus()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#reports-body").focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def on_data_changed(self, message: DataChanged) -> None:
        self.reload()

    # Loading -----------------------------------------------------------------------------------------------
    def _account_id(self) -> uuid.UUID | None:
        return getattr(self.app, "current_account_id", None)

    def reload(self) -> None:
        """Read the report shown now again, in a thread worker."""
        if self.loaded is None:
            self._status("Reading the report…")
        self._load(self.view, self._account_id())

    def action_reload(self) -> None:
        self.reload()

    @newest_read(LOAD_GROUP)
    def _load(self, view: str, account_id: uuid.UUID | None) -> LoadedReport:
        if view == PORTFOLIO:
            # the screen has no per-account table, and lists only the oldest pending approvals
            portfolio = portfolio_report(account_lines=False, pending_limit=PENDING_ON_SCREEN)
            document = portfolio_document(portfolio, pending_limit=PENDING_ON_SCREEN, account_limit=0)
            return LoadedReport(view, PORTFOLIO, document)
        if account_id is None:
            return LoadedReport(view, "", None, NO_ACCOUNT)
        try:
            report = account_report(account_id)
        except DomainError as error:  # the account was deleted in another session, say
            return LoadedReport(view, "", None, str(error))
        return LoadedReport(view, report.run.account.name, account_document(report))

    def _show(self, loaded: LoadedReport) -> None:
        if loaded.view != self.view:  # the user switched views while this one was read
            return
        self.loaded = loaded
        self.query_one("#report", ReportView).show(loaded.document, loaded.problem)
        self._refresh_status()
        self.refresh_bindings()
        self.show_now()

    def _summary(self) -> str:
        if self.loaded is None or self.loaded.document is None:
            return "Account report" if self.view == ACCOUNT else "Portfolio report"
        what = "Portfolio" if self.view == PORTFOLIO else f"Account: {self.loaded.subject}"
        shown = "numbers (n: charts)" if self.numbers else "charts (n: numbers)"
        return f"{what} · {shown} · e: export"

    def _status(self, text: str) -> None:
        self.query_one("#reports-status", Static).update(Content(printable(text, keep_newlines=False)))

    def _refresh_status(self) -> None:
        """The outcome of the last export until the next key changes what is shown, else what is shown."""
        self._status(self.notice or self._summary())

    def _tell(self, notice: str) -> None:
        self.notice = notice
        self._refresh_status()

    # Keys ----------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_numbers":
            return parameters[0] != self.numbers  # only the key's current meaning is offered
        if action == "show_view":
            return parameters[0] != self.view
        if action == "export":
            return None if self.exporting or self.loaded is None or self.loaded.document is None else True
        return True

    def action_show_numbers(self, numbers: bool) -> None:
        self.numbers = numbers
        self.query_one("#report", ReportView).show_numbers = numbers
        self.notice = ""
        self._refresh_status()
        self.refresh_bindings()

    def action_show_view(self, view: str) -> None:
        self.view = view
        self.notice = ""
        self.loaded = None
        self.query_one("#report", ReportView).show(None)
        self.query_one("#reports-body", VerticalScroll).scroll_home(animate=False)
        self.refresh_bindings()
        self.reload()

    def action_scroll_body(self, lines: int) -> None:
        self.query_one("#reports-body", VerticalScroll).scroll_relative(y=lines, animate=False)

    # Export --------------------------------------------------------------------------------------------------
    def action_export(self) -> None:
        loaded = self.loaded
        if loaded is None or loaded.document is None or self.exporting:
            return
        what = "the portfolio report" if loaded.view == PORTFOLIO else f"the report on {loaded.subject}"
        today = date.today()
        self.app.push_screen(
            ExportDialog(what, FORMATS[loaded.view], lambda fmt: default_export_path(loaded.subject, today, fmt)),
            lambda choice: self._export_chosen(loaded, today, choice),
        )

    def _export_chosen(self, loaded: LoadedReport, today: date, choice: tuple[str, Path, bool] | None) -> None:
        if choice is not None:
            fmt, path, replace = choice
            self._start_export(loaded, today, fmt, path, force=replace)

    def _start_export(self, loaded: LoadedReport, today: date, fmt: str, path: Path, force: bool) -> None:
        self._export_request = (loaded, today, fmt, path)
        self.exporting = True
        self.add_class("-exporting")
        self._show_progress(0.0)
        self._tell(f"Exporting to {path}…")
        self.refresh_bindings()
        create_folder = path == default_export_path(loaded.subject, today, fmt)
        self._export(loaded.view, self._account_id(), fmt, path, force, create_folder)

    @work(thread=True, exclusive=True, group=EXPORT_GROUP, exit_on_error=False)
    def _export(self, view: str, account_id: uuid.UUID | None, fmt: str, path: Path, force: bool,
                create_folder: bool) -> Path:
        def rendered(fraction: float) -> None:
            self.app.call_from_thread(self._show_progress, READ_SHARE + RENDER_SHARE * fraction)

        if view == PORTFOLIO:
            content = export_portfolio(fmt, on_progress=rendered)
        else:
            if account_id is None:
                raise DomainError(NO_ACCOUNT)
            content = render_account(account_report(account_id), fmt, rendered)
        return write_export(content, path, force, create_folder=create_folder)

    def _show_progress(self, fraction: float) -> None:
        self.query_one("#reports-progress", ProgressBar).update(progress=round(100 * fraction))

    def _export_finished(self) -> None:
        self.exporting = False
        self.remove_class("-exporting")
        self.refresh_bindings()

    # Worker results -----------------------------------------------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == LOAD_GROUP and event.state == WorkerState.SUCCESS:
            self._show(worker.result)
        elif worker.group == EXPORT_GROUP and event.state == WorkerState.SUCCESS:
            self._show_progress(1.0)
            self._export_finished()
            self._tell(f"Saved {worker.result}")
            self.notify(printable(f"Saved {worker.result}"), title="Export", markup=False)
        elif worker.group == EXPORT_GROUP and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._export_finished()
            error = worker.error
            if isinstance(error, ExportExists) and self._export_request:  # created after the check: ask again
                event.stop()
                self._ask_replace(*self._export_request)
                return
            self._tell(f"Export failed: {error}" if error else "Export cancelled: nothing was written.")
        elif worker.group == LOAD_GROUP and event.state == WorkerState.ERROR:
            self._tell(f"The report could not be read: {worker.error}")
