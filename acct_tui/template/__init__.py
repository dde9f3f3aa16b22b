"""The account-management template as data: a TOML file shipped in the package, loaded and validated.

Every task step gets the same three common fields (notes, due date, assignee) from the loader, so the
TOML file only lists what is particular to a step.

Steps are known by a stable `key` (and, where the app gives a step a job of its own, by a `role`); their
numbers are positions, for display only. Approvals name the steps they cover by key. The same template can
exist in several versions: a run follows the version it started on (see `acct_tui.store.templates`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
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

# Roles: the steps where the app's own editors appear. KPI values may be entered in several steps; objectives
# are set in one step and judged in one.
KPI_ROLE = "kpi"
OBJECTIVES_ROLE = "objectives"
RESULTS_ROLE = "results"
ROLES = (KPI_ROLE, OBJECTIVES_ROLE, RESULTS_ROLE)
SINGLE_STEP_ROLES = (OBJECTIVES_ROLE, RESULTS_ROLE)

PACKAGED_TEMPLATE = "account_management.toml"
_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


class TemplateError(DomainError):
    """The template file cannot be used; the message names the file and the line or field at fault.

    `problem` is the message without the file name, `line` the line of the file it points at (None when the
    problem is not on one line, such as a file that cannot be read)."""

    def __init__(self, message: str, problem: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.problem = problem or message
        self.line = line


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
    covers: tuple[int, ...] = ()  # the covered steps' numbers in this template
    key: str = ""
    role: str | None = None
    covers_keys: tuple[str, ...] = ()

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
    key: str = ""  # the template's name in the database, the same in all its versions
    version: int | None = None  # set when read from a database; a file has no version until installed

    def step(self, number: int) -> Step:
        if isinstance(number, int) and 1 <= number <= len(self.steps):
            return self.steps[number - 1]
        raise DomainError(f"There is no step {number!r}: steps run from 1 to {len(self.steps)}.")

    def step_by_key(self, key: str) -> Step | None:
        return next((step for step in self.steps if step.key == key), None)

    def with_role(self, role: str) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.role == role)

    def role_step(self, role: str) -> Step | None:
        """The one step with `role` (objectives, results), or None when this template has none."""
        return next(iter(self.with_role(role)), None)

    def find_field(self, key: str) -> tuple[Step, Field] | None:
        """The first task step asking for the field `key`, and that field (for the portfolio's tallies)."""
        for step in self.steps:
            for field in step.fields:
                if field.key == key:
                    return step, field
        return None

    @property
    def approvals(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.is_approval)

    @property
    def label(self) -> str:
        """How reports name the template a run follows: `Account Management Template, version 2`."""
        return self.name if self.version is None else f"{self.name}, version {self.version}"

    def as_json(self) -> dict[str, Any]:
        """The template in the documented JSON shape of `acct-tui template --json`."""
        steps = []
        for step in self.steps:
            entry: dict[str, Any] = {"number": step.number, "key": step.key, "title": step.title, "kind": step.kind}
            if step.role:
                entry["role"] = step.role
            if step.is_approval:
                entry["covers"] = list(step.covers)
                entry["covers_keys"] = list(step.covers_keys)
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
        data: dict[str, Any] = {"key": self.key, "name": self.name, "description": self.description}
        if self.version is not None:
            data["version"] = self.version
        data["steps"] = steps
        return data


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


def _require_key(table: dict[str, Any], where: str) -> str:
    key = _require(table, "key", str, where)
    if not _KEY_PATTERN.match(key):
        raise TemplateError(
            f"{where}.key: {key!r} is not a key: use lower-case letters, digits, '-' and '_' (up to 60)"
        )
    return key


def _parse_field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: expected a table")
    key = _require_key(raw, where)
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


def _parse_step(raw: Any, index: int, earlier: dict[str, Step]) -> Step:
    """One step; `earlier` holds the steps before it by key, which its `covers` may name."""
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: expected a table")
    number = index + 1
    if "number" in raw:  # optional: positions are counted, a number only double-checks them
        written = _require(raw, "number", int, where)
        if written != number:
            raise TemplateError(f"{where}.number: expected {number}, got {written} (steps run 1, 2, 3, ...)")
    where = f"step {number}"
    key = _require_key(raw, where)
    if key in earlier:
        raise TemplateError(f"{where}.key: {key!r} is already the key of step {earlier[key].number}")
    title = _require(raw, "title", str, where)
    kind = _require(raw, "kind", str, where)
    if kind not in STEP_KINDS:
        raise TemplateError(f"{where}.kind: {kind!r} is not one of {', '.join(STEP_KINDS)}")
    role = raw.get("role")
    if role is not None and role not in ROLES:
        raise TemplateError(f"{where}.role: {role!r} is not one of {', '.join(ROLES)}")
    if role is not None and kind == APPROVAL:
        raise TemplateError(f"{where}.role: an approval has no role; give it to a task")
    if role in SINGLE_STEP_ROLES and any(step.role == role for step in earlier.values()):
        raise TemplateError(f"{where}.role: only one step can have the role {role!r}")
    guidance = _require(raw, "guidance", dict, where)
    purpose = _require(guidance, "purpose", str, f"{where}.guidance")
    desired = _require(guidance, "desired_result", str, f"{where}.guidance")
    questions = _require(guidance, "questions", list, f"{where}.guidance")
    if not questions or not all(isinstance(question, str) and question.strip() for question in questions):
        raise TemplateError(f"{where}.guidance.questions: expected a list of questions")
    if kind == APPROVAL:
        covers = _require(raw, "covers", list, where)
        if not covers or not all(isinstance(item, str) for item in covers) or len(set(covers)) != len(covers):
            raise TemplateError(f"{where}.covers: expected distinct keys of steps before step {number}")
        numbers = []
        for covered in covers:
            target = earlier.get(covered)
            if target is None:
                raise TemplateError(f"{where}.covers: {covered!r} is not the key of a step before step {number}")
            if target.is_approval:
                raise TemplateError(f"{where}.covers: step {target.number} ({covered}) is an approval, not a task")
            numbers.append(target.number)
        if "fields" in raw:
            raise TemplateError(f"{where}.fields: an approval has no form fields")
        return Step(number, title, kind, purpose, desired, tuple(questions), (), tuple(numbers), key, None,
                    tuple(covers))
    if "covers" in raw:
        raise TemplateError(f"{where}.covers: only an approval covers steps")
    raw_fields = raw.get("fields", [])
    if not isinstance(raw_fields, list):
        raise TemplateError(f"{where}.fields: expected a list of tables")
    fields = tuple(_parse_field(field, f"{where}.fields[{i}]") for i, field in enumerate(raw_fields))
    keys = [field.key for field in fields] + [field.key for field in COMMON_TASK_FIELDS]
    if len(set(keys)) != len(keys):
        raise TemplateError(f"{where}.fields: field keys must be distinct (notes, due and assignee are added to every task)")
    return Step(number, title, kind, purpose, desired, tuple(questions), fields + COMMON_TASK_FIELDS, (), key, role)


def _line_of(text: str, problem: str) -> int | None:
    """The line of the TOML file a problem points at: the step's `[[steps]]` header, its field's
    `[[steps.fields]]`, and within those the line setting the named setting when there is one."""
    lines = text.splitlines()
    decode = re.search(r"line (\d+)", problem)
    if decode and not problem.startswith(("step", "template")):
        return int(decode.group(1))
    headers = [i for i, line in enumerate(lines) if line.strip() == "[[steps]]"]
    located = re.match(r"(?:step |steps\[)(\d+)", problem)
    if not located:
        setting = re.match(r"template\.(\w+)", problem)
        return _setting_line(lines, 0, headers[0] if headers else len(lines), setting) or 1
    index = int(located.group(1)) - (1 if problem.startswith("step ") else 0)
    if not 0 <= index < len(headers):
        return None
    start = headers[index]
    end = headers[index + 1] if index + 1 < len(headers) else len(lines)
    field = re.search(r"\.fields\[(\d+)\]", problem)
    if field:
        field_headers = [i for i in range(start, end) if lines[i].strip() == "[[steps.fields]]"]
        position = int(field.group(1))
        if position < len(field_headers):
            start = field_headers[position]
            end = next((i for i in field_headers if i > start), end)
    where = problem.split(":", 1)[0]
    setting = re.search(r"\.(\w+)$", where)
    return _setting_line(lines, start, end, setting) or start + 1


def _setting_line(lines: list[str], start: int, end: int, setting: re.Match[str] | None) -> int | None:
    if setting is None:
        return None
    pattern = re.compile(rf"^\s*{re.escape(setting.group(1))}\s*=")
    return next((i + 1 for i in range(start, end) if pattern.match(lines[i])), None)


def _error(source: str, text: str, problem: str) -> TemplateError:
    return TemplateError(f"{source}: {problem}", problem, _line_of(text, problem))


def parse_template(text: str, source: str = "<template>") -> Template:
    """Parse and validate template TOML; every problem raises TemplateError naming `source`, where, and the
    line of the file it is on (`error.line`)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _error(source, text, str(error)) from None
    try:
        key = _require_key(raw, "template")
        name = _require(raw, "name", str, "template")
        description = _require(raw, "description", str, "template")
        raw_steps = _require(raw, "steps", list, "template")
        if not raw_steps:
            raise TemplateError("template.steps: the template has no steps")
        earlier: dict[str, Step] = {}
        covered_by: dict[str, Step] = {}
        for index, raw_step in enumerate(raw_steps):
            step = _parse_step(raw_step, index, earlier)
            for covered in step.covers_keys:
                if covered in covered_by:
                    raise TemplateError(
                        f"step {step.number}.covers: step {earlier[covered].number} ({covered}) is already covered "
                        f"by step {covered_by[covered].number}"
                    )
                covered_by[covered] = step
            earlier[step.key] = step
    except TemplateError as error:
        raise _error(source, text, error.problem) from None
    return Template(name, description, tuple(earlier.values()), key)


def load_template(path: Path | None = None) -> Template:
    """Load a template file, or the one shipped in the package when no path is given."""
    if path is None:
        return packaged_template()
    return parse_template(read_template_text(path), str(path))


def read_template_text(path: Path | str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{path}: cannot read the template ({error})") from None


@lru_cache(maxsize=32)
def parse_stored_template(text: str, version: int) -> Template:
    """A template version as the database keeps it (text validated when it was installed): parsed once."""
    template = parse_template(text, f"template version {version}")
    return Template(template.name, template.description, template.steps, template.key, version)


@cache
def packaged_template_text() -> str:
    return resources.files(__package__).joinpath(PACKAGED_TEMPLATE).read_text(encoding="utf-8")


@cache
def packaged_template() -> Template:
    """The template shipped in the package: version 1 of "account-management" in every database."""
    template = parse_template(packaged_template_text(), PACKAGED_TEMPLATE)
    return Template(template.name, template.description, template.steps, template.key, 1)
