"""The account-management template as data: a TOML file shipped in the package, loaded and validated.

Every task step gets the same three common fields (notes, due date, assignee) from the loader, so the
TOML file only lists what is particular to a step.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from acct_tui.errors import DomainError

TASK = "task"
APPROVAL = "approval"
STEP_KINDS = (TASK, APPROVAL)

CHECKLIST = "checklist"
SINGLE = "single"
MULTI = "multi"
NOTES = "notes"
DATE = "date"
TEXT = "text"
FIELD_TYPES = (CHECKLIST, SINGLE, MULTI, NOTES, DATE, TEXT)
CHOICE_TYPES = (CHECKLIST, SINGLE, MULTI)

NOTES_KEY = "notes"
DUE_KEY = "due"
ASSIGNEE_KEY = "assignee"

PACKAGED_TEMPLATE = "account_management.toml"


class TemplateError(DomainError):
    """The template file cannot be used; the message names the file and the line or field at fault."""


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    label: str
    type: str
    options: tuple[str, ...] = ()
    required: bool = False

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    title: str
    kind: str
    purpose: str
    desired_result: str
    questions: tuple[str, ...]
    fields: tuple[Field, ...] = ()
    covers: tuple[int, ...] = ()

    @property
    def is_approval(self) -> bool:
        return self.kind == APPROVAL

    def field(self, key: str) -> Field:
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        raise KeyError(f"step {self.number} has no field {key!r}")


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    description: str
    steps: tuple[Step, ...]

    def step(self, number: int) -> Step:
        if isinstance(number, int) and 1 <= number <= len(self.steps):
            return self.steps[number - 1]
        raise DomainError(f"There is no step {number!r}: steps run from 1 to {len(self.steps)}.")

    @property
    def approvals(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.is_approval)

    def as_json(self) -> dict[str, Any]:
        """The template in the documented JSON shape of `acct-tui template --json`."""
        steps = []
        for step in self.steps:
            entry: dict[str, Any] = {"number": step.number, "title": step.title, "kind": step.kind}
            if step.is_approval:
                entry["covers"] = list(step.covers)
            entry["guidance"] = {
                "purpose": step.purpose,
                "desired_result": step.desired_result,
                "questions": list(step.questions),
            }
            entry["fields"] = [
                {
                    "key": field.key,
                    "label": field.label,
                    "type": field.type,
                    "options": list(field.options),
                    "required": field.required,
                }
                for field in step.fields
            ]
            steps.append(entry)
        return {"name": self.name, "description": self.description, "steps": steps}


COMMON_TASK_FIELDS = (
    Field(NOTES_KEY, "Notes", NOTES),
    Field(DUE_KEY, "Due date", DATE),
    Field(ASSIGNEE_KEY, "Assignee", TEXT),
)


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise TemplateError(f"{where}: missing '{key}'")
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TemplateError(f"{where}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise TemplateError(f"{where}.{key}: must not be empty")
    return value


def _parse_field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: expected a table")
    key = _require(raw, "key", str, where)
    label = _require(raw, "label", str, where)
    field_type = _require(raw, "type", str, where)
    if field_type not in CHOICE_TYPES:
        raise TemplateError(f"{where}.type: {field_type!r} is not one of {', '.join(CHOICE_TYPES)}")
    options = _require(raw, "options", list, where)
    if not options or not all(isinstance(option, str) and option.strip() for option in options):
        raise TemplateError(f"{where}.options: expected a non-empty list of labels")
    if len(set(options)) != len(options):
        raise TemplateError(f"{where}.options: labels must be distinct")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise TemplateError(f"{where}.required: expected true or false")
    return Field(key, label, field_type, tuple(options), required)


def _parse_step(raw: Any, index: int) -> Step:
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: expected a table")
    number = _require(raw, "number", int, where)
    if number != index + 1:
        raise TemplateError(f"{where}.number: expected {index + 1}, got {number} (steps run 1, 2, 3, ...)")
    where = f"step {number}"
    title = _require(raw, "title", str, where)
    kind = _require(raw, "kind", str, where)
    if kind not in STEP_KINDS:
        raise TemplateError(f"{where}.kind: {kind!r} is not one of {', '.join(STEP_KINDS)}")
    guidance = _require(raw, "guidance", dict, where)
    purpose = _require(guidance, "purpose", str, f"{where}.guidance")
    desired = _require(guidance, "desired_result", str, f"{where}.guidance")
    questions = _require(guidance, "questions", list, f"{where}.guidance")
    if not questions or not all(isinstance(question, str) and question.strip() for question in questions):
        raise TemplateError(f"{where}.guidance.questions: expected a list of questions")
    if kind == APPROVAL:
        covers = _require(raw, "covers", list, where)
        valid = all(isinstance(n, int) and not isinstance(n, bool) and 0 < n < number for n in covers)
        if not covers or not valid or len(set(covers)) != len(covers):
            raise TemplateError(f"{where}.covers: expected distinct step numbers before {number}")
        if "fields" in raw:
            raise TemplateError(f"{where}.fields: an approval has no form fields")
        return Step(number, title, kind, purpose, desired, tuple(questions), (), tuple(covers))
    if "covers" in raw:
        raise TemplateError(f"{where}.covers: only an approval covers steps")
    fields = tuple(_parse_field(field, f"{where}.fields[{i}]") for i, field in enumerate(raw.get("fields", [])))
    keys = [field.key for field in fields] + [field.key for field in COMMON_TASK_FIELDS]
    if len(set(keys)) != len(keys):
        raise TemplateError(f"{where}.fields: field keys must be distinct (notes, due and assignee are added to every task)")
    return Step(number, title, kind, purpose, desired, tuple(questions), fields + COMMON_TASK_FIELDS)


def parse_template(text: str, source: str = "<template>") -> Template:
    """Parse and validate template TOML; every problem raises TemplateError naming `source` and where."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"{source}: {error}") from None
    try:
        name = _require(raw, "name", str, "template")
        description = _require(raw, "description", str, "template")
        raw_steps = _require(raw, "steps", list, "template")
        steps = tuple(_parse_step(step, index) for index, step in enumerate(raw_steps))
        if not steps:
            raise TemplateError("template.steps: the template has no steps")
        covered_by: dict[int, int] = {}
        for step in steps:
            for covered in step.covers:
                if steps[covered - 1].is_approval:
                    raise TemplateError(f"step {step.number}.covers: step {covered} is an approval, not a task")
                if covered in covered_by:
                    raise TemplateError(
                        f"step {step.number}.covers: step {covered} is already covered by step {covered_by[covered]}"
                    )
                covered_by[covered] = step.number
    except TemplateError as error:
        raise TemplateError(f"{source}: {error}") from None
    return Template(name, description, steps)


def load_template(path: Path | None = None) -> Template:
    """Load a template file, or the one shipped in the package when no path is given."""
    if path is None:
        return packaged_template()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{path}: cannot read the template ({error})") from None
    return parse_template(text, str(path))


@cache
def packaged_template() -> Template:
    text = resources.files(__package__).joinpath(PACKAGED_TEMPLATE).read_text(encoding="utf-8")
    return parse_template(text, PACKAGED_TEMPLATE)
