"""Facts worth stating: where a valid model leaves out a fact that decides a finding, ``domosec validate --suggest`` says so.

Rules fire only on stated facts, so a model that leaves out whether someone reviews access, or how a garage
remote codes its commands, gets no finding about it. These hints name the field to add, at the element that
lacks it, as ``file:line:col: warning[code]: …``; they never make a model invalid.
"""

from __future__ import annotations

from domosec.errors import Diagnostic
from domosec.model.load import LoadedModel

PASSING_ROLES = frozenset({"guest", "tenant", "domestic_worker", "carer", "landlord"})
ADMIN_LOGINS = frozenset({"web", "app", "ssh", "local_account", "cloud_account"})
REMOTE_ADMIN = frozenset({"cloud_relay", "port_forward", "direct"})
SECONDARY_PURPOSES = frozenset({"advertising", "profiling", "insurance", "resale", "analytics", "research"})
OWNED_TYPES = frozenset({"lock", "camera", "hub", "intercom", "voice_assistant", "climate", "energy"})
VISITOR_ROLES = frozenset({"guest", "domestic_worker", "carer", "bystander"})
OUTDOOR_ZONES = frozenset({"outdoor", "garden", "entrance"})
ONWARD_CATEGORIES = frozenset({"video", "audio", "biometric", "health", "children_data", "location", "presence", "home_map"})


def suggestions(loaded: LoadedModel) -> list[Diagnostic]:
    """Hints for the facts this model leaves out that a rule would read."""
    m, src, file = loaded.model, loaded.source, loaded.file
    out: list[Diagnostic] = []

    def hint(path: tuple[str | int, ...], code: str, message: str) -> None:
        pos = src.position(path)
        out.append(Diagnostic(file, pos[0] if pos else None, pos[1] if pos else None, code, message, severity="warning"))

    if m.system.access_reviews is None and (len(m.users) > 1 or any(u.role in PASSING_ROLES for u in m.users)):
        hint(
            ("system",),
            "unstated-access-reviews",
            "several people use this home: say whether someone reviews who has access (system.access_reviews: true or false)",
        )
    for i, user in enumerate(m.users):
        if user.left_on is not None and user.access_removed is None:
            hint(("users", i), "unstated-access-removed", f"'{user.id}' has left: say whether their access was removed (access_removed)")
    entry = {d.id for d in m.devices if d.type == "lock" or {"lock", "door"} & set(d.actuators)}
    for i, user in enumerate(m.users):
        if user.role not in VISITOR_ROLES | {"landlord"}:
            continue
        for j, grant in enumerate(user.devices):
            device = grant if isinstance(grant, str) else grant.device
            if device in entry and (isinstance(grant, str) or (grant.expires is None and grant.never_expires is None)):
                hint(
                    ("users", i, "devices", j),
                    "unstated-grant-expiry",
                    f"'{user.id}' holds a key or code to '{device}': say when it ends "
                    "({device: …, expires: date} or never_expires: true with last_reviewed)",
                )
    rf_networks = {n.id for n in m.networks if n.kind == "rf433"}
    unstated_owner = 0
    for i, dev in enumerate(m.devices):
        if dev.radio_code is None and rf_networks & set(dev.networks):
            hint(("devices", i), "unstated-radio-code", f"'{dev.id}' uses a 433 MHz link: say how it codes commands (radio_code)")
        if dev.type in OWNED_TYPES and dev.ownership.second_hand is None and m.system.kind == "deployment":
            unstated_owner += 1
    if unstated_owner:
        hint(
            ("devices",),
            "unstated-ownership",
            _count(
                unstated_owner,
                "lock, camera, hub or similar device does not say whether it",
                "locks, cameras, hubs or similar devices do not say whether they",
            )
            + " came second-hand (ownership.second_hand, and ownership.reset_by_new_owner if so)",
        )
    leaving_sources = {f.source for f in m.flows if f.target in {s.id for s in m.services}}
    for i, dev in enumerate(m.devices):
        if dev.reading_interval_s is None and "energy_profile" in dev.data and dev.id in leaving_sources:
            hint(("devices", i), "unstated-reading-interval", f"'{dev.id}' sends energy readings out: say how often (reading_interval_s)")
    for i, gw in enumerate(m.gateways):
        if gw.remote_access in REMOTE_ADMIN:
            for j, cred in enumerate(gw.credentials):
                if cred.kind in ADMIN_LOGINS and cred.second_factor is None:
                    hint(
                        ("gateways", i, "credentials", j),
                        "unstated-second-factor",
                        f"'{gw.id}' is administered from outside the home: say whether this login needs a second factor (second_factor)",
                    )
    for i, svc in enumerate(m.services):
        if svc.consent_scope is None and SECONDARY_PURPOSES & set(svc.sharing_purposes):
            hint(
                ("services", i),
                "unstated-consent-scope",
                f"'{svc.id}' shares data for other purposes: say whether consent is one for all or per purpose (consent_scope)",
            )
    if any(u.role in VISITOR_ROLES for u in m.users):
        outdoor_zones = {z.id for z in m.zones if z.kind in OUTDOOR_ZONES}
        for i, dev in enumerate(m.devices):
            indoor = not dev.physical.outdoor and dev.zone not in outdoor_zones
            pf = dev.privacy_features
            if indoor and {"camera", "microphone"} & set(dev.sensors) and (pf.indicator is None or pf.privacy_mode is None):
                hint(
                    ("devices", i),
                    "unstated-visitor-privacy",
                    f"'{dev.id}' records indoors where visitors come: say whether it shows that it records and can be paused "
                    "(privacy_features.indicator, privacy_features.privacy_mode)",
                )
    services = {s.id: s for s in m.services}
    for i, flow in enumerate(m.flows):
        sender, receiver = services.get(flow.source), services.get(flow.target)
        if sender is None or receiver is None or receiver.kind == "third_party" or not ONWARD_CATEGORIES & set(flow.data):
            continue
        if not sender.operator.strip() or not receiver.operator.strip():
            hint(
                ("flows", i),
                "unstated-operator",
                f"'{flow.source}' passes household data on to '{flow.target}': say who runs each service (operator), "
                "so that a transfer to another company is seen",
            )
    return sorted(out)


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"
