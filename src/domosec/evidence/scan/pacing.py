"""Pacing of a running scan: a global rate of new connections, a cap in flight, and a cap per host.

Every probe that opens a connection or sends a datagram first takes a :meth:`Pacer.slot`, so
no device sees more than ``per_host`` connections at once however many probes want it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domosec.evidence.scan.targets import Limits


class Pacer:
    """Token-bucket rate limit plus global and per-host semaphores."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._interval = 1.0 / limits.rate if limits.rate > 0 else 0.0
        self._next = 0.0
        self._all = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.started = 0

    async def _tick(self) -> None:
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self._next)
        self._next = at + self._interval
        if at > now:
            await asyncio.sleep(at - now)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's connection slots, one of the global ones, and wait for the rate."""
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.limits.per_host)
        async with sem, self._all:
            await self._tick()
            self.started += 1
            yield
