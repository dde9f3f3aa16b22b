"""Rules for key performance indicators (KPIs) and account objectives: which metrics exist, what values they
accept, how they read. Pure: no Peewee, no Textual.

The six metrics are the ones the reports step names. KPI values are entered with a date from the steps whose
role is "kpi" (monitoring and reports in the packaged template), so every account builds a time series per
metric; objectives are set in the step whose role is "objectives" with a target and a due date, and judged
in the "results" step (see `acct_tui.template` for roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from acct_tui.errors import DomainError
from acct_tui.workflow.fields import MAX_REVENUE, MAX_SHORT_TEXT, one_line_text, rounded_number

CURRENCY = "currency"
PERCENT = "%"
OUT_OF_FIVE = "/5"
SCORE = "score"

MAX_OBJECTIVES = 20  # "a short list": more than this is a plan, not objectives
MAX_TARGET = MAX_SHORT_TEXT


@dataclass(frozen=True, slots=True)
class Metric:
    key: str  # stored in the database and used in JSON: never renamed
    label: str
    short: str  # column headers and chart labels at 80 columns
    unit: str
    minimum: Decimal
    maximum: Decimal
    maximum_included: bool
    places: int

    @property
    def range_text(self) -> str:
        if self.unit == CURRENCY:
            return f"a number from 0 up to {self.maximum - Decimal('0.01'):,}"
        low, high = format_plain(self.minimum), format_plain(self.maximum)
        suffix = " %" if self.unit == PERCENT else ""
        return f"a number from {low} to {high}{suffix}"

    def in_range(self, value: Decimal) -> bool:
        if value < self.minimum:
            return False
        return value <= self.maximum if self.maximum_included else value < self.maximum


_ZERO = Decimal(0)
METRICS: tuple[Metric, ...] = (
    Metric("revenue", "Revenue", "Revenue", CURRENCY, _ZERO, MAX_REVENUE, False, 2),
    Metric("csat", "Customer satisfaction (CSAT, 1-5)", "CSAT", OUT_OF_FIVE, Decimal(1), Decimal(5), True, 2),
    Metric("nps", "Net promoter score", "NPS", SCORE, Decimal(-100), Decimal(100), True, 1),
    Metric("retention", "Retention rate", "Retention", PERCENT, _ZERO, Decimal(100), True, 2),
    Metric("pipeline", "Sales pipeline value", "Pipeline", CURRENCY, _ZERO, MAX_REVENUE, False, 2),
    Metric("market_share", "Market share", "Mkt share", PERCENT, _ZERO, Decimal(100), True, 2),
)
METRIC_KEYS = tuple(metric.key for metric in METRICS)
_BY_NAME = {
    name.casefold(): metric
    for metric in METRICS
    for name in (metric.key, metric.label, metric.short, metric.label.split(" (")[0])
}


def get_metric(name: object) -> Metric:
    """The metric named by its key, label or short label (case and surrounding spaces ignored)."""
    if isinstance(name, Metric):
        return name
    if isinstance(name, str):
        found = _BY_NAME.get(name.strip().casefold())
        if found is not None:
            return found
    raise DomainError(f"KPI must be one of: {', '.join(metric.short for metric in METRICS)}.")


def parse_metric_value(metric: Metric, value: object) -> Decimal:
    """A KPI value in range for `metric`, rounded to its decimals; `1,250,000` and `42 %` are accepted."""
    what = metric.label.split(" (")[0]
    if isinstance(value, bool) or value is None:
        raise DomainError(f"{what} needs a value: {metric.range_text}.")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "").replace(" ", "")
        if metric.unit == PERCENT:
            text = text.removesuffix("%")
        if not text:
            raise DomainError(f"{what} needs a value: {metric.range_text}.")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise DomainError(f"{what} “{value.strip()[:40]}” is not a number: use {metric.range_text}.") from None
    else:
        raise DomainError(f"{what} must be a number.")
    if not number.is_finite():
        raise DomainError(f"{what} “{str(value).strip()[:40]}” is not a number: use {metric.range_text}.")
    rounded = rounded_number(number, metric.places)  # rounded first, then checked: the limit is on what is kept
    if rounded is None:  # far too large to spell out in a message
        raise DomainError(f"{what} is out of range: use {metric.range_text}.")
    if not metric.in_range(rounded):
        raise DomainError(f"{what} {format_plain(rounded)} is out of range: use {metric.range_text}.")
    return rounded


@cache
def _quantum(places: int) -> Decimal:
    """1 in the last of `places` decimals (0.01), made once: making it was a third of `to_places`."""
    return Decimal(1).scaleb(-places)


def to_places(metric: Metric, value: Decimal | float | int) -> Decimal:
    """`value` with exactly the metric's decimals: what SQLite hands back (4.5 as a float) reads as 4.50."""
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return number.quantize(_quantum(metric.places), rounding=ROUND_HALF_EVEN)


def format_plain(value: Decimal | float | int) -> str:
    """A number with thousands separators and no trailing zeros: 1,250,000 / 4.5 / -12.25."""
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    text = f"{number:,.2f}" if abs(number) >= 1000 else f"{number.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_metric_value(metric: Metric, value: Decimal | float | int | None) -> str:
    """How a KPI value reads in reports: `1,250,000`, `4.5/5`, `+35`, `92.5 %`; an em dash when missing."""
    if value is None:
        return "—"
    number = to_places(metric, value)
    if metric.unit == CURRENCY and number != number.to_integral_value():
        return f"{number:,.2f}"  # money keeps its cents: 1,250,000.50
    text = format_plain(number)
    if metric.unit == PERCENT:
        return f"{text} %"
    if metric.unit == OUT_OF_FIVE:
        return f"{text}/5"
    if metric.unit == SCORE and number > 0:
        return f"+{text}"
    return text


def format_change(metric: Metric, change: Decimal | float) -> str:
    """A difference between two values of `metric`: +0.4, -150,000, +2.5 pts (points of a percentage)."""
    number = to_places(metric, change)
    sign = "+" if number > 0 else ""
    return f"{sign}{format_plain(number)}{' pts' if metric.unit == PERCENT else ''}"


def meets_target(measured: Decimal, target: Decimal) -> bool:
    """Every metric here is better when higher, so a target is met at or above it."""
    return measured >= target


@dataclass(frozen=True, slots=True)
class ObjectiveFields:
    title: str
    metric: str | None  # a metric key when the target is a KPI value
    target: str  # as the user wrote it; normalised to the metric's format when `metric` is set
    target_value: Decimal | None


def validate_objective(title: object, target: object, metric: object = None) -> ObjectiveFields:
    """An objective: a title, and a target that is free text or, with a metric, a value of that metric."""
    title_text = one_line_text(title, "Objective", MAX_SHORT_TEXT, required=True)
    if metric is None or metric == "":
        target_text = one_line_text(target, "Target", MAX_TARGET, required=True)
        return ObjectiveFields(title_text, None, target_text, None)
    chosen = get_metric(metric)
    target_value = parse_metric_value(chosen, target)
    return ObjectiveFields(title_text, chosen.key, format_metric_value(chosen, target_value), target_value)


__all__ = [
    "CURRENCY",
    "MAX_OBJECTIVES",
    "METRICS",
    "METRIC_KEYS",
    "OUT_OF_FIVE",
    "PERCENT",
    "SCORE",
    "Metric",
    "ObjectiveFields",
    "format_change",
    "format_metric_value",
    "format_plain",
    "get_metric",
    "meets_target",
    "parse_metric_value",
    "to_places",
    "validate_objective",
]
