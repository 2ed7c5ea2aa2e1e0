"""``import_live``: a running Home Assistant (URL and access token) in, the same model as from its files out.

The snapshot read by :mod:`live` goes through the same mapping as a file import. What the API does
not show is then marked unknown instead of carrying a default that would look like a fact: other
users' two-factor state, and the lock-out setting of the HTTP server. The summary and the warnings
say what a partial import lacks (all users, with a non-administrator's token).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from domosec.evidence.homeassistant.files import problem
from domosec.evidence.homeassistant.importer import ImportResult, check_not_empty, finish_import, map_snapshot
from domosec.evidence.homeassistant.live import LiveFacts, read_live
from domosec.evidence.homeassistant.mapping import APP_SERVICE_ID, GATEWAY_ID
from domosec.evidence.homeassistant.read import Snapshot
from domosec.evidence.homeassistant.selection import Drop
from domosec.evidence.homeassistant.websocket_client import DEFAULT_MAX_MESSAGE, DEFAULT_TIMEOUT

TOKEN_ENV = "DOMOSEC_HA_TOKEN"
MAX_TOKEN_BYTES = 16 * 1024
_UNKNOWN_MFA = "two-factor: not readable through the API (only the token's own user's is)"
_FILE_WORDING = {".cloud/ login present, not read": "cloud/status: logged_in", ".storage/cloud": "cloud/status"}
"""Provenance that names the files a fact comes from in a file import, and the command it comes from here."""


def read_token(token_file: Path | None) -> str:
    """The access token from ``token_file``, or else from ``$DOMOSEC_HA_TOKEN``; never from the command line."""
    if token_file is None:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise problem(
                "--token-file",
                "ha-no-token",
                f"no access token: give --token-file FILE or set {TOKEN_ENV}",
                hint="create a long-lived access token on your Home Assistant profile page, under Security",
            )
        return _checked(token, TOKEN_ENV)
    shown = str(token_file)
    try:
        if not token_file.is_file():
            raise problem(shown, "ha-token-file", "not a regular file" if token_file.exists() else "no such file")
        with token_file.open("rb") as handle:
            raw = handle.read(MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise problem(shown, "ha-token-file", f"cannot read the token ({(exc.strerror or type(exc).__name__).lower()})") from None
    if len(raw) > MAX_TOKEN_BYTES:
        raise problem(shown, "ha-token-file", f"over {MAX_TOKEN_BYTES:,} bytes: not an access token")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise problem(shown, "ha-token-file", "holds bytes that are not ASCII: not an access token") from None
    return _checked(text, shown)


def _checked(token: str, shown: str) -> str:
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        raise problem(shown, "ha-token-file", "expected one access token on a single line")
    return token


def import_live(
    url: str,
    token: str,
    *,
    overlay: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    insecure: bool = False,
    ca_file: Path | None = None,
    max_message: int = DEFAULT_MAX_MESSAGE,
    allow_empty: bool = False,
) -> ImportResult:
    """Import a running Home Assistant; raises :class:`domosec.errors.InputError` on failure, without the token in it."""
    facts, snap = read_live(url, token, timeout=timeout, insecure=insecure, ca_file=ca_file, max_message=max_message)
    return import_facts(facts, snap, overlay=overlay, allow_empty=allow_empty)


def import_facts(facts: LiveFacts, snap: Snapshot, *, overlay: str | Path | None = None, allow_empty: bool = False) -> ImportResult:
    """The model of what a running instance answered (``read_live``), with what the API cannot show left unset.

    As for files, a registry with hardware devices of which none could be imported is an error unless ``allow_empty``.
    """
    drops: list[Drop] = []
    data, skipped = map_snapshot(snap, drops)
    if not allow_empty:
        check_not_empty(snap, data, drops)
    _mark_unknown(snap, facts, data)
    _name_the_commands(data)
    left_out = list(skipped)
    if not facts.users_readable:
        who = str(facts.current_user.get("name") or "the token's user")
        snap.config.warn(
            snap.config.show(".storage/auth"),
            "ha-not-admin",
            f"the token belongs to {who}, who is not an administrator of Home Assistant; users, their two-factor state and "
            "long-lived tokens were left out of the model (partial import)",
            hint="import with an administrator's token, or add the users with --overlay",
        )
        left_out.insert(0, "users (the token is not an administrator's)")
    result = finish_import(snap, data, left_out, overlay=overlay, origin=f"the running Home Assistant at {snap.config.show('')}")
    result.dropped = drops
    result.summary[1:1] = [
        "read through the WebSocket API: " + ", ".join(sorted(set(facts.commands))),
        "not readable through the API, left unset: "
        + ("two-factor state of users other than the token's own, long-lived tokens of other users, " if facts.users_readable else "")
        + "the HTTP server's listening address and lock-out settings (exposure taken as lan)",
    ]
    return result


def _mark_unknown(snap: Snapshot, facts: LiveFacts, data: dict[str, Any]) -> None:
    """Unset what the file import knows and the API does not show, so no default passes for a fact."""
    current = str(facts.current_user.get("id") or "")
    others = [u.id for u in snap.accounts.users if u.id != current]
    for user in data.get("users") or []:
        detail = user["provenance"]["detail"]
        if any(detail.startswith(f"Home Assistant user {uid}") for uid in others):
            user.pop("mfa", None)
            user["provenance"]["detail"] = detail.replace("two-factor: none", _UNKNOWN_MFA)
    for gateway in data.get("gateways") or []:
        if gateway["id"] == GATEWAY_ID and gateway.get("endpoints"):
            endpoint = gateway["endpoints"][0]
            endpoint.pop("brute_force_protection", None)
            endpoint["provenance"]["detail"] = (
                f"HTTP server reached at {snap.config.show('')} (port {snap.http.port}); its listening address and lock-out "
                "settings are not readable through the API, so the exposure is Home Assistant's default (all interfaces: lan) "
                "and brute-force protection is unknown"
            )
    for service in data.get("services") or []:
        if service["id"] == APP_SERVICE_ID:
            service["auth"].pop("brute_force_protection", None)
            detail = service["provenance"]["detail"]
            service["provenance"]["detail"] = detail.replace("lock-out after failed logins: off", "lock-out after failed logins: unknown")


def _name_the_commands(node: Any) -> None:
    """Make every provenance name the API command a fact came from instead of the file a file import reads."""
    if isinstance(node, list):
        for item in node:
            _name_the_commands(item)
    elif isinstance(node, dict):
        provenance = node.get("provenance")
        if isinstance(provenance, dict) and isinstance(provenance.get("detail"), str):
            for file_words, command in _FILE_WORDING.items():
                provenance["detail"] = provenance["detail"].replace(file_words, command)
        for key, value in node.items():
            if key != "provenance":
                _name_the_commands(value)
