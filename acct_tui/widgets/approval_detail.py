"""What an approver reads before deciding: every value the covered steps hold (answers, notes, due dates,
assignee), the objectives and KPI values set in them, and what changed since the last decision on the gate.

Each line is its own widget with its own indent, so a long line wraps under its own start, never at the
left edge: a reader can still tell one value from the next at 80 columns.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from acct_tui.store.queries import ApprovalDetail, KpiTrend, QueueItem
from acct_tui.store.values import display_value
from acct_tui.template import NOTES
from acct_tui.text import printable
from acct_tui.widgets.objectives_editor import DEFINE, objective_row
from acct_tui.widgets.step_form import local_time, state_words
from acct_tui.widgets.step_list import one_line
from acct_tui.workflow import REJECTED
from acct_tui.workflow.kpi import get_metric

CHANGED = "✎"  # marks a value changed since the last decision: readable without colour
TOP, ITEM, TEXT = "detail-top", "detail-item", "detail-text"  # indents 0, 2 and 6 (see screens.tcss)

Line = tuple[Content, str]


def _changed_mark(changed: bool) -> str:
    return f"{CHANGED} " if changed else ""


def _trend(trend: KpiTrend) -> str:
    metric = get_metric(trend.entry.metric)
    text = f"{metric.short}: {trend.entry.text} on {trend.entry.measured_on.isoformat()} {trend.arrow}"
    if trend.previous is not None:
        text += f" from {trend.previous.text} ({trend.previous.measured_on.isoformat()})"
    return text


def _last_decision_lines(detail: ApprovalDetail, covers: str) -> list[Line]:
    decision = detail.last_decision
    if decision is None:
        return []
    verb = "Rejected" if decision.decision == REJECTED else "Approved, then taken back,"
    said = f": “{decision.comment}”" if decision.comment else ""
    lines: list[Line] = [(Content.assemble(
        (f"{verb} before by ", "bold"), printable(decision.approver, keep_newlines=False),
        f" on {local_time(decision.decided_at)}", printable(said),
    ), TOP)]
    if not detail.changes:
        lines.append((Content(f"Nothing in steps {covers} was changed since then."), ITEM))
        return lines
    lines.append((Content(f"Changed since then (marked {CHANGED} below):"), TOP))
    lines.extend(
        (one_line(f"{CHANGED} step {change.step}, {local_time(change.at)} {change.actor}: {change.summary}"), ITEM)
        for change in detail.changes
    )
    return lines


def detail_lines(item: QueueItem, detail: ApprovalDetail) -> list[Line]:
    """The approval `item` and everything its covered steps hold, as indented lines."""
    covers = ", ".join(map(str, item.covers))
    lines: list[Line] = [
        (Content.assemble(("Decide: ", "bold"), (printable(item.title, keep_newlines=False), "bold"),
                          " for ", (printable(item.account_name, keep_newlines=False), "bold")), TOP),
        (one_line(f"Covers steps {covers}; submitted {local_time(item.submitted_at)} by {item.submitted_by or '—'}."),
         TOP),
        *_last_decision_lines(detail, covers),
    ]
    for step in detail.steps:
        lines.append((Content.assemble((f"Step {step.number}: ", "bold"),
                                       (printable(step.title, keep_newlines=False), "bold")), TOP))
        lines.append((one_line(state_words(step)), ITEM))
        for field in step.fields:
            label = Content.assemble(_changed_mark(detail.field_changed(step.number, field.key)),
                                     (f"{field.label}: ", "bold"))
            if field.type == NOTES and field.value:
                lines.append((label, ITEM))
                lines.append((Content(printable(field.value)), TEXT))
            else:
                lines.append((label + one_line(display_value(field, field.value)), ITEM))
    if detail.objectives_step is not None:
        lines.append((Content.styled(f"Objectives (step {detail.objectives_step})", "bold"), TOP))
        lines.extend(
            (Content(_changed_mark(objective.id in detail.changed_items)) + objective_row(objective, DEFINE), ITEM)
            for objective in detail.objectives
        )
        if not detail.objectives:
            lines.append((Content("No objectives are set."), ITEM))
    kpi_steps = ", ".join(map(str, detail.kpi_steps))
    if kpi_steps:
        lines.append((Content.styled(f"KPI values (step {kpi_steps}), with the one before", "bold"), TOP))
        lines.extend(
            (Content(_changed_mark(trend.entry.id in detail.changed_items)) + one_line(_trend(trend)), ITEM)
            for trend in detail.kpis
        )
        if not detail.kpis:
            lines.append((Content(f"No KPI values were entered in step {kpi_steps}."), ITEM))
    return lines


class ApprovalDetailView(VerticalScroll):
    """The scrolling detail of the highlighted approval."""

    async def show(self, lines: list[Line]) -> None:
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all([Static(content, classes=indent) for content, indent in lines])
