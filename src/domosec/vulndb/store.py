"""The local vulnerability store: one DuckDB file built from OSV dumps, NVD CVE 2.0 feeds, CISA KEV and an EOL table.

Nothing is fetched: every input is a file the user downloaded, read by :mod:`domosec.vulndb.feeds` one
record at a time into a :class:`StoreWriter`, which inserts the rows in batches, so the memory an import
needs does not grow with its inputs. The store is written to a temporary file beside its name and renamed,
so a failed import leaves the previous store as it was. Its ``meta`` table keeps the build time, the date of
the newest record (the data's age is measured from it) and the sources.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from domosec.errors import Diagnostic, InputError

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
TABLES = ("vulns", "affected", "cpe_ranges", "kev", "eol")
FORMAT = "domosec-vulndb-2"


def _fail(name: str, code: str, message: str) -> InputError:
    return InputError([Diagnostic(name, None, None, code, message)])


class Sink(Protocol):
    """Where the readers of :mod:`domosec.vulndb.feeds` put rows: a :class:`StoreWriter`, or :class:`Rows`."""

    sources: set[str]

    def add(self, table: str, row: tuple[Any, ...]) -> None: ...

    def saw(self, date: Any) -> None: ...


def _newer(newest: str, date: Any) -> str:
    text = str(date or "")[:10]
    return text if len(text) == 10 and text > newest else newest


@dataclass
class Rows:
    """The rows of each table held in memory (small inputs, tests); :func:`write_store` writes them as a store."""

    vulns: list[tuple[Any, ...]] = field(default_factory=list)
    affected: list[tuple[Any, ...]] = field(default_factory=list)
    cpe_ranges: list[tuple[Any, ...]] = field(default_factory=list)
    kev: list[tuple[Any, ...]] = field(default_factory=list)
    eol: list[tuple[Any, ...]] = field(default_factory=list)
    newest: str = ""
    sources: set[str] = field(default_factory=set)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        getattr(self, table).append(row)

    def saw(self, date: Any) -> None:
        self.newest = _newer(self.newest, date)


class StoreWriter:
    """A store being written: rows go into DuckDB in batches of ``batch_rows`` a table, under a DuckDB memory
    limit, so the memory an import takes is bounded however large its inputs are.

    Used as a context manager: the store is written to a temporary file beside ``output`` and renamed into
    place when the block ends without an error; after an error the temporary file is removed and a previous
    store at ``output`` is left as it was.
    """

    def __init__(self, output: Path, *, batch_rows: int = 20_000, memory_limit: str = "128MB") -> None:
        import duckdb

        self.output, self.batch_rows = output, batch_rows
        self.temp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        self._remove_temp()
        self.con = duckdb.connect(str(self.temp), config={"memory_limit": memory_limit})
        self.con.execute(SCHEMA)
        self.columns = {t: [c[0] for c in self.con.execute(f"select * from {t} limit 0").description] for t in TABLES}
        self.pending: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self.newest = ""
        self.sources: set[str] = set()

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        batch = self.pending[table]
        batch.append(row)
        if len(batch) >= self.batch_rows:
            self.flush(table)

    def saw(self, date: Any) -> None:
        self.newest = _newer(self.newest, date)

    def flush(self, table: str) -> None:
        """Insert the pending rows of ``table`` (one statement, the columns as lists)."""
        rows, self.pending[table] = self.pending[table], []
        if not rows:
            return
        lists = [list(col) for col in zip(*rows, strict=True)]
        select = ", ".join(f"unnest(${i + 1}) as {c}" for i, c in enumerate(self.columns[table]))
        self.con.execute(f"insert into {table} select {select}", lists)
        from domosec.vulndb.versions import sort_key, version_key

        sort_key.cache_clear()  # the version caches would otherwise grow with every distinct version of the data
        version_key.cache_clear()

    def finish(self) -> None:
        """Insert the last batches, the best-of table and the metadata, and rename the store into place."""
        for table in TABLES:
            self.flush(table)
        self.con.execute(
            "create table vuln_best as select id, any_value(aliases order by source desc) as aliases, "
            "max(cvss) as cvss, min(case severity when 'critical' then 1 when 'high' then 2 when 'medium' then 3 "
            "when 'low' then 4 else 5 end) as rank from vulns group by id"
        )
        meta = {
            "format": FORMAT,
            "built_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "data_date": self.newest,
            "sources": ",".join(sorted(self.sources)),
        }
        self.con.executemany("insert into meta values (?, ?)", sorted(meta.items()))
        self.con.close()
        os.replace(self.temp, self.output)

    def _remove_temp(self) -> None:
        self.temp.unlink(missing_ok=True)
        Path(f"{self.temp}.wal").unlink(missing_ok=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.finish()
        finally:
            self.con.close()
            self._remove_temp()


def write_store(rows: Rows, output: Path) -> None:
    """Write the rows held in ``rows`` as a fresh store at ``output``."""
    with StoreWriter(output) as store:
        for table in TABLES:
            for row in getattr(rows, table):
                store.add(table, row)
        store.newest, store.sources = rows.newest, set(rows.sources)


def normal_name(ecosystem: str, name: str) -> str:
    """The package name as matched: PyPI names normalised (PEP 503), others lower-cased except Go and Maven."""
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))
    if base in ("Go", "Maven"):
        return name
    return name.lower()


def store_info(path: Path) -> dict[str, str | int]:
    """The store's metadata and row counts (``store-invalid`` if it is not a store)."""
    con = open_store(path)
    try:
        info: dict[str, str | int] = dict(con.execute("select key, value from meta order by key").fetchall())
        for table in TABLES:
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
    if fmt is None or fmt[0] != FORMAT:
        con.close()
        raise _fail(name, "vulndb-invalid", "not a domosec vulnerability store (format)")
    return con
