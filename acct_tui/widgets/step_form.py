"""The field editors of one step, and read-only summaries of step values.

`StepForm` holds the user's unsaved edits ("drafts") itself, apart from the editor widgets, so they can be
saved at any moment, even while the screen is being taken down at app exit. It never saves anything: it
posts `StepForm.Edited` and the screen hands the edits to the app's writer, then reports back with `saved`
or `not_saved` (the text is then held, see acct_tui.store.held). Values stay in the editor's own form until saved: a tuple of labels for checklists and multi
choices, one label or None for a single choice, text for notes, text fields and (as typed) dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

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


def _same_editor(before: FieldView, after: FieldView) -> bool:
    """Whether the editor of the field `before` can show the field `after`."""
    return before.type == after.type and before.options == after.options


@dataclass(frozen=True, slots=True)
class PendingEdit:
    key: str
    value: object
    expected_version: int | None  # None: over whatever is stored (the user applies held text)


@dataclass(frozen=True, slots=True)
class HeldText:
    """A user's value for one field that could not be saved, and why (see acct_tui.store.held)."""

    key: str
    value: object
    reason: str


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

    def __init__(self, step: StepView, *, held: Sequence[HeldText] = (), id: str | None = None) -> None:
        """`held`: the user's values that an earlier save could not store; they fill their editors again."""
        super().__init__(id=id, classes="step-form")
        self._take(step, held)

    def _take(self, step: StepView, held: Sequence[HeldText]) -> None:
        """Start over on `step`: its stored values, no edits, the held ones in their fields."""
        self.step_number = step.number
        self._fields = {field.key: field for field in step.fields}
        self._base = {field.key: editor_value(field) for field in step.fields}
        self._versions = {field.key: field.version for field in step.fields}
        self._drafts: dict[str, object] = {}
        self._submitted: dict[str, object] = {}  # key -> value handed to the writer and not answered yet
        # key -> why its draft was not saved: it waits for the user to edit it again or press ctrl+s
        self._held: dict[str, str] = {}
        self._overwrite: set[str] = set()  # held keys the user released: saved over whatever is stored
        self._refusal = step.edit_refusal
        for edit in held:
            if edit.key in self._fields:
                self._drafts[edit.key] = edit.value
                self._held[edit.key] = edit.reason

    # Building ----------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(Content(printable(self._refusal or "")), id="form-refusal", classes="field-note")
        for key in self._fields:
            yield from self._field_widgets(key)

    def _field_widgets(self, key: str) -> tuple[Widget, ...]:
        field = self._fields[key]
        return (Label(self._label(field), id=f"label-{key}", classes="field-label"), self._editor(field),
                Static("", id=f"note-{key}", classes="field-note"))

    @staticmethod
    def _label(field: FieldView) -> Content:
        return Content.assemble((field.label, "bold"), " (required)" if field.required else "")

    def on_mount(self) -> None:
        self._show_refusal_and_held()

    def _show_refusal_and_held(self) -> None:
        self._show_refusal()
        for key in self._held:
            self._show_held(key)

    async def show_step(self, step: StepView, *, held: Sequence[HeldText] = ()) -> None:
        """Become the form of `step` (another step, or the same one afresh), as a new `StepForm(step, held=held)`
        would be. The editors of fields both steps have (same key, same kind of editor) are kept and refilled;
        only the others are replaced: mounting a form's widgets anew is most of the time it takes to show it."""
        before = self._fields
        self._take(step, held)
        kept = [key for key in self._fields if key in before and _same_editor(before[key], self._fields[key])]
        if kept != [key for key in before if key in kept]:
            kept = []  # the kept fields change order: build every field anew
        with self.app.batch_update():
            await self.remove_children([widget for key in before if key not in kept
                                        for widget in self._shown_widgets_of(key)])
            for position, key in enumerate(self._fields):
                if key in kept:
                    self._refill(key)
                    continue
                following = next((later for later in list(self._fields)[position + 1:] if later in kept), None)
                await self.mount(*self._field_widgets(key),
                                 before=None if following is None else self.query_one(f"#label-{following}"))
            self._show_refusal_and_held()

    def _shown_widgets_of(self, key: str) -> tuple[Widget, ...]:
        return tuple(self.get_child_by_id(f"{part}-{key}") for part in ("label", "field", "note"))

    def _refill(self, key: str) -> None:
        """Show a kept field's label and value, its editor as a new one would start: no undo history."""
        field = self._fields[key]
        self.query_one(f"#label-{key}", Label).update(self._label(field))
        self._note(key, "")
        value = self._drafts.get(key, self._base[key])
        widget = self._widget(key)
        # Filling the editor is not the user's edit: it must not count as one.
        with self.prevent(TextArea.Changed, Input.Changed):
            if isinstance(widget, ChoiceList):
                widget.set_value(value)
                widget.highlighted = 0
            elif isinstance(widget, TextArea):
                widget.load_text(str(value))
                widget.scroll_home(animate=False)
            elif isinstance(widget, Input):
                widget.value = str(value)
                widget.cursor_position = len(widget.value)
                widget.scroll_home(animate=False)

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
        if self._held.pop(key, None) is not None:
            # Editing held text again is the user's go-ahead to save it (over a value stored meanwhile).
            self._overwrite.add(key)
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

    def pending(self, include_held: bool = False) -> list[PendingEdit]:
        """Edits to save (not those already handed to the writer). Held ones wait for the user to edit them
        again, unless `include_held` (ctrl+s)."""
        edits = []
        for key, value in self._drafts.items():
            if (key in self._held and not include_held) or (key in self._submitted
                                                            and self._submitted[key] == value):
                continue
            if self._held.pop(key, None) is not None:
                self._overwrite.add(key)
            self._submitted[key] = value
            edits.append(PendingEdit(key, value, None if key in self._overwrite else self._versions[key]))
        return edits

    def saved(self, edit: PendingEdit, version: int) -> None:
        key = edit.key
        if self._submitted.get(key) == edit.value:
            del self._submitted[key]
        self._versions[key] = max(self._versions[key], version)
        self._overwrite.discard(key)
        self._base[key] = edit.value
        if self._drafts.get(key) == edit.value:
            del self._drafts[key]
            self._held.pop(key, None)
            self._note(key, "")

    def not_saved(self, edit: PendingEdit, reason: str, current_version: int | None = None) -> None:
        """The writer refused or failed this edit and holds the text: it stays in the editor with the reason
        until the user edits it again or presses ctrl+s. `current_version`: what another session stored
        meanwhile (saving it again replaces that)."""
        key = edit.key
        if self._submitted.get(key) == edit.value:
            del self._submitted[key]
        if current_version is not None:
            self._versions[key] = current_version
        if self._drafts.get(key) == edit.value:
            self._held[key] = reason
            self._show_held(key)

    def _show_held(self, key: str) -> None:
        self._note(key, f"Not saved: {self._held[key][:300]}\n"
                        "Your text is kept here and held: edit it or press ctrl+s to save it; from the step list, H copies "
                        "or discards it.")

    def label_of(self, key: str) -> str:
        return self._fields[key].label

    def refresh_from(self, step: StepView) -> None:
        """Show values loaded from the database, except in fields holding the user's unsaved edits."""
        for field in step.fields:
            key = field.key
            if key in self._drafts and self._drafts[key] == editor_value(field) and key not in self._submitted:
                # What the user typed is stored now (held text applied from the Held edits screen, say).
                del self._drafts[key]
                self._held.pop(key, None)
                self._note(key, "")
            if key in self._drafts:
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
