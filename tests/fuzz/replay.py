"""The checks of the fuzz targets, one per reader: shared by the Hypothesis targets and the corpus replay.

Each writes the input where the reader expects it, reads it as the command does, and, when it is
valid, carries on as the command would (assess, render, compare), asserting that only a result or
our diagnostics come out.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import tempfile
from pathlib import Path

from domosec.engine.assess import assess
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.engine.scoring import Matrix
from domosec.evidence.homeassistant import import_homeassistant
from domosec.fleet.run import Job, assess_fleet
from domosec.model.load import LoadedModel, load_model, load_model_text
from tests.conftest import EXAMPLES
from tests.fuzz.harness import expect_result_or_diagnostics

DAY = dt.date(2026, 11, 23)
TEXT_FORMATS = ("table", "json", "markdown", "sarif", "csv")


@functools.cache
def shipped_rules() -> list[LoadedRule]:
    return load_rules()


@functools.cache
def example_home() -> LoadedModel:
    return load_model(EXAMPLES / "family-home.yaml")


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


def check_model_text(text: str, *, is_json: bool, carry_on: bool = True) -> None:
    """``validate`` and (``carry_on``) ``assess`` of a model given as text."""
    loaded = expect_result_or_diagnostics(lambda: load_model_text(text, "fuzz.json" if is_json else "fuzz.yaml", is_json=is_json))
    if loaded is not None and carry_on:
        from domosec.report.formats import render

        assert isinstance(loaded, LoadedModel)
        result = expect_result_or_diagnostics(lambda: assess([loaded], shipped_rules(), as_of=DAY))
        if result is not None:
            for fmt in ("json", "markdown"):
                render(result, fmt)  # type: ignore[arg-type]


def check_homeassistant(config: Path, path: Path, text: str) -> None:
    """``import homeassistant`` of a configuration directory with ``path`` (a ``.storage`` file) set to ``text``."""
    _write(path, text)
    expect_result_or_diagnostics(lambda: import_homeassistant(config))


def check_rule_text(text: str) -> None:
    """``--rules DIR`` with one rule file holding ``text``."""
    # A rule file is named <id>-<name>.yaml: name it so, where the text says, to get past that check to the rest.
    rule_id, name = (re.search(rf"^{key}:\s*['\"]?([A-Za-z0-9_.-]{{1,60}})", text, re.M) for key in ("id", "name"))
    stem = f"{rule_id.group(1) if rule_id else 'FUZZ-01'}-{name.group(1) if name else 'fuzz'}"
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp) / f"{stem}.yaml", text)
        rules = expect_result_or_diagnostics(lambda: load_rules([Path(tmp)], include_builtin=False))
    if rules:  # a rule that loads runs on a real home: its rows must be findings or a rule-output/rule-limit error
        assert isinstance(rules, list)
        expect_result_or_diagnostics(lambda: assess([example_home()], rules, as_of=DAY))


def check_assessment(text: str) -> None:
    """``report FILE`` in every text format, and ``diff FILE FILE``, of an assessment given as text."""
    from domosec.cli.report_cmds import _read_input, assessment_from_data
    from domosec.diff import diff_assessments
    from domosec.report.diff import render_diff_markdown
    from domosec.report.formats import render

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "assessment.json"
        _write(path, text)

        def read() -> object:
            data = _read_input(path)
            if data is None:
                return None  # a model file: the model loader's target
            a = assessment_from_data(path, data)
            for fmt in TEXT_FORMATS:
                render(a, fmt)
            render_diff_markdown(diff_assessments(a, a))
            return a

        expect_result_or_diagnostics(read)


def check_fleet_text(text: str) -> list[str]:
    """``fleet assess FILE.jsonl -o DIR`` on JSON Lines: bad homes are set aside, the run completes.

    Returns the reasons the homes set aside were given (none when the whole input was refused).
    """
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fleet.jsonl"
        _write(source, text)
        job = Job(shipped_rules(), Matrix(), DAY, str(Path(tmp) / "out"))
        result = expect_result_or_diagnostics(lambda: assess_fleet(source, job, workers=1, batch_homes=10))
        if result is None:
            return []
        assert (Path(tmp) / "out" / "summary.json").exists()
        rejects = (Path(tmp) / "out" / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
        return [reason for line in rejects for reason in json.loads(line)["reasons"]]
