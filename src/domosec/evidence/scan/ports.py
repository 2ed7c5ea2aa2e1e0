"""The ports a scan looks at by default: a table of home and IoT services kept as data (``data/ports.yaml``).

Each entry names the port's usual protocol and why homes have it. The usual protocol only
chooses which identification probe is tried first (see :mod:`.identify`); what a port is called
in the output comes from what it answered. The file's order is the rank ``--top-ports N`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Transport = Literal["tcp", "udp"]


@dataclass(frozen=True)
class PortEntry:
    port: int
    transport: Transport
    protocol: str
    name: str
    why: str


@cache
def port_table() -> tuple[PortEntry, ...]:
    """The shipped table, in rank order."""
    from ruamel.yaml import YAML

    text = resources.files("domosec.evidence.scan").joinpath("data").joinpath("ports.yaml").read_text(encoding="utf-8")
    rows = YAML(typ="safe").load(text)
    entries = tuple(
        PortEntry(int(r["port"]), "udp" if r.get("transport") == "udp" else "tcp", str(r["protocol"]), str(r["name"]), str(r["why"]))
        for r in rows
    )
    keys = [(e.port, e.transport) for e in entries]
    if len(keys) != len(set(keys)):  # a shipped-data bug, caught by the tests
        raise ValueError("data/ports.yaml lists a port twice")
    return entries


def top_ports(count: int | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(TCP ports, UDP ports) of the first ``count`` entries of the table (all of them when ``None``), each sorted."""
    chosen = port_table()[: count if count is not None else None]
    return (
        tuple(sorted(e.port for e in chosen if e.transport == "tcp")),
        tuple(sorted(e.port for e in chosen if e.transport == "udp")),
    )


def usual_protocol(port: int, transport: Transport = "tcp") -> str:
    """The protocol the table says ``port`` usually speaks, or ``""``."""
    for entry in port_table():
        if entry.port == port and entry.transport == transport:
            return entry.protocol
    return ""


def markdown_table() -> str:
    """The table as Markdown, for docs/scan.md."""
    lines = ["| rank | port | protocol | service | why |", "|---|---|---|---|---|"]
    for rank, e in enumerate(port_table(), 1):
        port = f"{e.port}/udp" if e.transport == "udp" else str(e.port)
        lines.append(f"| {rank} | {port} | {e.protocol} | {e.name} | {e.why} |")
    return "\n".join(lines)
