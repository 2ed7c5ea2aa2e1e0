"""Observed flows (seen in a traffic capture) and declared flows are drawn apart in the system diagram."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.html.diagram import draw

RULES = Path(__file__).resolve().parents[2] / "src" / "domosec" / "rules" / "6.3.4-networks"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (Debian graphviz) draws the diagram")
def test_observed_flows_have_an_open_arrowhead_a_class_and_a_label_declared_ones_do_not() -> None:
    model = load_model(RULES / "NET-P50-presence-seen-in-traffic.fail.yaml")
    assessment = assess([model], load_rules([RULES], include_builtin=False))
    home = assessment.homes[0]
    assert {f.id for f in home.flows if f.observed} == {
        "observed-hall-cam-cam-cloud-https",
        "observed-motion-hub-mqtt",
        "observed-thermostat-cam-cloud-https",
    }
    svg = draw(home, [f for f in assessment.findings if f.home_id == home.home_id], "d").svg
    edges = re.findall(r'<g id="[^"]*" class="edge ([^"]*)">(.*?)</g>', svg, flags=re.S)
    classes = sorted(c for c, _body in edges)
    # hall-cam → cloud and thermostat → cloud are observed; motion → hub has one observed and one declared flow
    assert classes == ["flow flow_mixed", "flow flow_observed", "flow flow_observed"]
    for body in (body for c, body in edges if c == "flow flow_observed"):
        assert ">observed" in body and 'fill="none"' in body  # the label, and the open arrowhead
    mixed = next(body for c, body in edges if c == "flow flow_mixed")
    assert "1 observed" in mixed and "2 flows" in mixed


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (Debian graphviz) draws the diagram")
def test_a_model_without_observed_flows_draws_declared_arrows_only() -> None:
    model = load_model(RULES / "NET-P03-private-room-activity-in-traffic.fail.yaml")
    assessment = assess([model], load_rules([RULES], include_builtin=False))
    svg = draw(assessment.homes[0], assessment.findings, "d").svg
    classes = set(re.findall(r'class="edge ([^"]*)"', svg))
    assert classes == {"flow flow_declared"} and "observed" not in svg
