"""When people are home, read from traffic: bytes each local host sent per 5-minute bin, presence events, two heuristics.

:class:`Activity` keeps, for every local address, the bytes it sent in each :data:`BIN_SECONDS`
bin, and the presence events (motion, occupancy, door or contact messages seen in clear by
:mod:`.payload`) each host sent per bin. At most :data:`MAX_CELLS` (host, bin) cells are kept.

Two heuristics turn them into facts (:func:`presence_facts`), each with its numbers:

- **traffic follows events**: a host whose bytes sent per bin correlate with the number of
  presence events per bin (Pearson r ≥ :data:`MIN_CORRELATION`) over a capture of at least
  :data:`MIN_BINS` bins with events in at least :data:`MIN_EVENT_BINS` bins. A camera that uploads
  when the hall sensor sees motion tells anyone who sees its traffic (encrypted or not) that
  someone is there.
- **upload bursts**: a host that sent at least :data:`BURST_FACTOR` times its median per bin, and
  at least :data:`BURST_MIN_BYTES`, in some bins but not in more than a quarter of them: a camera
  uploading clips on motion, a doorbell ringing. Their timing shows when something happens at home.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

import numpy as np

BIN_SECONDS = 300
BIN_NS = BIN_SECONDS * 10**9
MAX_CELLS = 2_000_000
MIN_BINS = 12
MIN_EVENT_BINS = 3
MIN_CORRELATION = 0.7
BURST_FACTOR = 10
BURST_MIN_BYTES = 256 * 1024
MAX_BURST_SHARE = 0.25
MAX_SPAN_BINS = 31 * 24 * 12  # a month: a longer span (or a stray time stamp) is not judged, so memory stays bounded


@functools.lru_cache(maxsize=65536)
def is_local(address: str) -> bool:
    """A home-network address (as :func:`.flows.is_local`, which imports this module)."""
    parsed = ipaddress.ip_address(address)
    local = (parsed.is_private or parsed.is_link_local) and not (parsed.is_multicast or parsed.is_unspecified or parsed.is_reserved)
    return local and address != "255.255.255.255"


@dataclass
class Activity:
    """Bytes sent per local host and bin, presence events per host and bin; and the bytes of entropy samples kept."""

    sent: dict[str, dict[int, int]] = field(default_factory=dict)
    events: dict[str, dict[int, int]] = field(default_factory=dict)
    cells: int = 0
    dropped: int = 0
    first_bin: int | None = None
    last_bin: int | None = None
    sampled: int = 0  # payload bytes kept for entropy across all flows (payload.py), bounded by payload.MAX_SAMPLED
    unsampled: int = 0  # flows of unknown protocols left unmeasured once that bound was reached
    carried: int = 0  # payload ends kept to find a marker split across two payloads (payload.py), bounded by payload.MAX_CARRIED

    def _cell(self, table: dict[str, dict[int, int]], address: str, slot: int, amount: int) -> None:
        bins = table.get(address)
        if bins is None:
            bins = table[address] = {}
        if slot not in bins:
            if self.cells >= MAX_CELLS:
                self.dropped += amount
                return
            self.cells += 1
            bins[slot] = 0
        bins[slot] += amount
        self.first_bin = slot if self.first_bin is None else min(self.first_bin, slot)
        self.last_bin = slot if self.last_bin is None else max(self.last_bin, slot)

    def add(self, src: str, ts_ns: int, length: int) -> None:
        """``length`` bytes sent by ``src`` at ``ts_ns`` (one packet, or a bin's sum; counted only for a local address)."""
        if is_local(src):
            self._cell(self.sent, src, ts_ns // BIN_NS, length)

    def span(self) -> int:
        """How many bins lie between the first and the last packet counted (0 when none)."""
        return 0 if self.first_bin is None or self.last_bin is None else self.last_bin - self.first_bin + 1

    def event(self, src: str, ts_ns: int, count: int) -> None:
        """``count`` presence events sent by ``src`` at ``ts_ns``."""
        self._cell(self.events, src, ts_ns // BIN_NS, count)


@dataclass(frozen=True)
class PresenceFact:
    """A host whose traffic reveals presence: ``kind`` is ``traffic-follows-events`` or ``upload-bursts``."""

    host: str
    kind: str
    detail: str


def presence_facts(activity: Activity, receivers: frozenset[str] = frozenset()) -> list[PresenceFact]:
    """The hosts whose traffic follows presence events or comes in bursts, each with the numbers behind it.

    The events' senders and ``receivers`` (the brokers or hubs they went to, whose answers follow them by
    construction) are not judged by the first heuristic: the events themselves are the finding there.
    """
    if activity.first_bin is None or activity.last_bin is None:
        return []
    span = activity.span()
    if span < MIN_BINS or span > MAX_SPAN_BINS:
        return []
    first = activity.first_bin
    events = np.zeros(span)
    for bins in activity.events.values():
        for slot, count in bins.items():
            events[slot - first] += count
    event_bins = int(np.count_nonzero(events))
    facts = []
    for host in sorted(activity.sent):
        series = np.zeros(span)
        for slot, amount in activity.sent[host].items():
            series[slot - first] = amount
        party = host in activity.events or host in receivers  # its traffic is the events or their answers
        if (
            not party
            and event_bins >= MIN_EVENT_BINS
            and np.count_nonzero(series) >= MIN_EVENT_BINS
            and series.std() > 0
            and events.std() > 0
        ):
            r = float(np.corrcoef(series, events)[0, 1])
            if r >= MIN_CORRELATION:
                facts.append(
                    PresenceFact(
                        host,
                        "traffic-follows-events",
                        f"bytes sent per {BIN_SECONDS // 60} minutes follow the {int(events.sum())} presence events "
                        f"(r = {r:.2f} over {span} bins, events in {event_bins})",
                    )
                )
        median = float(np.median(series))
        bursts = series >= max(BURST_FACTOR * median, BURST_MIN_BYTES)
        count = int(bursts.sum())
        if 0 < count <= MAX_BURST_SHARE * span:
            share = float(series[bursts].sum() / series.sum())
            facts.append(
                PresenceFact(
                    host,
                    "upload-bursts",
                    f"upload bursts in {count} of {span} bins of {BIN_SECONDS // 60} minutes carry {share:.0%} of what it sent "
                    f"(median {median:.0f} bytes per bin)",
                )
            )
    return facts
