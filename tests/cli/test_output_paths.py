"""A bad ``-o`` is a clear error with exit code 2, found before the work, and nothing of the user's is touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, run_cli

HOME = EXAMPLES / "family-home.yaml"
HA_CONFIG = ROOT / "tests/evidence/homeassistant/fixtures/ha-2024.3.3-family"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-folder" / "keep.txt").write_text("the user's own\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("also the user's own\n", encoding="utf-8")
    result = run_cli("assess", HOME, "--format", "json", "-o", tmp_path / "assessment.json")
    assert result.returncode == 0, result.stderr
    return tmp_path


COMMANDS = {
    "assess": ["assess", HOME, "-o", "{out}"],
    "assess-html": ["assess", HOME, "--format", "html", "-o", "{out}"],
    "report": ["report", "{work}/assessment.json", "--format", "markdown", "-o", "{out}"],
    "diff": ["diff", "{work}/assessment.json", HOME, "-o", "{out}"],
    "schema": ["schema", "-o", "{out}"],
    "init": ["init", "{out}", "--force"],
    "import": ["import", "homeassistant", HA_CONFIG, "-o", "{out}"],
    "scan": ["scan", "-t", "127.0.0.1", "--dry-run", "-o", "{out}"],
    "traffic": ["traffic", HOME, "-o", "{out}"],
    "fleet-generate-jsonl": ["fleet", "generate", "--homes", "5", "--format", "jsonl", "-o", "{out}"],
}
BAD_OUTPUTS = {
    "a directory": ("a-folder", "error[output-is-a-directory]: is a directory; give a file name"),
    "under a file": ("a-file/report.out", "error[cannot-write]: "),
}


@pytest.mark.parametrize("bad", sorted(BAD_OUTPUTS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_that_cannot_take_a_file_is_refused_before_the_work(command: str, bad: str, workdir: Path) -> None:
    before = _snapshot(workdir)
    target, message = BAD_OUTPUTS[bad]
    out = workdir / target
    args = [str(a).replace("{out}", str(out)).replace("{work}", str(workdir)) for a in COMMANDS[command]]
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert f"{out}: {message}" in result.stderr and "Traceback" not in result.stderr
    assert "domosec scan plan" not in result.stderr, "the scan is refused before its plan"
    assert _snapshot(workdir) == before


def test_a_fleet_is_written_only_over_an_earlier_fleet_or_an_empty_folder(workdir: Path) -> None:
    before = _snapshot(workdir)
    for target, code in (("a-folder", "output-not-a-fleet"), ("a-file", "output-not-a-directory")):
        result = run_cli("fleet", "generate", "--homes", "5", "-o", workdir / target)
        assert result.returncode == 2 and f"error[{code}]" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "holds keep.txt, which no fleet has" in run_cli("fleet", "generate", "--homes", "5", "-o", workdir / "a-folder").stderr
    assert _snapshot(workdir) == before, "nothing of the user's was removed"

    fleet = workdir / "fleet"
    assert run_cli("fleet", "generate", "--homes", "5", "--seed", "1", "-o", fleet).returncode == 0
    first = _snapshot(fleet)
    again = run_cli("fleet", "generate", "--homes", "7", "--seed", "2", "-o", fleet)
    assert again.returncode == 0, again.stderr
    assert "wrote 7 homes" in again.stdout and _snapshot(fleet) != first, "an earlier fleet is replaced"
    (workdir / "empty").mkdir()
    assert run_cli("fleet", "generate", "--homes", "5", "-o", workdir / "empty").returncode == 0
    assert run_cli("fleet", "assess", fleet, "-o", workdir / "a-file").stderr.startswith(
        f"{workdir / 'a-file'}: error[output-not-a-directory]"
    )


def _special_files(folder: Path) -> dict[str, Path]:
    """A FIFO, a listening socket's name and a character device (a copy of /dev/null's node), all in ``folder``."""
    import socket
    import stat

    fifo = folder / "a-fifo"
    os.mkfifo(fifo)
    sock = folder / "a-socket"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    device = folder / "a-device"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the node of /dev/null, made here: the real one is never at risk
    return {"a FIFO (named pipe)": fifo, "a socket": sock, "a character device": device}


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize("command", ["assess", "report", "diff", "schema"])
def test_a_device_fifo_or_socket_is_refused_and_never_replaced(command: str, workdir: Path) -> None:
    import stat

    for kind, special in _special_files(workdir).items():
        before = os.lstat(special)
        args = [str(a).replace("{out}", str(special)).replace("{work}", str(workdir)) for a in COMMANDS[command]]
        result = run_cli(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"{special}: error[output-not-a-file]: is {kind}; -o takes a regular file or a new name" in result.stderr
        after = os.lstat(special)
        assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino), "left as it was"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_symbolic_link_to_a_device_is_refused_and_kept(workdir: Path) -> None:
    device = _special_files(workdir)["a character device"]
    link = workdir / "link.json"
    link.symlink_to(device)
    result = run_cli("assess", HOME, "--format", "json", "-o", link)
    assert result.returncode == 2 and "error[output-not-a-file]: is a character device" in result.stderr, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(device)


def test_a_symbolic_link_is_followed_and_kept(workdir: Path) -> None:
    (workdir / "reports").mkdir()
    target = workdir / "reports" / "latest.md"
    target.write_text("old\n", encoding="utf-8")
    link = workdir / "report.md"
    link.symlink_to(target)
    result = run_cli("report", workdir / "assessment.json", "-o", link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target), "the link is kept"
    assert target.read_text(encoding="utf-8").startswith("#"), "the file it points to has the report"


@pytest.mark.parametrize(
    "args",
    [
        ["assess", "{model}", "--format", "json", "-o", "{model}"],
        ["assess", "{model}", "--format", "json", "-o", "{link}"],
        ["report", "{work}/assessment.json", "--format", "json", "-o", "{work}/assessment.json"],
        ["diff", "{work}/assessment.json", "{model}", "--format", "json", "-o", "{model}"],
    ],
)
def test_an_output_naming_an_input_is_refused_before_the_work(args: list[str], workdir: Path) -> None:
    model = workdir / "home.yaml"
    model.write_bytes(HOME.read_bytes())
    (workdir / "link.yaml").symlink_to(model)
    before = _snapshot(workdir)
    filled = [a.replace("{model}", str(model)).replace("{link}", str(workdir / "link.yaml")).replace("{work}", str(workdir)) for a in args]
    result = run_cli(*filled)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{filled[-1]}: error[output-is-an-input]: is an input of this command" in result.stderr
    assert _snapshot(workdir) == before


def test_a_replaced_file_keeps_its_permissions(workdir: Path) -> None:
    out = workdir / "private.json"
    out.write_text("{}", encoding="utf-8")
    out.chmod(0o600)
    assert run_cli("assess", HOME, "--format", "json", "-o", out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o600 and json.loads(out.read_text(encoding="utf-8"))["tool"] == "domosec"
    fresh = workdir / "fresh.json"
    assert run_cli("assess", HOME, "--format", "json", "-o", fresh).returncode == 0
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_umask(), "a new file gets the permissions a plain open gives"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_import_never_replaces_a_file_of_the_configuration_it_reads(tmp_path: Path) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(HA_CONFIG, config)
    before = _snapshot(config)
    for name in ("configuration.yaml", ".storage/core.device_registry"):
        result = run_cli("import", "homeassistant", config, "-o", config / name)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"{config / name}: error[output-is-an-input]" in result.stderr
    assert _snapshot(config) == before
