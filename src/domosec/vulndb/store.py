"""Build the local vulnerability store: one DuckDB file from OSV dumps, NVD CVE 2.0 feeds, CISA KEV and an EOL table.

Nothing is fetched: every input is a file the user downloaded. The store is written whole to a temporary
file beside its name and renamed, so a failed import leaves the previous store as it was. Its ``meta`` table
keeps the build time, the date of the newest record (the data's age is measured from it) and the sources.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError
from domosec.model.source import read_bounded

SCHEMA = """
create table meta (key varchar primary key, value varchar);
create table vulns (id varchar, aliases varchar, severity varchar, cvss double, source varchar);
create table affected (vuln_id varchar, ecosystem varchar, name varchar, scheme varchar,
                       introduced varchar, fixed varchar, last_affected varchar, exact varchar,
                       introduced_key varchar, fixed_key varchar, last_key varchar, exact_key varchar);
create table cpe_ranges (vuln_id varchar, vendor varchar, product varchar, exact varchar,
                         start_incl varchar, start_excl varchar, end_incl varchar, end_excl varchar,
                         exact_key varchar, start_incl_key varchar, start_excl_key varchar, end_incl_key varchar, end_excl_key varchar);
create table kev (cve_id varchar, date_added date, ransomware varchar);
create table eol (product varchar, cycle varchar, eol date);
"""
MAX_RECORD_BYTES = 16 * 1024 * 1024
SEVERITIES = ("critical", "high", "medium", "low")


def _fail(name: str, code: str, message: str) -> InputError:
    return InputError([Diagnostic(name, None, None, code, message)])


@dataclass
class Rows:
    """The rows of each table, gathered before one bulk insert per table."""

    vulns: list[tuple[Any, ...]] = field(default_factory=list)
    affected: list[tuple[Any, ...]] = field(default_factory=list)
    cpe_ranges: list[tuple[Any, ...]] = field(default_factory=list)
    kev: list[tuple[Any, ...]] = field(default_factory=list)
    eol: list[tuple[Any, ...]] = field(default_factory=list)
    newest: str = ""
    sources: set[str] = field(default_factory=set)

    def saw(self, date: Any) -> None:
        text = str(date or "")[:10]
        if len(text) == 10 and text > self.newest:
            self.newest = text


def _severity(text: Any) -> str:
    value = str(text or "").lower()
    return {"moderate": "medium"}.get(value, value) if value in (*SEVERITIES, "moderate") else "unknown"


def add_osv_record(rows: Rows, record: dict[str, Any]) -> None:
    """One OSV record (schema 1.x): its ID, aliases, severity and affected ranges (GIT ranges are skipped)."""
    vid = str(record["id"])
    rows.saw(record.get("modified"))
    specific = record.get("database_specific") or {}
    severity = _severity(specific.get("severity") if isinstance(specific, dict) else None)
    rows.vulns.append((vid, ",".join(sorted(map(str, record.get("aliases") or []))), severity, None, "osv"))
    from domosec.vulndb.versions import scheme_for, sort_key

    for aff in record.get("affected") or []:
        package = aff.get("package") or {}
        ecosystem, name = str(package.get("ecosystem", "")), str(package.get("name", ""))
        if not ecosystem or not name:
            continue
        key = normal_name(ecosystem, name)
        for version in aff.get("versions") or []:
            scheme = scheme_for(ecosystem)
            rows.affected.append(
                (vid, ecosystem, key, scheme, None, None, None, str(version), None, None, None, sort_key(scheme, str(version)))
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
                    rows.affected.append((vid, ecosystem, key, scheme, start, fixed, last, None, *bound_keys))
                    start = None
            if start is not None:
                rows.affected.append((vid, ecosystem, key, scheme, start, None, None, None, sort_key(scheme, start), None, None, None))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def normal_name(ecosystem: str, name: str) -> str:
    """The package name as matched: PyPI names normalised (PEP 503), others lower-cased except Go and Maven."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))
    if base in ("Go", "Maven"):
        return name
    return name.lower()


def read_osv(path: Path, rows: Rows, *, max_bytes: int) -> None:
    """An OSV dump: ``all.zip`` of one JSON record per file, a single record, or a JSON array of records."""
    name = str(path)
    rows.sources.add("osv")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if not info.filename.endswith(".json"):
                        continue
                    if info.file_size > MAX_RECORD_BYTES:
                        raise _fail(f"{name}:{info.filename}", "vulndb-record-too-large", f"{info.file_size:,} bytes uncompressed")
                    _add_osv(rows, f"{name}:{info.filename}", archive.read(info))
        except (zipfile.BadZipFile, OSError) as exc:
            raise _fail(name, "vulndb-invalid", f"unreadable zip: {exc}") from None
        return
    _add_osv(rows, name, read_bounded(path, max_bytes, name=name, what="an OSV file"))


def _add_osv(rows: Rows, name: str, data: bytes) -> None:
    raw = _json(name, data)
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


def read_nvd(path: Path, rows: Rows, *, max_bytes: int) -> None:
    """An NVD CVE JSON 2.0 feed (``nvdcve-2.0-*.json``): CVSS severity and CPE version ranges of each CVE."""
    name = str(path)
    rows.sources.add("nvd")
    raw = _json(name, read_bounded(path, max_bytes, name=name, what="an NVD feed"))
    items = raw.get("vulnerabilities") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise _fail(name, "vulndb-invalid", "not an NVD CVE JSON 2.0 feed (no 'vulnerabilities' list)")
    try:
        for item in items:
            _add_nvd_cve(rows, item["cve"])
    except (TypeError, AttributeError, KeyError) as exc:
        raise _fail(name, "vulndb-invalid", f"malformed NVD record: {exc!r}") from None


def _add_nvd_cve(rows: Rows, cve: dict[str, Any]) -> None:
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
    rows.vulns.append((cid, "", severity, score, "nvd"))
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
                rows.cpe_ranges.append((cid, vendor, product, exact, *bounds, *keys))


def read_kev(path: Path, rows: Rows, *, max_bytes: int) -> None:
    """CISA's Known Exploited Vulnerabilities catalog, as its JSON or its CSV."""
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
        rows.kev.append((str(e["cveID"]), added, str(e.get("knownRansomwareCampaignUse", ""))))


def read_eol(path: Path, rows: Rows, *, max_bytes: int) -> None:
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
                rows.eol.append((str(product).lower(), str(cycle.get("cycle")), _date(name, eol)))


def _date(name: str, text: Any) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise _fail(name, "vulndb-invalid", f"not a date: {str(text)[:40]!r}") from None


def write_store(rows: Rows, output: Path) -> None:
    """Write ``rows`` as a fresh store at ``output`` (temporary file, then rename)."""
    import duckdb

    temp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(temp))
        con.execute(SCHEMA)
        for table in ("vulns", "affected", "cpe_ranges", "kev", "eol"):
            _bulk_insert(con, table, getattr(rows, table))
        con.execute(
            "create table vuln_best as select id, any_value(aliases order by source desc) as aliases, "
            "max(cvss) as cvss, min(case severity when 'critical' then 1 when 'high' then 2 when 'medium' then 3 "
            "when 'low' then 4 else 5 end) as rank from vulns group by id"
        )
        meta = {
            "format": "domosec-vulndb-2",
            "built_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "data_date": rows.newest,
            "sources": ",".join(sorted(rows.sources)),
        }
        con.executemany("insert into meta values (?, ?)", sorted(meta.items()))
        con.close()
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)
        Path(f"{temp}.wal").unlink(missing_ok=True)


def _bulk_insert(con: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    columns = [c[0] for c in con.execute(f"select * from {table} limit 0").description]
    for chunk in _chunks(rows, 200_000):
        lists = [list(col) for col in zip(*chunk, strict=True)]
        select = ", ".join(f"unnest(${i + 1}) as {c}" for i, c in enumerate(columns))
        con.execute(f"insert into {table} select {select}", lists)


def _chunks(rows: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def store_info(path: Path) -> dict[str, str | int]:
    """The store's metadata and row counts (``store-invalid`` if it is not a store)."""
    con = open_store(path)
    try:
        info: dict[str, str | int] = dict(con.execute("select key, value from meta order by key").fetchall())
        for table in ("vulns", "affected", "cpe_ranges", "kev", "eol"):
            info[f"rows_{table}"] = int(con.execute(f"select count(*) from {table}").fetchone()[0])
        return info
    finally:
        con.close()


def open_store(path: Path) -> Any:
    """A read-only connection to the store at ``path``."""
    import duckdb

    name = str(path)
    if not path.is_file():
        raise _fail(name, "file-not-found", "no vulnerability store here (build one with domosec vulndb import)")
    try:
        con = duckdb.connect(name, read_only=True)
        fmt = con.execute("select value from meta where key = 'format'").fetchone()
    except duckdb.Error as exc:
        raise _fail(name, "vulndb-invalid", f"not a domosec vulnerability store: {str(exc).splitlines()[0]}") from None
    if fmt is None or fmt[0] != "domosec-vulndb-2":
        con.close()
        raise _fail(name, "vulndb-invalid", "not a domosec vulnerability store (format)")
    return con
