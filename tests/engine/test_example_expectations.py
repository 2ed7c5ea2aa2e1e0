"""The findings a security reviewer expects on each example, asserted by name.

The golden files pin the exact output; this test says which findings matter, so that a golden
refresh can never silently lose one of them.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from domosec.assessment import Assessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules()

EXPECTED = {
    "family-home": {
        ("SVC-S01", "anna"): "open",  # the household admin has no MFA on the vendor clouds
        ("DEV-S01", "ipcam-garage"): "open",  # factory-default web login, port-forwarded to the internet
        ("DEV-S02", "ipcam-garage"): "open",  # hard-coded telnet login
        ("DEV-S06", "ipcam-garage"): "open",  # telnet reachable on the LAN
        ("GW-S06", "router"): "open",  # port forwards into the home
        ("GW-S07", "router"): "open",  # UPnP on
        ("DEV-P01", "babycam-mia"): "open",  # camera and microphone in a child's room
        ("DEV-P10", "teddy-toy"): "open",  # children's data to a cloud without consent
        ("DEV-S03", "ipcam-garage"): "acceptance_expired",  # past support, acceptance ran out in June
        ("NET-S03", "wifi-main"): "accepted",  # WPS, accepted until 2027
    },
    "elderly-care": {
        ("DEV-S02", "bed-sensor"): "open",
        ("GW-S01", "router"): "open",
        ("NET-S02", "wifi-main"): "open",
        ("NET-S11", "f-bed-hub"): "open",  # unauthenticated traffic of a care device
        ("SVC-P04", "care-platform"): "accepted",  # inactivity alarms without human review, accepted
    },
    "short-term-rental": {
        ("DEV-P01", "cam-living"): "open",  # indoor camera recording guests
        ("DEV-S01", "ac-bedroom"): "open",
        ("NET-S10", "f-code-guest"): "open",  # door codes sent in clear
        ("SVC-P04", "hostwise"): "open",  # deposit charged automatically without review
        ("SVC-S18", "hostwise"): "open",  # the former co-host still administers the platform
        ("SVC-S18", "cam-cloud"): "open",  # ... and still has the camera app
        ("SVC-S19", "hostwise"): "open",  # nobody reviews who has access between seasons
        ("DEV-P30", "cam-living"): "open",  # the former co-host can still watch the living room
    },
    "product-under-design": {
        ("SVC-S09", "lumen-cloud"): "open",  # a voice skill with full scope over cameras and alarm
        ("SVC-S01", "owner"): "accepted",
    },
}


def assessment_of(name: str) -> Assessment:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return assess([load_model(f"examples/{name}.yaml")], RULES, as_of=dt.date(2026, 11, 23))
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_has_the_findings_a_reviewer_expects(name: str) -> None:
    found = {(f.rule_id, f.asset.id): f.treatment for f in assessment_of(name).findings}
    for (rule, asset), treatment in EXPECTED[name].items():
        assert (rule, asset) in found, f"{name}: expected {rule} on {asset}"
        got = found[(rule, asset)]
        assert got == treatment or (treatment == "open" and got == "treatment_planned"), f"{name}: {rule} on {asset} is {got}"


def test_worst_findings_of_the_family_home_are_the_exposed_camera() -> None:
    top = [f for f in assessment_of("family-home").findings if f.inherent.level == "critical"]
    assert {f.asset.id for f in top} >= {"ipcam-garage"}
