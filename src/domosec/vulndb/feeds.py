"""Read the vulnerability data a user downloaded — OSV dumps, NVD CVE 2.0 feeds, CISA KEV, end-of-life tables —
one record at a time into a store being written (:class:`domosec.vulndb.store.StoreWriter`).

The large inputs are streamed: an OSV ``all.zip`` is read one member (one record) at a time with
stream-unzip, an OSV JSON array and an NVD feed are parsed record by record with ijson, so memory holds one
record and one batch of rows, however large the file. An input over ``max_bytes`` is refused before it is
read, a zip member as soon as it inflates past :data:`MAX_RECORD_BYTES`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from domosec.errors import Diagnostic, InputError
from domosec.model.source import read_bounded
from domosec.vulndb.store import Sink, normal_name

MAX_RECORD_BYTES = 16 * 1024 * 1024
SEVERITIES = ("critical", "high", "medium", "low")


def _fail(name: str, code: str, message: str) -> InputError:
    return InputError([Diagnostic(name, None, None, code, message)])


def _severity(text: Any) -> str:
    value = str(text or "").lower()
    return {"moderate": "medium"}.get(value, value) if value in (*SEVERITIES, "moderate") else "unknown"


def add_osv_record(rows: Sink, record: dict[str, Any]) -> None:
    """One OSV record (schema 1.x): its ID, aliases (and ``upstream`` IDs, the CVEs a distribution's record is
    about), severity and affected ranges (GIT ranges are skipped)."""
    vid = str(record["id"])
    rows.saw(record.get("modified"))
    specific = record.get("database_specific") or {}
    severity = _severity(specific.get("severity") if isinstance(specific, dict) else None)
    aliases = {str(a) for key in ("aliases", "upstream") for a in record.get(key) or []}  # upstream: Alpine's CVE links
    rows.add("vulns", (vid, ",".join(sorted(aliases - {vid})), severity, None, "osv"))
    from domosec.vulndb.versions import scheme_for, sort_key

    for aff in record.get("affected") or []:
        package = aff.get("package") or {}
        ecosystem, name = str(package.get("ecosystem", "")), str(package.get("name", ""))
        if not ecosystem or not name:
            continue
        key = normal_name(ecosystem, name)
        for version in aff.get("versions") or []:
            scheme = scheme_for(ecosystem)
            rows.add(
                "affected", (vid, ecosystem, key, scheme, None, None, None, str(version), None, None, None, sort_key(scheme, str(version)))
            )
        for rng in aff.get("ranges") or []:
            kind = rng.get("type")
            if kind not in ("ECOSYSTEM", "SEMVER"):
                continue
            scheme = scheme_for(ecosystem, kind)
            start: str | None = None
            for event in rng.get("events") or []:
                if "introduced" in event:
                    start = str(event["introduced"])
                elif start is not None and ("fixed" in event or "last_affected" in event or "limit" in event):
                    fixed, last = _opt(event.get("fixed", event.get("limit"))), _opt(event.get("last_affected"))
                    bound_keys = (sort_key(scheme, start), sort_key(scheme, fixed), sort_key(scheme, last), None)
                    rows.add("affected", (vid, ecosystem, key, scheme, start, fixed, last, None, *bound_keys))
                    start = None
            if start is not None:
                rows.add("affected", (vid, ecosystem, key, scheme, start, None, None, None, sort_key(scheme, start), None, None, None))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def read_osv(path: Path, rows: Sink, *, max_bytes: int) -> None:
    """An OSV dump: ``all.zip`` of one JSON record per file, a single record, or a JSON array of records."""
    name = str(path)
    rows.sources.add("osv")
    with _open(path, max_bytes, "an OSV file") as handle:
        if handle.peek(4)[:4] == b"PK\x03\x04":
            _read_osv_zip(name, handle, rows)
        elif _first_byte(handle) == b"[":
            for record in _stream(name, handle, "item"):
                _add_osv(rows, name, record)
        else:
            _add_osv(rows, name, _json(name, handle.read()))


def _read_osv_zip(name: str, handle: IO[bytes], rows: Sink) -> None:
    """The records of an OSV ``all.zip``, member by member as they come in the file (stream-unzip: no central
    directory held, which for 400,000 members would take ~230 MB); a member is refused as soon as it
    inflates past :data:`MAX_RECORD_BYTES`, so a zip bomb is never inflated whole."""
    from stream_unzip import NO_ENCRYPTION, UnzipError, stream_unzip

    try:
        for raw_name, _size, chunks in stream_unzip(
            iter(lambda: handle.read(1 << 16), b""), allowed_encryption_mechanisms=(NO_ENCRYPTION,)
        ):
            member = f"{name}:{raw_name.decode('utf-8', 'replace')}"
            data, total = [], 0
            for chunk in chunks:
                total += len(chunk)
                if total > MAX_RECORD_BYTES:
                    raise _fail(member, "vulndb-record-too-large", f"over {MAX_RECORD_BYTES:,} bytes uncompressed")
                data.append(chunk)
            if member.endswith(".json"):
                _add_osv(rows, member, _json(member, b"".join(data)))
    except UnzipError as exc:
        raise _fail(name, "vulndb-invalid", f"unreadable zip: {type(exc).__name__} {exc}".strip()) from None


def _add_osv(rows: Sink, name: str, raw: Any) -> None:
    for record in raw if isinstance(raw, list) else [raw]:
        if not isinstance(record, dict) or "id" not in record:
            raise _fail(name, "vulndb-invalid", "not an OSV record (no id)")
        try:
            add_osv_record(rows, record)
        except (TypeError, AttributeError, KeyError) as exc:
            raise _fail(name, "vulndb-invalid", f"malformed OSV record {record.get('id')!r}: {exc}") from None


def _json(name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _fail(name, "vulndb-invalid", f"not valid JSON: {exc}") from None


class _Bounded(io.RawIOBase):
    """A file read through a byte budget: past ``max_bytes`` (a pipe, a file that grew) the read is refused."""

    def __init__(self, raw: IO[bytes], name: str, max_bytes: int) -> None:
        self.raw, self.name_, self.left, self.max_bytes = raw, name, max_bytes, max_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.left -= n or 0
        if self.left < 0:
            raise _fail(self.name_, "input-too-large", f"more than {self.max_bytes:,} bytes were read, over the limit; refused")
        return int(n or 0)

    def close(self) -> None:
        self.raw.close()
        super().close()


def _open(path: Path, max_bytes: int, what: str) -> io.BufferedReader:
    """``path`` opened for streaming, with the checks of :func:`domosec.model.source.read_bounded` (a regular
    file over ``max_bytes`` is refused before it is read)."""
    from domosec.output_file import protect_input

    name = str(path)
    try:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115  # closed by the returned reader
    except FileNotFoundError:
        raise _fail(name, "file-not-found", "no such file") from None
    except IsADirectoryError:
        raise _fail(name, "not-a-file", f"is a directory, expected {what}") from None
    except OSError as exc:
        raise _fail(name, "unreadable", f"cannot open: {exc.strerror or exc}") from None
    st = os.fstat(raw.fileno())
    protect_input(st)
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raw.close()
        raise InputError(
            [Diagnostic(name, None, None, "file-too-large", f"the file is {st.st_size:,} bytes, over the limit of {max_bytes:,} bytes")]
        )
    return io.BufferedReader(_Bounded(raw, name, max_bytes), buffer_size=1 << 16)


def _first_byte(handle: io.BufferedReader) -> bytes:
    return handle.peek(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def _stream(name: str, handle: IO[bytes], prefix: str) -> Iterator[Any]:
    """The items under ``prefix`` of the JSON document in ``handle``, parsed one at a time."""
    import ijson  # type: ignore[import-untyped]  # no stubs

    try:
        yield from ijson.items(handle, prefix, use_float=True)
    except ijson.JSONError as exc:
        raise _fail(name, "vulndb-invalid", f"not valid JSON: {str(exc).splitlines()[0]}") from None


def read_nvd(path: Path, rows: Sink, *, max_bytes: int) -> None:
    """An NVD CVE JSON 2.0 feed (``nvdcve-2.0-*.json``): CVSS severity and CPE version ranges of each CVE."""
    name = str(path)
    rows.sources.add("nvd")
    with _open(path, max_bytes, "an NVD feed") as handle:
        seen = 0
        for item in _stream(name, handle, "vulnerabilities.item"):
            try:
                _add_nvd_cve(rows, item["cve"])
            except (TypeError, AttributeError, KeyError, ValueError) as exc:
                raise _fail(name, "vulndb-invalid", f"malformed NVD record: {exc!r}") from None
            seen += 1
    if not seen and not _has_empty_list(path, "vulnerabilities"):
        raise _fail(name, "vulndb-invalid", "not an NVD CVE JSON 2.0 feed (no 'vulnerabilities' list)")


def _has_empty_list(path: Path, key: str) -> bool:
    """Whether the document's top level has ``key`` as a list (an NVD feed of no CVEs)."""
    import ijson

    with open(path, "rb") as handle:
        events = ijson.parse(handle)
        try:
            for prefix, event, value in events:
                if prefix == "" and event == "map_key" and value == key:
                    return next(events)[1] == "start_array"  # type: ignore[no-any-return]
        except ijson.JSONError:
            return False
    return False


def _add_nvd_cve(rows: Sink, cve: dict[str, Any]) -> None:
    cid = str(cve["id"])
    from domosec.vulndb.versions import sort_key

    rows.saw(cve.get("lastModified"))
    score, severity = None, "unknown"
    metrics = cve.get("metrics") or {}
    for key in ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30"):
        entries = metrics.get(key) or []
        primary = [m for m in entries if m.get("type") == "Primary"] or entries
        if primary:
            data = primary[0]["cvssData"]
            score, severity = float(data["baseScore"]), _severity(data.get("baseSeverity"))
            break
    rows.add("vulns", (cid, "", severity, score, "nvd"))
    for config in cve.get("configurations") or []:
        for node in config.get("nodes") or []:
            for match in node.get("cpeMatch") or []:
                if not match.get("vulnerable"):
                    continue
                fields = str(match["criteria"]).split(":")
                if len(fields) < 6:
                    continue
                vendor, product, version = fields[3], fields[4], fields[5]
                exact = version if version not in ("*", "-") else None
                bounds = [
                    _opt(match.get(k))
                    for k in ("versionStartIncluding", "versionStartExcluding", "versionEndIncluding", "versionEndExcluding")
                ]
                keys = [sort_key("generic", b) for b in (exact, *bounds)]
                rows.add("cpe_ranges", (cid, vendor, product, exact, *bounds, *keys))


def read_kev(path: Path, rows: Sink, *, max_bytes: int) -> None:
    """CISA's Known Exploited Vulnerabilities catalog, as its JSON or its CSV (a few MB: read whole)."""
    name = str(path)
    rows.sources.add("kev")
    data = read_bounded(path, max_bytes, name=name, what="a KEV file")
    if data.lstrip()[:1] == b"{":
        raw = _json(name, data)
        entries = raw.get("vulnerabilities") if isinstance(raw, dict) else None
        rows.saw(raw.get("dateReleased") if isinstance(raw, dict) else None)
    else:
        entries = list(csv.DictReader(io.StringIO(data.decode("utf-8", "replace"))))
    if not isinstance(entries, list) or any(not isinstance(e, dict) or "cveID" not in e for e in entries):
        raise _fail(name, "vulndb-invalid", "not a KEV catalog (entries need cveID)")
    for e in entries:
        added = _date(name, e.get("dateAdded"))
        rows.saw(added)
        rows.add("kev", (str(e["cveID"]), added, str(e.get("knownRansomwareCampaignUse", ""))))


def read_eol(path: Path, rows: Sink, *, max_bytes: int) -> None:
    """An end-of-life table: endoflife.date's cycles of one product (the file's stem names it) or ``{product: cycles}``."""
    name = str(path)
    rows.sources.add("eol")
    raw = _json(name, read_bounded(path, max_bytes, name=name, what="an end-of-life table"))
    products = {path.stem: raw} if isinstance(raw, list) else raw
    if not isinstance(products, dict):
        raise _fail(name, "vulndb-invalid", "not an end-of-life table")
    for product, cycles in sorted(products.items()):
        for cycle in cycles if isinstance(cycles, list) else []:
            eol = cycle.get("eol") if isinstance(cycle, dict) else None
            if isinstance(eol, str):  # `true` without a date says nothing about when
                rows.add("eol", (str(product).lower(), str(cycle.get("cycle")), _date(name, eol)))


def _date(name: str, text: Any) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise _fail(name, "vulndb-invalid", f"not a date: {str(text)[:40]!r}") from None
