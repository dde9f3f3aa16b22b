"""Value rules: what each field and account attribute accepts, and the messages for what it refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from acct_tui.errors import DomainError
from acct_tui.template import packaged_template
from acct_tui.workflow.field_kinds import normalize_field_value
from acct_tui.workflow.fields import (
    MAX_NAME,
    multi_line_text,
    name_key,
    one_line_text,
    parse_date,
    parse_revenue,
)

TEMPLATE = packaged_template()
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        (" 2026-12-01 ", date(2026, 12, 1)),
        ("today", TODAY),
        ("Tomorrow", date(2026, 11, 24)),
        ("+7", date(2026, 11, 30)),
        ("+2w", date(2026, 12, 7)),
        ("", None),
    ],
)
def test_dates_accepted(text, expected):
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize("text", ["12/01/2026", "2026-13-01", "2026-1-1", "next week", "1999-12-31", "20261201"])
def test_dates_refused_with_the_format_to_use(text):
    with pytest.raises(DomainError, match=r"YYYY-MM-DD|out of range"):
        parse_date(text, "Due date", today=TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1250000", Decimal("1250000.00")), ("1,250,000.50", Decimal("1250000.50")), ("", None), (0, Decimal("0.00"))],
)
def test_revenue_accepted(text, expected):
    assert parse_revenue(text) == expected


@pytest.mark.parametrize("text", ["lots", "-5", "1e20", "nan", "inf", True])
def test_revenue_refused(text):
    with pytest.raises(DomainError, match="Annual revenue"):
        parse_revenue(text)


def test_names_are_trimmed_and_limited():
    assert one_line_text("  Acme  ", "Account name", required=True) == "Acme"
    with pytest.raises(DomainError, match="cannot be empty"):
        one_line_text("   ", "Account name", required=True)
    with pytest.raises(DomainError, match=f"limit is {MAX_NAME}"):
        one_line_text("x" * (MAX_NAME + 1), "Account name", MAX_NAME)
    with pytest.raises(DomainError, match="control characters"):
        one_line_text("evil\x1b]0;X\x07", "Account name")
    assert one_line_text("[bold]x[/bold]", "Account name") == "[bold]x[/bold]"


def test_notes_keep_lines_and_refuse_terminal_controls():
    assert multi_line_text("a\r\nb\tc", "Notes") == "a\nb\tc"
    with pytest.raises(DomainError, match="control characters"):
        multi_line_text("x\x1b[2J", "Notes")


def test_name_key_ignores_case_and_compatibility_forms():
    assert name_key("ACME GmbH") == name_key("acme gmbh")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Ｆｕｌｌ") == name_key("full")


def test_choices_keep_source_labels_and_order():
    strengths = TEMPLATE.step(4).field("strengths")
    assert normalize_field_value(strengths, ["competitive pricing", "Strong market presence"]) == (
        "Strong market presence",
        "Competitive pricing",
    )
    satisfaction = TEMPLATE.step(4).field("satisfaction")
    assert normalize_field_value(satisfaction, "neutral") == "Neutral"
    assert normalize_field_value(satisfaction, "") is None
    with pytest.raises(DomainError, match="must be one of"):
        normalize_field_value(satisfaction, "Ecstatic")
    with pytest.raises(DomainError, match="list of options"):
        normalize_field_value(strengths, "Competitive pricing")


@pytest.mark.parametrize("text", ["+5000w", "+9999w", "+3900w"])
def test_relative_dates_beyond_the_documented_range_are_refused(text):
    with pytest.raises(DomainError, match="out of range: use a year from 2000 to 2100"):
        parse_date(text, "Due date", today=TODAY)
    assert parse_date("+3000w", today=TODAY).year == 2084


@pytest.mark.parametrize("text", ["9999999999999.995", "9,999,999,999,999.999", "1e999999999", "1e100000"])
def test_revenue_is_rounded_before_its_limit_is_checked_and_huge_input_is_never_spelled_out(text):
    with pytest.raises(DomainError) as refused:
        parse_revenue(text)
    assert str(refused.value) == "Annual revenue must be a number from 0 up to 9,999,999,999,999.99."
    assert parse_revenue("9999999999999.994") == Decimal("9999999999999.99")
    assert str(parse_revenue("-0.001")) == "0.00"


INVISIBLE_NAMES = ["\u200b", "\ufeff", "\u3164", "\u115f\u1160", "\u2060", "\u200b \ufeff\u3164", "\u200e\u200f",
                   "\ufe0f", "\u2800", "\u00a0\u3000", "\u034f", "\U000e0041"]


@pytest.mark.parametrize("text", INVISIBLE_NAMES)
def test_a_required_field_of_invisible_characters_only_counts_as_empty(text):
    with pytest.raises(DomainError, match="Account name cannot be empty"):
        one_line_text(text, "Account name", MAX_NAME, required=True)
    assert one_line_text(f"Acme{text}", "Account name", required=True) == f"Acme{text}".strip()
