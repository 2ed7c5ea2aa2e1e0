"""Running a scan plan: discovery, port scan and probes at the same time, then UPnP and TLS checks.

Results go into the :class:`Observations` passed in as they arrive, so when the user presses
Ctrl-C (the task is cancelled) everything found until then is still there; ``complete`` stays
false in that case.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from domosec.evidence.scan.neighbours import read_neighbours
from domosec.evidence.scan.observations import Observations
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.portscan import PortResult, scan_host
from domosec.evidence.scan.targets import ScanPlan

if TYPE_CHECKING:
    from domosec.evidence.scan.identify import ProbeKit

Log = Callable[[str], None]


async def run_scan(plan: ScanPlan, observations: Observations, *, log: Log = lambda _m: None) -> None:
    """Carry out ``plan``, writing into ``observations``; set ``complete`` when everything ran."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    pacer = Pacer(plan.limits)
    try:
        await _run(plan, observations, pacer, log)
        observations.complete = True
    finally:
        macs = read_neighbours()
        for host in observations.hosts.values():
            host.mac = host.mac or macs.get(host.address, "")
        observations.probes_sent = pacer.started
        observations.elapsed = loop.time() - started


async def _run(plan: ScanPlan, observations: Observations, pacer: Pacer, log: Log) -> None:
    targets = plan.host_set
    discovery: asyncio.Task[dict[str, str]] | None = None
    if plan.discovery:
        discovery = asyncio.create_task(_discover(plan, observations, log))
    try:
        async with contextlib.AsyncExitStack() as stack:
            kit: ProbeKit | None = None
            if plan.probes:
                import aiohttp

                from domosec.evidence.scan.identify import ProbeKit

                session = await stack.enter_async_context(aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0)))
                from domosec.evidence.scan.probes import insecure_tls_context

                kit = ProbeKit(pacer, session, insecure_tls_context(), plan.limits.probe_timeout, plan.default_credentials)
            log(f"scanning {len(plan.hosts)} hosts × {len(plan.tcp_ports)} TCP ports")

            async def one_host(address: str) -> None:
                greetings: dict[int, bytes] = {}

                def on_open(result: PortResult) -> None:
                    observations.host(address).service(result.port, "tcp")
                    greetings[result.port] = result.greeting

                scanned = await scan_host(
                    pacer, address, plan.tcp_ports, timeout=plan.limits.connect_timeout, read_greeting=plan.probes, on_open=on_open
                )
                if scanned.down:
                    return
                jobs = []
                if kit is not None and greetings:
                    from domosec.evidence.scan.identify import identify_and_probe

                    host = observations.host(address)
                    jobs += [identify_and_probe(kit, address, host.service(port), greetings[port]) for port in sorted(greetings)]
                if kit is not None:
                    from domosec.evidence.scan.probes.coap import probe_coap
                    from domosec.evidence.scan.targets import SSDP_PORT

                    jobs += [
                        probe_coap(pacer, observations, address, timeout=min(2.0, plan.limits.probe_timeout), port=port)
                        for port in plan.udp_ports
                        if port != SSDP_PORT  # SSDP is read through the discovery search
                    ]
                await asyncio.gather(*jobs)

            await asyncio.gather(*(one_host(str(a)) for a in plan.hosts))
            locations = await discovery if discovery is not None else {}
            discovery = None
            if kit is not None and locations:
                from domosec.evidence.scan.upnp import describe_device

                log(f"reading UPnP descriptions of {len(locations)} hosts")
                await asyncio.gather(
                    *(
                        describe_device(pacer, observations.host(addr), loc, timeout=plan.limits.probe_timeout)
                        for addr, loc in sorted(locations.items())
                    )
                )
            if kit is not None:
                await _check_tls(plan, observations, targets, log)
    finally:
        if discovery is not None:
            discovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await discovery


async def _discover(plan: ScanPlan, observations: Observations, log: Log) -> dict[str, str]:
    from domosec.evidence.scan.mdns import browse_mdns
    from domosec.evidence.scan.upnp import search_ssdp

    log(f"discovery: mDNS and SSDP for {plan.discovery_wait:g} s")
    ssdp, mdns = await asyncio.gather(
        search_ssdp(observations, plan.host_set, wait=plan.discovery_wait),
        browse_mdns(observations, plan.host_set, wait=plan.discovery_wait),
        return_exceptions=True,
    )
    for name, outcome in (("SSDP", ssdp), ("mDNS", mdns)):
        if isinstance(outcome, BaseException):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            observations.notes.append(f"{name} discovery failed: {outcome}")
    return ssdp if isinstance(ssdp, dict) else {}


async def _check_tls(plan: ScanPlan, observations: Observations, targets: frozenset[str], log: Log) -> None:
    from domosec.evidence.scan.tlscheck import TlsTarget, check_tls

    wanted = [
        TlsTarget(host.address, svc.port, tuple(sorted(host.hostnames)))
        for host in observations.sorted_hosts()
        for svc in host.sorted_services()
        if svc.tls and svc.transport == "tcp" and host.address in targets
    ]
    if not wanted:
        return
    log(f"checking TLS on {len(wanted)} ports")
    reports = await asyncio.to_thread(check_tls, wanted, per_host=plan.limits.per_host, timeout=plan.limits.probe_timeout)
    for (address, port), report in reports.items():
        observations.host(address).service(port).tls_report = report
