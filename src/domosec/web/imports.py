"""Evidence imported into a project as a new model version: Home Assistant files, nmap XML, an SBOM, a capture.

Each import calls the importer the command line uses (``domosec import homeassistant|nmap|sbom``, ``domosec
traffic``) on the uploaded file, written into a temporary folder that is removed afterwards; nmap results, an SBOM
and a capture are merged into the project's newest model version, as ``--model`` does. The result is saved as a
model version (checked like any other) whose note names the import and the file's SHA-256. An upload is at most
:data:`MAX_UPLOAD_BYTES`; a Home Assistant archive (zip or tar, compressed or not) is unpacked with limits on its
members and their size, and only as regular files and folders inside the temporary folder. Problems come back as the
command line shows them (``file:line:col: error[code]: …``), with the temporary folder left out of the names.

The options a user needs come with the upload as files: VEX documents beside an SBOM (``--vex``), and for a capture
the ``mac,name`` list of which device is which (``--devices``) and tracker lists (``--trackers``).
:func:`run_live_import` reads a running Home Assistant (``domosec import homeassistant --url``) at an address the
server's ``--ha-allow`` allows (:mod:`domosec.web.ha_allow`); its access token is used for that one request only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import re
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from domosec.errors import Diagnostic, InputError
from domosec.extras import missing_extra

if TYPE_CHECKING:
    from domosec.evidence.homeassistant.live import LiveFacts
    from domosec.web.ha_allow import HostPolicy

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_OPTION_FILES = 8
"""VEX documents or tracker lists given with one import, at most."""
LIVE_TIMEOUT = 15.0
"""Seconds a live import waits for the connection and for each answer of Home Assistant."""
LIVE_DEADLINE = 120.0
"""Seconds a whole live import may take."""
MAX_TOKEN_CHARS = 16 * 1024
_OPTION_KINDS = {"vex": "sbom", "devices": "traffic", "trackers": "traffic"}
_OPTION_FOLDERS = tuple(_OPTION_KINDS)
"""Option files are written into folders of their own: a VEX document may have the SBOM's name."""
KINDS: dict[str, tuple[str | None, str]] = {
    "homeassistant": (None, "Home Assistant configuration (a zip or tar of the folder)"),
    "nmap": ("scan", "nmap XML (nmap -sV -oX)"),
    "sbom": ("sbom", "SBOM of a device (CycloneDX, SPDX)"),
    "traffic": ("traffic", "traffic capture (pcap, pcapng)"),
}
"""Each import: the extra it needs (``None``: the core) and what it reads."""
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Imported:
    text: str
    """The model's YAML, as the command would write it."""
    note: str
    """The model version's note: what was imported, from which file, its SHA-256."""
    summary: list[str]


@dataclass(frozen=True)
class Options:
    """The files that come with an import, as (name, bytes): what the command line takes as options."""

    vex: list[tuple[str, bytes]] = field(default_factory=list)
    """SBOM: OpenVEX or CycloneDX VEX documents (``--vex``)."""
    devices: tuple[str, bytes] | None = None
    """Capture: ``mac,name`` rows naming the devices (``--devices``)."""
    trackers: list[tuple[str, bytes]] = field(default_factory=list)
    """Capture: tracker lists (``--trackers``: hosts file, Adblock rules, names, Tracker Radar JSON)."""


@dataclass(frozen=True)
class _Job:
    folder: Path
    name: str
    data: bytes
    base: str | None
    asset: str
    vulndb: Path | None
    options: Options

    def write(self, name: str, data: bytes, into: str = "") -> Path:
        """``data`` as a file of the temporary folder, under a safe form of ``name`` (the name shown in problems)."""
        folder = self.folder / into if into else self.folder
        folder.mkdir(exist_ok=True)
        path = folder / _safe(name)
        path.write_bytes(data)
        return path


def extra_problem(kind: str) -> Diagnostic | None:
    """The ``missing-extra`` problem when the server cannot run ``kind`` imports, else ``None``."""
    extra = KINDS[kind][0]
    return missing_extra(extra, f"importing {KINDS[kind][1]}", "domosec serve") if extra else None


def _safe(filename: str) -> str:
    return _SAFE_NAME.sub("_", PurePosixPath(filename.replace("\\", "/")).name).lstrip(".") or "upload"


def run_import(
    kind: str,
    filename: str,
    data: bytes,
    base: str | None,
    asset: str = "",
    vulndb: Path | None = None,
    options: Options | None = None,
) -> Imported:
    """Import ``data`` (the uploaded file ``filename``) as ``kind``, merged into the model text ``base`` when given.

    Raises :class:`InputError` with the importer's problems (file names relative to the upload)."""
    options = options or Options()
    if kind not in KINDS:
        raise InputError([Diagnostic(filename, None, None, "unknown-import", f"an import is one of: {', '.join(KINDS)}")])
    problem = extra_problem(kind)
    if problem is not None:
        raise InputError([problem])
    files = [(filename, data), *options.vex, *options.trackers, *([options.devices] if options.devices else [])]
    for shown, content in files:
        if len(content) > MAX_UPLOAD_BYTES:
            raise InputError([Diagnostic(shown, None, None, "file-too-large", f"an import is at most {MAX_UPLOAD_BYTES} bytes")])
    given = {"vex": bool(options.vex), "devices": options.devices is not None, "trackers": bool(options.trackers)}
    wrong = [option for option, is_given in given.items() if is_given and _OPTION_KINDS[option] != kind]
    if wrong:
        message = "; ".join(f"'{o}' files go with {_OPTION_KINDS[o]} imports" for o in wrong)
        raise InputError([Diagnostic(filename, None, None, "import-option", message)])
    if max(len(options.vex), len(options.trackers)) > MAX_OPTION_FILES:
        raise InputError([Diagnostic(filename, None, None, "too-many-files", f"at most {MAX_OPTION_FILES} VEX documents or tracker lists")])
    name = _safe(filename)
    digest = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(prefix="domosec-import-") as tmp:
        folder = Path(tmp)
        try:
            text, summary = _IMPORTERS[kind](_Job(folder, name, data, base, asset, vulndb, options))
        except InputError as exc:
            raise InputError([_relative(d, folder) for d in exc.diagnostics]) from None
    note = f"imported {kind} from {name} (sha256 {digest[:16]})" + (f" onto {asset}" if asset else "")
    return Imported(text, note, summary)


def _relative(d: Diagnostic, folder: Path) -> Diagnostic:
    """``d`` with the temporary folder (and the folders of the option files in it) left out of the names."""

    def shown(text: str) -> str:
        for option in _OPTION_FOLDERS:
            text = text.replace(f"{folder}/{option}/", "")
        return text.replace(f"{folder}/", "")

    return dataclasses.replace(d, file=shown(d.file), message=shown(d.message), hint=shown(d.hint))


def _base_model(folder: Path, base: str | None) -> object | None:
    if base is None:
        return None
    from domosec.model.load import load_model_text

    return load_model_text(base, "model.yaml").model


def _homeassistant(job: _Job) -> tuple[str, list[str]]:
    from domosec.evidence.homeassistant import import_homeassistant

    folder, name = job.folder, job.name
    root = folder / "config"
    root.mkdir()
    unpack(name, job.data, root)
    found = sorted(
        {p.parent for p in root.rglob("configuration.yaml")} | {p.parent for p in root.rglob(".storage")}, key=lambda p: len(p.parts)
    )
    if not found:
        raise InputError([Diagnostic(name, None, None, "ha-not-config", "the archive holds no configuration.yaml or .storage folder")])
    result = import_homeassistant(found[0])
    warnings = [w.render().replace(str(folder) + "/", "") for w in result.warnings]
    return result.text, [*warnings, *result.summary]


def unpack(name: str, data: bytes, into: Path) -> None:
    """Unpack the zip or tar ``data`` into ``into``: regular files and folders only, inside it, within the limits."""

    def refuse(message: str) -> InputError:
        return InputError([Diagnostic(name, None, None, "bad-archive", message)])

    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise refuse(f"more than {MAX_MEMBERS} members")
            total = 0
            for info in infos:
                target = _inside(into, info.filename, refuse)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                    raise refuse(f"{info.filename}: only regular files and folders are unpacked")
                total += info.file_size
                if total > MAX_UNPACKED_BYTES:
                    raise refuse(f"unpacks to more than {MAX_UNPACKED_BYTES} bytes")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, open(target, "wb") as sink:
                    sink.write(source.read(info.file_size))
        return
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115  (closed by the with below)
    except (tarfile.TarError, EOFError, OSError):
        raise refuse("not a zip or tar archive (tar may be gzip, bzip2 or xz compressed)") from None
    with tar:
        total, count = 0, 0
        for member in tar:
            count += 1
            if count > MAX_MEMBERS:
                raise refuse(f"more than {MAX_MEMBERS} members")
            target = _inside(into, member.name, refuse)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                raise refuse(f"{member.name}: only regular files and folders are unpacked")
            total += member.size
            if total > MAX_UNPACKED_BYTES:
                raise refuse(f"unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            target.parent.mkdir(parents=True, exist_ok=True)
            packed = tar.extractfile(member)
            assert packed is not None  # a regular file
            with packed, open(target, "wb") as sink:
                sink.write(packed.read(member.size))


def _inside(into: Path, member: str, refuse: Callable[[str], InputError]) -> Path:
    parts = PurePosixPath(member.replace("\\", "/")).parts
    if not parts or member.startswith("/") or ".." in parts or ":" in parts[0]:
        raise refuse(f"{member}: a member outside the archive's folder")
    return into.joinpath(*parts)


def _nmap(job: _Job) -> tuple[str, list[str]]:
    from domosec.evidence.scan.merge import MergeOptions, merge_observations
    from domosec.evidence.scan.nmap_xml import read_nmap_xml
    from domosec.evidence.scan.output import model_yaml, summary_lines

    name = job.name
    observations = read_nmap_xml(job.write(name, job.data))
    merged, report = merge_observations(
        observations,
        _base_model(job.folder, job.base),  # type: ignore[arg-type]
        MergeOptions(home_id="scanned-home", targets=f"nmap results {name}", tool="nmap (domosec serve import)"),
    )
    header = f"Imported in the workspace from nmap results {name}; observed facts carry provenance source 'observed'."
    return model_yaml(merged, header=[header]), summary_lines(observations, report)[1:]


def _sbom(job: _Job) -> tuple[str, list[str]]:
    from domosec.evidence.sbom.attach import attach_sbom, new_model
    from domosec.evidence.sbom.reader import read_sbom
    from domosec.evidence.sbom.vex import read_vex
    from domosec.evidence.scan.output import model_yaml

    name, asset, vulndb = job.name, job.asset, job.vulndb
    if not asset:
        raise InputError([Diagnostic(name, None, None, "sbom-asset", "name the device or gateway the SBOM belongs to (its ID)")])
    path = job.write(name, job.data)
    document = read_sbom(path)
    statements = [s for vex_name, vex in job.options.vex for s in read_vex(job.write(vex_name, vex, "vex"))]
    model = _base_model(job.folder, job.base) or new_model("product", asset)
    report = attach_sbom(model, asset, path, document, store=vulndb, vex=statements)  # type: ignore[arg-type]
    line = f"{report.asset}: {report.components} components"
    if vulndb is not None:
        line += f", {report.vulnerabilities} known vulnerabilities ({report.known_exploited} known exploited)"
    else:
        line += " (no vulnerability store on this server: domosec serve --vulndb FILE)"
    if job.options.vex:
        line += f"; {len(statements)} VEX statements from {', '.join(_safe(n) for n, _ in job.options.vex)}"
    header = f"Imported in the workspace from {name} ({document.format} {document.spec_version}) for {asset}."
    return model_yaml(model, header=[header]), [line]  # type: ignore[arg-type]


def _traffic(job: _Job) -> tuple[str, list[str]]:
    from domosec.evidence.scan.output import model_yaml
    from domosec.evidence.traffic.destinations import load_tracker_lists
    from domosec.evidence.traffic.merge import merge_traffic
    from domosec.evidence.traffic.run import read_capture, read_device_names

    name, options = job.name, job.options
    path = job.write(name, job.data)
    names = read_device_names(job.write(options.devices[0], options.devices[1], "devices")) if options.devices else {}
    lists = load_tracker_lists([job.write(n, d, "trackers") for n, d in options.trackers]) if options.trackers else None
    analysis = read_capture(path, trackers=lists)
    merged, report = merge_traffic(analysis, _base_model(job.folder, job.base), "observed-home", name, names)  # type: ignore[arg-type]
    stats = analysis.stats
    summary = [
        f"read {stats.packets} packets ({stats.format or 'unknown format'}): {len(analysis.table.flows)} flows, {len(analysis.findings)} findings"
    ]
    if report.matched:
        summary.append("matched: " + ", ".join(f"{addr} → {ident} (by {by})" for addr, ident, by in report.matched))
    if report.added_devices:
        summary.append("not in the model, added as observed: " + ", ".join(f"{a} → {i}" for a, i in report.added_devices))
    if report.added_services:
        summary.append("destinations not in the model, added as services: " + ", ".join(report.added_services))
    summary += [f"{name}: warning: {w}" for w in stats.warnings]
    header = f"Imported in the workspace from the capture {name}; observed facts carry provenance source 'observed'."
    return model_yaml(merged, header=[header]), summary


_IMPORTERS = {"homeassistant": _homeassistant, "nmap": _nmap, "sbom": _sbom, "traffic": _traffic}


def run_live_import(
    url: str, token: str, policy: HostPolicy, *, timeout: float = LIVE_TIMEOUT, deadline: float = LIVE_DEADLINE
) -> Imported:
    """Import the running Home Assistant at ``url`` with the access ``token``, if ``policy`` allows its address.

    The token is sent once, in the WebSocket ``auth`` message, and is in no result or problem. Every wait is bounded by
    ``timeout`` and the whole import by ``deadline``. Raises :class:`InputError` with the problem."""
    problem = missing_extra("homeassistant", "importing a running Home Assistant", "domosec serve")
    if problem is not None:
        raise InputError([problem])
    import aiohttp

    from domosec.evidence.homeassistant.live import fetch, snapshot_of
    from domosec.evidence.homeassistant.live_import import import_facts
    from domosec.evidence.homeassistant.websocket_client import DEFAULT_MAX_MESSAGE, parse_url, tls_context
    from domosec.web.ha_allow import Gate, NotAllowed

    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or any(c.isspace() or not c.isprintable() for c in token):
        why = "give a long-lived access token (your Home Assistant profile page, Security)"
        raise InputError([Diagnostic("token", None, None, "ha-no-token" if not token else "ha-bad-token", why)])
    try:
        endpoint = parse_url(url)
    except InputError as exc:
        raise InputError([dataclasses.replace(d, file="url") for d in exc.diagnostics]) from None
    gates: list[Gate] = []

    async def read() -> LiveFacts:
        async with asyncio.timeout(deadline):
            gates.append(await policy.gate(_host(endpoint.shown), endpoint.port, timeout))
            tls = tls_context(ca_file=ca_file_in_environment()) if endpoint.secure else False
            return await fetch(endpoint, token, timeout=timeout, tls=tls, max_message=DEFAULT_MAX_MESSAGE, socket_factory=gates[0])

    hint = "its administrator may allow it with domosec serve --ha-allow HOST[:PORT]; see docs/workspace.md"
    try:
        facts = asyncio.run(read())
    except NotAllowed as exc:
        raise InputError([Diagnostic(endpoint.shown, None, None, "ha-not-allowed", str(exc), hint=hint)]) from None
    except InputError as exc:
        if gates and gates[0].refused:
            message = f"{gates[0].refused[0]} is not among the addresses this workspace may connect to"
            raise InputError([Diagnostic(endpoint.shown, None, None, "ha-not-allowed", message, hint=hint)]) from None
        raise InputError([dataclasses.replace(d, hint=_WEB_HINTS.get(d.code, d.hint)) for d in exc.diagnostics]) from None
    except TimeoutError:
        raise InputError([Diagnostic(endpoint.shown, None, None, "ha-timeout", f"the import took more than {deadline:g} s")]) from None
    except (aiohttp.ClientError, OSError) as exc:
        message = f"the connection failed ({type(exc).__name__})"
        raise InputError([Diagnostic(endpoint.shown, None, None, "ha-connection-failed", message)]) from None
    result = import_facts(facts, snapshot_of(facts, endpoint))
    warnings = [w.render() for w in result.warnings]
    note = f"imported homeassistant live from {endpoint.shown} (Home Assistant {facts.ha_version or 'unknown'})"
    return Imported(result.text, note, [*warnings, *result.summary])


_WEB_HINTS = {
    "ha-connection-failed": "check the host and port of the URL, and that Home Assistant is running",
    "ha-timeout": "check the URL and that Home Assistant is running",
    "ha-tls-unverified": "the workspace trusts the system's certificate authorities, or the certificates its administrator "
    "gave with domosec serve --ha-ca-file (a home lab's own authority or Home Assistant's self-signed certificate)",
    "ha-message-too-large": "import this home with domosec import homeassistant --url --max-bytes",
}
"""The command line's hints name its options; the workspace names its own, or none."""


CA_ENV = "DOMOSEC_HA_CA_FILE"
"""The certificates ``domosec serve --ha-ca-file`` trusts for https Home Assistants, for every web process."""


def ca_file_in_environment() -> Path | None:
    """The file of ``$DOMOSEC_HA_CA_FILE`` (``domosec serve`` checked it), or None: the system's trusted certificates."""
    value = os.environ.get(CA_ENV, "")
    return Path(value) if value else None


def _host(shown: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(shown).hostname or ""
