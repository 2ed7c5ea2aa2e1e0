"""Firmware × vulnerability across a fleet: generated homes whose routers carry a real firmware SBOM (written by
spdx-tools, matched offline by `domosec import sbom`), ranked in summary.json and summary.html, known-exploited first;
and, for a fleet without components, each firmware × the update and vulnerability findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from ruamel.yaml import YAML

from tests.conftest import run_cli
from tests.evidence.sbom.home import AS_OF, sbom_home

from .conftest import generate_jsonl

FIRMWARE_WITH_SBOM = "4.8.1"
"""Routers with this firmware get the SBOM (a vendor publishes one per firmware build)."""


def _assess(fleet: Path, out: Path, *extra: str | Path) -> dict[str, Any]:
    result = run_cli("fleet", "assess", fleet, "-o", out, "--as-of", AS_OF.isoformat(), "--workers", "1", "--batch-homes", "40", *extra)
    assert result.returncode == 0, result.stderr
    if extra:
        assert "120 homes' findings reused, 0 assessed" in result.stdout + result.stderr
    return dict(json.loads((out / "summary.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    plain = generate_jsonl(tmp_path_factory, homes=120, seed=5)
    folder = tmp_path_factory.mktemp("sbom")
    router = YAML(typ="safe").load(sbom_home(folder).read_text(encoding="utf-8"))["gateways"][0]
    lines, with_sbom = [], set()
    for line in plain.read_text(encoding="utf-8").splitlines():
        home = json.loads(line)
        for gw in home["gateways"]:
            if gw["id"] == "router" and gw.get("firmware") == FIRMWARE_WITH_SBOM:
                gw["software"], gw["sbom"] = router["software"], router["sbom"]
                with_sbom.add(home["system"]["id"])
        lines.append(json.dumps(home))
    fleet = folder / "fleet.jsonl"
    fleet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert 5 < len(with_sbom) < 120
    return {"plain": plain, "sbom": fleet, "homes_with_sbom": len(with_sbom)}


def test_fleet_ranks_firmware_by_vulnerability_known_exploited_first(fleets: dict[str, Any], tmp_path: Path) -> None:
    summary = _assess(fleets["sbom"], tmp_path / "out")
    v = summary["vulnerabilities"]
    assert v["source"] == "sbom"
    rows = v["rows"]
    n = fleets["homes_with_sbom"]
    # OpenSSL 1.0.1f (Heartbleed) and Linux 4.4.10 (Dirty COW) are in CISA's KEV catalog: first, whatever their count.
    assert [(r["vulnerability_id"], r["component"], r["known_exploited"]) for r in rows[:2]] == [
        ("CVE-2014-0160", "openssl", True),
        ("CVE-2016-5195", "linux", True),
    ]
    assert [r["vulnerability_id"] for r in rows[2:]] == ["CVE-2017-14493", "CVE-2021-3448"]  # critical, then medium
    assert "CVE-2022-28391" not in {r["vulnerability_id"] for r in rows}  # dismissed by the OpenVEX statement
    assert all((r["homes"], r["units"], r["firmware"], r["kind"]) == (n, n, FIRMWARE_WITH_SBOM, "gateway") for r in rows)
    assert rows[2]["fixed_version"] == "2.78" and rows[0]["severity"] == "high" and rows[0]["cvss"] == 7.5
    html = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert "Known vulnerabilities by firmware, across homes" in html and html.index("CVE-2014-0160") < html.index("CVE-2017-14493")
    # A later run that reuses every home's findings (--since) counts the same.
    again = _assess(fleets["sbom"], tmp_path / "again", "--since", tmp_path / "out")
    assert again["vulnerabilities"] == v
    assert (tmp_path / "again" / "summary.json").read_bytes() == (tmp_path / "out" / "summary.json").read_bytes()


def test_without_components_firmware_is_ranked_by_update_and_vulnerability_findings(fleets: dict[str, Any], tmp_path: Path) -> None:
    summary = _assess(fleets["plain"], tmp_path / "out")
    v = summary["vulnerabilities"]
    assert v["source"] == "findings" and v["rows"]
    update_rules = {r["rule_id"] for r in summary["rules"] if {"7.2.17", "7.2.22"} & set(r["controls"])}
    assert {r["rule_id"] for r in v["rows"]} <= update_rules
    homes = [r["homes"] for r in v["rows"]]
    assert homes == sorted(homes, reverse=True)
    # The counts are those of the findings written: distinct homes per firmware and rule, open findings only.
    expected = duckdb.sql(
        f"""select asset_kind, asset_vendor, asset_model, asset_firmware, rule_id, count(distinct home_id)
            from read_parquet('{tmp_path / "out" / "findings" / "*.parquet"}')
            where asset_vendor is not null and treatment <> 'accepted' group by all"""
    ).fetchall()
    counted = {(k, ve, m, f, rule): h for k, ve, m, f, rule, h in expected}
    for r in v["rows"]:
        assert counted[(r["kind"], r["vendor"], r["model"], r["firmware"], r["rule_id"])] == r["homes"]
    assert "Firmware × update and vulnerability findings" in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
