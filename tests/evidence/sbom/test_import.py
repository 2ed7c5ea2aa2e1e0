"""`vulndb import` streams its inputs: the same store whatever the batch size or the OSV layout, and a failed
import keeps the previous store. (Peak memory is measured by bench/sbom.py, `make bench-sbom`.)"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from domosec.errors import InputError
from domosec.vulndb.feeds import read_eol, read_kev, read_nvd, read_osv
from domosec.vulndb.store import TABLES, Rows, StoreWriter, write_store
from tests.conftest import run_cli

from .conftest import DATA

RECORDS = sorted((DATA / "osv").glob("*.json"))


def _content(store: Path) -> dict[str, Any]:
    """Every row of every table, sorted (row order is not part of a store's content); meta without the build time."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        content = {t: sorted(map(repr, con.execute(f"select * from {t}").fetchall())) for t in (*TABLES, "vuln_best")}
        content["meta"] = con.execute("select * from meta where key <> 'built_at' order by key").fetchall()
        return content
    finally:
        con.close()


def _read_all(sink: Any, osv: Path) -> None:
    read_osv(osv, sink, max_bytes=1 << 24)
    read_nvd(DATA / "nvdcve-2.0-sample.json", sink, max_bytes=1 << 24)
    read_kev(DATA / "kev.json", sink, max_bytes=1 << 24)
    read_eol(DATA / "eol.json", sink, max_bytes=1 << 24)


def test_the_store_is_the_same_whatever_the_batches_and_the_osv_layout(tmp_path: Path) -> None:
    archive, array = tmp_path / "all.zip", tmp_path / "osv.json"
    with zipfile.ZipFile(archive, "w") as zf:
        for record in RECORDS:
            zf.write(record, record.name)
    array.write_text(json.dumps([json.loads(r.read_text()) for r in RECORDS], indent=1))
    rows = Rows()  # everything in memory, one insert per table
    _read_all(rows, archive)
    write_store(rows, tmp_path / "memory.duckdb")
    expected = _content(tmp_path / "memory.duckdb")
    assert len(expected["vulns"]) == len(RECORDS) + 11 and len(expected["affected"]) == 19
    for name, osv, batch in (("one-row.duckdb", archive, 1), ("seven.duckdb", array, 7), ("default.duckdb", array, 20_000)):
        with StoreWriter(tmp_path / name, batch_rows=batch) as store:
            _read_all(store, osv)
        assert _content(tmp_path / name) == expected, name


def test_a_failed_import_keeps_the_previous_store(tmp_path: Path) -> None:
    store = tmp_path / "vulns.duckdb"
    assert run_cli("vulndb", "import", "--kev", DATA / "kev.json", "-o", store).returncode == 0
    before = _content(store)
    feed = tmp_path / "nvd.json"
    good = json.loads((DATA / "nvdcve-2.0-sample.json").read_text())
    feed.write_text(json.dumps(good)[:-40])  # cut short after some records: they were read, then the error
    result = run_cli("vulndb", "import", "--kev", DATA / "kev.json", "--nvd", feed, "-o", store)
    assert result.returncode == 2
    assert f"{feed}: error[vulndb-invalid]: not valid JSON" in result.stderr and "Traceback" not in result.stderr
    assert _content(store) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nvd.json", "vulns.duckdb"]  # no temporary file left


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"resultsPerPage": 0, "vulnerabilities": []}', None),  # an NVD feed of no CVEs
        ('{"resultsPerPage": 0}', "vulndb-invalid"),
        ('{"vulnerabilities": [{"cve": {"id": "CVE-1", "metrics": {"cvssMetricV31": [{"cvssData": {}}]}}}]}', "vulndb-invalid"),
        ('{"vulnerabilities": [{"cve": {"id": "CVE-1"}}, ]}', "vulndb-invalid"),
    ],
)
def test_nvd_feeds_are_checked_as_they_stream(tmp_path: Path, text: str, code: str | None) -> None:
    feed = tmp_path / "nvd.json"
    feed.write_text(text)
    rows = Rows()
    if code is None:
        read_nvd(feed, rows, max_bytes=1 << 20)
        assert rows.vulns == [] and rows.sources == {"nvd"}
        return
    with pytest.raises(InputError) as info:
        read_nvd(feed, rows, max_bytes=1 << 20)
    assert info.value.diagnostics[0].code == code


def test_input_limits(tmp_path: Path) -> None:
    array = tmp_path / "osv.json"
    array.write_text(json.dumps([json.loads(r.read_text()) for r in RECORDS]))
    with pytest.raises(InputError) as info:
        read_osv(array, Rows(), max_bytes=1000)
    assert info.value.diagnostics[0].code == "file-too-large"
    fifo = tmp_path / "feed.fifo"  # a pipe has no size to check first: it is cut off at the limit
    os.mkfifo(fifo)
    data = json.dumps({"vulnerabilities": [{"cve": {"id": f"CVE-2099-{i}"}} for i in range(5000)]}).encode()
    writer = threading.Thread(target=lambda: _write_ignoring_close(fifo, data))
    writer.start()
    try:
        with pytest.raises(InputError) as info:
            read_nvd(fifo, Rows(), max_bytes=50_000)
        assert info.value.diagnostics[0].code == "input-too-large"
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # let the writer finish if it still waits
        writer.join(timeout=30)


def _write_ignoring_close(fifo: Path, data: bytes) -> None:
    try:
        with open(fifo, "wb") as out:
            out.write(data)
    except BrokenPipeError:
        pass


def test_hostile_osv_zips(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"  # 20 MB of zeros in a ~20 kB member: refused while it inflates
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(RECORDS[0].name, RECORDS[0].read_bytes())
        zf.writestr("GHSA-bomb.json", b"[" + b" " * (20 << 20) + b"]")
    assert bomb.stat().st_size < 100_000
    cut = tmp_path / "cut.zip"
    whole = _zip_bytes(tmp_path)
    cut.write_bytes(whole[: len(whole) // 2])  # a download cut short, in the middle of a record
    for path, code, where in ((bomb, "vulndb-record-too-large", f"{bomb}:GHSA-bomb.json"), (cut, "vulndb-invalid", str(cut))):
        with pytest.raises(InputError) as info:
            read_osv(path, Rows(), max_bytes=1 << 24)
        diagnostic = info.value.diagnostics[0]
        assert (diagnostic.code, diagnostic.file) == (code, where)


def _zip_bytes(tmp_path: Path) -> bytes:
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for record in RECORDS:
            zf.write(record, record.name)
    return archive.read_bytes()
