"""What the reports say: the portfolio and account reports as documents (see `document.py`).

The Reports screen and the Markdown and HTML exports all render these same documents, so they cannot
disagree. The screen asks for shorter lists (`*_limit`); exports leave nothing out.
"""

from __future__ import annotations

from acct_tui.reports import formatting as fmt
from acct_tui.reports.document import (
    Bar,
    BarChart,
    Block,
    Document,
    Facts,
    Heading,
    Paragraph,
    Table,
    Trend,
    TrendChart,
)
from acct_tui.store.reports import (
    SATISFACTION,
    AccountReport,
    GateStats,
    PortfolioReport,
    decision_turnaround,
)
from acct_tui.store.queries import RunView
from acct_tui.store.values import display_value
from acct_tui.template import DUE_KEY, KPI_ROLE, OBJECTIVES_ROLE, RESULTS_ROLE, Template
from acct_tui.workflow.field_kinds import field_kind
from acct_tui.workflow.kpi import format_change, format_metric_value, get_metric


def _gate_name(step: int, title: str) -> str:
    return f"{step}. {title.removeprefix('Approval: ')}"


def _count_chart(label_header: str, tallies, value_header: str = "Accounts") -> BarChart:
    return BarChart(label_header, value_header, tuple(Bar(label, count, fmt.count(count)) for label, count in tallies))


def _limited(rows: list[tuple[str, ...]], limit: int | None, what: str,
             total: int | None = None) -> tuple[tuple[tuple[str, ...], ...], str]:
    """The first `limit` rows, with a note saying how many there are (`total`, when `rows` holds only the
    first ones)."""
    total = len(rows) if total is None else total
    if limit is None or total <= limit:
        return tuple(rows), ""
    return tuple(rows[:limit]), f"The first {limit:,} of {total:,} {what}; exports list them all."


def _gate_row(gate: GateStats) -> tuple[str, ...]:
    rate = gate.rejection_rate
    return (
        _gate_name(gate.step, gate.title), fmt.count(gate.pending), fmt.count(gate.decisions),
        fmt.count(gate.rejected), fmt.percent(None if rate is None else 100 * rate, 0),
        fmt.duration(gate.average_hours), fmt.duration(gate.shortest_hours), fmt.duration(gate.longest_hours),
    )


def _versions_text(report: PortfolioReport) -> str:
    """The version new runs start on, and how many accounts follow each version."""
    following = "; ".join(f"{fmt.count(count)} on version {version}"
                          for key, version, count in report.runs_by_version if key == report.template.key)
    text = f"{report.template.label} for new accounts"
    return f"{text} ({following})" if following else text


def portfolio_document(report: PortfolioReport, *, pending_limit: int | None = None,
                       account_limit: int | None = None) -> Document:
    """The portfolio report. `account_limit=0` leaves the per-account table out (the screen has a list)."""
    blocks: list[Block] = [
        Heading("Accounts by lifecycle stage"),
        _count_chart("Stage", report.by_stage),
        Heading("Accounts by segment"),
        _count_chart("Segment", report.by_segment),
        Heading("Progress through the steps"),
        Facts((
            ("Average progress", fmt.percent(report.average_progress)),
            ("Finished every step", fmt.count(report.finished)),
            ("Template", _versions_text(report)),
        )),
        _count_chart("Steps finished", report.progress),
    ]

    oldest = report.pending[0] if report.pending else None
    pending_rows = [
        (item.account, item.owner, _gate_name(item.step, item.title), fmt.moment(item.submitted_at), fmt.age(item.age_days))
        for item in report.pending
    ]
    rows, note = _limited(pending_rows, pending_limit, "pending approvals, oldest first", report.pending_count)
    blocks += [
        Heading("Pending approvals"),
        Facts((
            ("Waiting for a decision", fmt.count(report.pending_count)),
            ("Oldest waiting", f"{fmt.age(oldest.age_days)} ({oldest.account})" if oldest else fmt.NONE),
        )),
        Table(("Account", "Owner", "Gate", "Submitted", "Age"), rows, numeric=frozenset({4}),
              empty="No approval is waiting.", note=note),
        Heading("Approval gates: turnaround and rejections"),
        Table(("Gate", "Waiting", "Decided", "Rejected", "Rate", "Average", "Fastest", "Slowest"),
              tuple(_gate_row(gate) for gate in report.gates), numeric=frozenset(range(1, 8)),
              note="Turnaround runs from submission to decision; the rate is rejections per decision."),
        BarChart("Gate", "Average turnaround", tuple(
            Bar(_gate_name(gate.step, gate.title), gate.average_hours or 0.0, fmt.duration(gate.average_hours))
            for gate in report.gates
        )),
        Heading("Overdue tasks by owner"),
        Paragraph(f"{fmt.count(report.overdue_tasks)} open tasks are past their due date. A task's owner is its "
                  "assignee, else the account owner."),
        BarChart("Owner", "Overdue tasks", tuple(
            Bar(owner.owner, owner.tasks, f"{fmt.count(owner.tasks)} in {fmt.count(owner.accounts)} acc.")
            for owner in report.overdue_by_owner
        ), empty="Nothing is overdue."),
        Heading("Customer satisfaction"),
        _count_chart("Rating", report.satisfaction),
        Heading("KPIs: latest value per account"),
        Table(("Metric", "Accounts", "Average", "Lowest", "Highest"), tuple(
            (get_metric(kpi.metric).label, fmt.count(kpi.accounts),
             *(format_metric_value(get_metric(kpi.metric), value) for value in (kpi.average, kpi.lowest, kpi.highest)))
            for kpi in report.kpis
        ), numeric=frozenset({1, 2, 3, 4})),
        Heading("Objectives and results"),
        Facts((
            ("Objectives", fmt.count(report.objectives.total)),
            ("Achieved", fmt.count(report.objectives.achieved)),
            ("Missed", fmt.count(report.objectives.missed)),
            ("Not judged yet", fmt.count(report.objectives.open)),
            ("Past due, not judged", fmt.count(report.objectives.overdue)),
        )),
        Heading("Top history issues"),
        _count_chart("Issue", report.history_issues),
        Heading("Issue categories"),
        _count_chart("Category", report.issue_categories),
    ]
    if account_limit != 0:
        account_rows = [
            (line.name, line.owner, line.segment, line.stage, f"{line.done}/{line.total}",
             str(line.current_step) if line.current_step else "done", fmt.count(line.overdue),
             line.satisfaction or fmt.NONE)
            for line in report.accounts
        ]
        rows, note = _limited(account_rows, account_limit, "accounts")
        blocks += [
            Heading("Accounts"),
            Table(("Account", "Owner", "Segment", "Stage", "Steps", "Now", "Overdue", "Satisfaction"), rows,
                  numeric=frozenset({4, 5, 6}), empty="No accounts yet.", note=note),
        ]
    subtitle = (f"As of {fmt.day(report.as_of)} · {fmt.count(report.active_accounts)} active account{'' if report.active_accounts == 1 else 's'} "
                f"({fmt.count(report.archived_accounts)} archived, not counted) · generated {fmt.moment(report.generated_at)}")
    return Document("Portfolio report", subtitle, tuple(blocks))


def _answer(field, value) -> str:
    text = display_value(field, value)
    if field_kind(field).tick_list:
        text += f" ({len(value)} of {len(field.options)})"
    return text


def _answers(report: AccountReport) -> list[Block]:
    blocks: list[Block] = []
    for view in report.run.steps:
        if view.is_approval:
            continue
        step = report.run.template.step(view.number)
        answered = [(step.field(item.key), item.value) for item in view.fields if item.value]
        if answered:
            blocks += [Heading(f"Step {view.number}. {view.title}", 3),
                       Facts(tuple((field.label, _answer(field, value)) for field, value in answered))]
    return blocks or [Paragraph("Nothing has been filled in yet.")]


def _steps_with_role(template: Template, role: str) -> str:
    numbers = [str(step.number) for step in template.with_role(role)]
    return " and ".join(numbers) if numbers else "none"


def _trends(report: AccountReport) -> TrendChart:
    trends = []
    for series in report.kpis:
        metric = get_metric(series.metric)
        latest_day, latest = series.latest
        summary = f"latest {format_metric_value(metric, latest)} on {latest_day.isoformat()}"
        if series.change is not None:
            summary += f", {format_change(metric, series.change)} since {series.points[0][0].isoformat()}"
        trends.append(Trend(metric.short, tuple((day, float(value), format_metric_value(metric, value))
                                                for day, value in series.points), summary))
    where = _steps_with_role(report.run.template, KPI_ROLE)
    return TrendChart(tuple(trends), empty=f"No KPI values yet: enter them in steps {where}.")


def _objective_row(outcome) -> tuple[str, ...]:
    objective = outcome.objective
    measured = fmt.NONE
    if outcome.measured is not None:
        verdict = "meets target" if outcome.meets_target else "below target"
        measured = (f"{format_metric_value(get_metric(objective.metric), outcome.measured)} on "
                    f"{outcome.measured_on.isoformat()} ({verdict})")
    achieved = {True: "yes", False: "no", None: "overdue" if outcome.overdue else "not yet judged"}[objective.achieved]
    return (objective.title, objective.target, fmt.day(objective.due_on), measured, achieved, objective.result or fmt.NONE)


def _template_text(run: RunView) -> str:
    text = run.template.label
    if run.upgrade_available:
        text += f" (version {run.latest_version} is available)"
    return text


def account_document(report: AccountReport) -> Document:
    run = report.run
    template = run.template
    account = run.account
    progress = run.progress
    satisfaction = next((item.value for view in run.steps for item in view.fields if item.key == SATISFACTION), None)
    next_gate = template.step(progress.next_approval) if progress.next_approval else None
    facts = [
        ("Owner", account.owner or fmt.NONE),
        ("Segment", account.segment),
        ("Lifecycle stage", account.stage),
        ("Industry", account.industry or fmt.NONE),
        ("Annual revenue", format_metric_value(get_metric("revenue"), account.annual_revenue)),
        ("Template", _template_text(run)),
    ]
    if account.archived:
        facts.append(("Archived", "yes"))
    status = (
        ("Progress", f"{progress.done} of {progress.total} steps finished "
                     f"({fmt.percent(100 * progress.done / progress.total if progress.total else 0, 0)})"),
        ("Now", progress.blocker),
        ("Next approval", _gate_name(next_gate.number, next_gate.title) if next_gate else "all granted"),
        ("Overdue steps", ", ".join(map(str, progress.overdue)) or "none"),
        ("Customer satisfaction", satisfaction or "not assessed"),
    )
    step_rows = []
    for view in run.steps:
        due = None if view.is_approval else view.field(DUE_KEY).value
        finished = view.finished_at.date() if view.finished_at else None
        marker = "▶" if view.number == progress.current_step else ""
        step_rows.append((f"{marker}{view.number}", view.title, view.mark, fmt.day(due), fmt.day(finished),
                          view.finished_by or fmt.NONE))
    decisions = tuple(
        (_gate_name(decision.step, decision.gate), decision.decision, decision.approver,
         fmt.moment(decision.submitted_at), fmt.moment(decision.decided_at),
         fmt.duration(decision_turnaround(decision)), decision.comment or fmt.NONE)
        for decision in run.decisions
    )
    blocks: list[Block] = [
        Heading("Account"), Facts(tuple(facts)),
        Heading("Status"), Facts(status),
        Heading("Where it is in the steps"),
        Table(("#", "Step", "State", "Due", "Finished", "By"), tuple(step_rows), numeric=frozenset({0})),
        Heading("KPI trends"), _trends(report),
        Heading("Objectives and results"),
        Table(("Objective", "Target", "Due", "Measured", "Achieved", "Result"),
              tuple(_objective_row(outcome) for outcome in report.objectives),
              empty=f"No objectives yet: set them in step {_steps_with_role(template, OBJECTIVES_ROLE)} "
                    f"(results in step {_steps_with_role(template, RESULTS_ROLE)}).", stack_when_narrow=True),
        Heading("Approval history"),
        Table(("Gate", "Decision", "By", "Submitted", "Decided", "Took", "Comment"), decisions,
              empty="No approval decided yet.", stack_when_narrow=True),
        Heading("Answers"),
        *_answers(report),
    ]
    subtitle = f"Account report as of {fmt.day(report.as_of)} · generated {fmt.moment(report.generated_at)}"
    return Document(account.name, subtitle, tuple(blocks))
