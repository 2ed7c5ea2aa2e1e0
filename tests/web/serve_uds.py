"""Run the workspace on a Unix socket: ``python serve_uds.py DB_URL SOCKET [--ha-allow entries…]``.

``test_live_import.py`` starts this inside the network namespace of a held Home Assistant session (``nsenter --net``),
where Home Assistant listens on loopback; the test reaches the workspace through the socket file, which belongs to no
network namespace. The ``--ha-allow`` entries go through ``$DOMOSEC_HA_ALLOW`` as ``domosec serve`` passes them.
"""

from __future__ import annotations

import sys

import uvicorn

from domosec.web.app import create_app
from domosec.web.ha_allow import allow_in_environment

if __name__ == "__main__":
    db_url, socket_path, *allow = sys.argv[1:]
    allow_in_environment(allow)
    uvicorn.run(create_app(db_url), uds=socket_path, log_level="info", server_header=False)
