"""TCP stream reassembly for the deep parsers: a message split across segments (or sent out of order) is read whole.

Only what the deep parsers need is reassembled: the message a direction of a connection starts with
(or a later one that starts a packet and does not end in it), up to :data:`STREAM_BYTES`. A
:class:`Stream` keeps the bytes from the message's first sequence number on; segments may come in any
order, repeated or overlapping: bytes already held win (a retransmission never rewrites them). Bounds:
:data:`STREAM_BYTES` per stream, :data:`MAX_SEGMENTS` segments fed to one stream,
:data:`STREAM_TIMEOUT_NS` of capture time, and :data:`TOTAL_BYTES` reserved for all streams at once (2,048
messages; a stream goes over its 16 KB by one segment at most before it is given up); a
stream over a bound is given up and counted (the flow keeps its counts, only that message is not read). A stream
times out when its own next segment comes too late, or when room is needed for a new one (only then does the
order in which flows are read matter: the bulk and per-packet paths give the same result below the bounds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domosec.evidence.traffic import deep

if TYPE_CHECKING:
    from domosec.evidence.traffic.flows import Flow

STREAM_BYTES = 16 * 1024
MAX_SEGMENTS = 64
STREAM_TIMEOUT_NS = 30_000_000_000
TOTAL_BYTES = 32 * 1024 * 1024  # held for all streams at once: STREAM_BYTES reserved for each open stream
WINDOW = 1 << 20  # a segment this far past the expected start is not of this stream's message


@dataclass(slots=True)
class Stream:
    """One direction's bytes from ``base`` (a TCP sequence number) on: contiguous ``data`` and out-of-order ``pending``."""

    base: int
    opened_ns: int
    data: bytearray = field(default_factory=bytearray)
    pending: dict[int, bytes] = field(default_factory=dict)
    held: int = 0
    segments: int = 0

    def add(self, seq: int, payload: bytes) -> int:
        """Place one segment; returns the change in bytes held."""
        before = self.held
        self.segments += 1
        rel = (seq - self.base) & 0xFFFFFFFF
        if rel >= 1 << 31:  # starts before the base: keep only what follows it
            skip = (1 << 32) - rel
            if skip >= len(payload):
                return 0
            payload, rel = payload[skip:], 0
        payload = payload[: max(0, STREAM_BYTES - rel)]
        if not payload:
            return 0
        if rel > len(self.data):
            if rel not in self.pending or len(self.pending[rel]) < len(payload):
                self.held += len(payload) - len(self.pending.get(rel, b""))
                self.pending[rel] = payload
            return self.held - before
        self._append(rel, payload)
        while self.pending:
            ready = [r for r in self.pending if r <= len(self.data)]
            if not ready:
                break
            for r in sorted(ready):
                piece = self.pending.pop(r)
                self.held -= len(piece)
                self._append(r, piece)
        return self.held - before

    def _append(self, rel: int, payload: bytes) -> None:
        new = payload[len(self.data) - rel :]
        self.data += new
        self.held += len(new)


REASONS = {
    "size": "longer than 16 KB",
    "segments": "still incomplete after 64 segments",
    "timeout": "incomplete after 30 s",
    "memory": "over the 32 MB held for all connections",
}
Parse = Callable[["Flow", bool, bytes, str], None]  # flow, from the client, message, sender's address


@dataclass
class Streams:
    """The messages being reassembled, per (flow, direction), within the bounds; ``parse`` gets each whole message."""

    parse: Parse
    open_streams: dict[tuple[int, bool], tuple[Flow, Stream]] = field(default_factory=dict)
    held: int = 0
    read: int = 0  # messages read whole from more than one segment
    given_up: dict[str, int] = field(default_factory=dict)  # reason → messages not read whole

    def count(self, reason: str) -> None:
        self.given_up[reason] = self.given_up.get(reason, 0) + 1

    def open(self, flow: Flow, from_client: bool, base: int, seq: int, payload: bytes, src: str, ts_ns: int) -> None:
        """Start holding the bytes of ``flow``'s direction from ``base`` on, with this first segment."""
        while self.open_streams and (len(self.open_streams) + 1) * STREAM_BYTES > TOTAL_BYTES:  # full: the stale go first
            (_key, side), (old, stream) = next(iter(self.open_streams.items()))
            if ts_ns - stream.opened_ns <= STREAM_TIMEOUT_NS:
                break
            self._give_up(old, side, stream, "timeout", old.client if side else old.server)
        if (len(self.open_streams) + 1) * STREAM_BYTES > TOTAL_BYTES:
            self.count("memory")
            if seq == base:
                self.parse(flow, from_client, payload, src)  # what one segment shows
            return
        self.open_streams[(id(flow), from_client)] = (flow, Stream(base, ts_ns))
        flow.assembling |= 1 if from_client else 2
        self.feed(flow, from_client, seq, payload, src, ts_ns)

    def feed(self, flow: Flow, from_client: bool, seq: int, payload: bytes, src: str, ts_ns: int) -> None:
        """One more segment of a message being reassembled; the message is parsed once it is whole."""
        stream = self.open_streams[(id(flow), from_client)][1]
        if ts_ns - stream.opened_ns > STREAM_TIMEOUT_NS:
            self._give_up(flow, from_client, stream, "timeout", src)
            return
        self.held += stream.add(seq, payload)
        state, message = deep.message(bytes(stream.data)) if stream.data else (deep.MORE, b"")
        if state == deep.MORE:
            if stream.segments >= MAX_SEGMENTS:
                self._give_up(flow, from_client, stream, "segments", src)
            elif stream.held >= STREAM_BYTES:
                self._give_up(flow, from_client, stream, "size", src)
            return
        if state == deep.TOO_LONG:
            self._give_up(flow, from_client, stream, "size", src)
            return
        self._close(flow, from_client, stream)
        if state == deep.WHOLE:
            self.read += 1
            self.parse(flow, from_client, message, src)

    def _close(self, flow: Flow, from_client: bool, stream: Stream) -> None:
        del self.open_streams[(id(flow), from_client)]
        self.held -= stream.held
        flow.assembling &= ~(1 if from_client else 2)

    def _give_up(self, flow: Flow, from_client: bool, stream: Stream, reason: str, src: str) -> None:
        """Stop reassembling; what the bytes held so far show is still read (a Host header in the first segment)."""
        self._close(flow, from_client, stream)
        self.count(reason)
        if stream.data:
            self.parse(flow, from_client, bytes(stream.data), src)

    def finish(self) -> None:
        """At the end of the capture: messages still incomplete are counted as ``unfinished`` and read as far as they go."""
        for (_key, from_client), (flow, stream) in list(self.open_streams.items()):
            self._give_up(flow, from_client, stream, "unfinished", flow.client if from_client else flow.server)

    def warnings(self) -> list[str]:
        """The messages a bound cut short, in words (a capture that ends mid-message is not warned about)."""
        limits = {reason: count for reason, count in self.given_up.items() if reason in REASONS}
        if not limits:
            return []
        reasons = ", ".join(f"{count} {REASONS[reason]}" for reason, count in sorted(limits.items()))
        return [f"{sum(limits.values())} TCP messages split across segments were read only in part ({reasons})"]
