"""IP fragment reassembly (IPv4 and IPv6), bounded in time and memory, so a fragmented datagram is read whole.

Policy (what a host's stack does since Linux 4.19, and RFC 5722 requires for IPv6):

- A datagram is keyed by IP version, addresses, protocol (IPv4) and identification.
- A fragment that repeats one already held (same offset and bytes) is a retransmission: counted, ignored.
  A fragment that overlaps another in any other way makes the whole datagram suspect: it is dropped.
- A datagram waits at most :data:`TIMEOUT_NS` of capture time after its first fragment (Linux waits 30 s
  for IPv4, RFC 8200 60 s for IPv6); a datagram larger than 65,535 bytes, or cut into more than
  :data:`MAX_PIECES` fragments (each fragment is checked against those held), is dropped.
- At most :data:`MAX_HELD` bytes and :data:`MAX_DATAGRAMS` datagrams wait at once; beyond that the
  oldest is dropped first.

A dropped or unfinished datagram is still counted: its fragments go to the flow its first fragment
names (the transport header is in it) without deep parsing, or are counted as lost when that first
fragment never came.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from domosec.evidence.traffic.decode import Fragment

TIMEOUT_NS = 30_000_000_000
MAX_HELD = 4 * 1024 * 1024
MAX_DATAGRAMS = 4096
MAX_SIZE = 65_535
MAX_PIECES = 256

Key = tuple[int, str, str, int, int]


@dataclass
class Datagram:
    """The fragments of one datagram seen so far: pieces by offset, frame counts, wire bytes and times."""

    proto: int
    src: str
    dst: str
    src_mac: str
    dst_mac: str
    first_ns: int
    last_ns: int = 0
    pieces: dict[int, bytes] = field(default_factory=dict)
    end: int = -1  # the datagram's size, once the last fragment came
    frames: int = 0
    wire_bytes: int = 0
    held: int = 0
    outcome: str = ""  # "", "complete", "overlap", "timeout", "memory", "too-large", "too-many", "unfinished"

    def whole(self) -> bytes | None:
        """The datagram's bytes when every piece is here (no gap up to the end), else None."""
        if self.end < 0:
            return None
        covered = 0
        for offset in sorted(self.pieces):
            if offset > covered:
                return None
            covered = max(covered, offset + len(self.pieces[offset]))
        if covered < self.end:
            return None
        return b"".join(self.pieces[o] for o in sorted(self.pieces))[: self.end]


@dataclass
class Reassembler:
    """Datagrams waiting for fragments; :meth:`add` returns the datagrams that are finished (whole or given up)."""

    timeout_ns: int = TIMEOUT_NS
    max_held: int = MAX_HELD
    max_datagrams: int = MAX_DATAGRAMS
    waiting: OrderedDict[Key, Datagram] = field(default_factory=OrderedDict)
    held: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # outcome → datagrams given up

    def add(self, proto: int, src: str, dst: str, src_mac: str, dst_mac: str, piece: Fragment, ts_ns: int, length: int) -> list[Datagram]:
        done = self._expire(ts_ns)
        key = (piece.version, src, dst, proto if piece.version == 4 else 0, piece.ident)
        gram = self.waiting.get(key)
        if gram is None:
            gram = self.waiting[key] = Datagram(proto, src, dst, src_mac, dst_mac, ts_ns)
        gram.frames += 1
        gram.wire_bytes += length
        gram.first_ns, gram.last_ns = min(gram.first_ns, ts_ns), max(gram.last_ns, ts_ns)
        problem = self._place(gram, piece)
        if problem:
            done.append(self._finish(key, problem))
        else:
            whole = gram.whole()
            if whole is not None:
                finished = self._finish(key, "complete")
                finished.pieces = {0: whole}
                done.append(finished)
        while self.waiting and (self.held > self.max_held or len(self.waiting) > self.max_datagrams):
            done.append(self._finish(next(iter(self.waiting)), "memory"))
        return done

    def _place(self, gram: Datagram, piece: Fragment) -> str:
        start, stop = piece.offset, piece.offset + len(piece.data)
        if stop > MAX_SIZE:
            return "too-large"
        if not piece.more:
            if gram.end >= 0 and gram.end != stop:
                return "overlap"  # two different ends
            gram.end = stop
        held = gram.pieces.get(start)
        if held is not None and held == piece.data:
            return ""  # a retransmitted fragment
        if len(gram.pieces) >= MAX_PIECES:
            return "too-many"
        for offset, data in gram.pieces.items():
            if start < offset + len(data) and offset < stop:
                return "overlap"
        if gram.end >= 0 and stop > gram.end:
            return "overlap"
        gram.pieces[start] = piece.data
        gram.held += len(piece.data)
        self.held += len(piece.data)
        return ""

    def _finish(self, key: Key, outcome: str) -> Datagram:
        gram = self.waiting.pop(key)
        self.held -= gram.held
        gram.outcome = outcome
        if outcome != "complete":
            self.dropped[outcome] = self.dropped.get(outcome, 0) + 1
        return gram

    def _expire(self, now_ns: int) -> list[Datagram]:
        done = []
        while self.waiting:
            key, gram = next(iter(self.waiting.items()))
            if now_ns - gram.first_ns <= self.timeout_ns:
                break
            done.append(self._finish(key, "timeout"))
        return done

    def flush(self) -> list[Datagram]:
        """The datagrams still waiting when the capture ends (unfinished)."""
        return [self._finish(key, "unfinished") for key in list(self.waiting)]
