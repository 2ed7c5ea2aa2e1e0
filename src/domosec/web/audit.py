"""The append-only audit log: every change, chained by SHA-256 so an edit or a deletion shows.

Each entry's hash covers its own fields and the previous entry's hash; entries are numbered from 1
without gaps (the number is the primary key, so two writers cannot both append entry N). An entry
is written in the same transaction as the change it records. :func:`verify` walks the chain and
names the first entry that does not match; a deleted last entry is detected by comparing the head
with one recorded earlier (``domosec audit verify --expect-head``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from domosec.web.db import AuditEntry, utcnow

GENESIS = "0" * 64
PAGE_SIZE = 100
"""The project's audit page and API list this many entries at a time, newest first."""


def entry_hash(seq: int, at: str, actor: str, action: str, project_id: int | None, detail: str, prev_hash: str) -> str:
    fields = [seq, at, actor, action, project_id, detail, prev_hash]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode("ascii")).hexdigest()


def record(db: Session, actor: str, action: str, project_id: int | None = None, **detail: Any) -> AuditEntry:
    """Append an entry (flushed, committed with the caller's transaction). ``detail`` must hold no secret."""
    _serialise_appends(db)
    last = db.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    seq = last.seq + 1 if last else 1
    prev = last.hash if last else GENESIS
    at = utcnow().isoformat() + "Z"
    details = json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        project_id=project_id,
        detail=details,
        prev_hash=prev,
        hash=entry_hash(seq, at, actor, action, project_id, details, prev),
    )
    db.add(entry)
    db.flush()
    return entry


def _serialise_appends(db: Session) -> None:
    """One appender at a time until its transaction ends, so two changes never both take entry N.

    SQLite already has one writer at a time (the change before this call has taken the write lock);
    PostgreSQL takes a transaction-scoped advisory lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("select pg_advisory_xact_lock(27403)"))


def project_entries(db: Session, project_id: int, before: int | None = None, limit: int = PAGE_SIZE) -> list[AuditEntry]:
    """Up to ``limit`` + 1 entries of the project, newest first, older than entry ``before`` (the newest when ``None``);
    the extra one says there are more. Entries never hold a secret (:func:`record`), so they may be shown to owners."""
    query = select(AuditEntry).where(AuditEntry.project_id == project_id)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return list(db.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit + 1)))


@dataclass(frozen=True)
class Verdict:
    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(db: Session, expect_head: str | None = None) -> Verdict:
    """Check every entry in order: numbering, link to the previous entry, own hash."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000):
        count += 1
        if entry.seq != count:
            problems.append(f"entry {count} is missing (the next one is {entry.seq}): an entry was deleted")
            count = entry.seq
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq} does not follow the entry before it: an entry was deleted or changed")
        if entry_hash(entry.seq, entry.at, entry.actor, entry.action, entry.project_id, entry.detail, entry.prev_hash) != entry.hash:
            problems.append(f"entry {entry.seq} ({entry.action}) was changed after it was written")
        prev = entry.hash
        if len(problems) >= 20:
            break
    if expect_head is not None and expect_head != prev and not any(expect_head == e for e in _hashes(db)):
        problems.append(f"the recorded head {expect_head[:16]}… is no longer in the log: entries were deleted or changed")
    return Verdict(count, prev, problems)


def _hashes(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.hash)))
