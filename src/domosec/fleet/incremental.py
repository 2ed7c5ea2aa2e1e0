"""Incremental fleet runs (``domosec fleet assess --since PREVIOUS_OUT``): unchanged homes keep their findings.

Every run writes, beside its findings, ``state/part-NNNNN.parquet`` (per home of that batch: a
content hash of all its rows in every table, and the clause-7 items its declarations contradict),
``state/part-NNNNN.json`` (the batch's input digest and counts: :mod:`domosec.fleet.unchanged_parts`)
and ``state/run.json`` (the date the run judged by, a fingerprint of everything else a finding
depends on: the rules, the catalogue, the matrix, the rating, checking and counting code and the
versions of domosec and DuckDB, and the SHA-256 of every state file). A batch whose input is
unchanged is linked from the earlier run whole (:func:`domosec.fleet.unchanged_parts.reuse_part`);
in the other batches, a later run given ``--since`` reuses a home's findings when

- the fingerprints are equal (otherwise every home is assessed, and the command says why),
- the home's content hash is the one the earlier run recorded (in any of its parts), and
- none of the home's accepted risks expires between the two ``--as-of`` dates: an acceptance is
  ``accepted`` on or before its last day and ``acceptance_expired`` after it, so only such a home
  can change without its content changing.

Every other home is assessed as in a full run, and the reused and the new rows are merged and
sorted the same way, so the output has the same bytes as a full run
(``tests/fleet/test_incremental.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domosec import __version__
from domosec.engine.ruleset import LoadedRule
from domosec.engine.scoring import Matrix
from domosec.errors import InputError
from domosec.fleet.aggregate import Stats, batch_stats
from domosec.fleet.layout import FLEET_TABLES
from domosec.fleet.outdir import FINDINGS_DIR, STATE_DIR, recover, run_names
from domosec.fleet.unchanged_parts import state_digests
from domosec.fleet.vulnerabilities import VULNERABLE_TABLE, vulnerable_rows
from domosec.output_file import output_problem

if TYPE_CHECKING:
    from domosec.fleet.batch import Job

RUN_FILE = "run.json"
STATE_VERSION = 2
"""1: per-home state only; 2: part records and the state files' digests in ``run.json``."""
STATE_SCHEMA = pa.schema(
    [pa.field("home_id", pa.string()), pa.field("content_hash", pa.string()), pa.field("contradicted", pa.list_(pa.string()))]
)
CONTRADICTED_SCHEMA = pa.schema([pa.field("home_id", pa.string()), pa.field("control_id", pa.string())])
_CODE = (
    ("domosec.engine", "views.sql"),
    ("domosec.fleet", "engine.py"),
    ("domosec.engine", "plans.py"),
    ("domosec.engine", "scoring.py"),
    ("domosec.fleet", "validate.py"),
    ("domosec.fleet", "structure_checks.py"),
    ("domosec.fleet", "source.py"),
    ("domosec.fleet", "models.py"),
    ("domosec.fleet", "aggregate.py"),
    ("domosec.fleet", "vulnerabilities.py"),
)
"""Code whose every change can change a finding's rows or rating, a reject or a count: part of the fingerprint."""


def inputs_fingerprint(rules: list[LoadedRule], matrix: Matrix) -> str:
    """SHA-256 over what a finding depends on besides the home and the date."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("domosec", __version__.encode())
    add("duckdb", duckdb.__version__.encode())
    for package, name in _CODE:
        add(name, resources.files(package).joinpath(name).read_bytes())
    catalogue = resources.files("domosec.catalog").joinpath("data")
    for entry in sorted(catalogue.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            add(f"catalogue/{entry.name}", entry.read_bytes())
    for lr in rules:
        add("rule", lr.rule.model_dump_json().encode())
    add("matrix", matrix.model_dump_json().encode())
    return digest.hexdigest()


def run_record(as_of: dt.date, inputs: str, state: Path) -> str:
    """``state/run.json``: the date, the fingerprint and the SHA-256 of every file already in ``state``."""
    record = {"version": STATE_VERSION, "as_of": as_of.isoformat(), "inputs": inputs, "state": state_digests(state)}
    return json.dumps(record, sort_keys=True) + "\n"


DATE_WORDS = re.compile(r"\b(params|current_date|current_timestamp|now|today|get_current_time)\b", re.IGNORECASE)
"""How a rule query can read the date it judges by (the engine's ``params`` table holds ``--as-of``)."""


def date_rules(rules: list[LoadedRule]) -> list[str]:
    """The rules whose rows can depend on ``--as-of`` (judged from their SQL, erring towards yes)."""
    return [lr.rule.id for lr in rules if DATE_WORDS.search(lr.rule.query)]


def check_since(since: Path, inputs: str, *, as_of_now: dt.date, rules: list[LoadedRule]) -> tuple[dt.date | None, str | None]:
    """The earlier run's ``--as-of`` when its findings can be reused; else None and why every home is assessed.

    Refuses (exit 2) a directory that holds no whole fleet run.
    """
    recover(since)
    names = run_names(since)
    if FINDINGS_DIR not in names:
        raise InputError(
            [
                output_problem(
                    since, "since-not-a-run", "holds no complete fleet run (no run manifest); give the output directory of a finished run"
                )
            ]
        )
    if STATE_DIR not in names:
        return None, "the earlier run kept no state (a domosec before incremental runs); every home is assessed"
    try:
        record = json.loads((since / STATE_DIR / RUN_FILE).read_text(encoding="utf-8"))
        version = record["version"]
        if version != STATE_VERSION:
            return (
                None,
                f"the earlier run's state is of another domosec (state version {version}, this one reads {STATE_VERSION}); every home is assessed",
            )
        as_of = dt.date.fromisoformat(record["as_of"])
        same = record["inputs"] == inputs
        intact = record["state"] == state_digests(since / STATE_DIR)
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"{since / STATE_DIR / RUN_FILE} is unreadable; every home is assessed"
    if not same:
        return None, "the rules, catalogue, matrix or domosec version changed since the earlier run; every home is assessed"
    if not intact:
        return None, f"the files in {since / STATE_DIR} are not the ones the earlier run wrote (changed since); every home is assessed"
    dated = date_rules(rules)
    if as_of != as_of_now and dated:
        shown = ", ".join(dated[:4]) + (f" and {len(dated) - 4} more" if len(dated) > 4 else "")
        return None, (
            f"--as-of changed ({as_of} → {as_of_now}) and rules {shown} judge by that date; every home is assessed "
            "(give the earlier run's --as-of to reuse findings)"
        )
    return as_of, None


def content_hashes(con: duckdb.DuckDBPyConnection, rules: list[LoadedRule]) -> pa.Table:
    """Per home of the batch in ``con``: a hash of every row of every table (each row hashed with its table's name).

    The name of the file a home was read from (``homes.source_file``) is left out unless a rule reads it, so a
    fleet exported to a new file each night still counts as unchanged.
    """
    keep_source = reads_source_file(rules)

    def rows_of(name: str) -> str:
        return f"{name} as t" if name != "homes" or keep_source else "(select * exclude (source_file) from homes) as t"

    rows = " union all ".join(f"select home_id, hash(t, '{name}')::hugeint as h from {rows_of(name)}" for name in FLEET_TABLES)
    table: pa.Table = con.sql(
        f"select home_id, cast(sum(h) as varchar) || ':' || cast(count(*) as varchar) as content_hash "
        f"from ({rows}) group by home_id order by home_id"
    ).to_arrow_table()
    return table.cast(STATE_SCHEMA.remove(2))


def reads_source_file(rules: list[LoadedRule]) -> bool:
    """Whether a rule can show the name of the file a home was read from."""
    return any("source_file" in lr.rule.query.lower() for lr in rules)


@dataclass(frozen=True)
class Reused:
    """The homes of a batch whose findings come from the earlier run, with those findings and their counts."""

    homes: list[str]
    findings: pa.Table
    contradicted: pa.Table
    stats: Stats


def reuse_previous(con: duckdb.DuckDBPyConnection, job: Job, index: int, hashes: pa.Table) -> Reused:
    """Find the reusable homes of the batch in ``con`` and read their findings from ``job.since``."""
    assert job.since is not None and job.since_as_of is not None
    since = Path(job.since)
    previous = _previous_state(since, index, hashes.column("home_id"))
    low, high = sorted((job.since_as_of, job.as_of))
    con.register("_hashes", hashes)
    con.register("_previous", previous)
    try:
        rows = con.execute(
            """select h.home_id, p.part, p.contradicted from _hashes as h
               join _previous as p on p.home_id = h.home_id and p.content_hash = h.content_hash
               where not exists (select 1 from accepted_risks as ar where ar.home_id = h.home_id and ar.expires >= ? and ar.expires < ?)
               order by h.home_id""",
            [low, high],
        ).fetchall()
    finally:
        con.unregister("_hashes")
        con.unregister("_previous")
    homes = [str(r[0]) for r in rows]
    by_part: dict[int, list[str]] = {}
    for home, part, _ in rows:
        by_part.setdefault(int(part), []).append(str(home))
    findings = [_rows_of(since / FINDINGS_DIR / f"part-{part:05d}.parquet", ids) for part, ids in sorted(by_part.items())]
    contradicted = pa.table(
        {"home_id": [str(r[0]) for r in rows for _ in r[2]], "control_id": [c for r in rows for c in r[2]]}, schema=CONTRADICTED_SCHEMA
    )
    if not homes:
        return Reused([], pa.table({}), contradicted, {})
    found = pa.concat_tables(findings, promote_options="permissive") if findings else None
    return Reused(homes, found if found is not None else pa.table({}), contradicted, _stats(con, homes, found, contradicted))


def _rows_of(path: Path, homes: list[str]) -> pa.Table:
    """The rows of these homes in a findings part (read whole and filtered: a filter on read costs more)."""
    table = pq.read_table(path).replace_schema_metadata(None)
    return table.filter(pc.is_in(table.column("home_id"), value_set=pa.array(homes, pa.string())))


def _previous_state(since: Path, index: int, home_ids: pa.ChunkedArray) -> pa.Table:
    """The earlier run's state rows of these homes, with the part they were in: the same part first, then the parts
    that :func:`_home_parts` says hold the others (a home new tonight costs no read)."""
    wanted = set(home_ids.to_pylist())
    found: list[pa.Table] = []

    def take(part: int) -> None:
        nonlocal wanted
        table = pq.read_table(since / STATE_DIR / f"part-{part:05d}.parquet", schema=STATE_SCHEMA)
        table = table.filter(pc.is_in(table.column("home_id"), value_set=pa.array(sorted(wanted), pa.string())))
        if table.num_rows:
            found.append(table.append_column("part", pa.array([part] * table.num_rows, pa.int32())))
            wanted -= set(table.column("home_id").to_pylist())

    if (since / STATE_DIR / f"part-{index:05d}.parquet").exists():
        take(index)
    if wanted:
        where = _home_parts(since)
        elsewhere = where.filter(pc.is_in(where.column("home_id"), value_set=pa.array(sorted(wanted), pa.string())))
        for part in sorted(set(elsewhere.column("part").to_pylist()) - {index}):
            take(part)
    if not found:
        return STATE_SCHEMA.append(pa.field("part", pa.int32())).empty_table()
    return pa.concat_tables(found)


_HOME_PARTS: dict[tuple[str, bytes], pa.Table] = {}


def _home_parts(since: Path) -> pa.Table:
    """Which state part of the earlier run holds each home (``home_id``, ``part``), read once per process and run."""
    key = (str(since), (since / STATE_DIR / RUN_FILE).read_bytes())
    if key not in _HOME_PARTS:
        _HOME_PARTS.clear()
        tables = []
        for path in sorted((since / STATE_DIR).glob("part-*.parquet")):
            stem = path.name.removeprefix("part-").removesuffix(".parquet")
            if stem.isdigit():
                ids = pq.read_table(path, columns=["home_id"]).column("home_id")
                tables.append(pa.table({"home_id": ids, "part": pa.array([int(stem)] * len(ids), pa.int32())}))
        empty = pa.schema([pa.field("home_id", pa.string()), pa.field("part", pa.int32())]).empty_table()
        _HOME_PARTS[key] = pa.concat_tables(tables).combine_chunks() if tables else empty
    return _HOME_PARTS[key]


def _stats(con: duckdb.DuckDBPyConnection, homes: list[str], findings: pa.Table | None, contradicted: pa.Table) -> Stats:
    """The summary counts of the reused homes, as :func:`batch_stats` gives them for assessed homes."""
    con.register("_reused", pa.table({"home_id": pa.array(homes, pa.string())}))
    try:
        equipment = con.sql(
            """select home_id, 'gateway' as asset_kind, 'hub' as type, vendor, model, firmware
               from gateways where home_id in (select home_id from _reused)
               union all
               select home_id, 'device' as asset_kind, type, vendor, model, firmware
               from devices where home_id in (select home_id from _reused)"""
        ).to_arrow_table()
        vulnerable = vulnerable_rows(con, homes="_reused").to_arrow_table()
    finally:
        con.unregister("_reused")
    counts = duckdb.connect(":memory:")
    try:
        counts.register("fleet_findings", findings)
        counts.register("fleet_contradicted", contradicted)
        counts.register("equipment", equipment)
        counts.register(VULNERABLE_TABLE, vulnerable)
        counts.register("homes", pa.table({"home_id": pa.array(homes, pa.string())}))
        return batch_stats(counts)
    finally:
        counts.close()


def drop_homes(con: duckdb.DuckDBPyConnection, homes: list[str]) -> None:
    """Delete every row of these homes from the tables in ``con`` (their findings are reused)."""
    con.register("_drop", pa.table({"home_id": pa.array(homes, pa.string())}))
    try:
        for name in FLEET_TABLES:
            con.execute(f"delete from {name} where home_id in (select home_id from _drop)")
    finally:
        con.unregister("_drop")


def write_state(outdir: Path, index: int, hashes: pa.Table, contradicted: pa.Table) -> None:
    """Write the batch's state part: each home's content hash and contradicted items (sorted)."""
    by_home: dict[str, list[str]] = {}
    for home, control in zip(contradicted.column("home_id").to_pylist(), contradicted.column("control_id").to_pylist(), strict=True):
        by_home.setdefault(str(home), []).append(str(control))
    homes = hashes.column("home_id").to_pylist()
    table = pa.table(
        {
            "home_id": hashes.column("home_id"),
            "content_hash": hashes.column("content_hash"),
            "contradicted": pa.array([sorted(by_home.get(h, [])) for h in homes], pa.list_(pa.string())),
        },
        schema=STATE_SCHEMA,
    )
    out = outdir / STATE_DIR / f"part-{index:05d}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(out)
