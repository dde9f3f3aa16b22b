"""The reports as JSON for scripts. The shape is documented in the README ("Reports and exports") and is
stable: keys are only ever added, and `format_version` changes if one is ever renamed or removed.

Numbers are JSON numbers; timestamps are UTC in ISO 8601 with a `Z`; dates are YYYY-MM-DD; a value not
known is `null`. Every KPI metric key appears, whether or not it has values.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from acct_tui.reports.progress import ProgressCallback, Ticker
from acct_tui.store.reports import (
    AccountReport,
    PortfolioReport,
    Tally,
    decision_turnaround,
)
from acct_tui.workflow.field_kinds import FIELD_KINDS
from acct_tui.workflow.kpi import METRIC_KEYS

FORMAT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _number(value: Decimal | float | None) -> float | int | None:
    if value is None:
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def _tallies(tallies: tuple[Tally, ...]) -> dict[str, int]:
    return {tally.label: tally.count for tally in tallies}


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def portfolio_json(report: PortfolioReport, on_progress: ProgressCallback | None = None) -> dict[str, Any]:
    ticker = Ticker(len(report.accounts), on_progress)
    accounts = []
    for line in report.accounts:
        accounts.append({
            "id": str(line.id), "name": line.name, "owner": line.owner, "segment": line.segment,
            "stage": line.stage, "industry": line.industry, "annual_revenue": _number(line.annual_revenue),
            "steps_done": line.done, "steps_total": line.total, "current_step": line.current_step,
            "current_step_title": line.current_title or None, "next_approval": line.next_approval,
            "pending_since": _time(line.pending_since), "overdue_tasks": line.overdue,
            "satisfaction": line.satisfaction,
            "kpis": {key: _number(value) for key, value in zip(METRIC_KEYS, line.latest)},
            "objectives": line.objectives, "objectives_achieved": line.objectives_achieved,
            "last_activity": _time(line.last_activity), "template_version": line.template_version,
        })
        ticker.advance()
    ticker.finish()
    return {
        "report": "portfolio",
        "format_version": FORMAT_VERSION,
        "generated_at": _time(report.generated_at),
        "as_of": _day(report.as_of),
        "account_counts": {"active": report.active_accounts, "archived": report.archived_accounts},
        "by_stage": _tallies(report.by_stage),
        "by_segment": _tallies(report.by_segment),
        "progress": {"average_percent": _round(report.average_progress), "finished": report.finished,
                     "buckets": _tallies(report.progress)},
        "pending_approvals": [
            {"account_id": str(item.account_id), "account": item.account, "owner": item.owner, "step": item.step,
             "step_key": item.step_key, "gate": item.title, "submitted_at": _time(item.submitted_at),
             "age_days": item.age_days}
            for item in report.pending
        ],
        "approval_gates": [
            {"step": gate.step, "step_key": gate.key, "gate": gate.title, "pending": gate.pending,
             "decisions": gate.decisions,
             "approved": gate.approved, "rejected": gate.rejected, "rejection_rate": _round(gate.rejection_rate, 4),
             "turnaround_hours": {"decisions_timed": gate.timed, "average": _round(gate.average_hours),
                                  "shortest": _round(gate.shortest_hours), "longest": _round(gate.longest_hours)}}
            for gate in report.gates
        ],
        "overdue_tasks": {
            "total": report.overdue_tasks,
            "by_owner": [{"owner": item.owner, "tasks": item.tasks, "accounts": item.accounts}
                         for item in report.overdue_by_owner],
        },
        "satisfaction": _tallies(report.satisfaction),
        "kpis": {
            kpi.metric: {"accounts": kpi.accounts, "average": _round(kpi.average), "lowest": _number(kpi.lowest),
                         "highest": _number(kpi.highest)}
            for kpi in report.kpis
        },
        "objectives": {"total": report.objectives.total, "achieved": report.objectives.achieved,
                       "missed": report.objectives.missed, "not_judged": report.objectives.open,
                       "overdue": report.objectives.overdue},
        "history_issues": _tallies(report.history_issues),
        "issue_categories": _tallies(report.issue_categories),
        "accounts": accounts,
        "templates": [{"key": key, "version": version, "accounts": count}
                      for key, version, count in report.runs_by_version],
    }


def account_json(report: AccountReport) -> dict[str, Any]:
    run = report.run
    template = run.template
    account = run.account
    series = {item.metric: item for item in report.kpis}
    return {
        "report": "account",
        "format_version": FORMAT_VERSION,
        "generated_at": _time(report.generated_at),
        "as_of": _day(report.as_of),
        "account": {"id": str(account.id), "name": account.name, "owner": account.owner,
                    "segment": account.segment, "stage": account.stage, "industry": account.industry,
                    "annual_revenue": _number(account.annual_revenue), "archived": account.archived},
        "status": {"steps_done": run.progress.done, "steps_total": run.progress.total,
                   "current_step": run.progress.current_step, "next_approval": run.progress.next_approval,
                   "overdue_steps": list(run.progress.overdue), "summary": run.progress.blocker},
        "steps": [
            {"number": view.number, "step_key": view.key, "title": view.title, "kind": view.kind, "state": view.mark,
             "finished_at": _time(view.finished_at), "finished_by": view.finished_by,
             "answers": {item.key: FIELD_KINDS[item.type].export(item.value) for item in view.fields}}
            for view in run.steps
        ],
        "decisions": [
            {"step": decision.step, "step_key": decision.step_key, "gate": decision.gate,
             "decision": decision.decision,
             "approver": decision.approver, "comment": decision.comment,
             "submitted_at": _time(decision.submitted_at), "decided_at": _time(decision.decided_at),
             "turnaround_hours": _round(decision_turnaround(decision))}
            for decision in run.decisions
        ],
        "kpis": {
            key: [{"date": _day(day), "value": _number(value)} for day, value in series[key].points]
            if key in series else []
            for key in METRIC_KEYS
        },
        "objectives": [
            {"id": str(outcome.objective.id), "title": outcome.objective.title, "metric": outcome.objective.metric,
             "target": outcome.objective.target, "target_value": _number(outcome.objective.target_value),
             "due": _day(outcome.objective.due_on), "result": outcome.objective.result,
             "achieved": outcome.objective.achieved, "measured": _number(outcome.measured),
             "measured_on": _day(outcome.measured_on), "meets_target": outcome.meets_target,
             "overdue": outcome.overdue}
            for outcome in report.objectives
        ],
        "template": {"key": template.key, "name": template.name, "version": template.version,
                     "latest_version": run.latest_version},
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
