"""Build a system model from a Home Assistant configuration directory, without Home Assistant.

Modules, in the order data flows through them:

- ``files``: reading inside the configuration directory only (size limit, symlink loops);
- ``storage``: the ``.storage`` JSON envelope and the format versions known;
- ``yaml_config``: ``configuration.yaml`` with includes, secrets (never their values) and packages;
- ``registries``, ``accounts``, ``exposure``, ``iot_classes``: the facts, normalised across versions;
- ``read``: all of it as one :class:`~domosec.evidence.homeassistant.read.Snapshot`;
- ``classify``, ``ids``, ``mapping``, ``services``: the snapshot as model data with provenance;
- ``overlay``: a hand-written partial model merged over the import;
- ``importer``: the entry point, :func:`import_homeassistant`;
- ``websocket_client``, ``live``, ``live_import``: a running instance through its WebSocket API, read into the same
  snapshot (:func:`~domosec.evidence.homeassistant.live_import.import_live`).
"""

from __future__ import annotations

from domosec.evidence.homeassistant.importer import ImportResult, import_homeassistant

__all__ = ["ImportResult", "import_homeassistant"]
