"""The elements of a system model, mirroring the reference model of ISO/IEC 27403 (5.5).

A model has a ``system`` and lists of ``users``, ``zones``, ``networks``, ``gateways``,
``devices``, ``services`` and ``flows``, plus the declared ``controls`` and ``accepted_risks``.
Every element has an ``id`` unique across the whole model, so flows and references can name
any element unambiguously.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from domosec.model.choices import (
    ControlId,
    DataCategoryId,
    DeviceTypeId,
    HouseholdRoleId,
    LifecycleStageId,
)
from domosec.model.parts import (
    MAX_RETENTION_DAYS,
    AutomatedDecision,
    Bridge,
    Credential,
    DataAtRest,
    DeviceGrant,
    Endpoint,
    Evidence,
    FactoryReset,
    FailSafe,
    Id,
    LinkedAccount,
    LinkSecurity,
    Logging,
    OperatorSecrets,
    Ownership,
    Physical,
    PortForward,
    PrivacyFeatures,
    Provenance,
    Sbom,
    ServiceAuth,
    SoftwareComponent,
    Stakeholder,
    Strict,
    Update,
)

SCHEMA_VERSION: Literal[1] = 1

ZoneKind = Literal[
    "living",
    "bedroom",
    "children_room",
    "bathroom",
    "kitchen",
    "hallway",
    "entrance",
    "office",
    "garage",
    "garden",
    "outdoor",
    "utility",
    "shared",
    "other",
]
PRIVATE_ZONE_KINDS: frozenset[str] = frozenset({"bedroom", "children_room", "bathroom"})

Sensor = Literal[
    "camera",
    "microphone",
    "motion",
    "presence",
    "contact",
    "temperature",
    "humidity",
    "smoke",
    "co",
    "water",
    "air_quality",
    "light",
    "power",
    "location",
    "heart_rate",
    "fingerprint",
    "face",
    "lidar",
    "vibration",
    "weight",
    "sleep",
    "fall",
    "other",
]
Actuator = Literal[
    "lock",
    "door",
    "heating",
    "cooling",
    "power",
    "valve",
    "motor",
    "oven",
    "water_heater",
    "siren",
    "light",
    "speaker",
    "charger",
    "other",
]


Need = Literal["disability", "dependency", "cognitive", "mobility", "sensory", "medical", "mental_health", "communication"]


class System(Strict):
    """What is being assessed: one home (deployment) or one product under design."""

    id: Id = Field(description="Stable identifier of the home or product; the findings' home_id.")
    name: str
    kind: Literal["deployment", "product"] = "deployment"
    lifecycle_stage: LifecycleStageId | None = None
    description: str = ""
    jurisdiction: str = Field(default="", description="ISO 3166 country code where the home or market is.")
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    access_reviews: bool | None = Field(
        default=None,
        description="Someone checks, at least yearly and whenever a person leaves, who can reach the home's accounts, codes and cameras.",
    )


class User(Strict):
    """A person in or around the home: residents, children, guests, carers, bystanders…"""

    id: Id
    name: str = ""
    role: HouseholdRoleId
    other_roles: list[HouseholdRoleId] = Field(
        default_factory=list,
        description="Other roles the same person has: a visiting child is a child and a guest, a carer may also be a resident.",
    )
    vulnerable: bool | None = Field(
        default=None,
        description="The person needs extra protection (a disability, dependency, cognitive impairment…); unset, the roles decide "
        "(child and elderly are vulnerable) and any listed need makes the person vulnerable.",
    )
    needs: list[Need] = Field(default_factory=list, description="Why the person needs extra protection.")
    admin: bool = False
    mfa: bool | None = None
    local_only: bool | None = Field(default=None, description="Can log in only from the home network.")
    shared_account: bool | None = Field(default=None, description="Uses another person's login instead of their own.")
    services: list[Id] = Field(default_factory=list, description="Services this person has an account with.")
    devices: list[Id | DeviceGrant] = Field(
        default_factory=list,
        description="Devices this person was given access to directly: a camera shared with them, an e-key or a lock code of their own. "
        "A device ID, or an object with `device`, `expires`, `never_expires` and `last_reviewed`.",
    )
    joined_on: dt.date | None = Field(default=None, description="When the person moved in or was given access.")
    left_on: dt.date | None = Field(
        default=None,
        description="When the person moved out or their stay ended (a former partner, tenant, guest or worker); keep them listed while they may still have access.",
    )
    access_removed: bool | None = Field(
        default=None, description="Every account, code, shared camera and app invitation this person had was removed when they left."
    )
    provenance: Provenance | None = None


class Zone(Strict):
    """A room or area of the home. Bedrooms, bathrooms and children's rooms are private by default."""

    id: Id
    name: str = ""
    kind: ZoneKind = "other"
    privacy: Literal["low", "medium", "high"] | None = Field(default=None, description="Defaults to high for private kinds.")
    provenance: Provenance | None = None


class Network(Strict):
    """A home network or radio link (Wi-Fi, Zigbee, Thread…) or the internet uplink."""

    id: Id
    name: str = ""
    kind: Literal[
        "wifi", "ethernet", "zigbee", "zwave", "thread", "ble", "cellular", "wan", "lora", "powerline", "rf433", "dect", "nfc", "other"
    ]
    encryption: (
        Literal["none", "wep", "wpa", "wpa2", "wpa3", "enterprise", "network_key", "s0", "s2", "le_secure", "legacy", "unknown"] | None
    ) = None
    pairing: (
        Literal["open", "push_button", "pin", "install_code", "qr_code", "just_works", "passkey", "out_of_band", "wps", "default_key"]
        | None
    ) = None
    segment: Literal["main", "iot", "guest", "isolated", "management"] | None = None
    gateway: Id | None = None
    internet: bool | None = Field(default=None, description="Has a route to the internet.")
    client_isolation: bool | None = None
    default_password: bool | None = Field(default=None, description="Still uses the password printed on the router.")
    wps: bool | None = None
    join_open: bool | None = Field(default=None, description="Joining (permit-join, inclusion) is left permanently open.")
    provenance: Provenance | None = None


class _Equipment(Strict):
    """Fields that gateways and devices share."""

    id: Id
    name: str = ""
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    zone: Id | None = None
    networks: list[Id] = Field(default_factory=list)
    mac: str = ""
    ip: str = ""
    hostname: str = ""
    credentials: list[Credential] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    update: Update = Field(default_factory=Update)
    support_end: dt.date | None = Field(default=None, description="Last day of security updates the maker promises.")
    physical: Physical = Field(default_factory=Physical)
    data_at_rest: DataAtRest = Field(default_factory=DataAtRest)
    factory_reset: FactoryReset = Field(default_factory=FactoryReset)
    ownership: Ownership = Field(default_factory=Ownership)
    sbom: Sbom = Field(default_factory=Sbom)
    software: list[SoftwareComponent] = Field(default_factory=list, description="Components from its SBOM (domosec import sbom).")
    provenance: Provenance | None = None


class Gateway(_Equipment):
    """The IoT-domotics gateway: hub, home router, bridge or home server."""

    kind: Literal["hub", "router", "bridge", "home_server", "wall_pad", "other"] = "hub"
    upnp: bool | None = None
    port_forwards: list[PortForward] = Field(default_factory=list)
    bridges: list[Bridge] = Field(
        default_factory=list,
        description="The gateway's broker or integrations forwarding the home's messages to a broker or service outside the home "
        "(an MQTT bridge, a cloud event-bus link).",
    )
    remote_access: Literal["none", "vpn", "cloud_relay", "port_forward", "direct"] | None = None
    firewall: bool | None = None
    intrusion_detection: bool | None = None
    malicious_traffic_filter: bool | None = Field(default=None, description="Blocks known malicious domains and addresses.")
    device_admission: Literal["open", "approval", "allowlist"] | None = None
    device_inventory: bool | None = Field(default=None, description="Shows the household which devices are connected.")
    privacy_dashboard: bool | None = Field(default=None, description="Lets the household see and limit what data is collected.")
    logging: Logging = Field(default_factory=Logging)
    shared_by_households: bool | None = Field(
        default=None, description="Serves several households: a building, campus or apartment-complex gateway or network."
    )
    household_isolation: bool | None = Field(
        default=None,
        description="Each household it serves is on its own segment, and no household can reach another's devices through it.",
    )


class Device(_Equipment):
    """An IoT-domotics device: sensor, actuator, appliance, camera, speaker…"""

    type: DeviceTypeId
    gateway: Id | None = Field(default=None, description="The gateway or bridge the device connects through.")
    sensors: list[Sensor] = Field(default_factory=list)
    actuators: list[Actuator] = Field(default_factory=list)
    safety_relevant: bool | None = Field(default=None, description="Defaults to the device type's setting.")
    child_directed: bool | None = Field(default=None, description="Made for children; defaults to the device type's setting.")
    data: list[DataCategoryId] = Field(default_factory=list, description="Data categories the device collects.")
    fail_safe: FailSafe = Field(default_factory=FailSafe)
    privacy_features: PrivacyFeatures = Field(default_factory=PrivacyFeatures)
    local_control: bool | None = Field(default=None, description="Core function works without the cloud.")
    wifi_auto_connect: bool | None = Field(default=None, description="Joins open or known networks on its own.")
    voice_purchasing: bool | None = None
    voice_recognition: bool | None = Field(default=None, description="Tells household members apart by voice.")
    purchase_confirmation: Literal["none", "spoken_code", "phone"] | None = Field(
        default=None,
        description="What a voice purchase needs besides the command: nothing, a spoken PIN (which others in the room "
        "can overhear), or a confirmation on the account holder's phone.",
    )
    radio_code: Literal["fixed", "rolling", "encrypted"] | None = Field(
        default=None,
        description="How its radio commands are coded (remotes, key fobs, 433/868 MHz sensors): the same code every time, "
        "a rolling code, or an encrypted and authenticated message.",
    )
    reading_interval_s: int | None = Field(
        default=None, ge=1, le=86_400, description="Seconds between the readings it reports (1 for live readings, 900 for 15 minutes)."
    )
    replay_protection: bool | None = Field(
        default=None,
        description="Its commands carry a counter, nonce or challenge, so a recorded command played back is refused.",
    )
    link_security: LinkSecurity = Field(default_factory=LinkSecurity)


class Service(Strict):
    """A service sub-system: cloud backend, mobile app, voice platform, content or third party."""

    id: Id
    name: str = ""
    kind: Literal[
        "cloud_backend",
        "mobile_app",
        "voice_platform",
        "content",
        "third_party",
        "care_service",
        "monitoring",
        "energy_provider",
        "update_server",
        "other",
    ]
    subsystem: Literal["operation_management", "application_service", "access_communication"] | None = None
    operator: str = ""
    jurisdiction: str = ""
    endpoints: list[Endpoint] = Field(default_factory=list)
    auth: ServiceAuth = Field(default_factory=ServiceAuth)
    retention_days: int | None = Field(default=None, ge=0, le=MAX_RETENTION_DAYS)
    retention_indefinite: bool | None = Field(
        default=None,
        description="Keeps the household's data with no set period: until the account is closed, or 'as long as necessary' without a number.",
    )
    privacy_notice: bool | None = None
    consent: Literal["none", "implied", "explicit"] | None = None
    consent_scope: Literal["blanket", "per_purpose"] | None = Field(
        default=None, description="One consent covers every purpose (blanket), or each purpose is a separate choice."
    )
    data_deletion: bool | None = Field(default=None, description="The household can have its data deleted.")
    third_party_sharing: bool | None = None
    sharing_purposes: list[
        Literal["advertising", "analytics", "profiling", "research", "insurance", "resale", "service_delivery", "legal"]
    ] = Field(default_factory=list)
    parental_controls: bool | None = None
    child_directed: bool = False
    automated_decisions: list[AutomatedDecision] = Field(default_factory=list)
    linked_accounts: list[LinkedAccount] = Field(default_factory=list)
    vulnerability_disclosure: bool | None = None
    security_monitoring: bool | None = None
    staff_access: Literal["none", "audited", "unrestricted"] | None = None
    staff_privacy_override: bool | None = Field(
        default=None, description="The operator's staff can switch off a device's privacy mode, or watch and listen while it is on."
    )
    tenant_isolation: bool | None = Field(
        default=None,
        description="One customer's data, events and video are never served to another customer (per-account separation, tested).",
    )
    identifier_linking: bool | None = Field(
        default=None,
        description="Links the household's data to identifiers (IP address, device IDs, e-mail, demographics) across datasets, "
        "its own or others', to single the household out.",
    )
    operator_secrets: OperatorSecrets = Field(default_factory=OperatorSecrets)
    data_at_rest_encrypted: bool | None = None
    logging: Logging = Field(default_factory=Logging)
    support_end: dt.date | None = None
    provenance: Provenance | None = None


class Flow(Strict):
    """Data moving from one element to another, over networks."""

    id: Id
    source: Id = Field(alias="from")
    target: Id = Field(alias="to")
    via: list[Id] = Field(default_factory=list)
    data: list[DataCategoryId] = Field(default_factory=list)
    protocol: str = ""
    encrypted: bool | None = None
    authenticated: bool | None = None
    purpose: str = ""
    consent: bool | None = None
    provenance: Provenance | None = None


class ControlStatus(Strict):
    """The declared status of a clause-7 item, with its evidence."""

    id: ControlId
    status: Literal["implemented", "partial", "planned", "not_implemented", "not_applicable"]
    evidence: list[Evidence] = Field(default_factory=list)
    owner: str = ""
    note: str = ""


class AcceptedRisk(Strict):
    """A finding the owner accepts, with who decided, why, and until when."""

    rule: str
    asset: str = Field(default="*", strict=True, description="Element ID, or * for every asset.")
    reason: str
    approver: str
    expires: dt.date
    ticket: str = ""


class Automation(Strict):
    """A rule of the home's hub, app or cloud that drives a device by itself: "unlock when my phone is near"."""

    name: str = ""
    runs_on: Id | None = Field(default=None, description="The gateway or service that runs it.")
    trigger: Literal["ble_presence", "wifi_presence", "geofence", "sensor", "schedule", "voice", "button", "webhook", "other"] = Field(
        description="What sets it off: a phone or tag seen over Bluetooth or on the Wi-Fi, a phone's location (geofence), "
        "a sensor's reading, a time, a voice command, a button, a web request."
    )
    source: Id | None = Field(default=None, description="The device or person whose signal triggers it (a sensor, a phone's owner).")
    target: Id = Field(description="The device it drives.")
    action: Literal["unlock", "open", "disarm", "heat", "switch_on", "switch_off", "lock", "close", "arm", "other"] | None = None
    signal_authenticated: bool | None = Field(
        default=None,
        description="For a sensor, web-request or other trigger: the signal proves where it comes from (a securely paired "
        "sensor, a signed request); false for a sensor anyone nearby can imitate or a URL without a secret. Presence and "
        "geofence triggers count as spoofable whatever is stated: a relay defeats an encrypted Bluetooth link.",
    )
    confirmation: bool | None = Field(default=None, description="A person confirms on a phone or at the device before the action runs.")


class SystemModel(Strict):
    """A smart-home system model: the input of every assessment."""

    domosec: Literal[1] = Field(default=SCHEMA_VERSION, description="Model schema version.")
    system: System
    users: list[User] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    networks: list[Network] = Field(default_factory=list)
    gateways: list[Gateway] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    automations: list[Automation] = Field(default_factory=list, description="Rules that drive devices by themselves.")
    controls: list[ControlStatus] = Field(default_factory=list)
    accepted_risks: list[AcceptedRisk] = Field(default_factory=list)
    exclude: list[str] = Field(
        default_factory=list,
        description="Never scanned: addresses, CIDR blocks, MAC addresses or IDs of devices and gateways that `domosec scan` "
        "must not send a single packet to (fragile or medical devices). Read by the scan only, never by rules.",
    )
