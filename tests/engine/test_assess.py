"""What a user relies on from `assess`: stable IDs, ratings with context, acceptances, the SoA."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.engine.scoring import Matrix, load_matrix
from domosec.errors import InputError, RuleError
from domosec.model.load import load_model, load_model_text
from tests.conftest import run_cli

DAY = dt.date(2026, 11, 23)

RULE = """\
id: DEV-S91
name: default-login
title: Device still has its factory-default login
risk_source: "6.2.3"
risk_items: [R-S-DV-09]
stride: [spoofing]
likelihood: 3
impact: 3
mitigated_by: ["7.2.15", "7.2.16"]
scope: devices
summary: Finds devices with a factory-default login.
why_it_matters: Anyone who knows the product can log in.
how_to_fix: Change the password.
query: |
  select cred.home_id, 'device' as asset_kind, cred.asset_id,
    'Device ' || cred.asset_id || ' has a factory-default login.' as reason,
    count(*) as default_logins
  from credentials as cred
  where cred.factory_default = true and cred.asset_kind = 'device'
  group by cred.home_id, cred.asset_id
"""

HOME = """\
domosec: 1
system: {id: h1, name: Home one}
users:
  - {id: kid, role: child}
zones:
  - {id: hall, kind: hallway}
  - {id: bed, kind: bedroom}
networks: [{id: wifi, kind: wifi, encryption: wpa2}]
gateways:
  - id: router
    kind: router
    networks: [wifi]
    port_forwards: [{target: cam-hall, external_port: 8080}]
devices:
  - id: cam-hall
    type: camera
    zone: hall
    networks: [wifi]
    credentials: [{kind: web, factory_default: true}]
  - id: cam-bed
    type: camera
    zone: bed
    networks: [wifi]
    credentials: [{kind: web, factory_default: true}]
  - id: lock
    type: lock
    zone: hall
    networks: [wifi]
    credentials: [{kind: app, factory_default: true}]
  - id: plug
    type: lighting_plug
    zone: hall
    networks: [wifi]
    credentials: [{kind: app, factory_default: false}]
"""


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = tmp_path / "pack" / "6.2.3-devices"
    folder.mkdir(parents=True)
    (folder / "DEV-S91-default-login.yaml").write_text(RULE, encoding="utf-8")
    return tmp_path / "pack"


def run(pack: Path, text: str = HOME, **kwargs: object):  # type: ignore[no-untyped-def]
    return assess([load_model_text(text, "home.yaml")], load_rules([pack], include_builtin=False), as_of=DAY, **kwargs)  # type: ignore[arg-type]


def test_one_finding_per_asset_with_location_and_explanation(pack: Path) -> None:
    a = run(pack)
    found = {f.asset.id: f for f in a.findings}
    assert set(found) == {"cam-hall", "cam-bed", "lock"}
    cam = found["cam-hall"]
    assert cam.key == "DEV-S91@h1@cam-hall"
    assert (cam.asset.file, cam.asset.line) == ("home.yaml", 15)
    assert cam.explain == {"default_logins": 1}
    assert cam.controls == ["7.2.15", "7.2.16"] and cam.risk_source == "6.2.3" and cam.part == "devices"


def test_context_factors_raise_the_rating_and_say_why(pack: Path) -> None:
    found = {f.asset.id: f for f in run(pack).findings}
    # internet exposure (port forward) raises likelihood; a lock is a safety actuator; a bedroom is private.
    assert (found["cam-hall"].inherent.likelihood, found["cam-hall"].inherent.impact) == (4, 3)
    assert found["cam-hall"].factors == ["internet_exposure"]
    assert (found["lock"].inherent.likelihood, found["lock"].inherent.impact) == (3, 4)
    assert found["lock"].factors == ["safety_actuator"]
    assert found["cam-bed"].factors == ["private_zone"]
    assert "reachable from the internet" in found["cam-hall"].rating_reason
    assert found["cam-hall"].inherent.level == "high" and found["cam-bed"].inherent.level == "high"


def test_finding_ids_are_stable_across_runs_and_file_order(pack: Path, tmp_path: Path) -> None:
    first = {f.key: f.id for f in run(pack).findings}
    reordered = HOME.replace("  - id: cam-hall", "  - id: zz-placeholder\n    type: other\n  - id: cam-hall")
    second = {f.key: f.id for f in run(pack, reordered).findings}
    assert first == second
    assert len(set(first.values())) == len(first)


def test_output_is_deterministic(pack: Path) -> None:
    assert run(pack).model_dump_json() == run(pack).model_dump_json()


def test_acceptance_suppresses_and_expired_acceptance_returns_flagged(pack: Path) -> None:
    text = (
        HOME
        + """\
accepted_risks:
  - {rule: DEV-S91, asset: lock, reason: Replaced next month, approver: Owner, expires: 2027-01-31}
  - {rule: DEV-S91, asset: cam-bed, reason: Old decision, approver: Owner, expires: 2026-06-30}
"""
    )
    a = run(pack, text)
    found = {f.asset.id: f for f in a.findings}
    assert found["lock"].treatment == "accepted" and found["lock"].acceptance is not None
    assert found["cam-bed"].treatment == "acceptance_expired" and found["cam-bed"].acceptance.expired  # type: ignore[union-attr]
    assert found["cam-hall"].treatment == "open"
    assert a.summary.accepted == 1 and a.summary.open == 2


def test_planned_control_lowers_residual_risk(pack: Path) -> None:
    text = HOME + 'controls:\n  - {id: "7.2.15", status: planned}\n'
    found = {f.asset.id: f for f in run(pack, text).findings}
    assert found["cam-hall"].treatment == "treatment_planned"
    assert found["cam-hall"].residual.likelihood == found["cam-hall"].inherent.likelihood - 1


def test_statement_of_applicability_covers_all_45_items(pack: Path) -> None:
    a = run(pack)
    assert len(a.controls) == 45
    by_id = {c.control_id: c for c in a.controls}
    assert by_id["7.2.15"].status == "not_implemented" and by_id["7.2.15"].findings
    assert by_id["7.1.6"].applicable  # a child lives here
    assert by_id["7.3.11"].status == "not_applicable"  # no automated decisions
    assert by_id["7.2.1"].status == "unknown" and by_id["7.2.1"].questions


def test_children_absent_makes_7_1_6_not_applicable_with_reason(pack: Path) -> None:
    a = run(pack, HOME.replace("  - {id: kid, role: child}", "  - {id: mum, role: resident}"))
    c = {c.control_id: c for c in a.controls}["7.1.6"]
    assert not c.applicable and c.status == "not_applicable" and c.applicability_reason


def test_declared_implemented_but_contradicted_by_findings(pack: Path) -> None:
    text = HOME + 'controls:\n  - id: "7.2.15"\n    status: implemented\n    evidence: [{kind: document, ref: setup-guide.pdf}]\n'
    c = {c.control_id: c for c in run(pack, text).controls}["7.2.15"]
    assert c.status == "contradicted" and len(c.findings) == 3


def test_custom_matrix_changes_levels(pack: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("levels:\n" + "".join("  - [critical, critical, critical, critical, critical]\n" for _ in range(5)), encoding="utf-8")
    a = run(pack, matrix=load_matrix(matrix))
    assert {f.inherent.level for f in a.findings} == {"critical"}


def test_bad_matrix_reports_position(tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("levels:\n  - [info, low]\nfactors:\n  private_room: {impact: 1}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_matrix(matrix)
    text = "\n".join(d.render() for d in info.value.diagnostics)
    assert f"{matrix}:2:" in text and "private_room" in text


def test_failing_rule_sql_names_rule_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "DEV-S91-default-login.yaml").write_text(
        RULE.replace("count(*) as default_logins", "count(*) as default_logins, cred.no_such_column"), encoding="utf-8"
    )
    rules = load_rules([folder], include_builtin=False)
    with pytest.raises(RuleError) as info:
        assess([load_model_text(HOME)], rules, as_of=DAY)
    rendered = info.value.diagnostics[0].render()
    assert rendered.startswith(f"{folder / 'DEV-S91-default-login.yaml'}:17:1: error[rule-failed]: rule DEV-S91")


def test_two_models_with_the_same_home_id_are_refused(pack: Path) -> None:
    model = load_model_text(HOME, "a.yaml")
    with pytest.raises(InputError, match="duplicate-home"):
        assess([model, load_model_text(HOME, "b.yaml")], load_rules([pack], include_builtin=False), as_of=DAY)


def test_default_matrix_is_monotonic() -> None:
    m = Matrix()
    order = ["info", "low", "medium", "high", "critical"]
    for lik in range(1, 6):
        for imp in range(1, 5):
            assert order.index(m.level(lik, imp)) <= order.index(m.level(lik, imp + 1))
            assert order.index(m.level(imp, lik)) <= order.index(m.level(imp + 1, lik))


def test_cli_exit_codes_follow_fail_on(pack: Path, tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(HOME, encoding="utf-8")
    common = ["assess", model, "--rules", pack, "--as-of", "2026-11-23"]
    assert run_cli(*common, "--fail-on", "critical").returncode == 0
    high = run_cli(*common, "--fail-on", "high")
    assert high.returncode == 1 and "at or above high" in high.stderr
    out = tmp_path / "a.json"
    assert run_cli(*common, "--format", "json", "-o", out).returncode == 0
    assert json.loads(out.read_text())["summary"]["findings"] >= 3
    bad = run_cli("assess", tmp_path / "missing.yaml")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "error[file-not-found]" in bad.stderr


def test_example_models_all_load() -> None:
    for path in sorted(Path("examples").glob("*.yaml")):
        assert load_model(path).model.devices, path


def test_a_one_shot_caller_can_keep_the_database_instead_of_closing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``domosec assess`` leaves without tearing the process down; it keeps the database rather than free it piece by piece."""
    from domosec.engine.database import Database
    from tests.conftest import EXAMPLES

    closed: list[Database] = []
    close = Database.close

    def counted(db: Database) -> None:
        closed.append(db)
        close(db)

    monkeypatch.setattr(Database, "close", counted)
    model = load_model(EXAMPLES / "family-home.yaml")
    kept: list[Database] = []
    result = assess([model], load_rules(), as_of=dt.date(2026, 11, 23), keep=kept.append)
    [db] = kept
    assert not closed and db.con.execute("select count(*) from homes").fetchone() == (1,), "kept open"
    db.close()
    again = assess([model], load_rules(), as_of=dt.date(2026, 11, 23))
    assert again.model_dump_json() == result.model_dump_json()
    assert len(closed) == 2, "without keep the database is closed"
