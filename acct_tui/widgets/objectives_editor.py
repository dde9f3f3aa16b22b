"""Objectives in the checklist: set them in step 6 (title, target, optional KPI, due date) and record what
came of each in step 20 (result, achieved or missed). Enter saves; a refused entry stays with the reason.

The editor hands each change to the app's writer (off the UI thread) and posts `ObjectivesEditor.Changed`
after each saved one; an entry that cannot be saved is also held (acct_tui.store.held). Objectives come from
`kpis.objectives` as plain views, read in a thread worker.
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
from acct_tui.store.held import OBJECTIVE, new_held_edit
from acct_tui.store.kpis import ObjectiveView
from acct_tui.text import printable
from acct_tui.widgets.editors import KEYS_IN_FORMS, LineEditor
from acct_tui.widgets.list_editor import ListEditor
from acct_tui.widgets.step_form import StepForm
from acct_tui.widgets.step_list import CursorOptionList
from acct_tui.workflow.kpi import METRICS

DEFINE = "define"  # step 6
RESULTS = "results"  # step 20
FREE_TEXT = "text"  # the metric choice for a target in words
VERDICTS = (("not judged yet", None), ("achieved", True), ("missed", False))
HINTS = {
    DEFINE: "Type the objective, its target and due date; a target can be a KPI value (choose the metric). "
            "Enter saves. In the list: enter changes one, delete removes it.",
    RESULTS: "Choose an objective in the list (enter), write what came of it and whether it was achieved; "
             "enter saves.",
}


def objective_row(objective: ObjectiveView, mode: str) -> Content:
    """The title on one line, what it aims at (and in step 20 what came of it) indented below: short lines
    that fit the checklist's pane at 80 columns."""
    due = f" by {objective.due_on.isoformat()}" if objective.due_on else ""
    lines = [objective.title, f"  target {objective.target}{due}"]
    if mode == RESULTS:
        lines.append("  " + next(name for name, value in VERDICTS if value is objective.achieved)
                     + (f": {objective.result}" if objective.result else ""))
    return Content("\n").join(Content(printable(line, keep_newlines=False)) for line in lines)


class ObjectivesEditor(ListEditor):
    INPUTS = ".objective-field"
    MESSAGE = "objective-message"

    DEFAULT_CSS = """
    ObjectivesEditor { height: auto; margin-bottom: 1; }
    ObjectivesEditor #objective-list { height: auto; max-height: 8; border: none; padding: 0; }
    ObjectivesEditor .objective-inputs { height: auto; }
    ObjectivesEditor #objective-metric, ObjectivesEditor #objective-verdict { width: 18; }
    ObjectivesEditor #objective-target, ObjectivesEditor #objective-result { width: 1fr; }
    ObjectivesEditor #objective-message { height: auto; text-style: italic; }
    """

    BINDINGS = [
        Binding("escape", "leave", "Back", tooltip="Back to the list of steps", id="objectives_editor.leave"),
        KEYS_IN_FORMS,
        Binding("delete", "remove", "Remove objective", show=False, id="objectives_editor.remove"),
    ]

    class Changed(Message):
        """An objective was added, changed, removed or judged."""

        def __init__(self, editor: ObjectivesEditor) -> None:
            super().__init__()
            self.editor = editor

        @property
        def control(self) -> ObjectivesEditor:
            return self.editor

    def __init__(self, run_id: uuid.UUID, mode: str, *, refusal: str | None = None, account_id: uuid.UUID | None = None,
                 account_name: str = "", step: int | None = None, items: tuple[ObjectiveView, ...] | None = None,
                 id: str | None = None) -> None:
        """`refusal`: why the step cannot be changed now (approval 8 granted, for step 6), or None. `step`: the
        number of the step it is shown in (where text it could not save is held); `items`: the run's objectives,
        read already (see ListEditor)."""
        super().__init__(refusal=refusal, account_name=account_name, items=items, id=id)
        self.account_id = account_id
        self.step = step
        self.run_id = run_id
        self.mode = mode
        self.objectives: tuple[ObjectiveView, ...] = ()
        self.editing: ObjectiveView | None = None

    def compose(self) -> ComposeResult:
        title = "Objectives" if self.mode == DEFINE else "Objectives: results"
        yield Label(Content.styled(title, "bold"), classes="field-label")
        yield Static(Content(HINTS[self.mode]), classes="objective-hint")
        yield CursorOptionList(id="objective-list")
        if self.mode == DEFINE:
            yield LineEditor(placeholder="objective, e.g. Raise CSAT to 4.5", id="objective-title",
                             classes="objective-field")
            with Horizontal(classes="objective-inputs"):
                yield Select([(Content("free text"), FREE_TEXT)]
                             + [(Content(metric.short), metric.key) for metric in METRICS],
                             value=FREE_TEXT, allow_blank=False, id="objective-metric", classes="objective-field")
                yield LineEditor(placeholder="target", id="objective-target", classes="objective-field")
            # On a line of its own: beside the others it would be too narrow for a date at 80 columns.
            yield LineEditor(placeholder="due: YYYY-MM-DD or +30", id="objective-due", classes="objective-field")
        else:
            with Horizontal(classes="objective-inputs"):
                yield Select([(Content(name), index) for index, (name, _) in enumerate(VERDICTS)], value=0,
                             allow_blank=False, id="objective-verdict", classes="objective-field")
                yield LineEditor(placeholder="what came of it", id="objective-result", classes="objective-field")
        yield Static(id="objective-message")

    def show_for(self, run_id: uuid.UUID, mode: str, *, refusal: str | None = None,
                 account_id: uuid.UUID | None = None, account_name: str = "", step: int | None = None,
                 items: tuple[ObjectiveView, ...] | None = None) -> None:
        """Show another run's objectives (in the same `mode`; see `ListEditor.show_for_another`); what was
        typed for the last one is not kept, as when the editor was built anew for each."""
        if mode != self.mode:
            raise ValueError(f"an editor of {self.mode!r} objectives cannot show {mode!r}")
        self.run_id, self.account_id, self.step = run_id, account_id, step
        with self.prevent(Select.Changed, Input.Changed):
            self._clear()
            choice, default = ("#objective-metric", FREE_TEXT) if mode == DEFINE else ("#objective-verdict", 0)
            self.query_one(choice, Select).value = default
        self.show_for_another(refusal=refusal, account_name=account_name, items=items)

    def fetch(self) -> tuple[ObjectiveView, ...]:
        return kpis.objectives(self.run_id)

    def show(self, objectives: tuple[ObjectiveView, ...]) -> None:
        self.objectives = objectives
        rows = [objective_row(item, self.mode) for item in objectives] or [Content("No objectives yet.")]
        listing = self.query_one("#objective-list", CursorOptionList)
        listing.set_rows(rows, min(listing.highlighted or 0, len(rows) - 1))

    def _input(self, name: str) -> Input:
        return self.query_one(f"#objective-{name}", Input)

    # Editing ----------------------------------------------------------------------------------------------
    def _selected(self) -> ObjectiveView | None:
        index = self.query_one("#objective-list", CursorOptionList).highlighted
        return self.objectives[index] if index is not None and index < len(self.objectives) else None

    @on(OptionList.OptionSelected, "#objective-list")
    def _choose(self) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        self.editing = chosen
        if self.mode == DEFINE:
            self._input("title").value = chosen.title
            self.query_one("#objective-metric", Select).value = chosen.metric or FREE_TEXT
            self._input("target").value = f"{chosen.target_value:f}" if chosen.metric else chosen.target
            self._input("due").value = chosen.due_on.isoformat() if chosen.due_on else ""
            self._input("title").focus()
            self._say(f"Changing “{chosen.title}”: enter saves, escape stops.")
        else:
            verdict = next(index for index, (_, value) in enumerate(VERDICTS) if value is chosen.achieved)
            self.query_one("#objective-verdict", Select).value = verdict
            self._input("result").value = chosen.result
            self._input("result").focus()
            self._say(f"Result of “{chosen.title}”: enter saves, escape stops.")

    def _clear(self) -> None:
        self.editing = None
        for name in ("title", "target", "due") if self.mode == DEFINE else ("result",):
            self._input(name).value = ""

    @on(Input.Submitted)
    def _save(self) -> None:
        if self.mode == RESULTS and self.editing is None:
            self._say("Choose the objective in the list first (enter).")
            return
        editing, run_id = self.editing, self.run_id
        if self.mode == DEFINE:
            metric = self.query_one("#objective-metric", Select).value
            metric = None if metric == FREE_TEXT else metric
            title, target, due = (self._input(name).value for name in ("title", "target", "due"))
            typed = {"title": title, "target": target, "metric": metric, "due": due}

            def save() -> str:  # on the writer thread
                if editing is None:
                    kpis.add_objective(run_id, title, target, due, metric=metric)
                    return f"Added “{title.strip()}”."
                kpis.edit_objective(editing.id, expected_version=editing.version, title=title, target=target,
                                    metric=metric, due=due)
                return f"Saved “{title.strip()}”."
        else:
            verdict = self.query_one("#objective-verdict", Select).value
            result = self._input("result").value
            typed = {"result": result, "achieved": VERDICTS[verdict][1]}

            def save() -> str:  # on the writer thread
                kpis.record_result(editing.id, result, VERDICTS[verdict][1], expected_version=editing.version)
                return f"Recorded the result of “{editing.title}”."

        draft = new_held_edit(OBJECTIVE, account_id=self.account_id, account_name=self.account_name,
                              step=self.step, key=self.mode,
                              label="objective" if self.mode == DEFINE else "objective result", value=typed,
                              reason="", run_id=run_id, target_id=editing.id if editing else None)
        self.submit(save, self._saved, draft=draft)

    def _saved(self, saved: str | None, error: DomainError | None) -> None:
        if error is not None:
            self._say(self.not_saved_message(error))  # what the user typed stays (and is held)
            if isinstance(error, StaleEdit):
                self.load()  # the list shows what is stored now
            return
        self._say(saved)
        self._clear()
        self.post_message(self.Changed(self))
        self.load()

    def action_remove(self) -> None:
        chosen = self._selected()
        if self.mode != DEFINE or chosen is None or not self.query_one("#objective-list").has_focus:
            return
        self.submit(lambda: kpis.remove_objective(chosen.id, expected_version=chosen.version),
                    lambda _, error: self._removed(chosen, error))

    def _removed(self, chosen: ObjectiveView, error: DomainError | None) -> None:
        if error is not None:
            self._say(str(error))
            return
        self._say(f"Removed “{chosen.title}” (the history keeps it).")
        self.post_message(self.Changed(self))
        self.load()

    def action_leave(self) -> None:
        if self.editing is not None:
            self._clear()
            self._say("")
            return
        self.post_message(StepForm.LeaveRequested())
