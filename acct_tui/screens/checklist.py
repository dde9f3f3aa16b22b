"""The step checklist of one account: the 20 steps on the left, the selected step's guidance, fields and
history on the right, and what blocks progress on top.

Edits save themselves: a toggle at once, typing half a second after the last key, and everything still
unsaved when the user changes step, leaves the screen or quits. Each save passes the version the edit
started from, so a change made meanwhile in another session is reported, never silently overwritten.
"""

from __future__ import annotations

import uuid
from typing import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, OptionList, Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.messages import DataChanged
from acct_tui.screens.binding_commands import ScreenBindingCommands
from acct_tui.screens.dialogs import UpgradeDialog
from acct_tui.store import queries, services, upgrades
from acct_tui.store.queries import DecisionView, RunView, StepView
from acct_tui.template import DUE_KEY, KPI_ROLE, OBJECTIVES_ROLE, RESULTS_ROLE
from acct_tui.text import printable
from acct_tui.typeahead import hold_keys_for
from acct_tui.widgets.kpi_editor import KpiEditor
from acct_tui.widgets.objectives_editor import DEFINE, RESULTS, ObjectivesEditor
from acct_tui.widgets.step_form import (
    NOW,
    SOON,
    HeldEdit,
    StepForm,
    local_time,
    state_words,
    step_summary,
)
from acct_tui.sync.conflicts import steps_with_conflicts
from acct_tui.widgets.step_list import StepList, one_line
from acct_tui.workflow import APPROVED, LOCKED, OPEN, PENDING, REJECTED

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


def _step_extras(view: RunView, number: int) -> KpiEditor | ObjectivesEditor | None:
    """Editors of their own below a step's fields, by the step's role in the template: KPI values, objectives
    and their results (see acct_tui.widgets.kpi_editor and objectives_editor)."""
    step = view.step(number)
    refusal = step.edit_refusal
    if step.role == KPI_ROLE:
        return KpiEditor(view.account.id, number, refusal=refusal)
    if step.role == OBJECTIVES_ROLE:
        return ObjectivesEditor(view.run_id, DEFINE, refusal=refusal)
    if step.role == RESULTS_ROLE:
        return ObjectivesEditor(view.run_id, RESULTS, refusal=refusal)
    return None


class ChecklistScreen(Screen):
    COMMANDS = {ScreenBindingCommands}
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
        self._form: StepForm | None = None
        self._shown_step: int | None = None
        self._save_timer: Timer | None = None
        self._save_problem_shown = False  # the message line shows why a save failed
        # When the message line stops being true (e.g. a refusal for a field now filled in): checked on each load.
        self._message_stale_when: Callable[[RunView], bool] | None = None
        self._place_cursor = True  # put the cursor on the next step to do at the next load
        self._enter_step: int | None = None  # enter was pressed on this step before its form was up
        # Values a conflict kept from being saved, per (account, step), given back when the step is shown again.
        self._held: dict[tuple[uuid.UUID, int], dict[str, HeldEdit]] = {}

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
        yield Footer(compact=True)

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
            self._put_form_away(reload=False)
            self._account_id = account_id
            self._view = None
            self._shown_step = None
            self._place_cursor = True
            self._say("")
            self.query_one("#step-form-holder").remove_children()
            self._form = None
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
        # App exit: whatever the user typed in the last half second is saved before the app closes, and text
        # a conflict held back goes into the step's history (not over the other session's value).
        self._save_drafts(reload=False)
        held = dict(self._held)
        if self._form is not None and self._view is not None and self._form.held():
            held[(self._view.account.id, self._form.step_number)] = self._form.held()
        for (account_id, step), edits in held.items():
            for key, edit in edits.items():
                try:
                    services.keep_unapplied_value(account_id, step, key, edit.value)
                except DomainError as error:  # the screen is going: the log is the one place left to say it
                    self.log.error(f"could not keep the text of step {step} {key}: {error}")

    def on_data_changed(self, message: DataChanged) -> None:
        self.reload()

    def reload(self) -> None:
        self._follow_current_account()
        if self._account_id is not None:
            loading = self._load(self._account_id)
            if self._view is None:  # keys typed after opening the account are meant for its steps
                hold_keys_for(self.app, loading)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    def _load(self, account_id: uuid.UUID) -> tuple[RunView, set[int]]:
        view = queries.run_view(account_id)
        keys = steps_with_conflicts(view.run_id)
        return view, {step.number for step in view.template.steps if step.key in keys}

    @on(Worker.StateChanged)
    async def _loaded(self, event: Worker.StateChanged) -> None:
        # A result is applied here on the UI thread; a failure goes to the app's one handler, which shows it
        # (worker state messages do not bubble by themselves).
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
            return
        if event.worker.group != LOAD_GROUP or event.state != WorkerState.SUCCESS:
            return
        view, conflicted = event.worker.result
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
        await self._show_step(step_list.highlighted_step)

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
        self.query_one("#checklist-rejection", Static).update(
            Content("\n").join(one_line(rejection_text(gate, decision)) for gate, decision in view.rejections()))
        self.set_class(bool(view.rejections()), "-rejected")

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

    async def _show_step(self, number: int | None) -> None:
        view = self._view
        if view is None or number is None:
            return
        step = view.step(number)
        if number != self._shown_step:
            self._put_form_away()
            holder = self.query_one("#step-form-holder")
            await holder.remove_children()
            held = self._held.pop((view.account.id, number), None)
            self._form = None if step.is_approval else StepForm(step, held=held)
            if self._form is not None:
                await holder.mount(self._form)
            extras = _step_extras(view, number)
            if extras is not None:
                await holder.mount(extras)
            self._shown_step = number
            self.query_one("#step-detail").scroll_home(animate=False)
            if self._enter_step == number and self._form is not None:
                self._enter_step = None
                self._form.focus_first()
        elif self._form is not None:
            self._form.refresh_from(step)
            for extras in self.query("KpiEditor, ObjectivesEditor").results():
                extras.set_refusal(step.edit_refusal)
                extras.load()
        self.query_one("#step-heading", Static).update(self._heading(view, step))
        self.query_one("#step-guidance", Static).update(self._guidance(view, step))
        self.query_one("#step-history", Static).update(self._history(view, step))
        self.call_after_refresh(self._keep_focus_in_view)

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
            return True if self._view is not None and self._view.upgrade_available else None
        return True

    def action_upgrade(self) -> None:
        view = self._view
        if view is None or not view.upgrade_available or not self._save_drafts():
            return
        try:
            plan = upgrades.preview_upgrade(view.run_id, view.latest_version)
        except DomainError as error:
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
        if not confirmed:
            return
        try:
            upgrades.upgrade_run(view.run_id, version)
        except DomainError as error:
            self._say(str(error))
            return
        self._shown_step = None  # step numbers may have changed: show the step afresh
        self._say(f"This run now follows version {version} of the template.")
        self.reload()

    def action_complete(self) -> None:
        step = self._selected_step()
        if step is None or self._view is None or not self._save_drafts():
            return
        try:
            progress = services.complete_step(self._view.run_id, step.number)
        except DomainError as error:
            self._say(str(error), stale_when=_changed_since(step))
            return
        step_list = self.query_one(StepList)
        if step.number < len(self._view.steps):
            step_list.highlighted = step.number
        self._say(f"Step {step.number} done. {progress.blocker}")
        self.reload()

    def action_reopen(self) -> None:
        step = self._selected_step()
        if step is None or self._view is None or not self._save_drafts():
            return
        try:
            if step.is_approval:
                services.reopen_approval(self._view.run_id, step.number)
            else:
                services.reopen_step(self._view.run_id, step.number)
        except DomainError as error:
            self._say(str(error))
            return
        if step.is_approval:
            self._say(f"Approval step {step.number} is back in the approval queue; its steps can be changed.")
        else:
            self._say(f"Step {step.number} is open again.")
        self.reload()

    def action_save_now(self) -> None:
        if self._save_drafts(include_conflicts=True):
            self._say("Everything is saved.")

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

    def _put_form_away(self, reload: bool = True) -> None:
        """Save the shown form before it goes; keep what a conflict held back for the next visit."""
        form, view = self._form, self._view
        if form is None or view is None:
            return
        self._save_drafts(reload=reload)
        held = form.held()
        if held:
            self._held[(view.account.id, form.step_number)] = held
            labels = ", ".join(form.label_of(key) for key in held)
            self._say(f"Your text in {labels} of step {form.step_number} is not applied yet (changed elsewhere); "
                      "it is kept: go back to that step to apply it.")

    def _save_drafts(self, include_conflicts: bool = False, reload: bool = True) -> bool:
        """Save the form's unsaved edits; False when one was refused (the message says why)."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        form, view = self._form, self._view
        if form is None or view is None:
            return True
        edits = form.pending(include_conflicts)
        if not edits:
            return True
        all_saved, saved = True, []
        for edit in edits:
            try:
                version = services.set_field(view.run_id, form.step_number, edit.key, edit.value,
                                             expected_version=edit.expected_version)
            except StaleEdit as error:
                form.conflict(edit.key, error.current_value, error.current_version)
                self._say(str(error))
                all_saved = False
            except DomainError as error:
                form.refused(edit.key, str(error))
                self._say(str(error))
                all_saved = False
            else:
                form.saved(edit, version)
                saved.append(form.label_of(edit.key))
        if all_saved and self._save_problem_shown:
            self._say(f"Saved {', '.join(saved)}.")
        self._save_problem_shown = not all_saved
        if saved and reload:
            self.reload()
        return all_saved
