"""The pre-commit hooks and the GitHub Action run the commands they name, as their users' tools would run them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "DOMOSEC_CONFIG": "none"}


def _hook(hook_id: str) -> dict[str, Any]:
    hooks = _load(ROOT / ".pre-commit-hooks.yaml")
    return next(h for h in hooks if h["id"] == hook_id)


def _run_hook(hook: dict[str, Any], files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    # pre-commit runs `entry` with the matching file names appended.
    command = [*shlex.split(hook["entry"]), *(str(f.relative_to(cwd)) for f in files)]
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300, check=False)


def test_hooks_match_model_names_and_not_other_yaml() -> None:
    for hook_id in ("domosec-validate", "domosec-assess"):
        files = re.compile(_hook(hook_id)["files"])
        assert all(files.search(name) for name in ("home.yaml", "site/model.yml", "a/b.domosec.yaml", "domosec/flat.json"))
        assert not any(files.search(name) for name in ("mkdocs.yml", ".github/workflows/ci.yaml", "homework.yaml"))


def test_the_validate_hook_passes_a_good_model_and_stops_a_bad_one_with_its_position(tmp_path: Path) -> None:
    hook = _hook("domosec-validate")
    good = tmp_path / "home.yaml"
    shutil.copy(EXAMPLES / "well-kept-home.yaml", good)
    assert _run_hook(hook, [good], tmp_path).returncode == 0
    bad = tmp_path / "bad" / "home.yaml"
    bad.parent.mkdir()
    bad.write_text("domosec: 1\nsystem: {id: x, name: X}\ndevices:\n  - {id: cam, type: toaster}\n", encoding="utf-8")
    run = _run_hook(hook, [good, bad], tmp_path)
    assert run.returncode == 2
    assert re.search(r"^bad/home\.yaml:4:\d+: error\[", run.stderr, re.MULTILINE), run.stderr


def test_the_assess_hook_fails_on_high_findings_with_one_line_each(tmp_path: Path) -> None:
    hook = _hook("domosec-assess")
    kept = tmp_path / "home.yaml"
    shutil.copy(EXAMPLES / "well-kept-home.yaml", kept)
    assert _run_hook(hook, [kept], tmp_path).returncode == 0
    family = tmp_path / "family" / "home.yaml"
    family.parent.mkdir()
    shutil.copy(EXAMPLES / "family-home.yaml", family)
    run = _run_hook(hook, [family], tmp_path)
    assert run.returncode == 1, run.stderr
    assert re.search(r"^CRITICAL \S+ family/home\.yaml:\d+", run.stdout, re.MULTILINE), run.stdout[:2000]


def _assess_step_script() -> tuple[str, dict[str, str]]:
    action = _load(ROOT / "action.yml")
    assert action["runs"]["using"] == "composite"
    step = next(s for s in action["runs"]["steps"] if s.get("name") == "Assess")
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    return step["run"], {key: value for key, value in step["env"].items() if "inputs." in value} | {"_defaults": json.dumps(defaults)}


def test_the_action_writes_sarif_and_annotations_and_fails_on_its_level(tmp_path: Path) -> None:
    script, env_spec = _assess_step_script()
    defaults = json.loads(env_spec.pop("_defaults"))
    assert defaults["fail-on"] == "high" and defaults["sarif"] == "domosec.sarif"
    shutil.copytree(EXAMPLES, tmp_path / "examples")

    def run(models: str, fail_on: str) -> subprocess.CompletedProcess[str]:
        inputs = {"models": models, "fail-on": fail_on, "sarif": defaults["sarif"]}
        env = _env()
        for name, expression in env_spec.items():
            env[name] = inputs[re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", expression).group(1)]  # type: ignore[union-attr]
        return subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)

    failing = run("examples/family-*.yaml", "high")
    assert failing.returncode == 1, failing.stderr
    assert re.search(r"^::error file=examples/family-home\.yaml,line=\d+,col=\d+,title=", failing.stdout, re.MULTILINE)
    sarif = json.loads((tmp_path / "domosec.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert run("examples/well-kept-home.yaml", "high").returncode == 0
    assert run("examples/family-home.yaml", "none").returncode == 0
