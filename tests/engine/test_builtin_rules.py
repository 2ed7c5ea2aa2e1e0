"""Every built-in rule passes its own examples, and the rule set covers the catalogue."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from domosec.catalog.load import framework_key, load_catalogue
from domosec.engine.assess import assess
from domosec.engine.examples import check_examples
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.model.load import load_model_text

RULES = load_rules()
CATALOGUE = load_catalogue()
RISK_CLAUSES = ("6.2.1", "6.2.2", "6.2.3", "6.2.4", "6.3.1", "6.3.2", "6.3.3", "6.3.4")


@pytest.mark.parametrize("lr", RULES, ids=[lr.rule.id for lr in RULES])
def test_rule_finds_exactly_what_its_examples_say(lr: LoadedRule) -> None:
    result = check_examples(lr)
    assert result.ok, "\n".join(result.problems)


def test_rule_count_and_spread() -> None:
    assert len(RULES) >= 70
    per_clause = Counter(lr.rule.risk_source for lr in RULES)
    for clause in RISK_CLAUSES:
        assert per_clause[clause] >= 6, f"{clause} has {per_clause[clause]} rules"


@pytest.mark.parametrize("lr", RULES, ids=[lr.rule.id for lr in RULES])
def test_rule_references_resolve_in_the_catalogue(lr: LoadedRule) -> None:
    r = lr.rule
    for item in r.risk_items:
        assert item in CATALOGUE.risk_sources, item
        assert CATALOGUE.risk_sources[item].clause == r.risk_source, f"{item} is not a risk source of {r.risk_source}"
    for control in r.mitigated_by:
        assert control in CATALOGUE.controls, control
    for framework, ids in r.cross_map.items():
        for item in ids:
            assert framework_key(framework, item) in CATALOGUE.framework_items, f"{framework} {item}"


def test_every_risk_source_is_covered_by_a_rule_or_an_assessor_question() -> None:
    covered = {item for lr in RULES for item in lr.rule.risk_items}
    uncovered = sorted(rs.id for rs in CATALOGUE.risk_sources.values() if rs.id not in covered and not rs.assessor_question)
    assert uncovered == [], f"neither a rule nor an assessor question covers: {uncovered}"


def test_rule_names_and_titles_are_unique() -> None:
    assert len({lr.rule.name for lr in RULES}) == len(RULES)
    assert len({lr.rule.title for lr in RULES}) == len(RULES)


ZIGBEE_LOCK = """\
domosec: 1
system: {id: lock-home, name: Lock home}
users: [{id: owner, role: resident, admin: true, mfa: true}]
zones: [{id: hall, kind: entrance}]
networks: [{id: zigbee, kind: zigbee, encryption: network_key, pairing: install_code, join_open: false}]
gateways: [{id: hub, kind: hub, networks: [zigbee], upnp: false, firewall: true}]
devices:
  - id: lock
    type: lock
    zone: hall
    networks: [zigbee]
    gateway: hub
    actuators: [lock]
"""
WEB_WORDS = ("web", "http", "xss", "tls", "telnet", "admin page", "cleartext login", "injection")


def test_web_threats_do_not_fire_on_a_radio_only_lock() -> None:
    findings = assess([load_model_text(ZIGBEE_LOCK)], RULES, as_of=dt.date(2026, 11, 23)).findings
    on_lock = [f for f in findings if f.asset.id == "lock"]
    web = [f.rule_id for f in on_lock if any(w in (f.title + " " + f.rule_id).lower() for w in WEB_WORDS)]
    assert web == []
