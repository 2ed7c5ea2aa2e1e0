"""CoAP: can a stranger read the device's resource directory, ``/.well-known/core``?

A non-confirmable ``GET`` (aiocoap) to UDP 5683 (and every other ``U:`` port asked for) on every live target: a ``2.05 Content`` answer
means the port is open and the directory is readable without authentication; ``4.01`` means it
wants credentials. No answer in time means nothing is listening, or it keeps quiet.

Each probe has its own aiocoap context, so its own socket: Linux reports an ICMP "port
unreachable" on whichever send comes next on a shared unconnected socket, and one closed port
elsewhere would otherwise be taken for this host's answer.
"""

from __future__ import annotations

import asyncio
import logging

from domosec.evidence.scan.observations import Observations
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.targets import COAP_PORT

UNAUTHORIZED = 0x81  # 4.01


async def probe_coap(pacer: Pacer, observations: Observations, address: str, *, timeout: float, port: int = COAP_PORT) -> None:
    """Ask ``address`` for its resource directory; record the host and service only when it answers."""
    from aiocoap import GET, NON, Context, Message
    from aiocoap.error import Error as CoapError

    logging.getLogger("coap").setLevel(logging.CRITICAL)
    authority = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    request = Message(code=GET, mtype=NON, uri=f"coap://{authority}/.well-known/core")
    async with pacer.slot(address):
        context = await Context.create_client_context(transports=["udp6"])
        try:
            response = await asyncio.wait_for(context.request(request).response, timeout)
        except (TimeoutError, OSError, CoapError):
            return
        finally:
            await context.shutdown()
    service = observations.host(address).service(port, "udp")
    service.protocol = "coap"
    service.notes.append(f"port {port}/udp: identified by probe: a CoAP response to GET /.well-known/core")
    if response.code.is_successful():
        service.authentication = "none"
        service.banner = printable(response.payload)
        service.notes.append("CoAP resource directory /.well-known/core is readable without authentication")
    elif int(response.code) == UNAUTHORIZED:
        service.authentication = "password"
        service.notes.append("CoAP asks for credentials")
    else:
        service.notes.append(f"CoAP answered {response.code}")
