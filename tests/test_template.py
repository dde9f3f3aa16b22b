"""The packaged account-management template: content, loader validation and JSON shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from acct_tui.errors import DomainError
from acct_tui.template import (
    TemplateError,
    load_template,
    packaged_template,
    parse_template,
)

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "account-management-template.txt"
PACKAGED_PATH = Path(__file__).resolve().parents[1] / "acct_tui" / "template" / "account_management.toml"

TITLES = [
    "Identify the account for management",
    "Gather account records",
    "Review account history",
    "Analyze current account status",
    "Approval: Account Status",
    "Define account management objectives",
    "Draft account management plan",
    "Approval: Account Management Plan",
    "Implement account management plan",
    "Monitor account management implementation",
    "Handle account updates",
    "Communicate with account customer",
    "Prepare account reports",
    "Present account reports to management",
    "Approval: Account Reports",
    "Coordinate with sales team for account progress",
    "Resolve any account issues",
    "Periodically review account management plan",
    "Approval: Periodic Review of Account Management Plan",
    "Evaluate account management success and document findings",
]

APPROVALS = {5: [1, 2, 3, 4], 8: [6, 7], 15: [13, 14], 19: [18]}

# step -> [(key, type, options, required)], in the order the loader must keep them.
CHOICE_FIELDS = {
    2: [("records", "checklist",
         ["Financial statements", "Transaction history", "Contracts", "Invoices", "Correspondence"], False)],
    3: [("history_issues", "multi",
         ["Late payments", "Customer complaints", "Service disruptions", "Quality issues", "Billing errors"], False)],
    4: [
        ("satisfaction", "single",
         ["Very Satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very Dissatisfied"], True),
        ("strengths", "multi",
         ["Strong market presence", "High customer retention rate", "Diverse product portfolio",
          "Excellent customer service", "Competitive pricing"], False),
    ],
    9: [("actions", "checklist",
         ["Contact account customer", "Evaluate customer needs", "Develop customized solutions",
          "Implement solutions", "Monitor progress"], False)],
    10: [("monitoring", "checklist",
          ["Review account performance", "Collect customer feedback", "Analyze data and metrics",
           "Identify areas for improvement", "Adjust strategies and actions"], False)],
    12: [("channels", "multi",
          ["Email", "Phone", "In-person meetings", "Video conferences", "Online chat"], False)],
    13: [("metrics", "multi",
          ["Revenue", "Customer Satisfaction", "Retention Rate", "Sales Pipeline", "Market Share"], False)],
    16: [("coordination", "checklist",
          ["Lead generation", "Sales forecasting", "Pipeline management", "Customer handover",
           "Account expansion opportunities"], False)],
    17: [("issue_categories", "multi",
          ["Late payments", "Product defects", "Delivery delays", "Miscommunication",
           "Billing discrepancies"], False)],
    18: [
        ("review_frequency", "single", ["Monthly", "Quarterly", "Biannually", "Annually", "As needed"], True),
        ("review_triggers", "multi",
         ["Account performance", "Customer feedback", "Market trends", "Internal resource allocation",
          "Competitive landscape"], False),
    ],
}

COMMON = [("notes", "notes"), ("due", "date"), ("assignee", "text")]

# Stock phrasing of the source descriptions that must not be carried over into the guidance.
SOURCE_PHRASES = ["This task involves", "The impact of this task", "The desired result", "overall process"]


@pytest.fixture(scope="module")
def template():
    return packaged_template()


def guidance_text(step) -> str:
    return " ".join([step.purpose, step.desired_result, *step.questions])


# --- content -------------------------------------------------------------------------------------------


def test_name_description_and_step_count(template):
    assert template.name == "Account Management Template"
    assert template.description.strip()
    assert len(template.steps) == 20
    assert [step.number for step in template.steps] == list(range(1, 21))


def test_titles_exact(template):
    assert [step.title for step in template.steps] == TITLES


def test_kinds_and_covers(template):
    for step in template.steps:
        if step.number in APPROVALS:
            assert step.kind == "approval" and step.is_approval, step.number
            assert list(step.covers) == APPROVALS[step.number]
            assert step.fields == ()
            assert step.title.startswith("Approval: ")
        else:
            assert step.kind == "task" and not step.is_approval, step.number
            assert step.covers == ()
    assert [step.number for step in template.approvals] == [5, 8, 15, 19]


def test_choice_fields_exact(template):
    for step in template.steps:
        if step.is_approval:
            continue
        choices = [(f.key, f.type, list(f.options), f.required) for f in step.fields if f.is_choice]
        assert choices == CHOICE_FIELDS.get(step.number, []), f"step {step.number}"
        for field in step.fields:
            assert field.label.strip(), f"step {step.number}.{field.key} has no label"


def test_every_task_has_common_fields(template):
    for step in template.steps:
        if step.is_approval:
            continue
        tail = [(f.key, f.type) for f in step.fields[-3:]]
        assert tail == COMMON, f"step {step.number}"
        assert [f.key for f in step.fields].count("notes") == 1
        assert step.field("due").type == "date"
        assert step.field("assignee").type == "text"
        with pytest.raises(KeyError):
            step.field("no-such-field")


def test_guidance_present_for_every_step(template):
    for step in template.steps:
        assert len(step.purpose.split()) >= 5, f"step {step.number} purpose"
        assert len(step.desired_result.split()) >= 4, f"step {step.number} desired_result"
        assert len(step.questions) >= 2, f"step {step.number} questions"
        for question in step.questions:
            assert question.strip().endswith("?"), f"step {step.number}: {question!r}"
        assert len(set(step.questions)) == len(step.questions)


def test_guidance_is_not_copied_from_source_phrasing(template):
    for step in template.steps:
        text = guidance_text(step)
        for phrase in SOURCE_PHRASES:
            assert phrase.lower() not in text.lower(), f"step {step.number} copies {phrase!r}"


def test_loading_by_path_and_default_match_packaged(template):
    assert load_template() is template
    assert load_template(PACKAGED_PATH).steps == template.steps
    assert (template.key, template.version) == ("account-management", 1)


# --- against the source text, when it is available -----------------------------------------------------


def parse_source(text: str) -> dict:
    """Read the exported process: description line, numbered title list, then one block per step."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    description, rest = lines[0], lines[1:]
    titles = []
    while rest and rest[0].isdigit() and int(rest[0]) == len(titles) + 1:
        titles.append(rest[1])
        rest = rest[2:]
    steps = []
    i = 0
    for number, title in enumerate(titles, start=1):
        assert rest[i] == title, f"source block {number} starts with {rest[i]!r}"
        i += 1
        step = {"title": title, "description": "", "options": [], "covers": None}
        if rest[i] == "Will be submitted for approval:":
            i += 1
            covers = []
            while i + 1 < len(rest) and rest[i + 1] == "Will be submitted":
                covers.append(titles.index(rest[i]) + 1)
                i += 2
            step["covers"] = covers
        else:
            step["description"] = rest[i]
            i += 1
            while i + 1 < len(rest) and rest[i].isdigit():
                if rest[i] == "1":
                    step["options"].append([])
                step["options"][-1].append(rest[i + 1])
                i += 2
        steps.append(step)
    assert i == len(rest), "unparsed trailing lines in the source"
    return {"description": description, "steps": steps}


@pytest.fixture(scope="module")
def source():
    if not SOURCE.exists():
        pytest.skip(f"source text not available at {SOURCE}")
    return parse_source(SOURCE.read_text(encoding="utf-8"))


def test_matches_source_text(template, source):
    assert len(source["steps"]) == len(template.steps)
    for step, src in zip(template.steps, source["steps"]):
        assert step.title == src["title"]
        if src["covers"] is not None:
            assert step.is_approval and list(step.covers) == src["covers"], step.number
            continue
        assert not step.is_approval, step.number
        options = [list(f.options) for f in step.fields if f.is_choice]
        assert options == src["options"], f"step {step.number}"
        # guidance is rephrased: no source sentence or question appears verbatim
        text = guidance_text(step).lower()
        for sentence in re.split(r"(?<=[.?!])\s+", src["description"]):
            if len(sentence.split()) >= 4:
                assert sentence.lower() not in text, f"step {step.number} copies {sentence!r}"


# --- validation ----------------------------------------------------------------------------------------

MINIMAL = """\
key = "t"
name = "T"
description = "D"

[[steps]]
number = 1
key = "do"
title = "Do the thing"
kind = "task"
[steps.guidance]
purpose = "Why"
desired_result = "Done"
questions = ["What?"]
[[steps.fields]]
key = "pick"
label = "Pick"
type = "single"
options = ["A", "B"]

[[steps]]
number = 2
key = "approve"
title = "Approval: Thing"
kind = "approval"
covers = ["do"]
[steps.guidance]
purpose = "Check"
desired_result = "Signed off"
questions = ["Good?"]
"""


def test_minimal_template_parses():
    template = parse_template(MINIMAL, "x.toml")
    assert [step.kind for step in template.steps] == ["task", "approval"]
    assert [f.key for f in template.step(1).fields] == ["pick", "notes", "due", "assignee"]
    assert template.step(2).covers == (1,)
    with pytest.raises(DomainError, match="There is no step 3: steps run from 1 to 2"):
        template.step(3)


def test_toml_syntax_error_names_source_and_line():
    broken = MINIMAL.replace('title = "Do the thing"', 'title = "Do the thing')
    with pytest.raises(TemplateError, match=r"^x\.toml: .*line 8") as raised:
        parse_template(broken, "x.toml")
    assert raised.value.line == 8


def test_missing_title_names_step_and_field():
    broken = MINIMAL.replace('title = "Do the thing"\n', "")
    with pytest.raises(TemplateError, match=r"^x\.toml: step 1: missing 'title'"):
        parse_template(broken, "x.toml")


def test_unknown_field_type():
    broken = MINIMAL.replace('type = "single"', 'type = "dropdown"')
    with pytest.raises(TemplateError, match=r"^x\.toml: step 1\.fields\[0\]\.type: 'dropdown'"):
        parse_template(broken, "x.toml")


def test_covers_on_a_task():
    broken = MINIMAL.replace('kind = "task"\n', 'kind = "task"\ncovers = ["do"]\n')
    with pytest.raises(TemplateError, match=r"^x\.toml: step 1\.covers: only an approval"):
        parse_template(broken, "x.toml")


def test_approval_covering_an_approval():
    extra = MINIMAL + """
[[steps]]
number = 3
key = "approve-again"
title = "Approval: Approval"
kind = "approval"
covers = ["approve"]
[steps.guidance]
purpose = "Check"
desired_result = "Signed off"
questions = ["Is it right?"]
"""
    with pytest.raises(TemplateError, match=r"^x\.toml: step 3\.covers: step 2 \(approve\) is an approval"):
        parse_template(extra, "x.toml")


def test_approval_covering_a_later_step():
    broken = MINIMAL.replace('covers = ["do"]', 'covers = ["approve"]')
    with pytest.raises(TemplateError,
                       match=r"^x\.toml: step 2\.covers: 'approve' is not the key of a step before step 2"):
        parse_template(broken, "x.toml")


def test_wrong_step_numbering():
    broken = MINIMAL.replace("number = 2", "number = 3")
    with pytest.raises(TemplateError, match=r"^x\.toml: steps\[1\]\.number: expected 2, got 3"):
        parse_template(broken, "x.toml")


def test_duplicate_of_common_field_key():
    broken = MINIMAL.replace('key = "pick"', 'key = "notes"')
    with pytest.raises(TemplateError, match=r"^x\.toml: step 1\.fields: field keys must be distinct"):
        parse_template(broken, "x.toml")


def test_load_template_names_the_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace('kind = "task"', 'kind = "chore"'), encoding="utf-8")
    with pytest.raises(TemplateError, match=re.escape(f"{path}: step 1.kind: 'chore'")):
        load_template(path)
    with pytest.raises(TemplateError, match=r"cannot read the template"):
        load_template(tmp_path / "missing.toml")


# --- JSON shape ----------------------------------------------------------------------------------------


def test_as_json_shape_and_round_trip(template):
    data = template.as_json()
    assert {"name", "steps"} <= data.keys()
    assert data["name"] == "Account Management Template"
    assert len(data["steps"]) == 20
    for entry, step in zip(data["steps"], template.steps):
        assert {"number", "title", "kind", "fields"} <= entry.keys()
        assert (entry["number"], entry["title"], entry["kind"]) == (step.number, step.title, step.kind)
        if step.is_approval:
            assert entry["covers"] == APPROVALS[step.number]
            assert entry["fields"] == []
        else:
            assert "covers" not in entry
            assert [f["key"] for f in entry["fields"]] == [f.key for f in step.fields]
        assert entry["guidance"]["purpose"] == step.purpose
    assert json.loads(json.dumps(data)) == data
    step4 = data["steps"][3]["fields"][0]
    assert step4 == {
        "key": "satisfaction",
        "label": "Customer satisfaction",
        "type": "single",
        "options": ["Very Satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very Dissatisfied"],
        "required": True,
    }


def test_approval_covering_a_step_twice_or_a_step_already_covered():
    twice = MINIMAL.replace('covers = ["do"]', 'covers = ["do", "do"]')
    with pytest.raises(TemplateError, match=r"step 2\.covers: expected distinct keys"):
        parse_template(twice, "x.toml")
    flag = MINIMAL.replace('covers = ["do"]', "covers = [true]")
    with pytest.raises(TemplateError, match=r"step 2\.covers"):
        parse_template(flag, "x.toml")


# --- keys, roles and where a problem is ----------------------------------------------------------------

STEP_KEYS = [
    "identify-account", "gather-records", "review-history", "analyse-status", "approve-status",
    "define-objectives", "draft-plan", "approve-plan", "implement-plan", "monitor-implementation",
    "handle-updates", "communicate-with-customer", "prepare-reports", "present-reports", "approve-reports",
    "coordinate-with-sales", "resolve-issues", "review-plan", "approve-plan-review", "evaluate-success",
]


def test_every_packaged_step_has_its_stable_key_and_the_roles_the_app_needs(template):
    assert [step.key for step in template.steps] == STEP_KEYS
    assert [step.number for step in template.with_role("kpi")] == [10, 13]
    assert template.role_step("objectives").number == 6
    assert template.role_step("results").number == 20
    assert {gate.key: list(gate.covers_keys) for gate in template.approvals} == {
        template.step(number).key: [template.step(covered).key for covered in covered_numbers]
        for number, covered_numbers in APPROVALS.items()
    }


def test_numbers_are_optional_and_keys_must_be_distinct():
    without_numbers = MINIMAL.replace("number = 1\n", "").replace("number = 2\n", "")
    assert [step.number for step in parse_template(without_numbers).steps] == [1, 2]
    clash = MINIMAL.replace('key = "approve"', 'key = "do"')
    with pytest.raises(TemplateError, match=r"step 2\.key: 'do' is already the key of step 1") as raised:
        parse_template(clash, "x.toml")
    assert raised.value.line == MINIMAL.splitlines().index('key = "approve"') + 1


@pytest.mark.parametrize("broken, problem, line_text", [
    (MINIMAL.replace('type = "single"', 'type = "dropdown"'), "step 1.fields[0].type", 'type = "dropdown"'),
    (MINIMAL.replace('covers = ["do"]', 'covers = ["gone"]'), "step 2.covers", 'covers = ["gone"]'),
    (MINIMAL.replace('kind = "task"', 'kind = "task"\nrole = "boss"'), "step 1.role", 'role = "boss"'),
    (MINIMAL.replace('title = "Do the thing"\n', ""), "step 1: missing 'title'", "[[steps]]"),
])
def test_each_problem_names_the_line_it_is_on(broken, problem, line_text):
    with pytest.raises(TemplateError) as raised:
        parse_template(broken, "x.toml")
    assert raised.value.problem.startswith(problem)
    assert broken.splitlines()[raised.value.line - 1] == line_text
