"""Optional extras: which feature needs which installed packages, and a clear message when they are missing.

The core install (``pip install domosec``) assesses, validates, diffs and renders every format but
PDF. Heavier features live in extras, named in ``pyproject.toml``::

    pdf    the PDF report (WeasyPrint)
    scan   ``domosec scan`` and ``domosec import nmap`` (sslyze, zeroconf, async-upnp-client, aiohttp, paho-mqtt, aiocoap, defusedxml)
    homeassistant  ``domosec import homeassistant --url`` (aiohttp, for the WebSocket API)
    fleet  ``domosec fleet`` (PyArrow, NumPy)
    spark  ``domosec fleet assess --engine spark`` (PySpark)
    sbom   ``domosec import sbom`` and ``domosec vulndb import`` (cyclonedx-python-lib, spdx-tools, packageurl-python,
           defusedxml, packaging, ijson and stream-unzip to stream the vulnerability data)
    web    ``domosec serve``, ``domosec audit verify``, ``domosec workspace`` (FastAPI, uvicorn, SQLAlchemy, Alembic, argon2-cffi, python-multipart, pyotp, segno)
    traffic  ``domosec traffic`` (dpkt for DNS messages, NumPy for bulk decoding, maxminddb for ``--geoip``)
    all    every one of them

A command checks its extra with :func:`require` before it starts the work, so a missing package is
``error[missing-extra]`` with the ``pip install`` line to run and exit status 2, never an
``ImportError`` traceback. The check looks the packages up without importing them.
"""

from __future__ import annotations

import importlib.util

from domosec.errors import Diagnostic, InputError

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "pdf": ("weasyprint",),
    "scan": ("sslyze", "zeroconf", "async_upnp_client", "aiohttp", "paho", "aiocoap", "defusedxml"),
    "homeassistant": ("aiohttp",),
    "fleet": ("pyarrow", "numpy"),
    "spark": ("pyspark",),
    "sbom": ("cyclonedx", "spdx_tools", "packageurl", "defusedxml", "packaging", "ijson", "stream_unzip"),
    "traffic": ("dpkt", "numpy", "maxminddb"),
    "web": ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "argon2", "python_multipart", "pyotp", "segno"),
}
"""The top-level modules each extra installs (the import names of its packages)."""


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them)."""
    return [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]


def missing_extra(extra: str, feature: str, where: str = "domosec") -> Diagnostic | None:
    """The ``missing-extra`` problem when ``feature`` cannot run for want of ``extra``, else None."""
    missing = missing_modules(extra)
    if not missing:
        return None
    message = f"{feature} needs the '{extra}' extra: pip install 'domosec[{extra}]'"
    return Diagnostic(where, None, None, "missing-extra", message, hint=f"not installed: {', '.join(missing)}")


def require(extra: str, feature: str, where: str = "domosec") -> None:
    """Raise :class:`InputError` (``missing-extra``) unless every package of ``extra`` is installed."""
    problem = missing_extra(extra, feature, where)
    if problem is not None:
        raise InputError([problem])
