"""Standard output as users point it: a full device, a pipe whose reader leaves, a terminal in ASCII or Latin-1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

HOME = EXAMPLES / "family-home.yaml"


def _run(*args: str | Path, stdout: int | None = subprocess.PIPE, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "domosec", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("fmt", ["json", "markdown", "table", "html"])
def test_a_full_device_on_standard_output_is_a_clear_error(fmt: str) -> None:
    with open("/dev/full", "wb") as full:
        proc = _run("assess", HOME, "--format", fmt, stdout=full.fileno())
        _, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == 2, text
    assert text == "<stdout>: error[cannot-write]: No space left on device (the output was not written whole)\n"


@pytest.mark.parametrize("args", [["assess", HOME, "--format", "json"], ["assess", HOME], ["catalog"]])
def test_a_pipe_whose_reader_has_gone_ends_the_command_quietly(args: list[str | Path]) -> None:
    proc = _run(*args)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves before domosec writes, as `| head -0` would
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.decode()) == (141, "")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_output_in_a_narrow_encoding_is_escaped_not_a_traceback(encoding: str, fmt: str, tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(HOME.read_text(encoding="utf-8").replace("name: ", "name: Küche — 家 ", 1), encoding="utf-8")
    proc = _run("assess", model, "--format", fmt, env={"PYTHONIOENCODING": encoding})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err, err.decode()
    if fmt == "markdown":  # written through Click, which picks its own encoding (UTF-8 for an ASCII one)
        assert "The Berger family home" in out.decode("utf-8", "replace")
        return
    text = out.decode(encoding)
    assert "\\u5bb6" in text, "on the terminal, a character the encoding lacks is escaped"
    assert ("Küche" if encoding == "latin-1" else "K\\xfcche") in text
