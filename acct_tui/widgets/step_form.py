"""The field editors of one step, and read-only summaries of step values.

`StepForm` holds the user's unsaved edits ("drafts") itself, apart from the editor widgets, so they can be
saved at any moment, even while the screen is being taken down at app exit. It never saves anything: it
posts `StepForm.Edited` and the screen calls the services, then reports back with `saved`, `conflict` or
`refused`. Values stay in the editor's own form until saved: a tuple of labels for checklists and multi
choices, one label or None for a single choice, text for notes, text fields and (as typed) dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static, TextArea

from acct_tui.store.queries import FieldView, StepView
from acct_tui.store.values import display_value
from acct_tui.template import CHECKLIST, DATE, MULTI, NOTES, SINGLE, TEXT
from acct_tui.text import printable
from acct_tui.widgets.editors import KEYS_IN_FORMS, LineEditor, NotesEditor
from acct_tui.widgets.step_list import CursorOptionList, mark_text, one_line
from acct_tui.workflow import APPROVED, DONE, LOCKED, OPEN, PENDING, REJECTED
from acct_tui.workflow.field_kinds import FIELD_KINDS

# When an edit should be saved: toggles at once, typing after a short pause, dates when the user leaves
# the field or presses Enter (a half-typed date is not an error worth showing).
NOW = "now"
SOON = "soon"
ON_LEAVE = "on_leave"


def local_time(moment: datetime | None) -> str:
    """A stored (naive UTC) time in the user's local time zone, to the minute."""
    if moment is None:
        return "—"
    return moment.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")


def field_summary(step: StepView) -> Content:
    """Every field of a step as `Label: value` lines (notes indented below their label), for reading only."""
    lines: list[Content] = []
    for field in step.fields:
        label = (f"{field.label}: ", "bold")
        if FIELD_KINDS[field.type].multi_line:
            if not field.value:
                lines.append(Content.assemble(label, "—"))
                continue
            lines.append(Content.assemble(label))
            lines.extend(Content("    " + line) for line in printable(field.value).split("\n"))
        else:
            lines.append(Content.assemble(label, one_line(display_value(field, field.value))))
    return Content("\n").join(lines)


def state_words(step: StepView) -> str:
    """A step's state with who brought it there and when: `[x] done by ana on …`, `[ ] open, reopened by …`."""
    words = mark_text(step.mark)
    if step.mark in (OPEN, LOCKED):
        if step.reopened_by is not None:
            words += f", reopened by {step.reopened_by} on {local_time(step.reopened_at)}"
    elif step.mark == PENDING:
        words += f" since {local_time(step.submitted_at)} (submitted by {step.submitted_by or '—'})"
    elif step.mark in (DONE, APPROVED, REJECTED):
        words += f" by {step.finished_by or '—'} on {local_time(step.finished_at)}"
    return words


def step_summary(step: StepView) -> Content:
    """A step as an approver reads it: title, state with who and when, then every field's value."""
    return Content("\n").join([
        Content.assemble((f"Step {step.number}: ", "bold"), (printable(step.title, keep_newlines=False), "bold")),
        one_line(state_words(step)),
        field_summary(step),
    ])


class ChoiceList(CursorOptionList):
    """Options to tick: `[x]`/`[ ]` rows for a checklist or multiple choice, `(•)`/`( )` for a single choice.

    Space or Enter toggles the highlighted option; choosing the chosen single option again clears it.
    """

    SHOW_CURSOR_WHEN_BLURRED = False

    BINDINGS = [Binding("space", "toggle", "Toggle option", show=False, id="choice.toggle")]

    class Changed(Message):
        def __init__(self, choice_list: ChoiceList, value: object) -> None:
            super().__init__()
            self.choice_list = choice_list
            self.value = value

        @property
        def control(self) -> ChoiceList:
            return self.choice_list

    def __init__(self, options: Sequence[str], value: object, *, multiple: bool, id: str | None = None) -> None:
        super().__init__(id=id, classes="choice-list")
        self._choices = tuple(options)
        self._multiple = multiple
        self._chosen: set[str] = set()
        self.set_value(value)

    @property
    def value(self) -> object:
        chosen = tuple(option for option in self._choices if option in self._chosen)
        if self._multiple:
            return chosen
        return chosen[0] if chosen else None

    def set_value(self, value: object) -> None:
        """Show `value` (a tuple of labels, or one label or None); sends no Changed message."""
        if self._multiple:
            self._chosen = set(value or ())
        else:
            self._chosen = {value} if value else set()
        boxes = ("[x] ", "[ ] ") if self._multiple else ("(•) ", "( ) ")
        self.set_rows(
            [Content.assemble(boxes[0] if option in self._chosen else boxes[1], one_line(option))
             for option in self._choices],
            self.highlighted or 0,
        )

    def action_toggle(self) -> None:
        if self.highlighted is None or self.disabled:
            return
        option = self._choices[self.highlighted]
        if option in self._chosen:
            self.set_value(tuple(self._chosen - {option}) if self._multiple else None)
        else:
            self.set_value(tuple(self._chosen | {option}) if self._multiple else option)
        self.post_message(self.Changed(self, self.value))

    def action_select(self) -> None:
        self.action_toggle()


@dataclass(frozen=True, slots=True)
class FieldEditor:
    """How one kind of field (see `acct_tui.workflow.field_kinds`) is edited: the widget, a stored value in
    the form that widget holds, and when typing in it is saved."""

    create: Callable[[FieldView, object, str], Widget]  # (field, value in editor form, widget id)
    editor_value: Callable[[FieldView], object]
    typing_saves: str = SOON


def _choice_editor(multiple: bool) -> FieldEditor:
    return FieldEditor(lambda field, value, editor_id: ChoiceList(field.options, value, multiple=multiple,
                                                                  id=editor_id),
                       lambda field: field.value, NOW)


FIELD_EDITORS: dict[str, FieldEditor] = {
    CHECKLIST: _choice_editor(multiple=True),
    MULTI: _choice_editor(multiple=True),
    SINGLE: _choice_editor(multiple=False),
    NOTES: FieldEditor(lambda field, value, editor_id: NotesEditor(
        str(value), id=editor_id, soft_wrap=True, tab_behavior="focus", placeholder="Notes are saved as you type"),
        lambda field: printable(field.value)),
    TEXT: FieldEditor(lambda field, value, editor_id: LineEditor(str(value), id=editor_id),
                      lambda field: printable(field.value)),
    # A date is saved when the user leaves the field or presses Enter: a half-typed date is no error to show.
    DATE: FieldEditor(lambda field, value, editor_id: LineEditor(
        str(value), id=editor_id, placeholder="YYYY-MM-DD, today, tomorrow, +7 or +2w"),
        lambda field: field.value.isoformat() if field.value else "", ON_LEAVE),
}


def editor_value(field: FieldView) -> object:
    """A stored value in the form its editor holds."""
    return FIELD_EDITORS[field.type].editor_value(field)


@dataclass(frozen=True, slots=True)
class PendingEdit:
    key: str
    value: object
    expected_version: int


@dataclass(frozen=True, slots=True)
class HeldEdit:
    """A user's value not saved because someone else saved first, and what is stored now."""

    value: object
    current_value: object
    current_version: int


class StepForm(Vertical):
    """The editors for one task's fields, tracking which edits are not saved yet."""

    BINDINGS = [Binding("escape", "leave", "Back", tooltip="Back to the list of steps", id="form.leave"), KEYS_IN_FORMS]

    class Edited(Message):
        """An editor changed; `urgency` is NOW, SOON (debounce) or ON_LEAVE."""

        def __init__(self, form: StepForm, key: str, urgency: str) -> None:
            super().__init__()
            self.form = form
            self.key = key
            self.urgency = urgency

    class LeaveRequested(Message):
        """The user pressed Escape inside the form: focus goes back to the step list."""

    def __init__(self, step: StepView, *, held: Mapping[str, HeldEdit] | None = None, id: str | None = None) -> None:
        """`held`: the user's values from an earlier visit that a conflict kept from being saved (see `held`)."""
        super().__init__(id=id, classes="step-form")
        self.step_number = step.number
        self._fields = {field.key: field for field in step.fields}
        self._base = {field.key: editor_value(field) for field in step.fields}
        self._versions = {field.key: field.version for field in step.fields}
        self._drafts: dict[str, object] = {}
        # key -> (value stored now, its version), for edits refused because someone else saved first
        self._conflicts: dict[str, tuple[object, int]] = {}
        self._refusal = step.edit_refusal
        for key, edit in (held or {}).items():
            field = self._fields.get(key)
            if field is None:
                continue
            newest = (field.value, field.version) if field.version >= edit.current_version else (
                edit.current_value, edit.current_version)
            self._drafts[key] = edit.value
            self._conflicts[key] = newest

    # Building ----------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(Content(printable(self._refusal or "")), id="form-refusal", classes="field-note")
        for key, field in self._fields.items():
            yield Label(Content.assemble((field.label, "bold"), " (required)" if field.required else ""),
                        classes="field-label")
            yield self._editor(field)
            yield Static("", id=f"note-{key}", classes="field-note")

    def on_mount(self) -> None:
        self._show_refusal()
        for key in self._conflicts:
            self._show_conflict(key)

    def _editor(self, field: FieldView) -> Widget:
        editor_id = f"field-{field.key}"
        value = self._drafts.get(field.key, self._base[field.key])
        return FIELD_EDITORS[field.type].create(field, value, editor_id)

    def _key(self, widget: Widget) -> str | None:
        key = (widget.id or "").removeprefix("field-")
        return key if key in self._fields else None

    def _widget(self, key: str) -> Widget:
        return self.query_one(f"#field-{key}")

    def _note(self, key: str, text: str) -> None:
        # `query`, not `query_one`: at app exit the editors may already be gone while drafts are saved.
        for note in self.query(f"#note-{key}").results(Static):
            note.update(Content(printable(text)))
            note.set_class(bool(text), "-shown")

    def _show_refusal(self) -> None:
        self.query_one("#form-refusal", Static).update(Content(printable(self._refusal or "")))
        self.query_one("#form-refusal").set_class(bool(self._refusal), "-shown")
        for key in self._fields:
            widget = self._widget(key)
            if isinstance(widget, TextArea):
                widget.read_only = bool(self._refusal)
            else:
                widget.disabled = bool(self._refusal)

    # Editing ---------------------------------------------------------------------------------------------
    def _edited(self, key: str, value: object, urgency: str) -> None:
        if key in self._conflicts:
            # Editing again after a conflict is the user's go-ahead to replace the value now stored.
            self._versions[key] = self._conflicts.pop(key)[1]
            self._note(key, "")
        if value == self._base[key]:
            self._drafts.pop(key, None)
            return
        self._drafts[key] = value
        self.post_message(self.Edited(self, key, urgency))

    @on(ChoiceList.Changed)
    def _choice_changed(self, event: ChoiceList.Changed) -> None:
        if (key := self._key(event.control)) is not None:
            self._edited(key, event.value, NOW)

    @on(TextArea.Changed)
    def _notes_changed(self, event: TextArea.Changed) -> None:
        if (key := self._key(event.control)) is not None and not event.control.read_only:
            self._edited(key, event.control.text, SOON)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if (key := self._key(event.control)) is not None:
            self._edited(key, event.value, FIELD_EDITORS[self._fields[key].type].typing_saves)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        if (key := self._key(event.control)) is not None and key in self._drafts:
            self.post_message(self.Edited(self, key, NOW))

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        key = self._key(event.widget)
        if key is not None and key in self._drafts:
            self.post_message(self.Edited(self, key, NOW))

    def action_leave(self) -> None:
        self.post_message(self.LeaveRequested())

    def focus_first(self) -> bool:
        """Focus the first editor that takes input; False when there is none (read-only form)."""
        for key in self._fields:
            widget = self._widget(key)
            if widget.focusable:
                widget.focus()
                return True
        return False

    # Saving (driven by the screen) ----------------------------------------------------------------------
    @property
    def has_drafts(self) -> bool:
        return bool(self._drafts)

    def pending(self, include_conflicts: bool = False) -> list[PendingEdit]:
        """Edits to save. Those refused as stale wait for the user to confirm, unless `include_conflicts`."""
        edits = []
        for key, value in self._drafts.items():
            if key in self._conflicts:
                if not include_conflicts:
                    continue
                version = self._conflicts[key][1]
            else:
                version = self._versions[key]
            edits.append(PendingEdit(key, value, version))
        return edits

    def saved(self, edit: PendingEdit, version: int) -> None:
        key = edit.key
        self._conflicts.pop(key, None)
        self._versions[key] = version
        self._base[key] = edit.value
        if self._drafts.get(key) == edit.value:
            del self._drafts[key]
        self._note(key, "")

    def conflict(self, key: str, current_value: object, current_version: int) -> None:
        """Someone else saved this field first: keep the user's text, show what is stored now."""
        self._conflicts[key] = (current_value, current_version)
        self._show_conflict(key)

    def _show_conflict(self, key: str) -> None:
        now_reads = display_value(self._fields[key], self._conflicts[key][0])
        self._note(key, f"Changed in another session; it now reads: {now_reads[:300]}\n"
                        "Your text is kept here: edit it (or press ctrl+s) to save it over that.")

    def held(self) -> dict[str, HeldEdit]:
        """The user's values that a conflict kept from being saved, to give back on the next visit."""
        return {key: HeldEdit(self._drafts[key], *self._conflicts[key]) for key in self._conflicts if key in self._drafts}

    def refused(self, key: str, message: str) -> None:
        self._note(key, message)

    def label_of(self, key: str) -> str:
        return self._fields[key].label

    def refresh_from(self, step: StepView) -> None:
        """Show values loaded from the database, except in fields holding the user's unsaved edits."""
        for field in step.fields:
            key = field.key
            if key in self._conflicts and field.version > self._conflicts[key][1]:
                self.conflict(key, field.value, field.version)
            if key in self._drafts or key in self._conflicts:
                continue
            value = editor_value(field)
            self._versions[key] = field.version
            self._base[key] = value
            widget = self._widget(key)
            if isinstance(widget, ChoiceList):
                if widget.value != value:
                    widget.set_value(value)
            elif isinstance(widget, TextArea):
                if widget.text != value:
                    widget.text = str(value)
            elif isinstance(widget, Input) and widget.value != value:
                widget.value = str(value)
        if step.edit_refusal != self._refusal:
            self._refusal = step.edit_refusal
            self._show_refusal()
