"""Content checks of the shipped ISO/IEC 27403 catalogue: what users of domosec rely on."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from domosec.catalog.load import load_catalogue
from domosec.catalog.types import HOME_CONTEXT_COLUMNS

EXPECTED_CLAUSES = [
    "1",
    "2",
    "3",
    "4",
    "5",
    "5.1",
    "5.2",
    "5.3",
    "5.4",
    "5.5",
    "5.6",
    "6",
    "6.1",
    "6.2",
    "6.2.1",
    "6.2.2",
    "6.2.3",
    "6.2.4",
    "6.3",
    "6.3.1",
    "6.3.2",
    "6.3.3",
    "6.3.4",
    "7",
    "7.1",
    "7.2",
    "7.3",
    *(f"7.1.{n}" for n in range(1, 8)),
    *(f"7.2.{n}" for n in range(1, 25)),
    *(f"7.3.{n}" for n in range(1, 15)),
    "Annex A",
    "Annex B",
    "Annex C",
    "Annex D",
]
CLAUSE_7 = [c for c in EXPECTED_CLAUSES if re.fullmatch(r"7\.[123]\.\d+", c)]
RISK_SOURCE_CLAUSES = ["6.2.1", "6.2.2", "6.2.3", "6.2.4", "6.3.1", "6.3.2", "6.3.3", "6.3.4"]
TITLES_FROM_TOC = {
    "6.2.2": "Security risks for IoT-domotics gateway",
    "6.3.3": "Privacy risks for IoT-domotics devices and physical entities",
    "7.1.4": "Failsafe domotics devices",
    "7.2.15": "Secure settings and configurations in delivery of IoT-domotics devices and services",
    "7.2.24": "Secure disclosure of Information regarding security of IoT-domotics devices",
    "7.3.9": "Minimization of indirect data collection",
    "7.3.14": "Sharing information on PII protection measures of IoT-domotics devices",
    "Annex D": "Security measures for different types of IoT-domotics devices",
}
DEVICE_TYPES = {
    "hub",
    "camera",
    "lock",
    "voice_assistant",
    "tv_media",
    "appliance",
    "robot_vacuum",
    "climate",
    "lighting_plug",
    "sensor_alarm",
    "energy",
    "health_wearable",
    "toy",
    "intercom",
    "network_equipment",
    "other",
}
DATA_CATEGORIES = {
    "video",
    "audio",
    "biometric",
    "health",
    "location",
    "presence",
    "energy_profile",
    "credentials",
    "contact_details",
    "media_habits",
    "children_data",
    "telemetry",
    "environment",
    "access_events",
    "payment",
    "identity",
    "home_map",
    "usage_patterns",
}
STAKEHOLDER_ROLES = {
    "service_provider",
    "service_developer",
    "device_developer",
    "gateway_developer",
    "app_developer",
    "platform_developer",
    "user",
    "supervisor",
    "chip_supplier",
    "cloud_host",
    "third_party_service",
    "installer",
    "retailer",
    "network_operator",
}
HOUSEHOLD_ROLES = {
    "resident",
    "admin",
    "child",
    "elderly",
    "guest",
    "domestic_worker",
    "tenant",
    "landlord",
    "bystander",
    "carer",
}
INTEGER_COLUMNS = {"device_count", "user_count"}
SQL_WORDS = {"and", "or", "not", "true", "false"}


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def test_every_toc_clause_is_present(cat):
    assert sorted(cat.clauses) == sorted(EXPECTED_CLAUSES)


def test_toc_titles_are_exact(cat):
    for clause_id, title in TITLES_FROM_TOC.items():
        assert cat.clauses[clause_id].title == title


def test_clause_parents_follow_numbering(cat):
    for clause in cat.clauses.values():
        if "." in clause.id:
            assert clause.parent == clause.id.rsplit(".", 1)[0], clause.id
        else:
            assert clause.parent is None, clause.id
        assert clause.summary.strip()


def test_all_45_clause_7_items_have_controls_with_matching_titles(cat):
    assert len(CLAUSE_7) == 45
    assert sorted(cat.controls) == sorted(CLAUSE_7)
    kinds = {"7.1": "principle", "7.2": "security_control", "7.3": "privacy_control"}
    for cid in CLAUSE_7:
        control = cat.controls[cid]
        assert control.title == cat.clauses[cid].title
        assert control.kind == kinds[cid[:3]] == cat.clauses[cid].kind


def test_risk_sources_cover_every_clause(cat):
    assert len(cat.risk_sources) >= 70
    counts = Counter(rs.clause for rs in cat.risk_sources.values())
    for clause_id in RISK_SOURCE_CLAUSES:
        assert counts[clause_id] >= 5, clause_id


def test_risk_source_ids_match_their_clause(cat):
    prefix = {
        "6.2.1": "R-S-SS-",
        "6.2.2": "R-S-GW-",
        "6.2.3": "R-S-DV-",
        "6.2.4": "R-S-NW-",
        "6.3.1": "R-P-SS-",
        "6.3.2": "R-P-GW-",
        "6.3.3": "R-P-DV-",
        "6.3.4": "R-P-NW-",
    }
    for rs in cat.risk_sources.values():
        assert rs.id.startswith(prefix[rs.clause]), rs.id
        assert re.fullmatch(r"R-[SP]-(SS|GW|DV|NW)-\d{2}", rs.id)
        if rs.dimension == "security":
            assert rs.stride, rs.id
        else:
            assert rs.linddun, rs.id


def test_every_risk_source_is_treated(cat):
    untreated = [rs for rs in cat.risk_sources if not cat.controls_treating(rs)]
    assert untreated == []


def test_every_control_treats_a_risk_source_or_says_why(cat):
    for control in cat.controls.values():
        assert control.treats or control.treats_none_reason.strip(), control.id
        for rs in control.treats:
            assert rs in cat.risk_sources, (control.id, rs)


def test_device_types_and_data_categories_have_exact_ids(cat):
    assert set(cat.device_types) == DEVICE_TYPES
    assert set(cat.data_categories) == DATA_CATEGORIES
    for dt in cat.device_types.values():
        assert 3 <= len(dt.measures) <= 7, dt.id
    assert cat.device_types["toy"].child_directed
    for dt_id in ("lock", "appliance", "climate", "energy", "sensor_alarm"):
        assert cat.device_types[dt_id].safety_relevant, dt_id


def test_data_category_sensitivity(cat):
    special = {d.id for d in cat.data_categories.values() if d.sensitivity == "special"}
    assert special == {"biometric", "health", "children_data"}


def test_roles(cat):
    assert set(cat.stakeholder_roles()) == STAKEHOLDER_ROLES
    assert set(cat.household_roles()) == HOUSEHOLD_ROLES
    for sub in ("device_developer", "gateway_developer", "app_developer", "platform_developer"):
        assert cat.roles[sub].parent == "service_developer"


def test_children_and_elderly_are_vulnerable(cat):
    assert {"child", "elderly"} <= set(cat.vulnerable_roles())


def _tokens(expression: str) -> list[str]:
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+|<=|>=|<>|!=|[()<>=]|\S", expression)


def test_applicability_uses_only_home_context_columns(cat):
    for control in cat.controls.values():
        when = control.applicability.when
        assert control.applicability.applies_because.strip(), control.id
        if when.strip() != "true":
            assert control.applicability.not_applicable_because.strip(), control.id
        previous = ""
        for token in _tokens(when):
            if re.fullmatch(r"[A-Za-z_]\w*", token):
                assert token in HOME_CONTEXT_COLUMNS | SQL_WORDS, (control.id, token)
            elif token.isdigit() or token in {">", "<", ">=", "<=", "=", "<>", "!="}:
                # comparisons are only allowed against the integer columns
                assert previous in INTEGER_COLUMNS or token.isdigit(), (control.id, token)
            else:
                assert token in {"(", ")"}, (control.id, token)
            previous = token


def test_cross_map_ids_exist(cat):
    for control in cat.controls.values():
        for ref in control.cross_map:
            for item in ref.ids:
                assert f"{ref.framework}:{item}" in cat.framework_items, (control.id, item)


def test_framework_lists_are_complete(cat):
    by_framework = Counter(item.framework for item in cat.framework_items.values())
    assert by_framework["owasp_iot_2018"] == 10
    assert by_framework["nistir_8259a"] == 6
    assert by_framework["linddun"] == 7
    assert "etsi_en_303_645:5.13-1" in cat.framework_items
    assert "etsi_en_303_645:6-8" in cat.framework_items


def test_each_privacy_control_maps_to_linddun(cat):
    for control in cat.controls.values():
        if control.kind == "privacy_control":
            assert any(ref.framework == "linddun" for ref in control.cross_map), control.id


def test_control_intents_are_distinct(cat):
    intents = Counter(" ".join(c.intent.split()) for c in cat.controls.values())
    assert [text for text, n in intents.items() if n > 1] == []


def test_control_texts_have_expected_shape(cat):
    for control in cat.controls.values():
        assert 2 <= len(control.evidence) <= 5, control.id
        assert 1 <= len(control.assessor_questions) <= 3, control.id
        assert all(q.rstrip().endswith("?") for q in control.assessor_questions), control.id


def test_use_cases_and_concerns(cat):
    assert 8 <= len(cat.use_cases) <= 10
    stakeholders = {c.stakeholder for c in cat.concerns.values()}
    assert {"service_provider", "service_developer", "user", "supervisor"} <= stakeholders


def test_lifecycle_orders(cat):
    for view, count in (("system", 10), ("home", 8)):
        orders = sorted(s.order for s in cat.lifecycle_stages.values() if s.view == view)
        assert orders == list(range(1, count + 1))


def test_applicability_expressions_run_in_duckdb(cat):
    duckdb = pytest.importorskip("duckdb")
    columns = sorted(HOME_CONTEXT_COLUMNS)
    values = ", ".join(f"{'3' if col in INTEGER_COLUMNS else 'true'} as {col}" for col in columns)
    con = duckdb.connect()
    con.execute(f"create view home_context as select {values}")
    for control in cat.controls.values():
        (result,) = con.execute(f"select ({control.applicability.when}) from home_context").fetchone()
        assert isinstance(result, bool), control.id
