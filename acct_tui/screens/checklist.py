"""The step checklist of one account: the 20 steps on the left, the selected step's guidance, fields and
history on the right, and what blocks progress on top.

Edits save themselves: a toggle at once, typing half a second after the last key, and everything still
unsaved when the user changes step, leaves the screen or quits. Each save goes to the app's one writer (off
the UI thread) with the version the edit started from, so a change made meanwhile in another session is
reported, never silently overwritten. A save that is refused or fails leaves the text in its editor and
held (acct_tui.store.held); the step shows it again, with the reason, whenever it is opened.
"""

from __future__ import annotations

import uuid
from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Header, OptionList, Select, Static
from textual.widgets._select import SelectCurrent  # the chosen value in a Select; not exported by Textual
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.messages import DataChanged
from acct_tui.newest_read import newest_read
from acct_tui.screens.binding_commands import ScreenBindingCommands
from acct_tui.screens.dialogs import UpgradeDialog
from acct_tui.screens.mode_screen import ModeScreen
from acct_tui.store import kpis, queries, services, upgrades
from acct_tui.store.held import FIELD, WAITING, new_held_edit
from acct_tui.store.queries import DecisionView, RunView, StepView
from acct_tui.template import DUE_KEY, KPI_ROLE, OBJECTIVES_ROLE, RESULTS_ROLE
from acct_tui.text import printable
from acct_tui.typeahead import hold_keys_for
from acct_tui.widgets.key_footer import KeyFooter
from acct_tui.widgets.kpi_editor import KpiEditor
from acct_tui.widgets.list_editor import ListEditor
from acct_tui.widgets.objectives_editor import DEFINE, RESULTS, ObjectivesEditor
from acct_tui.widgets.step_form import (
    NOW,
    SOON,
    HeldText,
    PendingEdit,
    StepForm,
    local_time,
    state_words,
    step_summary,
)
from acct_tui.sync.conflicts import steps_with_conflicts
from acct_tui.widgets.step_list import StepList, one_line
from acct_tui.widgets.write_status import WriteStatus
from acct_tui.workflow import APPROVED, LOCKED, OPEN, PENDING, REJECTED, Progress

SAVE_DELAY = 0.5
LOAD_GROUP = "checklist-load"
NO_ACCOUNT = "Choose an account in the list (1)"
REJECTED_GLYPH = "✘"


def next_step_to_do(view: RunView) -> int:
    """Where the cursor goes when the checklist is shown: the first task that can be done now, else the
    first one that can be drafted, else where the run stands (an approval waiting, or the end)."""
    for marks in ((OPEN,), (LOCKED,)):
        for step in view.steps:
            if not step.is_approval and step.mark in marks:
                return step.number
    return view.progress.current_step or len(view.steps)


def _refusal_state(step: StepView) -> tuple[object, ...]:
    return step.status, step.mark, tuple(field.value for field in step.fields if field.required)


def _changed_since(step: StepView) -> Callable[[RunView], bool]:
    """True once `step` is no longer as it was when an action on it was refused: the reason may be gone."""
    refused_in = _refusal_state(step)
    return lambda view: _refusal_state(view.step(step.number)) != refused_in


def rejection_text(gate: StepView, decision: DecisionView) -> str:
    # Short: the line above (or the step's heading) names the approval already.
    return (f"{REJECTED_GLYPH} Step {gate.number} was rejected by {decision.approver} on "
            f"{local_time(decision.decided_at)}: “{decision.comment}”")


def _step_extras(view: RunView, number: int, items: tuple | None = None
                 ) -> tuple[tuple[type[ListEditor], str | None], dict] | None:
    """The editor of its own below a step's fields, by the step's role in the template: KPI values, objectives
    and their results (see acct_tui.widgets.kpi_editor and objectives_editor), as (its kind, what it is shown
    with). `items`: what the editor lists, read already (`_extras_items`); else it reads them itself."""
    step = view.step(number)
    common = {"refusal": step.edit_refusal, "account_name": view.account.name, "items": items}
    if step.role == KPI_ROLE:
        return (KpiEditor, None), {"account_id": view.account.id, "step": number, **common}
    if step.role in (OBJECTIVES_ROLE, RESULTS_ROLE):
        mode = DEFINE if step.role == OBJECTIVES_ROLE else RESULTS
        return (ObjectivesEditor, mode), {"run_id": view.run_id, "mode": mode, "account_id": view.account.id,
                                          "step": number, **common}
    return None


# Each kind of extras editor (its class and mode), with what it is built with: built for nobody, listing nothing,
# then shown for each step that has one (`show_for` says which account and step it is for).
_NOBODY = uuid.UUID(int=0)
EXTRAS_KINDS: dict[tuple[type[ListEditor], str | None], tuple] = {
    (KpiEditor, None): (_NOBODY, 0),
    (ObjectivesEditor, DEFINE): (_NOBODY, DEFINE),
    (ObjectivesEditor, RESULTS): (_NOBODY, RESULTS),
}


def _blank_extras(kind: tuple[type[ListEditor], str | None]) -> ListEditor:
    editor_class, _ = kind
    return editor_class(*EXTRAS_KINDS[kind], items=())


def _extras_items(view: RunView, number: int) -> tuple | None:
    """What the editor of `_step_extras` lists for the step (as its `fetch` reads it), or None without one:
    read with the run, so that the step is shown whole without a read of the editor's own after it."""
    role = view.step(number).role
    if role == KPI_ROLE:
        return kpis.kpi_entries(view.account.id)
    if role in (OBJECTIVES_ROLE, RESULTS_ROLE):
        return kpis.objectives(view.run_id)
    return None


class ChecklistScreen(ModeScreen):
    COMMANDS = {ScreenBindingCommands}
    # Shown for some steps only: the KPI and objectives editors, with their dropdowns (a Select shows its value
    # in a SelectCurrent; the list it drops down is an OptionList, whose CSS the step list brings).
    LATER_WIDGETS = (KpiEditor, ObjectivesEditor, Select, SelectCurrent)
    BINDINGS = [
        Binding("d", "complete", "Done", tooltip="Mark the selected step done", id="checklist.complete"),
        Binding("o", "reopen", "Reopen", tooltip="Reopen the selected step, or take back a granted approval",
                id="checklist.reopen"),
        Binding("U", "upgrade", "Upgrade", tooltip="Preview moving this run to the newest template version",
                id="checklist.upgrade"),
        Binding("ctrl+s", "save_now", "Save now", show=False,
                tooltip="Save every edit now, also over a value changed in another session", id="checklist.save"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._account_id: uuid.UUID | None = None
        self._view: RunView | None = None
        self._form: StepForm | None = None  # the form of the step shown; None when it has none
        self._form_widget: StepForm | None = None  # kept (hidden) while a step without a form is shown
        # The KPI and objectives editors, one of each kind (and mode) once shown: kept (hidden) as the form is
        self._spare_extras: dict[tuple[type[ListEditor], str | None], ListEditor] = {}
        self._shown_step: int | None = None
        self._shown_from: RunView | None = None  # the load the shown step was last shown from
        self._save_timer: Timer | None = None
        self._save_problem_shown = False  # the message line shows why a save failed
        # When the message line stops being true (e.g. a refusal for a field now filled in): checked on each load.
        self._message_stale_when: Callable[[RunView], bool] | None = None
        self._place_cursor = True  # put the cursor on the next step to do at the next load
        self._enter_step: int | None = None  # enter was pressed on this step before its form was up
        # (run, step, field) -> the version this screen's last save of it wrote. A save handed to the writer
        # while an earlier one of the same field is queued expects that version, not its own conflict.
        self._written: dict[tuple[uuid.UUID, int, str], int] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="checklist-summary")
        yield Static(id="checklist-blocker")
        yield Static(id="checklist-rejection")
        yield Static(Content(NO_ACCOUNT), id="checklist-empty")
        with Horizontal(id="checklist-body"):
            yield StepList(id="step-list")
            with VerticalScroll(id="step-detail"):
                yield Static(id="step-heading")
                yield Static(id="step-guidance")
                yield Vertical(id="step-form-holder")
                yield Static(id="step-history")
        yield Static(id="checklist-message")
        yield WriteStatus()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Checklist"

    # Which account, and loading it ------------------------------------------------------------------------
    def on_screen_resume(self) -> None:
        self._place_cursor = True
        self.reload()

    def _follow_current_account(self) -> None:
        """Start over when the app's current account is not the one shown (a new one was opened)."""
        account_id = getattr(self.app, "current_account_id", None)
        if account_id != self._account_id:
            self._save_drafts(reload=False)
            self._account_id = account_id
            self._view = None
            self._shown_step = None
            self._place_cursor = True
            self._say("")
            self._clear_step_page()
            self.query_one(StepList).focus()
        self.set_class(account_id is None, "-no-account")
        if account_id is None:
            self.sub_title = ""
            self.query_one("#checklist-summary", Static).update(Content(NO_ACCOUNT))
            self.query_one("#checklist-blocker", Static).update("")
            self.query_one("#checklist-rejection", Static).update("")

    def on_screen_suspend(self) -> None:
        self._save_drafts(reload=False)
        self._say("")

    def on_unmount(self) -> None:
        # App exit: what the user typed in the last half second goes to the writer, which finishes it or
        # holds it before the app closes.
        self._save_drafts(reload=False)

    def held_place(self) -> tuple[str, int | None] | None:
        """The account and step shown, whose held edits the Held edits screen (H) offers first."""
        return None if self._account_id is None else (str(self._account_id), self._shown_step)

    def save_pending_edits(self) -> None:
        """Hand every unsaved edit to the writer now (the app asks before quitting)."""
        self._save_drafts(reload=False)

    def on_data_changed(self, message: DataChanged) -> None:
        self.reload()

    def reload(self) -> None:
        self._follow_current_account()
        if self._account_id is not None:
            step_list = self.query_one(StepList)
            loading = self._load(self._account_id, None if self._place_cursor else step_list.highlighted_step)
            if self._view is None:  # keys typed after opening the account are meant for its steps
                hold_keys_for(self.app, loading)

    @newest_read(LOAD_GROUP)
    def _load(self, account_id: uuid.UUID, step: int | None) -> tuple[RunView, set[int], int, tuple | None]:
        """The run, its steps with a sync conflict, and the step to be shown (`step`, or the next to do) with
        what its own editor lists."""
        view = queries.run_view(account_id)
        keys = steps_with_conflicts(view.run_id)
        conflicted = {template_step.number for template_step in view.template.steps if template_step.key in keys}
        shown = next_step_to_do(view) if step is None or step > len(view.steps) else step
        return view, conflicted, shown, _extras_items(view, shown)

    @on(Worker.StateChanged)
    async def _loaded(self, event: Worker.StateChanged) -> None:
        # A result is applied here on the UI thread; a failure goes to the app's one handler, which shows it
        # (worker state messages do not bubble by themselves).
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
            return
        if event.worker.group != LOAD_GROUP or event.state != WorkerState.SUCCESS:
            return
        view, conflicted, read_for, extras_items = event.worker.result
        if view.account.id != self._account_id:
            return
        if self._view is None:
            self.refresh_bindings()
        self._view = view
        self._show_summary(view)
        if self._message_stale_when is not None and self._message_stale_when(view):
            self._say("")
        step_list = self.query_one(StepList)
        step_list.show_steps(view.steps, next_step_to_do(view) if self._place_cursor else None, conflicted)
        self._place_cursor = False
        shown = step_list.highlighted_step
        await self._show_step(shown, extras_items if shown == read_for else None)
        self._show_when_whole()

    @on(ListEditor.Shown)
    def _show_when_whole(self) -> None:
        """Once the loaded account's step is on the screen whole, its editors' lists too, it is drawn (the
        first frame after opening an account shows it loaded)."""
        if self._view is not None and all(editor.has_shown for editor in self._extras()):
            self.show_now()

    async def finish_building(self) -> None:
        """The extras editors not built yet are built hidden once the checklist is first on the screen: no step
        opened later waits for its editor to be built (25-30 ms each, the slowest opens)."""
        missing = {kind: _blank_extras(kind) for kind in EXTRAS_KINDS if kind not in self._spare_extras}
        for editor in missing.values():
            editor.display = False
        self._spare_extras.update(missing)
        await self.query_one("#step-form-holder").mount_all(missing.values())
        await super().finish_building()

    # Showing ---------------------------------------------------------------------------------------------
    def _show_summary(self, view: RunView) -> None:
        name = printable(view.account.name, keep_newlines=False)
        self.sub_title = name
        progress = view.progress
        bar = "█" * progress.done + "░" * (progress.total - progress.done)
        late = f"  late: {', '.join(map(str, progress.overdue))}" if progress.overdue else ""
        self.query_one("#checklist-summary", Static).update(Content.assemble(
            (name, "bold"), f"  {progress.done}/{progress.total} ", bar, late,
        ))
        lines = [one_line(progress.blocker)]
        if view.upgrade_available:
            lines.append(one_line(f"This run follows version {view.template.version} of the template; version "
                                  f"{view.latest_version} is available: press U to preview the upgrade."))
        self.query_one("#checklist-blocker", Static).update(Content("\n").join(lines))
        rejection = self.query_one("#checklist-rejection", Static)
        rejection.update(
            Content("\n").join(one_line(rejection_text(gate, decision)) for gate, decision in view.rejections()))
        # On the line itself, not the screen: a class of the screen would restyle every widget on it.
        rejection.set_class(bool(view.rejections()), "-shown")

    @on(OptionList.OptionHighlighted, "#step-list")
    async def _step_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        await self._show_step(event.option_index + 1)

    @on(OptionList.OptionSelected, "#step-list")
    def _step_selected(self) -> None:
        step = self._selected_step()
        if step is None:
            return
        if step.is_approval:
            self._say(f"Step {step.number} is an approval: decide it in the approval queue (key 3).")
        elif step.edit_refusal:
            # Said at the key press on the message line, where the user looks, not only below the guidance.
            self._say(step.edit_refusal, stale_when=_changed_since(step))
        elif self._shown_step != step.number or self._form is None or not self._form.is_mounted:
            self._enter_step = step.number  # its form is still being put up (enter right after d): go in then
        else:
            self._form.focus_first()

    @on(KpiEditor.Changed)
    @on(ObjectivesEditor.Changed)
    def _extras_changed(self) -> None:
        self.reload()  # the step's history shows what was added

    @on(StepForm.LeaveRequested)
    def _leave_form(self) -> None:
        self.query_one(StepList).focus()

    async def _show_step(self, number: int | None, extras_items: tuple | None = None) -> None:
        view = self._view
        if view is None or number is None:
            return
        if number == self._shown_step and view is self._shown_from:
            return  # shown already (the highlight a load moves to arrives after the load showed its step)
        self._shown_from = view
        step = view.step(number)
        if number != self._shown_step:
            self._save_drafts()  # what cannot be saved is held, and shown again in the step
            holder = self.query_one("#step-form-holder")
            self._clear_step_page()
            held = [HeldText(edit.key, edit.value, edit.reason)
                    for edit in self.app.held.at_place(FIELD, view.account.id, number) if edit.reason != WAITING]
            if not step.is_approval:
                # One form for every step shown: the fields steps share keep their editors (see StepForm.show_step).
                if self._form_widget is None:
                    self._form_widget = StepForm(step, held=held)
                    await holder.mount(self._form_widget, before=0)  # above the spare extras
                else:
                    await self._form_widget.show_step(step, held=held)
                    self._form_widget.display = True
                self._form = self._form_widget
            extras = _step_extras(view, number, extras_items)
            if extras is not None:
                await self._put_up_extras(holder, *extras)
            self._shown_step = number
            self.query_one("#step-detail").scroll_home(animate=False)
            if self._enter_step == number and self._form is not None:
                self._enter_step = None
                self._form.focus_first()
        elif self._form is not None:
            self._form.refresh_from(step)
            for extras in self._extras():
                extras.set_refusal(step.edit_refusal)
                extras.load()
        self.query_one("#step-heading", Static).update(self._heading(view, step))
        self.query_one("#step-guidance", Static).update(self._guidance(view, step))
        self.query_one("#step-history", Static).update(self._history(view, step))
        self.call_after_refresh(self._keep_focus_in_view)

    def _clear_step_page(self) -> None:
        """Take the shown step's editors off the page: the form and the extras are hidden for reuse."""
        self._form = None
        if self._form_widget is not None:
            self._form_widget.display = False
        for extras in self._extras():
            extras.display = False

    async def _put_up_extras(self, holder: Widget, kind: tuple[type[ListEditor], str | None], arguments: dict
                             ) -> None:
        """One editor of each kind for every step shown, as one form: built and mounted if the checklist has
        not built the spares yet (`finish_building`), and shown for the step."""
        editor = self._spare_extras.get(kind)
        if editor is None:
            editor = self._spare_extras[kind] = _blank_extras(kind)
            await holder.mount(editor)
        editor.show_for(**arguments)
        editor.display = True

    def _extras(self) -> list[ListEditor]:
        """The step's editors of its own below its fields (the KPI and objectives editors) on the page."""
        return [editor for editor in self._spare_extras.values() if editor.display]

    def _keep_focus_in_view(self) -> None:
        """The focused field stays on screen when the step's page is redrawn or scrolled home: a key must
        never tick or type into something the user cannot see."""
        focused = self.focused
        detail = self.query_one("#step-detail", VerticalScroll)
        if focused is not None and detail in focused.ancestors:
            detail.scroll_to_widget(focused, animate=False)

    @staticmethod
    def _heading(view: RunView, step: StepView) -> Content:
        title = Content.assemble((f"Step {step.number}: ", "bold"), (printable(step.title, keep_newlines=False), "bold"))
        state = state_words(step)
        if step.mark == LOCKED:
            gate = next(s for s in view.steps if s.is_approval and s.number < step.number and s.status != APPROVED)
            state += f", until step {gate.number} is approved; you can fill it in as a draft"
        elif step.mark == OPEN:
            state += ": press d when it is done"
        if step.number in view.progress.overdue:
            state += f" (overdue: due {step.field(DUE_KEY).value.isoformat()})"
        lines = [title, one_line(state)]
        # Until the approval is resubmitted, its own page and each step it sent back say why.
        rejection = view.rejection_of(step.number) if step.mark in (OPEN, REJECTED) else None
        if rejection is not None:
            lines.append(one_line(rejection_text(*rejection)))
        if step.is_approval:
            covered = "step" if len(step.covers) == 1 else "steps"
            lines.append(one_line(f"Covers {covered} {', '.join(map(str, step.covers))} (shown below the guidance)."))
            if step.mark == PENDING:
                lines.append(Content("Approve or reject it in the approval queue (key 3)."))
            elif step.mark == APPROVED:
                lines.append(Content("Press o to take the approval back, so its steps can be changed."))
        return Content("\n").join(lines)

    @staticmethod
    def _guidance(view: RunView, step: StepView) -> Content:
        lines = [
            Content.assemble(("Purpose: ", "bold"), printable(step.purpose)),
            Content.assemble(("Desired result: ", "bold"), printable(step.desired_result)),
            Content.styled("Questions:", "bold"),
            *(Content("• " + printable(question)) for question in step.questions),
        ]
        if step.is_approval:
            lines.extend(Content("\n") + step_summary(view.step(number)) for number in step.covers)
        return Content("\n").join(lines)

    @staticmethod
    def _history(view: RunView, step: StepView) -> Content:
        lines = [Content.styled("History", "bold")]
        if step.is_approval:
            for decision in reversed(view.decisions):
                if decision.step == step.number:
                    lines.append(one_line(
                        f"{local_time(decision.decided_at)} {decision.approver}: {decision.decision}"
                        + (f": {decision.comment}" if decision.comment else "")
                    ))
        lines.extend(
            one_line(f"{local_time(entry.at)} {entry.actor}: {entry.summary}") for entry in view.step_history(step.number)
        )
        if len(lines) == 1:
            lines.append(Content("Nothing has happened to this step yet."))
        return Content("\n").join(lines)

    def _say(self, message: str, stale_when: Callable[[RunView], bool] | None = None) -> None:
        """One message line under the screen: refusals, conflicts and confirmations (never as markup).
        `stale_when(view)` tells, on each load, whether the message has stopped being true (then it goes)."""
        self._message_stale_when = stale_when
        for line in self.query("#checklist-message").results(Static):
            line.update(Content(printable(message)))

    # Actions ---------------------------------------------------------------------------------------------
    def _selected_step(self) -> StepView | None:
        number = self.query_one(StepList).highlighted_step
        return None if self._view is None or number is None else self._view.step(number)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("complete", "reopen", "save_now"):
            return self._view is not None
        if action == "upgrade":  # shown only for a run on an older version
            return self._view is not None and self._view.upgrade_available  # hidden from the footer otherwise
        return True

    def action_upgrade(self) -> None:
        view = self._view
        if view is None or not view.upgrade_available:
            return
        self._save_drafts()
        # Through the writer: the preview reads the run after the edits just handed to it are saved.
        self.app.writer.submit(lambda: upgrades.preview_upgrade(view.run_id, view.latest_version),
                               lambda plan, error: self._upgrade_previewed(view, plan, error))

    def _upgrade_previewed(self, view: RunView, plan: upgrades.UpgradePlan | None, error: DomainError | None) -> None:
        if error is not None:
            self._say(str(error))
            return
        refusal = None
        if plan.loses_answers:
            refusal = ("This would lose answers, so it is not done here: to accept that, run acct-tui template "
                       f"upgrade “{view.account.name}” --to {view.latest_version} --allow-loss. esc: close")
        question = f"Move “{view.account.name}” to version {view.latest_version} of the template?"
        self.app.push_screen(UpgradeDialog(question, plan.lines(), refusal),
                             lambda confirmed: self._upgrade_confirmed(confirmed, view, view.latest_version))

    def _upgrade_confirmed(self, confirmed: bool | None, view: RunView, version: int) -> None:
        if confirmed:
            self.app.writer.submit(lambda: upgrades.upgrade_run(view.run_id, version),
                                   lambda _, error: self._upgraded(version, error))

    def _upgraded(self, version: int, error: DomainError | None) -> None:
        if error is not None:
            self._say(str(error))
            return
        self._shown_step = None  # step numbers may have changed: show the step afresh
        self._say(f"This run now follows version {version} of the template.")
        self.reload()

    def action_complete(self) -> None:
        step = self._selected_step()
        if step is None or self._view is None:
            return
        not_saved = self._save_drafts()
        run_id, number = self._view.run_id, step.number

        def complete():
            if not_saved:
                raise DomainError(f"Step {number} was not marked done: an edit of it was not saved (see above).")
            return services.complete_step(run_id, number)

        self.app.writer.submit(complete, lambda progress, error: self._completed(step, progress, error))

    def _completed(self, step: StepView, progress: Progress | None, error: DomainError | None) -> None:
        number = step.number
        if error is not None:
            self._say(str(error), stale_when=_changed_since(step))
            return
        if self._view is not None and number < len(self._view.steps):
            self.query_one(StepList).highlighted = number
        self._say(f"Step {number} done. {progress.blocker}")
        self.reload()

    def action_reopen(self) -> None:
        step = self._selected_step()
        if step is None or self._view is None:
            return
        not_saved = self._save_drafts()
        run_id, number, is_approval = self._view.run_id, step.number, step.is_approval

        def reopen():
            if not_saved:
                raise DomainError(f"Step {number} was not reopened: an edit of it was not saved (see above).")
            return (services.reopen_approval if is_approval else services.reopen_step)(run_id, number)

        self.app.writer.submit(reopen, lambda _, error: self._reopened(number, is_approval, error))

    def _reopened(self, number: int, is_approval: bool, error: DomainError | None) -> None:
        if error is not None:
            self._say(str(error))
        elif is_approval:
            self._say(f"Approval step {number} is back in the approval queue; its steps can be changed.")
        else:
            self._say(f"Step {number} is open again.")
        self.reload()

    def action_save_now(self) -> None:
        not_saved = self._save_drafts(include_held=True)
        self.app.writer.submit(lambda: None, lambda _, __: None if not_saved else self._say("Everything is saved."))

    # Saving ----------------------------------------------------------------------------------------------
    @on(StepForm.Edited)
    def _form_edited(self, event: StepForm.Edited) -> None:
        if event.form is not self._form:
            return
        if event.urgency == NOW:
            self._save_drafts()
        elif event.urgency == SOON:
            if self._save_timer is not None:
                self._save_timer.stop()
            self._save_timer = self.set_timer(SAVE_DELAY, self._save_drafts, name="save typed text")

    def _save_drafts(self, include_held: bool = False, reload: bool = True) -> list[str]:
        """Hand the form's unsaved edits to the writer, in order. Returns a list the writer fills with the
        keys it could not save, by the time it runs the next change (an action queued after these)."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        not_saved: list[str] = []
        form, view = self._form, self._view
        if form is None or view is None:
            return not_saved
        for edit in form.pending(include_held):
            self._submit_edit(view, form, edit, not_saved, reload)
        return not_saved

    def _submit_edit(self, view: RunView, form: StepForm, edit: PendingEdit, not_saved: list[str],
                     reload: bool) -> None:
        run_id, step, account_id = view.run_id, form.step_number, view.account.id
        place = (run_id, step, edit.key)
        written = self._written

        def save() -> int:  # on the writer thread
            try:
                expected = edit.expected_version
                version = services.set_field(run_id, step, edit.key, edit.value, expected_version=None
                                             if expected is None else max(expected, written.get(place, 0)))
            except DomainError:
                not_saved.append(edit.key)
                raise
            written[place] = version
            return version

        draft = new_held_edit(FIELD, account_id=account_id, account_name=view.account.name, value=edit.value,
                              reason="", step=step, key=edit.key, label=form.label_of(edit.key), run_id=run_id)
        self.app.writer.submit(save, lambda version, error: self._edit_done(account_id, step, edit, version, error,
                                                                            reload), draft=draft)

    def _edit_done(self, account_id: uuid.UUID, step: int, edit: PendingEdit, version: int | None,
                   error: DomainError | None, reload: bool) -> None:
        form = self._form
        shown = form is not None and self._account_id == account_id and form.step_number == step
        if error is None:
            if shown:
                form.saved(edit, version)
            if self._save_problem_shown and shown:
                self._say(f"Saved {form.label_of(edit.key)}.")
                self._save_problem_shown = False
            if reload and self.is_mounted:
                self.reload()
            return
        if shown:
            form.not_saved(edit, str(error), error.current_version if isinstance(error, StaleEdit) else None)
        self._say(f"Step {step} not saved: {error} Your text is held: the step shows it again; H lists held edits.")
        self._save_problem_shown = True
