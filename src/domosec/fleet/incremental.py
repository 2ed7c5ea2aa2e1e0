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

The hashes are taken over the rows as read, before the checks (:class:`Unchanged` runs inside
:func:`domosec.fleet.source.open_batch`), and the reused homes are taken out of the tables there:
only the changed homes are checked and assessed. A home the earlier run rejected and whose rows are
the same is rejected again with the reasons kept in the state. The reused homes' rows are taken
from the earlier findings part home by home, in order (the part is sorted by home), and merged with
the new rows without sorting them again; their counts for the summary are the earlier batch's counts less
those of the homes not reused (:mod:`domosec.fleet.reused_counts`).
The output has the same bytes as a full run (``tests/fleet/test_incremental.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domosec import __version__
from domosec.engine.ruleset import LoadedRule
from domosec.engine.scoring import Matrix
from domosec.errors import InputError
from domosec.fleet.aggregate import Stats, merge_stats
from domosec.fleet.engine import FINDINGS_SCHEMA, BatchResult
from domosec.fleet.layout import FLEET_TABLES, part_file
from domosec.fleet.outdir import FINDINGS_DIR, STATE_DIR, recover, run_names
from domosec.fleet.reused_counts import Earlier, reused_stats
from domosec.fleet.source import Batch, RejectRecord
from domosec.fleet.state_parts import CONTRADICTED_SCHEMA, RUN_FILE, previous_state
from domosec.fleet.unchanged_parts import read_record, state_digests
from domosec.fleet.vulnerabilities import vulnerable_rows
from domosec.output_file import output_problem

if TYPE_CHECKING:
    from domosec.fleet.batch import Job

STATE_VERSION = 3
"""1: per-home state only; 2: part records and the state files' digests in ``run.json``; 3: hashes of the rows as
read (before the checks) and the rejected homes with their reasons."""
HASH_SCHEMA = pa.schema([pa.field("home_id", pa.string()), pa.field("content_hash", pa.string())])
_CODE = (
    ("domosec.engine", "views.sql"),
    ("domosec.fleet", "engine.py"),
    ("domosec.fleet", "rating.py"),
    ("domosec.fleet", "reused_counts.py"),
    ("domosec.fleet", "state_parts.py"),
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
    fleet exported to a new file each night still counts as unchanged. Rows without a home are left out.
    """
    keep_source = reads_source_file(rules)

    def rows_of(name: str) -> str:
        return f"{name} as t" if name != "homes" or keep_source else "(select * exclude (source_file) from homes) as t"

    rows = " union all ".join(f"select home_id, hash(t, '{name}')::hugeint as h from {rows_of(name)}" for name in FLEET_TABLES)
    table: pa.Table = con.sql(
        f"select home_id, cast(sum(h) as varchar) || ':' || cast(count(*) as varchar) as content_hash "
        f"from ({rows}) where home_id is not null group by home_id order by home_id"
    ).to_arrow_table()
    return table.cast(HASH_SCHEMA)


def reads_source_file(rules: list[LoadedRule]) -> bool:
    """Whether a rule can show the name of the file a home was read from."""
    return any("source_file" in lr.rule.query.lower() for lr in rules)


@dataclass
class Unchanged:
    """The homes of one batch, hashed as read; with ``--since``, those whose findings or reasons are reused.

    :func:`domosec.fleet.source.open_batch` calls it on the loaded tables before the checks; it takes the
    reused homes out of the tables, so only the changed homes are checked and assessed.
    """

    job: Job
    batch: Batch
    hashes: pa.Table = field(default_factory=HASH_SCHEMA.empty_table)
    """Every home of the batch (for JSON Lines: every valid one) and its content hash."""
    homes: list[str] = field(default_factory=list)
    """The reused homes that were assessed, sorted."""
    parts: dict[int, set[str]] = field(default_factory=dict)
    """Earlier findings part → the reused homes whose rows it holds."""
    contradicted: pa.Table = field(default_factory=CONTRADICTED_SCHEMA.empty_table)
    rejects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The reused homes that were rejected, with the earlier run's reasons."""
    expires: list[dt.date] = field(default_factory=list)
    """The last days of the reused homes' acceptances (for the part record)."""
    equipment: pa.Table | None = None
    vulnerable: pa.Table | None = None

    def __call__(self, con: duckdb.DuckDBPyConnection) -> int:
        """Hash every home; take the reusable ones out of the tables; return how many."""
        self.hashes = content_hashes(con, self.job.rules)
        if self.job.since is None or self.job.since_as_of is None:
            return 0
        # A home set aside as a second copy is checked again (its reason names the other part), and so is a home
        # without an ID, whose reasons sort apart from the others'.
        skip = pa.array(["", *(home for home, _ in self.batch.duplicate_homes)], pa.string())
        candidates = self.hashes.filter(pc.invert(pc.is_in(self.hashes.column("home_id"), value_set=skip)))
        previous = previous_state(Path(self.job.since), self.batch.index, candidates.column("home_id"))
        low, high = sorted((self.job.since_as_of, self.job.as_of))
        # JSON Lines batches hold only valid homes here: their rejects come from reading the lines.
        rejected = "true" if self.batch.kind == "parquet" else "p.reasons is null"
        con.register("_hashes", candidates)
        con.register("_previous", previous)
        try:
            rows = con.execute(
                f"""select h.home_id, p.part, p.contradicted, p.reasons from _hashes as h
                   join _previous as p on p.home_id = h.home_id and p.content_hash = h.content_hash
                   where ({rejected}) and not exists (
                     select 1 from accepted_risks as ar where ar.home_id = h.home_id and ar.expires >= ? and ar.expires < ?)
                   order by h.home_id""",
                [low, high],
            ).fetchall()
        finally:
            con.unregister("_hashes")
            con.unregister("_previous")
        pairs: list[tuple[str, str]] = []
        for home, part, contradicted, reasons in rows:
            if reasons is None:
                self.homes.append(home)
                self.parts.setdefault(int(part), set()).add(home)
                pairs += [(home, c) for c in contradicted]
            else:
                self.rejects[home] = tuple(reasons)
        self.contradicted = pa.table({"home_id": [h for h, _ in pairs], "control_id": [c for _, c in pairs]}, schema=CONTRADICTED_SCHEMA)
        if self.homes:
            self._keep_counts(con)
        drop_homes(con, [str(r[0]) for r in rows])
        return len(rows)

    def _keep_counts(self, con: duckdb.DuckDBPyConnection) -> None:
        """What the summary counts of the reused homes besides their findings, read before their rows are deleted."""
        con.register("_reused", pa.table({"home_id": pa.array(self.homes, pa.string())}))
        try:
            self.equipment = con.sql(
                """select home_id, 'gateway' as asset_kind, 'hub' as type, vendor, model, firmware
                   from gateways where home_id in (select home_id from _reused)
                   union all
                   select home_id, 'device' as asset_kind, type, vendor, model, firmware
                   from devices where home_id in (select home_id from _reused)"""
            ).to_arrow_table()
            self.vulnerable = vulnerable_rows(con, homes="_reused").to_arrow_table()
            self.expires = [
                d
                for (d,) in con.execute(
                    "select distinct expires from accepted_risks where expires is not null and home_id in (select home_id from _reused)"
                ).fetchall()
            ]
        finally:
            con.unregister("_reused")

    def all_rejects(self, checked: list[RejectRecord]) -> list[RejectRecord]:
        """The batch's rejects as a full run lists them: the checked ones and the reused ones, by home."""
        if not self.rejects:
            return checked
        source = str(Path(self.batch.path) / part_file("homes", self.batch.part))
        reused = [RejectRecord(source, home, reasons) for home, reasons in self.rejects.items()]
        return sorted([*checked, *reused], key=lambda r: r.home_id or "")

    def combine(self, result: BatchResult | None) -> tuple[pa.Table, pa.Table, Stats]:
        """The findings, contradicted controls and counts of the whole batch: the assessed homes' and the reused ones'."""
        if not self.homes:
            assert result is not None
            return result.findings.combine_chunks(), _pairs(result.contradicted), result.stats
        assert self.job.since is not None
        since = Path(self.job.since)
        earlier = []
        for part, keep in sorted(self.parts.items()):
            table = pq.read_table(since / FINDINGS_DIR / f"part-{part:05d}.parquet").replace_schema_metadata(None)
            record = read_record(since, part) if part == self.batch.index else None
            if record is None:
                earlier.append(Earlier(table, keep))
                continue
            # The batch sat here in the earlier run too: its counts less those of the homes not reused (reused_counts).
            state = pq.read_table(since / STATE_DIR / f"part-{part:05d}.parquet", columns=["home_id", "reasons"])
            homes = state.filter(pc.is_null(state.column("reasons"))).column("home_id").to_pylist()
            earlier.append(Earlier(table, keep, record["stats"], tuple(homes)))
        assert self.equipment is not None and self.vulnerable is not None
        counts = reused_stats(self.homes, earlier, contradicted=self.contradicted, equipment=self.equipment, vulnerable=self.vulnerable)
        stats = [counts]
        contradicted = self.contradicted
        sources: list[tuple[pa.Table, set[str] | None]] = [(e.table, e.keep) for e in earlier]
        if result is not None:
            sources.append((result.findings, None))
            contradicted = pa.concat_tables([_pairs(result.contradicted), contradicted])
            stats.insert(0, result.stats)
        return merge_by_home(sources), contradicted, merge_stats(stats)


def _pairs(contradicted: pa.Table) -> pa.Table:
    return contradicted.select(["home_id", "control_id"]).cast(CONTRADICTED_SCHEMA)


def merge_by_home(sources: list[tuple[pa.Table, set[str] | None]]) -> pa.Table:
    """Findings tables, each sorted as a findings part is, merged into one sorted table without sorting the rows.

    Each source gives the homes to take from it (None: all); the homes of different sources differ. A part
    is sorted by home first, so a home's rows are one run: the runs are put in order of their home and the
    rows taken in one pass.
    """
    runs: list[tuple[str, int, int]] = []
    offset = 0
    for table, keep in sources:
        column = table.column("home_id").combine_chunks()
        if len(column):
            encoded = column.dictionary_encode()
            codes = encoded.indices.to_numpy()
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            ends = np.r_[starts[1:], len(codes)]
            names = encoded.dictionary.take(pa.array(codes[starts])).to_pylist()
            runs += [
                (name, offset + int(a), int(b - a)) for name, a, b in zip(names, starts, ends, strict=True) if keep is None or name in keep
            ]
        offset += table.num_rows
    runs.sort()  # by home: Python orders text by code point, which is the byte order of UTF-8, as SORT_KEYS
    # Runs that follow each other in one source are sliced out together: a few slices copied once, not a take of every row.
    slices: list[tuple[int, int]] = []
    for _, first, length in runs:
        if slices and slices[-1][0] + slices[-1][1] == first:
            slices[-1] = (slices[-1][0], slices[-1][1] + length)
        else:
            slices.append((first, length))
    combined = pa.concat_tables([table.cast(FINDINGS_SCHEMA) for table, _ in sources])
    return pa.concat_tables([combined.slice(first, length) for first, length in slices] or [combined.slice(0, 0)]).combine_chunks()


def drop_homes(con: duckdb.DuckDBPyConnection, homes: list[str]) -> None:
    """Delete every row of these homes from the tables in ``con`` (their findings are reused)."""
    if not homes:
        return
    con.register("_drop", pa.table({"home_id": pa.array(homes, pa.string())}))
    try:
        for name in FLEET_TABLES:
            con.execute(f"delete from {name} where home_id in (select home_id from _drop)")
    finally:
        con.unregister("_drop")
