"""Read a fleet in batches: a Parquet fleet directory part by part, a JSON Lines file a run of lines at a time.

A batch is a small, picklable description (:class:`Batch`) so that a worker process or a Spark
task can read it on its own. Reading gives the tables of the valid homes, the rejected homes
with their reasons, and how many homes came in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from domosec.catalog.load import Catalogue
from domosec.errors import Diagnostic, InputError, ModelError
from domosec.fleet.layout import FLEET_TABLES, is_fleet_dir, part_file, part_indices
from domosec.fleet.models import tables_from_models
from domosec.fleet.validate import drop_rejected, find_problems, load_arrow, validate_tables
from domosec.model.elements import SystemModel
from domosec.model.load import model_from_document
from domosec.model.source import DEFAULT_MAX_BYTES, SourceDocument
from domosec.safe_text import has_lone_surrogate

DEFAULT_BATCH_HOMES = 5_000

MAX_HOME_BYTES = DEFAULT_MAX_BYTES
"""The longest JSON Lines line (one home) a fleet reads: the limit `validate` and `assess` put on one model file."""


@dataclass(frozen=True)
class Batch:
    """One batch of a fleet input."""

    index: int
    kind: Literal["parquet", "jsonl"]
    path: str
    homes: int
    part: int = 0
    start: int = 0
    end: int = 0
    first_line: int = 1
    duplicate_lines: tuple[tuple[int, int], ...] = ()
    """JSON Lines: (line, line where the same system.id came first), for lines of this batch."""
    duplicate_homes: tuple[tuple[str, int], ...] = ()
    """Parquet: (home_id, earlier part that holds the same home), for homes of this part."""
    oversize: bool = False
    """JSON Lines: the batch is one line longer than ``MAX_HOME_BYTES``; it is rejected unread."""


@dataclass(frozen=True)
class RejectRecord:
    """A home (or a line) set aside, where it came from, and why."""

    source: str
    home_id: str | None
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "home_id": self.home_id, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class BatchInput:
    tables: dict[str, pa.Table]
    rejects: list[RejectRecord]
    homes_in: int


def plan_batches(path: Path, *, batch_homes: int = DEFAULT_BATCH_HOMES) -> list[Batch]:
    """The batches of a fleet directory (one per part) or of a JSON Lines file (``batch_homes`` lines each)."""
    if is_fleet_dir(path):
        parts = part_indices(path)
        if not parts:
            raise InputError([Diagnostic(str(path), None, None, "empty-fleet", "the fleet directory has no homes/part-*.parquet files")])
        return _parquet_batches(path, parts)
    if path.is_dir():
        raise InputError([Diagnostic(str(path), None, None, "not-a-fleet", "a fleet directory holds a homes/ folder of Parquet parts")])
    if not path.is_file():
        raise InputError([Diagnostic(str(path), None, None, "file-not-found", "no such file")])
    return _jsonl_batches(path, batch_homes)


def _parquet_batches(root: Path, parts: list[int]) -> list[Batch]:
    """One batch per part; a home found in an earlier part too is set aside in the later one."""
    first_part: dict[str, int] = {}
    batches = []
    for i, part in enumerate(parts):
        path = root / part_file("homes", part)
        try:
            ids = pq.read_table(path, columns=["home_id"]).column("home_id").to_pylist()
        except (OSError, KeyError, pa.ArrowException) as exc:
            raise InputError([Diagnostic(str(path), None, None, "bad-parquet", f"cannot read the home_id column: {exc}")]) from None
        for name in FLEET_TABLES:
            # Column names are checked here, before any batch runs, so a wrong file stops the run at once on every engine.
            file = root / part_file(name, part)
            if file.exists():
                try:
                    _check_columns(file, name, pq.read_schema(file).names)
                except (OSError, pa.ArrowException) as exc:
                    raise InputError([Diagnostic(str(file), None, None, "bad-parquet", f"cannot read the Parquet file: {exc}")]) from None
        duplicates = []
        for home in dict.fromkeys(h for h in ids if h is not None):
            if home in first_part:
                duplicates.append((home, first_part[home]))
            else:
                first_part[home] = part
        batches.append(Batch(i, "parquet", str(root), len(ids), part=part, duplicate_homes=tuple(duplicates)))
    return batches


def _jsonl_batches(path: Path, batch_homes: int) -> list[Batch]:
    """Cut the file into runs of ``batch_homes`` non-blank lines, by byte offsets.

    Each line's ``system.id`` is read here, so that a home given twice is set aside on its later
    line even when the two lines land in different batches.
    """
    batches: list[Batch] = []
    start = offset = 0
    first = line_no = 1
    count = 0
    first_line: dict[str, int] = {}
    duplicates: list[tuple[int, int]] = []

    def close(end: int) -> None:
        batches.append(
            Batch(len(batches), "jsonl", str(path), count, start=start, end=end, first_line=first, duplicate_lines=tuple(duplicates))
        )

    with path.open("rb") as handle:
        while line := handle.readline(MAX_HOME_BYTES + 1):
            if len(line) > MAX_HOME_BYTES and not line.endswith(b"\n"):
                # One home's line over the limit: skip it in bounded reads and give it a batch of its own,
                # which read_batch rejects without reading it.
                size = len(line)
                while (rest := handle.readline(1 << 20)) and (size := size + len(rest)) and not rest.endswith(b"\n"):
                    pass
                if count:
                    close(offset)
                batches.append(
                    Batch(len(batches), "jsonl", str(path), 1, start=offset, end=offset + size, first_line=line_no, oversize=True)
                )
                offset += size
                line_no += 1
                start, first, count, duplicates = offset, line_no, 0, []
                continue
            if line.strip():
                count += 1
                home = _home_id(line)
                if home is not None and home in first_line:
                    duplicates.append((line_no, first_line[home]))
                elif home is not None:
                    first_line[home] = line_no
            offset += len(line)
            line_no += 1
            if count == batch_homes:
                close(offset)
                start, first, count, duplicates = offset, line_no, 0, []
    if count or not batches:
        close(offset)
    return batches


def _home_id(line: bytes) -> str | None:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    system = data.get("system") if isinstance(data, dict) else None
    home = system.get("id") if isinstance(system, dict) else None
    return home if isinstance(home, str) else None


def read_batch(batch: Batch, cat: Catalogue, check_queries: list[str] | None = None) -> BatchInput:
    if batch.kind == "parquet":
        return _read_parquet(batch, cat, check_queries)
    return _read_jsonl(batch, cat)


def _check_columns(file: Path, name: str, names: list[str]) -> None:
    expected = FLEET_TABLES[name].schema().names
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    if missing or extra:
        parts = [f"missing column(s) {', '.join(missing)}" if missing else "", f"unknown column(s) {', '.join(extra)}" if extra else ""]
        what = "; ".join(x for x in parts if x)
        raise InputError([Diagnostic(str(file), None, None, "table-columns", f"table {name}: {what} (see docs/tables.md)")])


def _check_id_types(file: Path, name: str, found: pa.Schema) -> None:
    """IDs are text, as in a model file (where ``id: 1`` is an error): a column of numbers is not cast to IDs."""
    expected = FLEET_TABLES[name].schema()
    wrong = [
        f"{f.name} is {found.field(f.name).type}"
        for f in expected
        if (f.name == "id" or f.name.endswith("_id"))
        and pa.types.is_string(f.type)
        and not (pa.types.is_string(found.field(f.name).type) or pa.types.is_large_string(found.field(f.name).type))
    ]
    if wrong:
        message = f"table {name}: {', '.join(wrong)}; ID columns hold text (see docs/tables.md)"
        raise InputError([Diagnostic(str(file), None, None, "table-types", message)])


def _read_parquet(batch: Batch, cat: Catalogue, check_queries: list[str] | None) -> BatchInput:
    root = Path(batch.path)
    tables: dict[str, pa.Table] = {}
    for name, spec in FLEET_TABLES.items():
        file = root / part_file(name, batch.part)
        schema = spec.schema()
        if not file.exists():
            tables[name] = schema.empty_table()
            continue
        try:
            table = pq.read_table(file)
        except (OSError, pa.ArrowException) as exc:
            raise InputError([Diagnostic(str(file), None, None, "bad-parquet", f"cannot read the Parquet file: {exc}")]) from None
        _check_columns(file, name, table.column_names)
        _check_id_types(file, name, table.schema)
        try:
            tables[name] = table.select(schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError([Diagnostic(str(file), None, None, "table-types", f"table {name}: {exc}")]) from None
    kept, rejects, homes_in = validate_tables(tables, cat, check_queries, extra=_earlier(batch))
    source = str(root / part_file("homes", batch.part))
    return BatchInput(kept, [RejectRecord(source, r.home_id, r.reasons) for r in rejects], homes_in)


def _earlier(batch: Batch) -> dict[str, str]:
    return {home: f"the same home is in part {part:05d}; each home belongs to one part" for home, part in batch.duplicate_homes}


SQL_TYPES = {pa.string(): "varchar", pa.int64(): "bigint", pa.bool_(): "boolean", pa.float64(): "double", pa.date32(): "date"}


@dataclass
class OpenBatch:
    """A batch loaded into a DuckDB connection: only its valid homes are left in the tables."""

    con: duckdb.DuckDBPyConnection
    rejects: list[RejectRecord]
    homes_in: int


def open_batch(
    batch: Batch,
    cat: Catalogue,
    check_queries: list[str] | None = None,
    *,
    threads: int = 1,
    before_checks: Callable[[duckdb.DuckDBPyConnection], int] | None = None,
) -> OpenBatch:
    """Load a batch straight into a new DuckDB database (one copy), check it and drop the rejected homes.

    ``before_checks`` sees the loaded tables before the checks and may take homes out (``--since``: the unchanged
    ones, :mod:`domosec.fleet.incremental`); it returns how many, which still count as homes in.
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"set threads = {int(threads)}")
        con.execute("set enable_progress_bar = false")
        if batch.kind == "parquet":
            root = Path(batch.path)
            for name, spec in FLEET_TABLES.items():
                _load_parquet(con, root / part_file(name, batch.part), name, spec.schema())
            taken = before_checks(con) if before_checks else 0
            rejects, homes_in = find_problems(con, cat, check_queries, extra=_earlier(batch))
            homes_in += taken
            source = str(root / part_file("homes", batch.part))
            records = [RejectRecord(source, r.home_id, r.reasons) for r in rejects]
        else:
            data = _read_jsonl(batch, cat)
            load_arrow(con, data.tables)
            if before_checks:
                before_checks(con)  # the lines were read and counted already
            rejects, homes_in, records = [], data.homes_in, data.rejects
        drop_rejected(con, rejects)
    except BaseException:
        con.close()
        raise
    return OpenBatch(con, records, homes_in)


def _load_parquet(con: duckdb.DuckDBPyConnection, file: Path, name: str, schema: pa.Schema) -> None:
    if not file.exists():
        con.register(f"_arrow_{name}", schema.empty_table())
        con.execute(f"create table {name} as select * from _arrow_{name}")
        con.unregister(f"_arrow_{name}")
        return
    try:
        found = pq.read_schema(file)
        _check_columns(file, name, found.names)
        _check_id_types(file, name, found)
    except (OSError, pa.ArrowException) as exc:
        raise InputError([Diagnostic(str(file), None, None, "bad-parquet", f"cannot read the Parquet file: {exc}")]) from None
    columns = ", ".join(f'cast("{f.name}" as {SQL_TYPES[f.type]}) as "{f.name}"' for f in schema)
    path = str(file).replace("'", "''")
    try:
        con.execute(f"create table {name} as select {columns} from read_parquet('{path}')")
    except duckdb.Error as exc:
        raise InputError([Diagnostic(str(file), None, None, "table-types", f"table {name}: {str(exc).splitlines()[0]}")]) from None


def _reasons(exc: ModelError) -> tuple[str, ...]:
    out = []
    for d in exc.diagnostics:
        text = f"{d.path}: {d.message}" if d.path else d.message
        if d.col is not None and d.code == "syntax":
            text += f" (column {d.col})"
        out.append(text + (f" ({d.hint})" if d.hint else ""))
    return tuple(dict.fromkeys(out))


def _read_jsonl(batch: Batch, cat: Catalogue) -> BatchInput:
    if batch.oversize:
        reason = f"the line is {batch.end - batch.start:,} bytes, over the limit of {MAX_HOME_BYTES:,} bytes for one home"
        return BatchInput(tables_from_models([], cat), [RejectRecord(f"{batch.path}:{batch.first_line}", None, (reason,))], 1)
    with open(batch.path, "rb") as handle:
        handle.seek(batch.start)
        raw = handle.read(batch.end - batch.start)
    models: list[tuple[SystemModel, str]] = []
    rejects: list[RejectRecord] = []
    duplicates = dict(batch.duplicate_lines)
    homes_in = 0
    for offset, line in enumerate(raw.split(b"\n")):
        if not line.strip():
            continue
        homes_in += 1
        line_no = batch.first_line + offset
        source = f"{batch.path}:{line_no}"
        home_id: str | None = None
        try:
            data = json.loads(line)
            if b"\\u" in line and has_lone_surrogate(data):  # an escape made a lone surrogate: no text (Arrow cannot hold it)
                rejects.append(RejectRecord(source, None, ("a string holds a lone surrogate escape (\\ud800–\\udfff), which is not text",)))
                continue
            if isinstance(data, dict) and isinstance(data.get("system"), dict) and isinstance(data["system"].get("id"), str):
                home_id = data["system"]["id"]
            loaded = model_from_document(SourceDocument(source, data))
        except json.JSONDecodeError as exc:
            rejects.append(RejectRecord(source, None, (f"invalid JSON: {exc.msg} (column {exc.colno})",)))
            continue
        except UnicodeDecodeError:
            rejects.append(RejectRecord(source, None, ("the line is not valid UTF-8",)))
            continue
        except ValueError:  # after its subclasses above: an integer too long for Python to convert
            rejects.append(RejectRecord(source, None, ("a number is too long (Python converts at most 4,300 digits)",)))
            continue
        except RecursionError:
            rejects.append(RejectRecord(source, None, ("the document nests too deeply",)))
            continue
        except ModelError as exc:
            rejects.append(RejectRecord(source, home_id, _reasons(exc)))
            continue
        h = loaded.model.system.id
        if line_no in duplicates:
            rejects.append(
                RejectRecord(source, h, (f"system.id '{h}' is also used on line {duplicates[line_no]}; each home needs its own system.id",))
            )
            continue
        models.append((loaded.model, batch.path))
    return BatchInput(tables_from_models(models, cat), rejects, homes_in)
