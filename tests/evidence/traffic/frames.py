"""Packets built byte by byte with dpkt for the traffic tests: Ethernet (optionally VLAN-tagged), IPv4 TCP, pcap and pcapng files."""

from __future__ import annotations

import base64
import io
import struct

import dpkt

SENSOR_MAC, ROUTER_MAC = b"\x02\x00\x00\x00\x00\x11", b"\x02\x00\x00\x00\x00\x01"
PASSWORD = "hunter2-Secret"


def ethernet(ip: dpkt.Packet, *, vlan: int | None = None, ipv6: bool = False) -> bytes:
    kind = dpkt.ethernet.ETH_TYPE_IP6 if ipv6 else dpkt.ethernet.ETH_TYPE_IP
    if vlan is None:
        return bytes(dpkt.ethernet.Ethernet(src=SENSOR_MAC, dst=ROUTER_MAC, type=kind, data=ip))
    tag = struct.pack("!HHH", 0x8100, vlan, kind)
    return ROUTER_MAC + SENSOR_MAC + tag + bytes(ip)


def ipv4_tcp(src: str, dst: str, sport: int, dport: int, payload: bytes, flags: int = dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH) -> dpkt.ip.IP:
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, data=payload)
    return dpkt.ip.IP(src=_v4(src), dst=_v4(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp)


def _v4(address: str) -> bytes:
    return bytes(int(part) for part in address.split("."))


def http_with_basic() -> bytes:
    return b"GET / HTTP/1.1\r\nHost: cam.local\r\nAuthorization: Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()) + b"\r\n\r\n"


def pcap(frames: list[bytes], linktype: int = 1) -> bytes:
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=linktype)
    for n, frame in enumerate(frames):
        writer.writepkt(frame, ts=1_700_000_000 + n)
    return out.getvalue()


def pcapng_two_interfaces(ethernet_frames: list[bytes], raw_frames: list[bytes]) -> bytes:
    def block(kind: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    data = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    data += block(1, struct.pack("<HHI", 1, 0, 65535))
    nanos = struct.pack("<HHB", 9, 1, 9) + b"\x00" * 3 + b"\x00" * 4  # if_tsresol = 9 (nanoseconds), end of options
    data += block(1, struct.pack("<HHI", 101, 0, 65535) + nanos)
    for iface, frames in ((0, ethernet_frames), (1, raw_frames)):
        for frame in frames:
            data += block(6, struct.pack("<IIIII", iface, 0, 5, len(frame), len(frame)) + frame)
    return data
