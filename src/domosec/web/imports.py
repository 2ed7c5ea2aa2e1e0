"""Evidence imported into a project as a new model version: Home Assistant files, nmap XML, an SBOM, a capture.

Each import calls the importer the command line uses (``domosec import homeassistant|nmap|sbom``, ``domosec
traffic``) on the uploaded file, written into a temporary folder that is removed afterwards; nmap results, an SBOM
and a capture are merged into the project's newest model version, as ``--model`` does. The result is saved as a
model version (checked like any other) whose note names the import and the file's SHA-256. An upload is at most
:data:`MAX_UPLOAD_BYTES`; a Home Assistant archive (zip or tar, compressed or not) is unpacked with limits on its
members and their size, and only as regular files and folders inside the temporary folder. Problems come back as the
command line shows them (``file:line:col: error[code]: …``), with the temporary folder left out of the names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from domosec.errors import Diagnostic, InputError
from domosec.extras import missing_extra

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
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


def extra_problem(kind: str) -> Diagnostic | None:
    """The ``missing-extra`` problem when the server cannot run ``kind`` imports, else ``None``."""
    extra = KINDS[kind][0]
    return missing_extra(extra, f"importing {KINDS[kind][1]}", "domosec serve") if extra else None


def run_import(kind: str, filename: str, data: bytes, base: str | None, asset: str = "", vulndb: Path | None = None) -> Imported:
    """Import ``data`` (the uploaded file ``filename``) as ``kind``, merged into the model text ``base`` when given.

    Raises :class:`InputError` with the importer's problems (file names relative to the upload)."""
    if kind not in KINDS:
        raise InputError([Diagnostic(filename, None, None, "unknown-import", f"an import is one of: {', '.join(KINDS)}")])
    problem = extra_problem(kind)
    if problem is not None:
        raise InputError([problem])
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError([Diagnostic(filename, None, None, "file-too-large", f"an import is at most {MAX_UPLOAD_BYTES} bytes")])
    name = _SAFE_NAME.sub("_", PurePosixPath(filename.replace("\\", "/")).name).lstrip(".") or "upload"
    digest = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(prefix="domosec-import-") as tmp:
        folder = Path(tmp)
        try:
            text, summary = _IMPORTERS[kind](folder, name, data, base, asset, vulndb)
        except InputError as exc:
            raise InputError([_relative(d, folder) for d in exc.diagnostics]) from None
    note = f"imported {kind} from {name} (sha256 {digest[:16]})" + (f" onto {asset}" if asset else "")
    return Imported(text, note, summary)


def _relative(d: Diagnostic, folder: Path) -> Diagnostic:
    prefix = str(folder) + "/"
    return dataclasses.replace(d, file=d.file.replace(prefix, ""), message=d.message.replace(prefix, ""), hint=d.hint.replace(prefix, ""))


def _base_model(folder: Path, base: str | None) -> object | None:
    if base is None:
        return None
    from domosec.model.load import load_model_text

    return load_model_text(base, "model.yaml").model


def _homeassistant(folder: Path, name: str, data: bytes, base: str | None, asset: str, vulndb: Path | None) -> tuple[str, list[str]]:
    from domosec.evidence.homeassistant import import_homeassistant

    root = folder / "config"
    root.mkdir()
    unpack(name, data, root)
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


def _nmap(folder: Path, name: str, data: bytes, base: str | None, asset: str, vulndb: Path | None) -> tuple[str, list[str]]:
    from domosec.evidence.scan.merge import MergeOptions, merge_observations
    from domosec.evidence.scan.nmap_xml import read_nmap_xml
    from domosec.evidence.scan.output import model_yaml, summary_lines

    path = folder / name
    path.write_bytes(data)
    observations = read_nmap_xml(path)
    merged, report = merge_observations(
        observations,
        _base_model(folder, base),  # type: ignore[arg-type]
        MergeOptions(home_id="scanned-home", targets=f"nmap results {name}", tool="nmap (domosec serve import)"),
    )
    header = f"Imported in the workspace from nmap results {name}; observed facts carry provenance source 'observed'."
    return model_yaml(merged, header=[header]), summary_lines(observations, report)[1:]


def _sbom(folder: Path, name: str, data: bytes, base: str | None, asset: str, vulndb: Path | None) -> tuple[str, list[str]]:
    from domosec.evidence.sbom.attach import attach_sbom, new_model
    from domosec.evidence.sbom.reader import read_sbom
    from domosec.evidence.scan.output import model_yaml

    if not asset:
        raise InputError([Diagnostic(name, None, None, "sbom-asset", "name the device or gateway the SBOM belongs to (its ID)")])
    path = folder / name
    path.write_bytes(data)
    document = read_sbom(path)
    model = _base_model(folder, base) or new_model("product", asset)
    report = attach_sbom(model, asset, path, document, store=vulndb)  # type: ignore[arg-type]
    line = f"{report.asset}: {report.components} components"
    if vulndb is not None:
        line += f", {report.vulnerabilities} known vulnerabilities ({report.known_exploited} known exploited)"
    else:
        line += " (no vulnerability store on this server: domosec serve --vulndb FILE)"
    header = f"Imported in the workspace from {name} ({document.format} {document.spec_version}) for {asset}."
    return model_yaml(model, header=[header]), [line]  # type: ignore[arg-type]


def _traffic(folder: Path, name: str, data: bytes, base: str | None, asset: str, vulndb: Path | None) -> tuple[str, list[str]]:
    from domosec.evidence.scan.output import model_yaml
    from domosec.evidence.traffic.merge import merge_traffic
    from domosec.evidence.traffic.run import read_capture

    path = folder / name
    path.write_bytes(data)
    analysis = read_capture(path)
    merged, _report = merge_traffic(analysis, _base_model(folder, base), "observed-home", name, {})  # type: ignore[arg-type]
    stats = analysis.stats
    summary = [
        f"read {stats.packets} packets ({stats.format or 'unknown format'}): {len(analysis.table.flows)} flows, {len(analysis.findings)} findings"
    ]
    summary += [f"{name}: warning: {w}" for w in stats.warnings]
    header = f"Imported in the workspace from the capture {name}; observed facts carry provenance source 'observed'."
    return model_yaml(merged, header=[header]), summary


_IMPORTERS = {"homeassistant": _homeassistant, "nmap": _nmap, "sbom": _sbom, "traffic": _traffic}
