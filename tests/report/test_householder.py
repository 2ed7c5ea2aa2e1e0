"""The householder summary (ISO/IEC 27403 7.2.20): the few things to fix first, in words a non-expert can follow."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from domosec.assessment import Assessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.householder import (
    ASK,
    CITED_NAMES,
    EVERYDAY,
    FIRST,
    GLOSSARY,
    LISTED_PLACES,
    home_plans,
    householder_advice,
    render_home_markdown,
)
from domosec.report.html import render_html

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)
RULE_ID = re.compile(r"\b[A-Z]{2,4}-[SP]\d{2}\b")
CLAUSE = re.compile(r"\b[5-7]\.\d\.\d+\b")
ACRONYM = re.compile(r"\b[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*\b")


def golden(name: str) -> Assessment:
    return Assessment.model_validate_json((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))


def assess_text(tmp_path: Path, text: str) -> Assessment:
    path = tmp_path / "home.yaml"
    path.write_text(text, encoding="utf-8")
    return assess([load_model(path)], load_rules(), as_of=DAY)


@pytest.fixture(scope="module")
def family() -> Assessment:
    return golden("family-home")


def test_actions_are_the_worst_open_problems_one_per_rule(family: Assessment) -> None:
    (plan,) = home_plans(family)
    assert 0 < len(plan.first) <= FIRST and len(plan.ask_maker) <= ASK
    rules = {r.title: r for r in family.rules}
    worst = {
        r.id: max(f.residual.score for f in family.findings if f.rule_id == r.id and f.is_open)
        for r in rules.values()
        if any(f.rule_id == r.id and f.is_open for f in family.findings)
    }
    scores = [worst[rules[a.title].id] for a in plan.first]
    assert scores == sorted(scores, reverse=True)
    mine = [rid for rid in worst if householder_advice(next(r for r in family.rules if r.id == rid).how_to_fix)]
    assert scores[0] == max(worst[rid] for rid in mine), "the first action is the worst problem a householder can fix"
    assert len({a.title for a in plan.first + plan.ask_maker}) == len(plan.first) + len(plan.ask_maker)


def test_accepted_risks_are_not_asked_for_again(family: Assessment) -> None:
    accepted = [f for f in family.findings if f.treatment == "accepted"]
    assert accepted
    (plan,) = home_plans(family)
    for f in accepted:
        still_open = [g for g in family.findings if g.rule_id == f.rule_id and g.is_open]
        places = [p for a in plan.first + plan.ask_maker if a.title == f.title for p in a.places]
        if not still_open:
            assert not places
        else:
            assert f.asset.name not in places


def test_advice_is_the_householder_part_of_the_remediation(family: Assessment) -> None:
    both = next(r for r in family.rules if "Developer:" in r.how_to_fix and "Householder" in r.how_to_fix)
    advice = householder_advice(both.how_to_fix)
    assert advice and "Developer" not in advice
    developer_only = next(r for r in family.rules if "ouseholder" not in r.how_to_fix)
    assert householder_advice(developer_only.how_to_fix) == ""
    assert all(not RULE_ID.search(householder_advice(r.how_to_fix)) for r in family.rules)


def test_summary_has_no_rule_ids_scores_or_clause_numbers(family: Assessment) -> None:
    text = render_home_markdown(family)
    assert "what to fix first" in text
    assert not RULE_ID.search(text) and not CLAUSE.search(text)
    assert not re.search(r"\b(inherent|residual|likelihood|STRIDE|LINDDUN)\b", text, re.I)
    html = render_html(family, audience="home")
    assert not RULE_ID.search(html) and not CLAUSE.search(html)


def test_every_technical_word_a_rule_can_put_in_the_summary_is_explained() -> None:
    """Titles, the first sentences of why it matters and the householder advice of every built-in rule."""
    unexplained: dict[str, list[str]] = {}
    for loaded in load_rules():
        rule = loaded.rule
        text = " ".join([rule.title, rule.why_it_matters, householder_advice(rule.how_to_fix)])
        for word in ACRONYM.findall(text):
            if word not in GLOSSARY and word not in EVERYDAY and word not in CITED_NAMES:
                unexplained.setdefault(word, []).append(rule.id)
    assert unexplained == {}, "add these words to GLOSSARY in report/householder.py"


def test_the_word_list_explains_the_words_that_appear(family: Assessment) -> None:
    (plan,) = home_plans(family)
    text = render_home_markdown(family)
    body = text.split("## Words you may see")[0]
    assert plan.glossary
    for term, meaning in plan.glossary:
        assert re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", body, re.I)
        assert f"**{term}**: {meaning}." in text


def test_a_home_with_nothing_open_is_told_so(tmp_path: Path) -> None:
    result = assess_text(tmp_path, "domosec: 1\nsystem: {id: empty-flat, name: Empty flat}\n")
    assert not [f for f in result.findings if f.is_open]
    assert "Nothing needs fixing right now" in render_home_markdown(result)
    assert "Nothing needs fixing right now" in render_html(result, audience="home")


def test_many_devices_are_counted_not_listed(tmp_path: Path) -> None:
    from bench.assess import generate  # the benchmark's model generator (the repository root is on pythonpath)

    result = assess_text(tmp_path, generate(120))
    (plan,) = home_plans(result)
    big = max(plan.first, key=lambda a: a.more_places)
    assert len(big.places) == LISTED_PLACES and big.more_places > 0
    assert f"and {big.more_places} more" in render_home_markdown(result)


def test_model_text_cannot_inject_markdown_links_or_html(tmp_path: Path) -> None:
    result = assess_text(tmp_path, (ROOT / "tests" / "report" / "hostile.yaml").read_text(encoding="utf-8"))
    text = render_home_markdown(result)
    html = MarkdownIt("commonmark").render(text)
    assert "<img" not in html and "<script" not in html and "<b " not in html
    assert 'href="javascript' not in html and "<a " not in html
    assert "&lt;img src=x onerror=window.__xss=4&gt;Cam" in html
