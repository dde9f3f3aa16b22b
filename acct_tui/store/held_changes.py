"""Applying a held edit: the save that could not happen when the user typed it, made now on the user's word.

Runs on the writer thread like every change. The user chose to apply it, so it goes over whatever another
session stored meanwhile (no version check); a refusal (the step is still locked, the gate is decided) is a
`DomainError` and the edit stays held with that reason.
"""

from __future__ import annotations

import uuid

from acct_tui.errors import DomainError
from acct_tui.store import kpis, services
from acct_tui.store.held import ACCOUNT, COMMENT, FIELD, KPI, OBJECTIVE, HeldEdit


def apply_held_edit(edit: HeldEdit) -> None:
    if edit.kind == FIELD:
        if edit.run_id is None:
            raise DomainError("This held text does not say which checklist it belongs to; copy it instead.")
        services.set_field(edit.run_id, edit.step, edit.key, edit.value)
    elif edit.kind == COMMENT:
        services.reject(edit.run_id, edit.step, edit.value)
    elif edit.kind == ACCOUNT:
        if edit.account_id is None:
            services.create_account(**edit.value)
        else:
            services.edit_account(edit.account_id, **edit.value)
    elif edit.kind == KPI:
        if edit.target_id:
            kpis.edit_kpi(edit.target_id, value=edit.value["value"], measured_on=edit.value["date"])
        else:
            kpis.add_kpi(edit.account_id, edit.value["metric"], edit.value["value"], edit.value["date"],
                         step=edit.step)
    elif edit.kind == OBJECTIVE:
        _apply_objective(edit)
    else:
        raise DomainError(f"Unknown kind of held edit: {edit.kind}.")
    if edit.account_id is not None and edit.kind != ACCOUNT:
        services.record_held_outcome(edit.account_id, edit.step, edit.where, edit.text, applied=True)


def _apply_objective(edit: HeldEdit) -> None:
    value = edit.value
    if "result" in value:
        kpis.record_result(edit.target_id, value["result"], value.get("achieved"))
    elif edit.target_id:
        kpis.edit_objective(edit.target_id, title=value["title"], target=value["target"], metric=value["metric"],
                            due=value["due"])
    else:
        kpis.add_objective(edit.run_id, value["title"], value["target"], value["due"], metric=value["metric"])


def discard_held_edit(edit: HeldEdit) -> None:
    """Record that the user discarded it (the history keeps the text)."""
    if edit.account_id is not None:
        services.record_held_outcome(uuid.UUID(edit.account_id), edit.step, edit.where, edit.text, applied=False)


__all__ = ["apply_held_edit", "discard_held_edit"]
