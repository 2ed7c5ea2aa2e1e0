"""The fictional product catalogue and the distributions that synthetic fleets are drawn from.

Everything here is data, documented in docs/fleet.md. Vendors, models and firmware versions are
invented; the shares are chosen to resemble what surveys of smart homes report (many plugs and
sensors, a few cameras and speakers, one router from the internet provider), not measured.

Firmware flags mark what an old firmware still does wrong:
``t`` opens a telnet or debug service, ``u`` installs updates without checking a signature,
``c`` takes the admin password over plain HTTP, ``d`` keeps the factory login after set-up.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_DATE = "2026-01-01"
"""Dates in generated fleets (firmware releases, support ends) are set around this day."""


@dataclass(frozen=True)
class Firmware:
    version: str
    released: str
    share: float
    flags: str = ""


@dataclass(frozen=True)
class Product:
    type: str
    vendor: str
    model: str
    share: float
    firmwares: tuple[Firmware, ...]
    support_end: str
    update: str = "automatic"
    auto_default: bool = True
    default_login: float = 0.03
    tls: float = 0.97


def _fw(*items: tuple[str, str, float, str]) -> tuple[Firmware, ...]:
    return tuple(Firmware(v, d, s, f) for v, d, s, f in items)


CURRENT_OLDER_OLDEST = (0.55, 0.3, 0.15)

PRODUCTS: tuple[Product, ...] = (
    # Routers supplied by internet providers.
    Product(
        "network_equipment",
        "Fibra",
        "FiberBox 7",
        0.35,
        _fw(("7.29.1", "2025-10-02", 0.6, ""), ("7.21.0", "2024-06-11", 0.3, ""), ("6.88.4", "2022-03-30", 0.1, "c")),
        "2029-12-31",
    ),
    Product(
        "network_equipment",
        "Nordlink",
        "HomeGate 3",
        0.3,
        _fw(("3.4.2", "2025-08-20", 0.5, ""), ("3.1.0", "2023-11-02", 0.3, "u"), ("2.9.7", "2021-05-14", 0.2, "tuc")),
        "2025-06-30",
        update="manual",
        auto_default=False,
        default_login=0.25,
    ),
    Product(
        "network_equipment",
        "Velocom",
        "VX-2200",
        0.35,
        _fw(("5.0.3", "2025-12-01", 0.7, ""), ("4.8.1", "2024-02-19", 0.3, "")),
        "2030-06-30",
    ),
    # Zigbee hubs.
    Product("hub", "Lumio", "Bridge 2", 0.6, _fw(("1.62.0", "2025-11-05", 0.8, ""), ("1.50.3", "2024-01-22", 0.2, "")), "2030-12-31"),
    Product(
        "hub",
        "Casaverde",
        "Hub S",
        0.4,
        _fw(("2.3.1", "2025-04-18", 0.6, ""), ("2.0.0", "2022-09-01", 0.4, "u")),
        "2026-03-31",
        update="via_app",
        auto_default=False,
    ),
    # Plugs and lights.
    Product(
        "lighting_plug",
        "Lumio",
        "Bulb E27 Color",
        0.4,
        _fw(("1.104.2", "2025-09-09", 0.7, ""), ("1.93.7", "2023-12-12", 0.3, "")),
        "2030-12-31",
    ),
    Product(
        "lighting_plug",
        "Zapp",
        "SmartPlug Mini",
        0.35,
        _fw(("2.1.4", "2025-02-10", 0.5, ""), ("1.9.0", "2022-07-07", 0.35, "u"), ("1.2.3", "2020-11-30", 0.15, "tu")),
        "2025-12-31",
        update="via_app",
        auto_default=False,
        tls=0.8,
    ),
    Product(
        "lighting_plug",
        "Casaverde",
        "Dimmer 1",
        0.25,
        _fw(("4.0.2", "2025-06-01", 0.8, ""), ("3.7.9", "2023-03-03", 0.2, "")),
        "2028-12-31",
    ),
    # Alarm sensors.
    Product(
        "sensor_alarm",
        "Wachter",
        "Guard Motion",
        0.5,
        _fw(("6.2.0", "2025-07-15", 0.7, ""), ("6.0.1", "2024-01-10", 0.3, "")),
        "2030-12-31",
    ),
    Product(
        "sensor_alarm",
        "Alarmio",
        "Door 433",
        0.5,
        _fw(("1.0.9", "2021-04-01", 0.8, ""), ("1.0.4", "2019-10-10", 0.2, "u")),
        "2024-12-31",
        update="none",
        auto_default=False,
    ),
    # Thermostats.
    Product("climate", "Thermo", "T6 Smart", 0.6, _fw(("6.14.0", "2025-10-20", 0.75, ""), ("6.9.2", "2024-03-05", 0.25, "")), "2031-12-31"),
    Product(
        "climate",
        "Heizwerk",
        "HZ-Control",
        0.4,
        _fw(("3.2.0", "2024-09-09", 0.6, ""), ("2.8.5", "2022-02-02", 0.4, "c")),
        "2027-12-31",
        update="manual",
        auto_default=False,
        tls=0.85,
    ),
    # Cameras.
    Product(
        "camera",
        "Vista",
        "Cam Pro 2",
        0.35,
        _fw(("2.8.1", "2025-11-11", 0.6, ""), ("2.5.0", "2024-05-05", 0.3, ""), ("2.1.3", "2022-08-08", 0.1, "c")),
        "2030-12-31",
    ),
    Product(
        "camera",
        "Eyecon",
        "IPC-100",
        0.4,
        _fw(("5.4.2", "2025-01-20", 0.45, "d"), ("5.1.0", "2023-06-30", 0.35, "dc"), ("4.7.9", "2021-02-14", 0.2, "tdcu")),
        "2025-09-30",
        update="manual",
        auto_default=False,
        default_login=0.35,
        tls=0.75,
    ),
    Product("camera", "Lumio", "Doorbell Cam", 0.25, _fw(("3.3.0", "2025-08-08", 0.8, ""), ("3.0.2", "2024-02-02", 0.2, "")), "2031-06-30"),
    # Voice assistants.
    Product(
        "voice_assistant",
        "Sonora",
        "Echo Point",
        0.6,
        _fw(("9.1.0", "2025-12-10", 0.9, ""), ("8.7.3", "2024-10-01", 0.1, "")),
        "2031-12-31",
    ),
    Product(
        "voice_assistant", "Parlo", "Home Mini", 0.4, _fw(("4.2.1", "2025-05-05", 0.8, ""), ("4.0.0", "2023-09-09", 0.2, "")), "2029-12-31"
    ),
    # TV and media.
    Product(
        "tv_media", "Visio", "SmartTV 55", 0.6, _fw(("12.3", "2025-03-03", 0.6, ""), ("11.8", "2023-03-03", 0.4, "")), "2027-06-30", tls=0.9
    ),
    Product(
        "tv_media", "Streamo", "Stick 4K", 0.4, _fw(("7.1.2", "2025-09-19", 0.85, ""), ("6.9.0", "2024-01-01", 0.15, "")), "2030-12-31"
    ),
    # Appliances.
    Product(
        "appliance",
        "Kuchenwerk",
        "Oven Connect",
        0.5,
        _fw(("1.8.0", "2025-02-28", 0.7, ""), ("1.5.2", "2023-04-04", 0.3, "")),
        "2032-12-31",
        update="via_app",
        auto_default=False,
    ),
    Product("appliance", "Frio", "Fridge Link", 0.5, _fw(("3.0.1", "2024-12-12", 0.8, ""), ("2.6.0", "2022-12-12", 0.2, "")), "2029-12-31"),
    # Energy.
    Product("energy", "Volta", "Wallbox 11", 0.5, _fw(("2.4.0", "2025-06-06", 0.7, ""), ("2.1.1", "2023-06-06", 0.3, "c")), "2030-12-31"),
    Product("energy", "Solaris", "Inverter X", 0.5, _fw(("5.5.5", "2025-03-15", 0.6, ""), ("5.0.0", "2022-05-15", 0.4, "t")), "2031-12-31"),
    # Locks.
    Product("lock", "Schloss", "Smart Lock 3", 0.6, _fw(("3.6.1", "2025-10-10", 0.8, ""), ("3.2.0", "2024-04-04", 0.2, "")), "2031-12-31"),
    Product(
        "lock",
        "Keyly",
        "Deadbolt Z",
        0.4,
        _fw(("1.3.0", "2024-11-11", 0.7, ""), ("1.1.2", "2022-11-11", 0.3, "u")),
        "2026-06-30",
        update="via_app",
        auto_default=False,
    ),
    # The rest.
    Product("robot_vacuum", "Roba", "Clean S7", 1.0, _fw(("4.3.2", "2025-07-07", 0.7, ""), ("4.0.0", "2023-07-07", 0.3, "")), "2029-12-31"),
    Product(
        "health_wearable", "Pulsar", "Band 5", 1.0, _fw(("5.2.0", "2025-09-01", 0.8, ""), ("5.0.1", "2024-09-01", 0.2, "")), "2028-12-31"
    ),
    Product(
        "toy",
        "Teddix",
        "Talking Bear",
        1.0,
        _fw(("1.2.0", "2023-10-10", 0.9, ""), ("1.0.0", "2021-10-10", 0.1, "d")),
        "2025-12-31",
        tls=0.7,
    ),
    Product(
        "intercom", "Klingel", "Door Station", 1.0, _fw(("2.2.2", "2025-04-04", 0.8, ""), ("2.0.0", "2022-04-04", 0.2, "t")), "2030-12-31"
    ),
    Product(
        "other",
        "Genio",
        "Gadget",
        1.0,
        _fw(
            ("1.0.0", "2024-01-01", 1.0, ""),
        ),
        "2027-12-31",
        tls=0.9,
    ),
)

DEVICE_TYPE_SHARES: dict[str, float] = {
    "lighting_plug": 0.30,
    "sensor_alarm": 0.15,
    "climate": 0.08,
    "camera": 0.08,
    "tv_media": 0.07,
    "voice_assistant": 0.06,
    "appliance": 0.06,
    "energy": 0.04,
    "lock": 0.03,
    "robot_vacuum": 0.03,
    "health_wearable": 0.02,
    "toy": 0.02,
    "intercom": 0.02,
    "network_equipment": 0.02,
    "other": 0.02,
}
"""Share of each device type among the devices of a home (a toy drawn in a home without children becomes a plug)."""

TYPE_DATA: dict[str, tuple[str, ...]] = {
    "camera": ("audio", "video"),
    "voice_assistant": ("audio", "usage_patterns"),
    "tv_media": ("media_habits",),
    "lock": ("access_events",),
    "health_wearable": ("health",),
    "robot_vacuum": ("home_map",),
    "energy": ("energy_profile",),
    "sensor_alarm": ("presence",),
    "climate": ("environment",),
    "toy": ("audio", "children_data"),
    "intercom": ("audio", "video"),
    "appliance": ("usage_patterns",),
    "lighting_plug": ("telemetry",),
    "network_equipment": ("telemetry",),
    "other": ("telemetry",),
}
"""Data categories each device type collects; cameras and intercoms also store their video."""

TYPE_SENSORS: dict[str, tuple[str, ...]] = {
    "camera": ("camera", "microphone", "motion"),
    "voice_assistant": ("microphone",),
    "sensor_alarm": ("contact", "motion"),
    "climate": ("humidity", "temperature"),
    "health_wearable": ("heart_rate", "sleep"),
    "robot_vacuum": ("lidar",),
    "toy": ("microphone",),
    "intercom": ("camera", "microphone"),
    "energy": ("power",),
    "lighting_plug": ("power",),
}
TYPE_ACTUATORS: dict[str, tuple[str, ...]] = {
    "lock": ("lock",),
    "climate": ("heating",),
    "appliance": ("oven", "power"),
    "energy": ("charger",),
    "lighting_plug": ("light", "power"),
    "robot_vacuum": ("motor",),
    "voice_assistant": ("speaker",),
}
TYPE_ZONES: dict[str, tuple[str, ...]] = {
    "camera": ("garden", "entrance", "living"),
    "intercom": ("entrance",),
    "lock": ("entrance",),
    "voice_assistant": ("living", "kitchen", "bedroom"),
    "tv_media": ("living", "bedroom"),
    "appliance": ("kitchen",),
    "climate": ("living", "bedroom", "bathroom"),
    "sensor_alarm": ("hallway", "entrance", "living"),
    "energy": ("hallway",),
    "robot_vacuum": ("living",),
    "health_wearable": ("bedroom",),
    "toy": ("kids-room",),
    "network_equipment": ("hallway",),
    "lighting_plug": ("living", "kitchen", "bedroom", "hallway", "bathroom", "garden"),
    "other": ("living",),
}
"""Rooms a device type is placed in, with equal chance (cameras and speakers go to the children's room in 20 % of homes with children)."""

LOGIN_TYPES = frozenset({"camera", "lock", "intercom", "network_equipment", "energy", "climate"})
"""Device types that have a login of their own (web or app)."""

ZIGBEE_TYPES: dict[str, float] = {"lighting_plug": 0.7, "sensor_alarm": 0.8, "climate": 0.5, "lock": 0.5}
"""In a home with a Zigbee hub, the share of each type that joins Zigbee instead of Wi-Fi."""

VENDOR_CLOUDS: dict[str, dict[str, object]] = {
    "Fibra": {"jurisdiction": "DE", "mfa": "optional", "notice": 0.99, "retention": 365, "sharing": 0.05},
    "Nordlink": {"jurisdiction": "SE", "mfa": "none", "notice": 0.95, "retention": 730, "sharing": 0.1},
    "Velocom": {"jurisdiction": "FR", "mfa": "optional", "notice": 0.99, "retention": 365, "sharing": 0.05},
    "Lumio": {"jurisdiction": "NL", "mfa": "optional", "notice": 0.99, "retention": 90, "sharing": 0.05},
    "Casaverde": {"jurisdiction": "IT", "mfa": "none", "notice": 0.9, "retention": 1825, "sharing": 0.3},
    "Zapp": {"jurisdiction": "CN", "mfa": "none", "notice": 0.7, "retention": 3650, "sharing": 0.6},
    "Wachter": {"jurisdiction": "DE", "mfa": "required", "notice": 1.0, "retention": 30, "sharing": 0.0},
    "Alarmio": {"jurisdiction": "PL", "mfa": "none", "notice": 0.8, "retention": 365, "sharing": 0.1},
    "Thermo": {"jurisdiction": "US", "mfa": "optional", "notice": 0.99, "retention": 730, "sharing": 0.2},
    "Heizwerk": {"jurisdiction": "AT", "mfa": "none", "notice": 0.9, "retention": 365, "sharing": 0.05},
    "Vista": {"jurisdiction": "US", "mfa": "required", "notice": 1.0, "retention": 30, "sharing": 0.05},
    "Eyecon": {"jurisdiction": "CN", "mfa": "none", "notice": 0.6, "retention": 3650, "sharing": 0.5},
    "Sonora": {"jurisdiction": "US", "mfa": "optional", "notice": 1.0, "retention": 1095, "sharing": 0.4},
    "Parlo": {"jurisdiction": "US", "mfa": "optional", "notice": 1.0, "retention": 540, "sharing": 0.3},
    "Visio": {"jurisdiction": "KR", "mfa": "none", "notice": 0.95, "retention": 1825, "sharing": 0.7},
    "Streamo": {"jurisdiction": "US", "mfa": "optional", "notice": 1.0, "retention": 730, "sharing": 0.5},
    "Kuchenwerk": {"jurisdiction": "DE", "mfa": "optional", "notice": 1.0, "retention": 365, "sharing": 0.05},
    "Frio": {"jurisdiction": "IT", "mfa": "none", "notice": 0.95, "retention": 365, "sharing": 0.1},
    "Volta": {"jurisdiction": "DE", "mfa": "optional", "notice": 1.0, "retention": 730, "sharing": 0.1},
    "Solaris": {"jurisdiction": "CN", "mfa": "none", "notice": 0.8, "retention": 1825, "sharing": 0.2},
    "Schloss": {"jurisdiction": "DE", "mfa": "required", "notice": 1.0, "retention": 90, "sharing": 0.0},
    "Keyly": {"jurisdiction": "US", "mfa": "optional", "notice": 0.95, "retention": 365, "sharing": 0.1},
    "Roba": {"jurisdiction": "CN", "mfa": "none", "notice": 0.85, "retention": 1095, "sharing": 0.4},
    "Pulsar": {"jurisdiction": "US", "mfa": "optional", "notice": 1.0, "retention": 1825, "sharing": 0.3},
    "Teddix": {"jurisdiction": "HK", "mfa": "none", "notice": 0.6, "retention": 3650, "sharing": 0.3},
    "Klingel": {"jurisdiction": "DE", "mfa": "optional", "notice": 1.0, "retention": 30, "sharing": 0.0},
    "Genio": {"jurisdiction": "US", "mfa": "none", "notice": 0.8, "retention": 365, "sharing": 0.2},
}
"""Each vendor runs one cloud backend: where, its second factor, how often a privacy notice is shown, retention in days, share sharing data."""

JURISDICTIONS: dict[str, float] = {"DE": 0.3, "FR": 0.2, "NL": 0.1, "ES": 0.1, "IT": 0.1, "GB": 0.1, "US": 0.1}
WIFI_ENCRYPTION: dict[str, float] = {"wpa2": 0.70, "wpa3": 0.22, "wpa": 0.05, "wep": 0.02, "none": 0.01}

# Shares of homes (or of elements) with a property; docs/fleet.md lists them in a table.
SHARE = {
    "second_adult": 0.70,
    "children": 0.30,
    "elderly": 0.08,
    "guest": 0.15,
    "office": 0.40,
    "garage": 0.30,
    "guest_wifi": 0.25,
    "zigbee": 0.55,
    "wifi_default_password": 0.18,
    "wps": 0.30,
    "iot_segment": 0.20,
    "upnp": 0.45,
    "port_forward": 0.12,
    "router_default_login": 0.12,
    "admin_mfa": 0.40,
    "declares_controls": 0.30,
    "accepts_risk": 0.04,
    "camera_unauthenticated_stream": 0.08,
    "debug_ports_exposed": 0.02,
    "voice_purchasing": 0.40,
}
DEVICES_BASE = 5
"""Every home has at least this many devices; the rest follow a negative binomial with mean 20 (so ~25 in all)."""
DEVICES_EXTRA_MEAN = 20.0
DEVICES_EXTRA_SHAPE = 4.0
DEVICES_MAX = 80
