"""A small country database in the MaxMind DB format for the GeoIP tests, written with mmdb-writer (MIT)."""

from __future__ import annotations

from pathlib import Path


def country_database(path: Path, networks: dict[str, str]) -> Path:
    """An IPv4 ``.mmdb`` at ``path`` giving each CIDR block of ``networks`` its ISO country code, as GeoLite2-Country does."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-Country", ipv4_compatible=False)
    for network, code in networks.items():
        writer.insert_network(IPSet([network]), {"country": {"iso_code": code}})
    writer.to_db_file(str(path))
    return path
