"""Tracker Radar files, tracker blocklists and GeoIP databases the user points to: read right, refused clearly when wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domosec.errors import InputError
from domosec.evidence.traffic.destinations import load_tracker_lists, party
from domosec.evidence.traffic.geoip import GeoIP
from tests.evidence.traffic.geo import country_database

ROOT = Path(__file__).resolve().parents[3]


def test_tracker_radar_domains_entities_and_a_blocklist(tmp_path: Path) -> None:
    radar = tmp_path / "radar"
    (radar / "domains" / "US").mkdir(parents=True)
    (radar / "entities").mkdir()
    ads = {"domain": "ads.example", "owner": {"name": "Ads Co Inc.", "displayName": "Ads Co"}, "categories": ["Advertising"]}
    cdn = {"domain": "cdn.example", "owner": {"name": "CDN Ltd", "displayName": "CDN"}, "categories": ["CDN"]}
    for entry in (ads, cdn):
        (radar / "domains" / "US" / f"{entry['domain']}.json").write_text(json.dumps(entry), encoding="utf-8")
    (radar / "entities" / "Ads Co Inc..json").write_text(
        json.dumps({"name": "Ads Co Inc.", "displayName": "Ads Co", "properties": ["ads-metrics.example"]}), encoding="utf-8"
    )
    tds = tmp_path / "tds.json"
    tds.write_text(
        json.dumps(
            {"trackers": {"beacon.example": {"owner": {"name": "Beacon"}}}, "entities": {}, "domains": {"beacon.example": "Beacon"}}
        ),
        encoding="utf-8",
    )
    lists = load_tracker_lists([radar, tds])
    assert lists.match("x.ads.example") == "radar" and lists.owner("x.ads.example") == "Ads Co"
    assert lists.match("cdn.example") == "" and lists.owner("cdn.example") == "CDN"  # a CDN: its owner, not a tracker
    assert lists.owner("eu.ads-metrics.example") == "Ads Co" and lists.categories_of("ads.example") == ("Advertising",)
    assert lists.match("beacon.example") == "tds.json"
    region = load_tracker_lists([radar / "domains" / "US"])  # one region's folder of domain files
    assert region.match("ads.example") == "US" and region.owner("eu.ads-metrics.example") == ""
    assert party("ads.example", "Ads Co", lists.owner("ads.example")) == "first"
    assert party("ads.example", "Example TV Corp", lists.owner("ads.example")) == "third"
    assert party("meethue.com", "Signify Netherlands B.V.") == "first" and party("unknown.example", "Signify") == "unknown"
    assert party("meethue.com", "Philips Hue") == "first"  # one domain, two names of its maker in the vendor table
    assert party("meethue.com", "Example TV Corp") == "third"


def test_bad_tracker_json_and_bad_geoip_files_are_input_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"domain": "a.example",\n  "owner": }\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_tracker_lists([broken])
    problem = caught.value.diagnostics[0]
    assert (problem.code, problem.line, problem.col) == ("bad-json", 2, 12)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="Tracker Radar checkout"):
        load_tracker_lists([tmp_path / "empty"])
    not_mmdb = tmp_path / "countries.mmdb"
    not_mmdb.write_bytes(b"not a database at all" * 10)
    with pytest.raises(InputError) as caught:
        GeoIP(not_mmdb)
    assert caught.value.diagnostics[0].code == "not-a-geoip-database"
    result = subprocess.run(
        [sys.executable, "-m", "domosec", "traffic", str(not_mmdb), "--geoip", str(not_mmdb), "--trackers", str(broken)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{broken}:2:12: error[bad-json]" in result.stderr


def test_geoip_gives_countries_of_outside_addresses_only(tmp_path: Path) -> None:
    geo = GeoIP(country_database(tmp_path / "c.mmdb", {"52.0.0.0/8": "US", "100.64.0.0/10": "DE"}))
    assert (geo.country("52.1.2.3"), geo.country("100.64.7.1"), geo.country("8.8.8.8"), geo.country("2001:db8::1")) == ("US", "DE", "", "")
    geo.close()
