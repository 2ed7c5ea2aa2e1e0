"""The built wheel and sdist, each installed in a fresh virtualenv: first the core alone, then with every extra.

This is what ``pip install domosec`` and ``pip install 'domosec[all]'`` give a user. The core must do
everything but PDF, scan and fleets (without PyArrow, NumPy, WeasyPrint or sslyze installed) and
name the extra each of those needs; with the extras, those work too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import domosec
from tests.conftest import EXAMPLES, ROOT
from tests.packaging.conftest import Built
from tests.packaging.installed import Venv, describe

pytestmark = pytest.mark.packaging

TEXT_FORMATS = {  # format → the suffix that names it
    "text": ".text",
    "github": ".github.txt",
    "table": ".txt",
    "json": ".json",
    "markdown": ".md",
    "html": ".html",
    "sarif": ".sarif",
    "csv": ".csv",
    "components-csv": ".components.csv",
    "oscal": ".oscal.json",
    "oscal-poam": ".poam.json",
    "oscal-catalog": ".catalog.json",
}
HOME_FORMATS = ("table", "markdown", "html")
TEMPLATES = ("family-home", "elderly-care", "rental", "product")
HA_CONFIG = ROOT / "tests/evidence/homeassistant/fixtures/ha-2024.3.3-family"
EXTRA_PACKAGES = ("weasyprint", "pyarrow", "numpy", "sslyze", "zeroconf", "aiohttp", "aiocoap", "paho", "pyspark")


@pytest.mark.parametrize("artifact", ["wheel", "sdist"])
def test_installed_package_core_then_all_extras(built: Built, artifact: str, tmp_path: Path) -> None:
    path = built.wheel if artifact == "wheel" else built.sdist
    venv = Venv.create(tmp_path / "venv", tmp_path / "work")
    shutil.copytree(EXAMPLES, venv.work / "examples")
    shutil.copytree(HA_CONFIG, venv.work / "ha-config")

    venv.pip_install(str(path))
    where = venv.python("import domosec, sys; print(domosec.__file__)")
    assert where.stdout.startswith(str(venv.root)), f"domosec imported from {where.stdout!r}, not the fresh virtualenv"
    absent = venv.python(f"import importlib.util as u; print([m for m in {EXTRA_PACKAGES!r} if u.find_spec(m)])")
    assert absent.stdout.strip() == "[]", f"the core install brought an extra's package: {absent.stdout}"
    smoke_core(venv)
    missing_extras_are_named(venv)

    venv.pip_install(f"domosec[all] @ {path.as_uri()}")
    smoke_extras(venv)
    shutil.rmtree(venv.root)  # about 1 GB with every extra; a failed run keeps it to look into


def smoke_core(venv: Venv) -> None:
    """init, validate, assess every example in every format, report, diff, rules and catalog: all from the installed files."""
    assert venv.ok("--version").strip() == f"domosec {domosec.__version__}"
    for template in TEMPLATES:
        venv.ok("init", "--template", template, f"{template}.yaml")
    examples = sorted(p.relative_to(venv.work).as_posix() for p in (venv.work / "examples").glob("*.yaml"))
    assert len(examples) >= 5
    assert venv.ok("validate", *examples, *(f"{t}.yaml" for t in TEMPLATES)).count("ok") == len(examples) + len(TEMPLATES)

    for fmt, suffix in TEXT_FORMATS.items():
        venv.ok("assess", *examples, "-o", f"all{suffix}")  # the format from the suffix
        assert (venv.work / f"all{suffix}").stat().st_size > 0, fmt
    for fmt in HOME_FORMATS:
        venv.ok("assess", "examples/family-home.yaml", "--format", fmt, "--audience", "home", "-o", f"home-{fmt}{TEXT_FORMATS[fmt]}")
    assessment = json.loads((venv.work / "all.json").read_text(encoding="utf-8"))
    assert {f["rule_id"] for f in assessment["findings"]} and len({f["home_id"] for f in assessment["findings"]}) == len(examples)
    assert "</html>" in (venv.work / "all.html").read_text(encoding="utf-8")

    for fmt, suffix in TEXT_FORMATS.items():
        venv.ok("report", "all.json", "--format", fmt, "-o", f"report{suffix}")
    assert json.loads(venv.ok("report", "all.json", "--format", "sarif", "-o", "-"))["version"] == "2.1.0"

    venv.ok("assess", "family-home.yaml", "--format", "json", "-o", "base.json")
    venv.ok("diff", "base.json", "family-home.yaml")  # the README tour's comparison: an assessment and a model
    same = json.loads(venv.ok("diff", "base.json", "family-home.yaml", "--format", "json"))
    assert same["new_findings"] == [] and same["resolved"] == [] and same["new"]["findings"] > 0
    other = json.loads(venv.ok("diff", "base.json", "examples/family-home.yaml", "--format", "json", "-o", "-"))
    assert other["new_findings"], "a different home brings findings the starter model lacks"

    venv.ok("import", "homeassistant", "ha-config", "-o", "ha-home.yaml")
    venv.ok("validate", "ha-home.yaml")

    assert "GW-S01" in venv.ok("rules", "list")
    assert "GW-S01" in venv.ok("rules", "show", "GW-S01")
    assert "7.1.6" in venv.ok("catalog", "show", "7.1.6")
    assert venv.ok("catalog", "list", "controls").strip()
    assert json.loads(venv.ok("schema"))["$id"]


def missing_extras_are_named(venv: Venv) -> None:
    """Without the extras, PDF, scan and fleet say which extra to install: exit 2, no traceback, nothing written."""
    cases = {
        "pdf": ("assess", "examples/family-home.yaml", "-o", "x.pdf"),
        "scan": ("scan", "--target", "127.0.0.1", "--dry-run"),
        "fleet": ("fleet", "generate", "--homes", "10", "-o", "fleet"),
        "homeassistant": ("import", "homeassistant", "--url", "http://127.0.0.1:9", "-o", "live.yaml"),
        "traffic": ("traffic", "examples/family-home.yaml", "-o", "observed.yaml"),
    }
    for extra, args in cases.items():
        result = venv.domosec(*args)
        assert result.returncode == 2, describe(args, result)
        assert "error[missing-extra]" in result.stderr and f"pip install 'domosec[{extra}]'" in result.stderr, describe(args, result)
        assert "Traceback" not in result.stderr, describe(args, result)
    assert not [name for name in ("x.pdf", "fleet", "live.yaml", "observed.yaml") if (venv.work / name).exists()]


def smoke_extras(venv: Venv) -> None:
    """With every extra: the PDF report, a scan plan, and a small fleet generated and assessed."""
    venv.ok("assess", "examples/well-kept-home.yaml", "-o", "report.pdf")
    assert (venv.work / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert "plan" in venv.domosec("scan", "--target", "127.0.0.1", "--dry-run").stderr
    venv.ok("fleet", "generate", "--homes", "20", "--seed", "3", "-o", "fleet")
    venv.ok("fleet", "assess", "fleet", "-o", "out", "--workers", "1", "--as-of", "2026-11-23")
    assert json.loads((venv.work / "out" / "summary.json").read_text(encoding="utf-8"))["homes"]["in"] == 20
    assert venv.python("import pyspark").returncode == 0
