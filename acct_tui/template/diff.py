"""What a new version of a template changes, step by step and field by field, matched by key.

`option_renames` is also what an upgrade uses to carry answers over: when a field's new options drop exactly as
many labels as they add, each dropped label is taken as renamed to the added one in the same order (the
preview shows it); otherwise nothing is taken as renamed, and answers with a dropped label are lost.
"""

from __future__ import annotations

from acct_tui.template import Field, Step, Template


def option_renames(old: Field, new: Field) -> dict[str, str]:
    """Old label -> new label for the options of `old` that `new` renamed."""
    dropped = [label for label in old.options if label not in new.options]
    added = [label for label in new.options if label not in old.options]
    return dict(zip(dropped, added)) if len(dropped) == len(added) else {}


def _step_name(step: Step) -> str:
    return f"step {step.number} “{step.title}” ({step.key})"


def _quoted(labels) -> str:
    return ", ".join(f"“{label}”" for label in labels)


def _field_changes(old: Step, new: Step) -> list[str]:
    lines = []
    where = f"{_step_name(new)}:"
    old_fields = {field.key: field for field in old.fields}
    new_fields = {field.key: field for field in new.fields}
    for key, field in new_fields.items():
        if key not in old_fields:
            lines.append(f"{where} field added: “{field.label}” ({key}, {field.type})")
    for key, field in old_fields.items():
        if key not in new_fields:
            lines.append(f"{where} field removed: “{field.label}” ({key}); its answers are dropped")
    for key, field in new_fields.items():
        before = old_fields.get(key)
        if before is None:
            continue
        if before.label != field.label:
            lines.append(f"{where} field renamed: “{before.label}” → “{field.label}” ({key})")
        if before.type != field.type:
            lines.append(f"{where} field “{field.label}” changes type: {before.type} → {field.type}")
        if before.required != field.required:
            lines.append(f"{where} field “{field.label}” is {'now' if field.required else 'no longer'} required")
        renames = option_renames(before, field)
        for old_label, new_label in renames.items():
            lines.append(f"{where} “{field.label}” option renamed: “{old_label}” → “{new_label}”")
        added = [label for label in field.options if label not in before.options and label not in renames.values()]
        removed = [label for label in before.options if label not in field.options and label not in renames]
        if added:
            lines.append(f"{where} “{field.label}” options added: {_quoted(added)}")
        if removed:
            lines.append(f"{where} “{field.label}” options removed: {_quoted(removed)}")
    return lines


def diff_templates(old: Template, new: Template) -> list[str]:
    """Every change from `old` to `new`, one sentence each, in the order of the new template's steps."""
    lines = []
    if old.key != new.key:
        lines.append(f"The template's key changes: {old.key} → {new.key}")
    if old.name != new.name:
        lines.append(f"The template is renamed: “{old.name}” → “{new.name}”")
    old_steps = {step.key: step for step in old.steps}
    new_steps = {step.key: step for step in new.steps}
    for step in new.steps:
        before = old_steps.get(step.key)
        if before is None:
            lines.append(f"Step added: {_step_name(step)}, {'an approval' if step.is_approval else 'a task'}")
            continue
        if before.title != step.title:
            lines.append(f"Step renamed: {_step_name(step)}, was “{before.title}”")
        if before.kind != step.kind:
            lines.append(f"{_step_name(step)} changes kind: {before.kind} → {step.kind}")
        if before.role != step.role:
            lines.append(f"{_step_name(step)} changes role: {before.role or 'none'} → {step.role or 'none'}")
        lines += _field_changes(before, step)
    for step in old.steps:
        if step.key not in new_steps:
            lines.append(f"Step removed: {_step_name(step)}")
    renumbered = [step for step in new.steps if step.key in old_steps and old_steps[step.key].number != step.number]
    if renumbered:
        lines.append(f"{len(renumbered)} step{'s' if len(renumbered) != 1 else ''} keep their key but get a new "
                     f"number: {', '.join(f'{old_steps[s.key].number}→{s.number}' for s in renumbered)}")
    for gate in new.approvals:
        before = old_steps.get(gate.key)
        covered = _quoted(new_steps[key].title for key in gate.covers_keys)
        if before is None or not before.is_approval:
            lines.append(f"Gate {_step_name(gate)} covers {covered}")
        elif set(before.covers_keys) != set(gate.covers_keys):
            gained = [new_steps[key].title for key in gate.covers_keys if key not in before.covers_keys]
            lost = [old_steps[key].title for key in before.covers_keys if key not in gate.covers_keys]
            change = "; ".join(part for part in (
                f"now also covers {_quoted(gained)}" if gained else "",
                f"no longer covers {_quoted(lost)}" if lost else "",
            ) if part)
            lines.append(f"Gate {_step_name(gate)} {change}")
    return lines or ["No change: the two versions ask for the same steps, fields and approvals."]
