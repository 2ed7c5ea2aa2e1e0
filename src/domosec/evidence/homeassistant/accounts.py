"""People and their logins: ``auth``, ``auth_module.*``, ``person`` and the configured auth modules.

Only names, group memberships, flags and dates are read. Password hashes
(``auth_provider.homeassistant``), refresh and access tokens (``token``, ``jwt_key``) and TOTP
or notify secrets are never read into the result: TOTP state is whether a user's ID is a key of
the module's store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domosec.evidence.homeassistant.storage import Store, records

DEFAULT_MFA_MODULES = ("totp",)
"""Home Assistant enables the TOTP module when ``homeassistant: auth_mfa_modules`` is absent."""


@dataclass(frozen=True)
class HaUser:
    id: str
    name: str
    username: str
    is_admin: bool
    is_owner: bool
    local_only: bool
    mfa_modules: tuple[str, ...]
    person: str


@dataclass(frozen=True)
class HaToken:
    user_id: str
    client_name: str
    created: str
    last_used: str


@dataclass
class Accounts:
    users: list[HaUser] = field(default_factory=list)
    system_users: list[str] = field(default_factory=list)
    inactive_users: list[str] = field(default_factory=list)
    long_lived_tokens: list[HaToken] = field(default_factory=list)
    mfa_modules: tuple[str, ...] = DEFAULT_MFA_MODULES
    providers: tuple[str, ...] = ("homeassistant",)
    bypass_login: bool = False
    known: bool = False


def configured_modules(core: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """MFA module types, auth provider types, and whether a trusted network may log in without a password."""
    mfa_conf = core.get("auth_mfa_modules")
    mfa = DEFAULT_MFA_MODULES if mfa_conf is None else tuple(sorted({str(m.get("type")) for m in mfa_conf if isinstance(m, dict)}))
    prov_conf = core.get("auth_providers")
    providers = ("homeassistant",) if prov_conf is None else tuple(sorted({str(p.get("type")) for p in prov_conf if isinstance(p, dict)}))
    bypass = any(
        isinstance(p, dict) and p.get("type") == "trusted_networks" and p.get("allow_bypass_login") is True for p in prov_conf or []
    )
    return mfa, providers, bypass


def read_accounts(
    auth: Store | None,
    totp: Store | None,
    notify: Store | None,
    person: Store | None,
    core: dict[str, Any],
) -> Accounts:
    mfa_modules, providers, bypass = configured_modules(core)
    result = Accounts(mfa_modules=mfa_modules, providers=providers, bypass_login=bypass, known=auth is not None)
    if auth is None:
        return result
    totp_users = _user_keys(totp)
    notify_users = _user_keys(notify)
    usernames: dict[str, str] = {}
    for cred in records(auth, "credentials"):
        data = cred.get("data")
        if cred.get("auth_provider_type") == "homeassistant" and isinstance(data, dict) and isinstance(data.get("username"), str):
            usernames.setdefault(str(cred.get("user_id")), data["username"])
    people = {str(p.get("user_id")): str(p.get("name") or "") for p in records(person, "items") if p.get("user_id")}
    for raw in records(auth, "users"):
        user_id, name = str(raw.get("id") or ""), str(raw.get("name") or "")
        if not user_id:
            continue
        if raw.get("system_generated"):
            result.system_users.append(name or user_id)
            continue
        if raw.get("is_active") is False:
            result.inactive_users.append(name or user_id)
            continue
        enabled = tuple(
            module for module, holders in (("notify", notify_users), ("totp", totp_users)) if module in mfa_modules and user_id in holders
        )
        group_ids = raw.get("group_ids")
        groups: list[Any] = group_ids if isinstance(group_ids, list) else []
        result.users.append(
            HaUser(
                id=user_id,
                name=name,
                username=usernames.get(user_id, ""),
                is_admin="system-admin" in groups,
                is_owner=raw.get("is_owner") is True,
                local_only=raw.get("local_only") is True,
                mfa_modules=enabled,
                person=people.get(user_id, ""),
            )
        )
    for token in records(auth, "refresh_tokens"):
        if token.get("token_type") == "long_lived_access_token":
            result.long_lived_tokens.append(
                HaToken(
                    user_id=str(token.get("user_id") or ""),
                    client_name=str(token.get("client_name") or ""),
                    created=str(token.get("created_at") or "")[:10],
                    last_used=str(token.get("last_used_at") or "")[:10],
                )
            )
    result.users.sort(key=lambda u: (u.username or u.name, u.id))
    result.system_users.sort()
    result.inactive_users.sort()
    result.long_lived_tokens.sort(key=lambda t: (t.user_id, t.created, t.client_name))
    return result


def _user_keys(store: Store | None) -> set[str]:
    if store is None or not isinstance(store.data, dict):
        return set()
    users = store.data.get("users")
    if isinstance(users, dict):
        return {str(k) for k in users}
    if isinstance(users, list):
        return {str(u.get("user_id")) for u in users if isinstance(u, dict)}
    return set()
