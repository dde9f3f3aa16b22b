"""Entering KPI values in the checklist (steps 10 and 13): the values measured so far, and one line to add
a value or correct the chosen one. Enter saves; a refused value stays in the inputs with the reason.

The editor hands each change to the app's writer (off the UI thread) and posts `KpiEditor.Changed` after
each saved one; a value that cannot be saved is also held (acct_tui.store.held). It never sees the ORM
(entries come from `kpis.kpi_entries` as plain views, read in a thread worker).
"""

from __future__ import annotations

import uuid

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Select, Static

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.store import kpis
from acct_tui.store.held import KPI, new_held_edit
from acct_tui.store.kpis import KpiView
from acct_tui.widgets.editors import KEYS_IN_FORMS, LineEditor
from acct_tui.widgets.list_editor import ListEditor
from acct_tui.widgets.step_form import StepForm
from acct_tui.widgets.step_list import CursorOptionList
from acct_tui.workflow.kpi import METRICS, Metric, format_metric_value, get_metric, parse_metric_value

HINT = ("Choose the metric, type the value and the date it was measured; enter saves. "
        "In the list: enter corrects a value, delete removes it.")


def entry_row(entry: KpiView) -> Content:
    metric = get_metric(entry.metric)
    where = f"  (step {entry.step})" if entry.step else ""
    return Content(f"{metric.short:<9} {entry.measured_on.isoformat()}  {entry.text}{where}")


class KpiEditor(ListEditor):
    INPUTS = "#kpi-metric, #kpi-value, #kpi-date"
    MESSAGE = "kpi-message"

    DEFAULT_CSS = """
    KpiEditor { height: auto; margin-bottom: 1; }
    KpiEditor #kpi-entries { height: auto; max-height: 8; border: none; padding: 0; }
    KpiEditor .kpi-inputs { height: auto; }
    KpiEditor #kpi-metric { width: 16; }
    KpiEditor #kpi-value { width: 1fr; }
    KpiEditor #kpi-message { height: auto; text-style: italic; }
    """

    BINDINGS = [
        Binding("escape", "leave", "Back", tooltip="Back to the list of steps", id="kpi_editor.leave"),
        KEYS_IN_FORMS,
        Binding("delete", "delete_entry", "Delete value", show=False, id="kpi_editor.delete"),
    ]

    class Changed(Message):
        """A KPI value of the account was added, corrected or deleted."""

        def __init__(self, editor: KpiEditor) -> None:
            super().__init__()
            self.editor = editor

        @property
        def control(self) -> KpiEditor:
            return self.editor

    def __init__(self, account_id: uuid.UUID, step: int, *, refusal: str | None = None, account_name: str = "",
                 items: tuple[KpiView, ...] | None = None, id: str | None = None) -> None:
        """`refusal`: why the step cannot be changed now (a granted approval covers it), or None; `items`: the
        account's values, read already (see ListEditor)."""
        super().__init__(refusal=refusal, account_name=account_name, items=items, id=id)
        self.account_id = account_id
        self.step = step
        self.entries: tuple[KpiView, ...] = ()
        self.editing: KpiView | None = None  # the entry being corrected, else a new value is added

    def compose(self) -> ComposeResult:
        yield Label(self._title(), classes="field-label")
        yield Static(Content(HINT), classes="kpi-hint")
        yield CursorOptionList(id="kpi-entries")
        with Horizontal(classes="kpi-inputs"):
            yield Select([(Content(metric.short), metric.key) for metric in METRICS], value=METRICS[0].key,
                         allow_blank=False, id="kpi-metric")
            yield LineEditor(placeholder="value", id="kpi-value")
        # On a line of its own: beside the value both would be too narrow for "1300000.00" at 80 columns.
        yield LineEditor("today", placeholder="date: YYYY-MM-DD, today", id="kpi-date")
        yield Static(id="kpi-message")

    def _title(self) -> Content:
        return Content.styled(f"KPI values (entered here count as step {self.step}'s)", "bold")

    def show_for(self, account_id: uuid.UUID, step: int, *, refusal: str | None = None, account_name: str = "",
                 items: tuple[KpiView, ...] | None = None) -> None:
        """Show another account's values, or count them as another step's (see `ListEditor.show_for_another`);
        what was typed for the last one is not kept, as when the editor was built anew for each."""
        self.account_id, self.step, self.editing = account_id, step, None
        self.query_one(".field-label", Label).update(self._title())
        with self.prevent(Select.Changed, Input.Changed):
            self.query_one("#kpi-metric", Select).value = METRICS[0].key
            self.query_one("#kpi-value", Input).value = ""
            self.query_one("#kpi-date", Input).value = "today"
        self.show_for_another(refusal=refusal, account_name=account_name, items=items)

    def fetch(self) -> tuple[KpiView, ...]:
        return kpis.kpi_entries(self.account_id)

    def show(self, entries: tuple[KpiView, ...]) -> None:
        self.entries = entries
        rows = [entry_row(entry) for entry in entries] or [Content("No values yet.")]
        listing = self.query_one("#kpi-entries", CursorOptionList)
        listing.set_rows(rows, min(listing.highlighted or 0, len(rows) - 1))

    # Editing ----------------------------------------------------------------------------------------------
    def _selected(self) -> KpiView | None:
        index = self.query_one("#kpi-entries", CursorOptionList).highlighted
        return self.entries[index] if index is not None and index < len(self.entries) else None

    @on(OptionList.OptionSelected, "#kpi-entries")
    def _correct(self) -> None:
        entry = self._selected()
        if entry is None:
            return
        self.editing = entry
        metric = self.query_one("#kpi-metric", Select)
        metric.value = entry.metric
        metric.disabled = True
        self.query_one("#kpi-value", Input).value = f"{entry.value:f}"
        self.query_one("#kpi-date", Input).value = entry.measured_on.isoformat()
        self.query_one("#kpi-value", Input).focus()
        self._say(f"Correcting {get_metric(entry.metric).short} of {entry.measured_on.isoformat()}: "
                  "enter saves, escape stops.")

    def _stop_correcting(self) -> None:
        self.editing = None
        self.query_one("#kpi-metric", Select).disabled = bool(self.refusal)
        self.query_one("#kpi-value", Input).value = ""

    @on(Input.Submitted, "#kpi-value, #kpi-date")
    def _save(self) -> None:
        value = self.query_one("#kpi-value", Input).value
        measured_on = self.query_one("#kpi-date", Input).value
        metric = get_metric(self.query_one("#kpi-metric", Select).value)
        account_id, step, editing = self.account_id, self.step, self.editing

        def save() -> None:  # on the writer thread
            if editing is None:
                kpis.add_kpi(account_id, metric.key, value, measured_on, step=step)
            else:
                kpis.edit_kpi(editing.id, value=value, measured_on=measured_on, expected_version=editing.version)

        draft = new_held_edit(KPI, account_id=account_id, account_name=self.account_name, step=step, key="kpi",
                              label=f"KPI {metric.short}", value={"metric": metric.key, "value": value,
                                                                  "date": measured_on},
                              reason="", target_id=editing.id if editing else None)
        self.submit(save, lambda _, error: self._saved(metric, value, measured_on, error), draft=draft)

    def _saved(self, metric: Metric, value: str, measured_on: str, error: DomainError | None) -> None:
        if error is not None:
            # The user's numbers stay in the inputs (and are held); the list shows what is stored.
            self._say(self.not_saved_message(error))
            if isinstance(error, StaleEdit):
                self.load()
            return
        # The value as stored, not as typed: typed text may run to any length (4.5000…).
        self._say(f"Saved {metric.short} {format_metric_value(metric, parse_metric_value(metric, value))} "
                  f"for {measured_on.strip()}.")
        self._stop_correcting()
        self.query_one("#kpi-value", Input).focus()
        self._changed()

    def action_delete_entry(self) -> None:
        entry = self._selected()
        if entry is None or not self.query_one("#kpi-entries").has_focus:
            return
        self.submit(lambda: kpis.delete_kpi(entry.id, expected_version=entry.version),
                    lambda _, error: self._deleted(entry, error))

    def _deleted(self, entry: KpiView, error: DomainError | None) -> None:
        if error is not None:
            self._say(str(error))
            return
        self._say(f"Deleted {get_metric(entry.metric).short} {entry.text} of {entry.measured_on.isoformat()} "
                  "(the history keeps it).")
        self._changed()

    def _changed(self) -> None:
        self.load()
        self.post_message(self.Changed(self))

    def action_leave(self) -> None:
        if self.editing is not None:
            self._stop_correcting()
            self._say("")
            return
        self.post_message(StepForm.LeaveRequested())
