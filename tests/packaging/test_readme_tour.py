"""README.md's five-minute tour runs as written, start to end, in an empty directory holding only the examples.

Every line of the tour's shell block runs, in order, in one bash session (so ``source
.venv/bin/activate`` is what puts ``domosec`` on the PATH, as it is for a reader after ``make run``;
``.venv`` is a link to the virtualenv running the tests). A line must exit 0, or 0 or 1 where it
passes ``--fail-on`` (1 is its documented answer), and never print a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, ROOT

TOUR_HEADING = "## A five-minute tour"


def tour_commands() -> list[str]:
    """The command lines of the tour's first ```sh block, in order (blank lines dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(TOUR_HEADING) :]
    block = re.search(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    assert block is not None, "the tour has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_tour_runs_start_to_end(tmp_path: Path) -> None:
    commands = tour_commands()
    assert commands[0].startswith("source .venv/bin/activate") and any(c.startswith("domosec diff base.json") for c in commands)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    script = "".join(f"{{ {line}\n}} > out.{i} 2> err.{i} < /dev/null; echo $? > rc.{i}\n" for i, line in enumerate(commands))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not Path(p, "domosec").exists())
    env["DOMOSEC_CACHE_DIR"] = str(tmp_path / ".cache")
    subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, timeout=600, check=True, stdin=subprocess.DEVNULL)

    for i, line in enumerate(commands):
        rc = int((tmp_path / f"rc.{i}").read_text())
        err = (tmp_path / f"err.{i}").read_text(encoding="utf-8", errors="replace")
        allowed = {0, 1} if "--fail-on" in line else {0}
        assert rc in allowed and "Traceback" not in err, f"tour line {i + 1} `{line}` exited {rc}:\n{err[-3000:]}"
    for made in ("home.yaml", "base.json", "assessment.json", "results.sarif", "report.html", "results.oscal.json"):
        assert (tmp_path / made).stat().st_size > 0, f"the tour should have written {made}"
    from_stdin = next(i for i, line in enumerate(commands) if "assess -" in line)
    rows = (tmp_path / f"out.{from_stdin}").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("finding_id,") and len(rows) > 1 and "<stdin>" in rows[1], "the model read from standard input"
