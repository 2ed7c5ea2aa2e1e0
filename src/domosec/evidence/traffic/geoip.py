"""The country of a destination address, from a local GeoIP database the user gives (``--geoip FILE``).

Any MaxMind DB (``.mmdb``) file with a country per network is read with MaxMind's own reader
(``maxminddb``, Apache-2.0): MaxMind GeoLite2/GeoIP2 Country or City, DB-IP's "IP to Country Lite"
and "IP to City Lite" (the same layout: ``country.iso_code``, else ``registered_country.iso_code``),
and databases that hold the code as a plain ``country`` string. No database ships with domosec (their
licences ask for attribution or an account) and none is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError

MAX_DATABASE_BYTES = 1024 * 1024 * 1024


class GeoIP:
    """An open country database: :meth:`country` of an address, ``""`` when the database does not know it."""

    def __init__(self, path: Path) -> None:
        import maxminddb

        try:
            if not path.exists():
                raise InputError([Diagnostic(str(path), None, None, "file-not-found", "no such file")])
            if not path.is_file():
                raise InputError([Diagnostic(str(path), None, None, "not-a-file", "the GeoIP database must be a regular file")])
            if path.stat().st_size > MAX_DATABASE_BYTES:
                raise InputError([Diagnostic(str(path), None, None, "file-too-large", f"larger than {MAX_DATABASE_BYTES} bytes")])
            self._reader = maxminddb.open_database(str(path), maxminddb.MODE_MMAP)
        except (maxminddb.InvalidDatabaseError, ValueError) as exc:
            raise InputError([Diagnostic(str(path), None, None, "not-a-geoip-database", f"not a MaxMind DB (.mmdb) file: {exc}")]) from None
        except OSError as exc:
            raise InputError([Diagnostic(str(path), None, None, "unreadable", exc.strerror or str(exc))]) from None
        self.path = path
        self._cache: dict[str, str] = {}

    def country(self, address: str) -> str:
        """The ISO 3166 country code of ``address``, or ``""``."""
        found = self._cache.get(address)
        if found is None:
            try:
                record = self._reader.get(address)
            except (ValueError, TypeError):  # an IPv6 address in an IPv4-only database, a damaged record
                record = None
            found = self._cache[address] = _country_of(record)
        return found

    def close(self) -> None:
        self._reader.close()


def _country_of(record: Any) -> str:
    if not isinstance(record, dict):
        return ""
    for key in ("country", "registered_country"):
        value = record.get(key)
        code = value.get("iso_code") if isinstance(value, dict) else None
        if isinstance(code, str):
            return code.upper()[:3]
        if isinstance(value, str) and 2 <= len(value) <= 3 and value.isalpha():
            return value.upper()
    return ""
