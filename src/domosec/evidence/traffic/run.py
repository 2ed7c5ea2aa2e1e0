"""Reading a capture end to end: open it, stream its packets into the flow table, analyse; and the ``--devices`` file."""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

from domosec.errors import Diagnostic, InputError
from domosec.evidence.scan.matching import normal_mac
from domosec.evidence.traffic.analyse import Analysis, analyse
from domosec.evidence.traffic.capture import ReadStats, read_records
from domosec.evidence.traffic.destinations import TrackerLists
from domosec.evidence.traffic.flows import FlowTable
from domosec.evidence.traffic.geoip import GeoIP

MAX_DEVICES_FILE = 4 * 1024 * 1024


def read_capture(
    path: Path,
    *,
    trackers: TrackerLists | None = None,
    geoip: GeoIP | None = None,
    max_flows: int = 500_000,
    progress: Callable[[int, int], None] | None = None,
) -> Analysis:
    """The analysis of the capture at ``path``; a file that cannot be opened is an input error, a damaged one a warning."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise InputError([Diagnostic(str(path), None, None, "not-a-file", "the capture must be a regular file")])
        stream = path.open("rb")
    except FileNotFoundError:
        raise InputError([Diagnostic(str(path), None, None, "file-not-found", "no such file")]) from None
    except OSError as exc:
        raise InputError([Diagnostic(str(path), None, None, "unreadable", exc.strerror or str(exc))]) from None
    stats = ReadStats()
    table = FlowTable(max_flows=max_flows)
    total = st.st_size
    from domosec.evidence.traffic.bulk import add_batch

    with stream:
        for record in read_records(stream, stats, (lambda done: progress(done, total)) if progress else None):
            add_batch(table, record)
    table.finish()
    if not stats.format:
        reason = stats.warnings[0] if stats.warnings else "not a capture"
        raise InputError([Diagnostic(str(path), None, None, "not-a-capture", reason)])
    if table.unknown_linktypes:
        stats.warnings.append(f"packets of unknown link types {sorted(table.unknown_linktypes)} were counted but not decoded")
    if table.overflow_packets:
        stats.warnings.append(f"more than {max_flows} flows: {table.overflow_packets} packets of further flows were counted only")
    stats.warnings.extend(table.reading_warnings())
    return analyse(table, stats, trackers, geoip)


def read_device_names(path: Path) -> dict[str, str]:
    """``mac,name`` rows (a header row is allowed) → {normalised MAC: name}; bad rows are input errors with their line."""
    try:
        if os.stat(path).st_size > MAX_DEVICES_FILE:
            raise InputError([Diagnostic(str(path), None, None, "file-too-large", f"larger than {MAX_DEVICES_FILE} bytes")])
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError([Diagnostic(str(path), None, None, "file-not-found", "no such file")]) from None
    except OSError as exc:
        raise InputError([Diagnostic(str(path), None, None, "unreadable", exc.strerror or str(exc))]) from None
    except UnicodeDecodeError:
        raise InputError([Diagnostic(str(path), None, None, "not-utf8", "the devices file is not UTF-8 text")]) from None
    names: dict[str, str] = {}
    problems = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
            continue
        mac = normal_mac(row[0])
        if not mac:
            if number == 1 and row[0].strip().lower() == "mac":
                continue
            problems.append(Diagnostic(str(path), number, 1, "bad-mac", f"not a MAC address: {row[0].strip()[:40]!r}"))
            continue
        if len(row) < 2 or not row[1].strip():
            problems.append(Diagnostic(str(path), number, len(row[0]) + 2, "missing-name", "a device name must follow the MAC address"))
            continue
        names[mac] = row[1].strip()
    if problems:
        raise InputError(problems)
    return names
