"""Building blocks that the model's elements share: provenance, credentials, endpoints…

Unknown is a value: a ``bool | None`` field left out means "not known", and rules never fire
on a missing fact (they fire on ``true`` or ``false``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domosec.model.choices import DataCategoryId, StakeholderRoleId

Id = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")]
"""An element ID: letters, digits and ``_ . : @ / -``, starting with a letter or digit.

Always text: ``id: 1`` is an error (quote it, ``id: "1"``), never turned into a string, so the reference
checks, which run on the parsed data, see every ID exactly as the model will."""

MAX_RETENTION_DAYS = 36_500
"""Every number in a model has a bound (docs/tables.md lists them): retention is at most 100 years."""

Source = Literal["declared", "imported", "observed", "derived"]
Exposure = Literal["local", "lan", "internet"]
Transport = Literal["tcp", "udp"]
TlsVersion = Literal["none", "ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"]


class Strict(BaseModel):
    """Base of every model class: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, coerce_numbers_to_str=True)


class Provenance(Strict):
    """Where a fact came from: written by hand, imported, observed on the network, or derived."""

    source: Source = "declared"
    tool: str = ""
    detail: str = ""
    at: str | None = Field(default=None, description="When it was observed (ISO 8601); only kept when asked for.")


class Stakeholder(Strict):
    """A party with a role in the system (5.3): the provider, a developer, an installer…"""

    role: StakeholderRoleId
    name: str
    contact: str = ""


class Credential(Strict):
    """A way to log in to a device or gateway. Never the secret itself: only its properties."""

    kind: Literal["web", "app", "telnet", "ssh", "api", "pin", "local_account", "wifi_psk", "pairing_code", "cloud_account", "other"]
    factory_default: bool | None = Field(default=None, description="Still the value the device shipped with.")
    unique_per_device: bool | None = Field(
        default=None, description="Shipped value differs per unit (not one password for the whole product line)."
    )
    hard_coded: bool | None = Field(default=None, description="Built into the firmware; the user cannot change it.")
    strength: Literal["weak", "fair", "strong"] | None = None
    shared: bool | None = Field(default=None, description="Several household members use the same login.")
    shared_across_homes: bool | None = Field(
        default=None,
        description="The same login opens other customers' homes: an installer's or maintenance company's password, "
        "a vendor's support account, one code for all of a company's technicians.",
    )
    second_factor: bool | None = Field(default=None, description="Logging in also needs a second factor (app prompt, code, key).")
    provenance: Provenance | None = None


class Endpoint(Strict):
    """A network service a device, gateway or service exposes."""

    protocol: Literal[
        "http",
        "https",
        "telnet",
        "ssh",
        "mqtt",
        "mqtts",
        "rtsp",
        "rtsps",
        "coap",
        "coaps",
        "upnp",
        "onvif",
        "modbus",
        "ftp",
        "smb",
        "dns",
        "websocket",
        "adb",
        "proprietary",
        "other",
    ]
    port: int | None = Field(default=None, ge=0, le=65535)
    transport: Transport = "tcp"
    exposure: Exposure = "lan"
    purpose: Literal["admin", "api", "stream", "telemetry", "debug", "pairing", "update", "control", "other"] = "other"
    authentication: Literal["none", "password", "token", "certificate", "unknown"] | None = None
    tls: TlsVersion | None = None
    certificate: Literal["valid", "self_signed", "expired", "wrong_host", "none"] | None = None
    weak_ciphers: bool | None = None
    brute_force_protection: bool | None = None
    banner: str = ""
    provenance: Provenance | None = None


class Update(Strict):
    """How software and firmware updates reach the element (7.2.17)."""

    mechanism: Literal["none", "manual", "automatic", "via_app", "via_gateway"] | None = None
    signed: bool | None = Field(default=None, description="The element verifies a signature before installing.")
    secure_channel: bool | None = None
    automatic_by_default: bool | None = None
    last_update: dt.date | None = None


class FailSafe(Strict):
    """What the element does when power, network or recognition fails (7.1.4)."""

    on_power_loss: Literal["safe_state", "last_state", "unsafe"] | None = None
    on_network_loss: Literal["keeps_working", "safe_state", "stops", "unsafe"] | None = None
    manual_override: bool | None = None
    child_lock: bool | None = None
    remote_start_confirmation: bool | None = Field(default=None, description="Remote actuation needs a confirmation at the device.")


class Physical(Strict):
    """Physical hardening of equipment outside the vendor's control (7.2.4)."""

    debug_ports: Literal["none", "disabled", "exposed"] | None = None
    secure_element: bool | None = Field(default=None, description="Keys and biometric templates kept in a secure element or TEE.")
    tamper_evident: bool | None = None
    outdoor: bool | None = Field(default=None, description="Mounted where passers-by can reach it.")


class DataAtRest(Strict):
    """Data the element keeps in its own storage."""

    categories: list[DataCategoryId] = Field(default_factory=list)
    encrypted: bool | None = None
    retention_days: int | None = Field(default=None, ge=0, le=MAX_RETENTION_DAYS)


class FactoryReset(Strict):
    """Whether the element can be returned to a clean state before resale or disposal (7.2.5)."""

    available: bool | None = None
    wipes_personal_data: bool | None = None


class Ownership(Strict):
    """Where the equipment came from and where it is going: second-hand devices and devices leaving the home (7.2.5)."""

    second_hand: bool | None = Field(default=None, description="Bought, inherited or taken over used (or came with the house).")
    reset_by_new_owner: bool | None = Field(
        default=None, description="Factory-reset and removed from the previous owner's accounts and integrations when it arrived."
    )
    leaving: Literal["sold", "given_away", "returned", "disposed"] | None = Field(
        default=None, description="The equipment is leaving the household: being sold, given away, returned or thrown away."
    )
    wiped: bool | None = Field(default=None, description="Factory-reset and removed from the household's accounts before it left.")


class PrivacyFeatures(Strict):
    """Hardware and settings that keep sensing under the household's control (7.3.1)."""

    hardware_switch: bool | None = Field(default=None, description="A physical switch cuts the microphone or camera.")
    shutter: bool | None = None
    indicator: bool | None = Field(default=None, description="A light shows when sensing or recording is on.")
    privacy_mode: bool | None = Field(default=None, description="Sensing can be paused by schedule or presence.")
    masking: bool | None = Field(default=None, description="Areas of the image can be masked out (neighbours, street).")


LinkSecurityLevel = Literal[
    "none",
    "s0",
    "s2_unauthenticated",
    "s2_authenticated",
    "s2_access_control",
    "zigbee_well_known_key",
    "zigbee_install_code",
    "ble_legacy",
    "ble_lesc_just_works",
    "ble_lesc_authenticated",
    "other_authenticated",
]
"""Link-layer security levels of radio protocols: Z-Wave S0/S2 classes, Zigbee link keys, Bluetooth LE pairing."""


class LinkSecurity(Strict):
    """The link-layer security a device runs at on its radio link, and the weakest level it still accepts (7.2.14)."""

    level: LinkSecurityLevel | None = Field(
        default=None,
        description="The level the device was included or paired at and runs at now (Z-Wave S0/S2 class, Zigbee key, BLE pairing).",
    )
    lowest_accepted: LinkSecurityLevel | None = Field(
        default=None,
        description="The weakest level the device still accepts at inclusion or pairing (S2 with S0 fallback: s0), "
        "which an attacker can force by a downgrade.",
    )


class OperatorSecrets(Strict):
    """How the operator of a service keeps its own privileged credentials: administrator logins, API and signing keys (7.2.8)."""

    managed: bool | None = Field(
        default=None,
        description="Privileged credentials are kept in a secrets store, limited to named staff, rotated, and never put in code, "
        "tickets or public places.",
    )
    exposed: bool | None = Field(
        default=None, description="A privileged credential of the operator was published or leaked and is not known to be revoked."
    )


class Bridge(Strict):
    """The gateway's message broker, or an integration, forwarding the home's messages to a broker or service outside the home."""

    service: Id = Field(description="The broker or service outside the home the messages go to (a `services` ID).")
    protocol: Literal["mqtt", "mqtts", "http", "https", "websocket", "proprietary", "other"] | None = None
    topics: Literal["all", "selected"] | None = Field(
        default=None, description="Every topic or entity of the home (`#`, the whole event bus), or a chosen few."
    )
    direction: Literal["out", "in", "both"] | None = Field(
        default=None, description="out: the home's messages leave; in: messages from outside reach the home's devices; both."
    )
    authentication: Literal["none", "password", "token", "certificate"] | None = Field(
        default=None, description="How the bridge logs in to the remote broker, and the remote broker to it."
    )
    tls: bool | None = Field(default=None, description="The bridge connection is encrypted and the remote broker's certificate checked.")


class PortForward(Strict):
    """A port opened on the gateway towards an element inside the home."""

    target: Id
    external_port: int = Field(ge=1, le=65535)
    internal_port: int | None = Field(default=None, ge=1, le=65535)
    transport: Transport = "tcp"
    via_upnp: bool = False
    provenance: Provenance | None = None


class Logging(Strict):
    """Security logging on a gateway or service (7.2.12, 7.2.13)."""

    enabled: bool | None = None
    remote: bool | None = None
    protected: bool | None = Field(default=None, description="Logs are access-controlled and tamper-evident.")
    retention_days: int | None = Field(default=None, ge=0, le=MAX_RETENTION_DAYS)
    contains_personal_data: bool | None = None


class ServiceAuth(Strict):
    """How people and apps authenticate to a service (7.2.16)."""

    mfa: Literal["none", "optional", "required"] | None = None
    password_policy: bool | None = Field(default=None, description="Weak and breached passwords are refused.")
    brute_force_protection: bool | None = None
    recovery_verified: bool | None = Field(default=None, description="Account recovery checks identity strictly.")
    per_member_accounts: bool | None = Field(default=None, description="Each household member can have their own login.")
    app_authentication: bool | None = Field(default=None, description="Apps and integrations calling the API carry their own identity.")
    device_authentication: bool | None = Field(
        default=None, description="Devices prove their identity to the service (certificate or per-device key)."
    )


class DeviceGrant(Strict):
    """Access to one device given to one person: an e-key, a lock code, a camera share (7.2.16)."""

    device: Id
    expires: dt.date | None = Field(default=None, description="When the code, key or share stops working.")
    never_expires: bool | None = Field(
        default=None, description="The code, key or share works until someone removes it (true), or it has an end date (false)."
    )
    last_reviewed: dt.date | None = Field(default=None, description="When someone last checked that this person still needs this access.")


class LinkedAccount(Strict):
    """A cloud-to-cloud link (voice skill, integration) granted to another service."""

    service: Id
    scope: Literal["full", "limited", "read_only"] | None = None


class AutomatedDecision(Strict):
    """A decision the service makes about the household without a person deciding (7.3.11)."""

    decision: str
    affects: str = ""
    human_review: bool | None = None
    explained: bool | None = None


class Evidence(Strict):
    """A piece of evidence that a control is implemented."""

    kind: Literal["document", "test", "configuration", "observation", "screenshot", "certificate", "url", "other"]
    ref: str
    description: str = ""
    date: dt.date | None = None


class Sbom(Strict):
    """The software bill of materials a device or gateway's ``software`` list was imported from (7.2.22, 7.2.24)."""

    file: str = Field(default="", description="The SBOM file (name only, as given to `domosec import sbom`).")
    format: Literal["cyclonedx", "spdx", "other"] | None = None
    vulndb_built: dt.date | None = Field(
        default=None, description="Build date of the offline vulnerability data the components were matched against; empty if not matched."
    )
    vulndb_sources: str = Field(default="", description="The vulnerability data sources matched against (osv, nvd, kev, eol).")


class KnownVulnerability(Strict):
    """A published vulnerability matched to a component (by `domosec import sbom --vulndb`)."""

    id: str = Field(description="Vulnerability ID (CVE, GHSA, PYSEC, OSV…).")
    aliases: str = Field(default="", description="Other IDs of the same vulnerability, comma-separated.")
    severity: Literal["critical", "high", "medium", "low", "unknown"] = "unknown"
    cvss: float | None = Field(default=None, ge=0, le=10, description="CVSS base score when the record gives one.")
    known_exploited: bool = Field(default=False, description="Listed in CISA's Known Exploited Vulnerabilities catalog.")
    fixed_version: str = Field(default="", description="The first version that fixes it, when the record names one.")
    confidence: Literal["exact_purl", "cpe_range", "name_only"] = Field(
        description="How the component was matched: its purl's package and version range, its CPE's version range, or its name only."
    )
    vex_state: Literal["not_affected", "affected", "fixed", "under_investigation"] | None = Field(
        default=None, description="The VEX statement about this vulnerability in this product, if any."
    )
    vex_justification: str = ""


class SoftwareComponent(Strict):
    """A software component that runs on a device or gateway, from its SBOM."""

    name: str
    version: str = ""
    supplier: str = ""
    purl: str = ""
    cpe: str = ""
    sha256: str = ""
    licenses: str = Field(default="", description="Licence expressions, comma-separated.")
    end_of_life: dt.date | None = Field(default=None, description="When the component's release line stopped getting security fixes.")
    depends_on: list[str] = Field(default_factory=list, description="purls or names of the components it depends on.")
    vulnerabilities: list[KnownVulnerability] = Field(default_factory=list)
