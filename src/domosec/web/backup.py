"""``domosec workspace backup|restore``: the whole workspace as one tar file, from and to SQLite or PostgreSQL.

A backup is read in one snapshot (a read transaction on SQLite, ``REPEATABLE READ`` on PostgreSQL), so
a server may keep running while it is taken. It holds ``manifest.json`` (format, schema revision, row
counts), one JSON Lines file per table (a header with the column names, then one array per row;
times as ISO 8601, bytes as base64) and every evidence file referenced, under its SHA-256. Sessions
are left out: after a restore everyone signs in again. The rows are written by column name and read
back into the schema revision they came from, then the migrations bring the target to the newest
one, so a backup moves between SQLite and PostgreSQL and to a newer domosec.

A backup is a copy of the database: it holds password hashes, TOTP seeds and token digests, and is
written readable by its owner only.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Date, DateTime, LargeBinary, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.engine import Engine

from domosec.output_file import durably_replacing
from domosec.web import audit, evidence, migrate
from domosec.web.db import Base, make_sessionmaker

FORMAT = "domosec-workspace-backup"
FORMAT_VERSION = 1
SKIPPED = frozenset({"alembic_version", "sessions"})
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_MEMBER = 1024 * 1024 * 1024


class BackupError(Exception):
    """A backup that cannot be made or restored; ``code`` is the diagnostic code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Summary:
    revision: str
    rows: dict[str, int]
    evidence_files: int


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoder(column_type: Any) -> Any:
    if isinstance(column_type, DateTime):
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if isinstance(column_type, Date):
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if isinstance(column_type, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    return lambda v: v


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("begin")  # one read transaction: one snapshot of a WAL database
            try:
                yield conn
            finally:
                conn.rollback()


def _tables(conn: Connection) -> list[Table]:
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name not in SKIPPED]


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, 0
    archive.addfile(info, io.BytesIO(data))


def backup(engine: Engine, evidence_dir: Path, out: Path) -> Summary:
    """Write the workspace to ``out`` (a tar file, written beside its name and renamed, mode 600)."""
    revision = migrate.current_revision(engine)
    if revision is None:
        raise BackupError("not-a-workspace", "this database holds no domosec workspace")
    with durably_replacing(out, f".{out.name}.") as handle:
        summary = _write(engine, revision, evidence_dir, handle)
    return summary


def _write(engine: Engine, revision: str, evidence_dir: Path, handle: Any) -> Summary:
    rows: dict[str, int] = {}
    digests: set[str] = set()
    with tarfile.open(fileobj=handle, mode="w") as archive:
        with _snapshot(engine) as conn:
            for table in _tables(conn):
                names = [c.name for c in table.columns]
                lines = [json.dumps(names)]
                for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                    lines.append(json.dumps([_encode(v) for v in row], ensure_ascii=False))
                rows[table.name] = len(lines) - 1
                _add(archive, f"tables/{table.name}.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
                if table.name == "evidence_files":
                    digests |= {r[names.index("sha256")] for r in (json.loads(line) for line in lines[1:])}
        for digest in sorted(digests):
            path = evidence.blob_path(evidence_dir, digest)
            try:
                content = path.read_bytes()
            except OSError:
                raise BackupError("evidence-missing", f"evidence file {path} is missing: the backup would be incomplete") from None
            if hashlib.sha256(content).hexdigest() != digest:
                raise BackupError("evidence-changed", f"evidence file {path} does not hold the bytes of its name")
            _add(archive, f"evidence/{digest}", content)
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "revision": revision, "rows": rows, "evidence": sorted(digests)}
        _add(archive, "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
    return Summary(revision, rows, len(digests))


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        info = archive.getmember(name)
    except KeyError:
        raise BackupError("bad-backup", f"the backup has no {name}") from None
    if not info.isfile() or info.size > MAX_MEMBER:
        raise BackupError("bad-backup", f"{name} in the backup is not a regular file of a sane size")
    extracted = archive.extractfile(info)
    assert extracted is not None
    return extracted.read()


def is_empty(engine: Engine) -> bool:
    """True when no workspace table holds a row (or there are none)."""
    present = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    with engine.connect() as conn:
        return all(not conn.scalar(select(func.count()).select_from(Base.metadata.tables[name])) for name in present - {"alembic_version"})


def restore(engine: Engine, evidence_dir: Path, source: Path, *, force: bool = False) -> Summary:
    """Load a backup into ``engine``'s database (emptied first with ``force``; else it must hold nothing)."""
    try:
        archive = tarfile.open(source, mode="r:*")  # noqa: SIM115 (closed by the `with archive` below)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError("bad-backup", f"not a domosec workspace backup ({exc})") from None
    with archive:
        try:
            manifest = json.loads(_member(archive, "manifest.json"))
        except ValueError:
            raise BackupError("bad-backup", "manifest.json is not JSON") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise BackupError("bad-backup", "not a domosec workspace backup of a version this domosec reads")
        revision = str(manifest.get("revision"))
        if revision not in migrate.known_revisions(engine):
            raise BackupError("bad-backup", f"the backup's schema revision {revision} is unknown to this domosec (made by a newer one?)")
        if not is_empty(engine) and not force:
            raise BackupError(
                "workspace-not-empty", "the target database holds a workspace: restore into an empty one, or pass --force to replace it"
            )
        digests = [d for d in manifest.get("evidence", []) if isinstance(d, str) and HEX64.fullmatch(d)]
        blobs = {d: _member(archive, f"evidence/{d}") for d in digests}
        for digest, content in blobs.items():
            if hashlib.sha256(content).hexdigest() != digest:
                raise BackupError("bad-backup", f"evidence/{digest} in the backup does not hold the bytes of its name")
        migrate.downgrade(engine, "base")
        migrate.upgrade(engine, revision)
        rows: dict[str, int] = {}
        with engine.begin() as conn:
            for table in _tables(conn):
                rows[table.name] = _load_table(conn, table, archive, manifest)
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn)
        for content in blobs.values():
            evidence.store(evidence_dir, content)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as db:
        audit.record(db, "domosec workspace restore", "workspace.restore", source=source.name, revision=revision, rows=sum(rows.values()))
        db.commit()
    return Summary(revision, rows, len(blobs))


def _load_table(conn: Connection, table: Table, archive: tarfile.TarFile, manifest: dict[str, Any]) -> int:
    lines = _member(archive, f"tables/{table.name}.jsonl").decode("utf-8").splitlines()
    names = json.loads(lines[0])
    if set(names) != {c.name for c in table.columns}:
        raise BackupError("bad-backup", f"tables/{table.name}.jsonl does not have the columns of revision {manifest['revision']}")
    decode = [_decoder(table.columns[n].type) for n in names]
    batch: list[dict[str, Any]] = []
    count = 0
    for line in lines[1:]:
        values = json.loads(line)
        batch.append({n: d(v) for n, d, v in zip(names, decode, values, strict=True)})
        if len(batch) == 1000:
            conn.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    if count != manifest.get("rows", {}).get(table.name):
        raise BackupError(
            "bad-backup", f"tables/{table.name}.jsonl holds {count} rows, the manifest says {manifest.get('rows', {}).get(table.name)}"
        )
    return count


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: the next ID of each table after the highest restored one."""
    for table in _tables(conn):
        if "id" in table.columns and table.columns["id"].primary_key:
            conn.execute(
                text(
                    f"select setval(pg_get_serial_sequence('{table.name}', 'id'), coalesce(max(id), 1), max(id) is not null) from {table.name}"
                )
            )
