"""What a Home Assistant device is, from its entities, connections and integration.

Device type, sensors, actuators and data categories come from the entity domains and device
classes of the device's entities; radio networks from connection types and integration domains;
zone kinds from area names (English, German, Dutch and French words). Every guess here is a
hint the assessor can correct with an overlay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domosec.evidence.homeassistant import hints
from domosec.evidence.homeassistant.registries import HaEntity

# Device type by entity domain, strongest first: a device with a camera entity is a camera,
# whatever else it has.
_TYPE_BY_DOMAIN: tuple[tuple[str, str], ...] = (
    ("camera", "camera"),
    ("lock", "lock"),
    ("alarm_control_panel", "sensor_alarm"),
    ("assist_satellite", "voice_assistant"),
    ("lawn_mower", "appliance"),
    ("vacuum", "robot_vacuum"),
    ("climate", "climate"),
    ("water_heater", "climate"),
    ("media_player", "tv_media"),
    ("siren", "sensor_alarm"),
)
_SAFETY_CLASSES = {"smoke": "smoke", "gas": "co", "carbon_monoxide": "co", "moisture": "water", "safety": "other", "tamper": "other"}
_SENSOR_BY_CLASS = {
    "motion": "motion",
    "occupancy": "presence",
    "presence": "presence",
    "door": "contact",
    "window": "contact",
    "opening": "contact",
    "garage_door": "contact",
    "temperature": "temperature",
    "humidity": "humidity",
    "smoke": "smoke",
    "gas": "co",
    "carbon_monoxide": "co",
    "carbon_dioxide": "air_quality",
    "pm25": "air_quality",
    "pm10": "air_quality",
    "volatile_organic_compounds": "air_quality",
    "aqi": "air_quality",
    "moisture": "water",
    "illuminance": "light",
    "power": "power",
    "energy": "power",
    "vibration": "vibration",
    "sound": "microphone",
}
_ACTUATOR_BY_DOMAIN = {
    "lock": "lock",
    "climate": "heating",
    "water_heater": "water_heater",
    "light": "light",
    "switch": "power",
    "siren": "siren",
    "valve": "valve",
    "media_player": "speaker",
    "lawn_mower": "motor",
    "vacuum": "motor",
}
_COVER_DOORS = {"door", "garage", "gate"}
_UPKEEP_CLASSES = {"battery", "signal_strength", "timestamp", "enum", "voltage"}
"""Readings about the device itself: a remote that only reports its battery is not a sensor."""
_DATA_BY_SENSOR = {
    "camera": "video",
    "microphone": "audio",
    "motion": "presence",
    "presence": "presence",
    "contact": "presence",
    "temperature": "environment",
    "humidity": "environment",
    "air_quality": "environment",
    "light": "environment",
    "power": "energy_profile",
}
_DATA_BY_DOMAIN = {
    "lock": "access_events",
    "alarm_control_panel": "access_events",
    "media_player": "media_habits",
    "device_tracker": "location",
    "person": "location",
    "vacuum": "home_map",
    "assist_satellite": "audio",
    "weather": "location",
    "calendar": "usage_patterns",
}

# Radio networks by connection type, then by integration domain.
NETWORK_BY_CONNECTION = {"zigbee": "zigbee", "bluetooth": "ble"}
NETWORK_BY_DOMAIN = {
    "zha": "zigbee",
    "deconz": "zigbee",
    "hue": "zigbee",
    "tradfri": "zigbee",
    "zwave_js": "zwave",
    "zwave_me": "zwave",
    "matter": "thread",
    "thread": "thread",
    "otbr": "thread",
    "homekit_controller": "thread",
    "bthome": "ble",
    "xiaomi_ble": "ble",
    "switchbot": "ble",
    "govee_ble": "ble",
    "inkbird": "ble",
    "sensorpush": "ble",
    "oralb": "ble",
    "bluetooth": "ble",
    "ibeacon": "ble",
    "zwave": "zwave",
    "ozw": "zwave",
    "zigbee2mqtt": "zigbee",
}
NETWORK_NAMES = {
    "zigbee": "Zigbee",
    "zwave": "Z-Wave",
    "thread": "Thread",
    "ble": "Bluetooth Low Energy",
}

_ZONE_WORDS: tuple[tuple[str, str], ...] = (
    (r"child|kid|nursery|baby|kinder|enfant|bébé", "children_room"),
    (r"bed|bunk|sleep|schlaf|slaap|chambre", "bedroom"),
    (r"bath|shower|toilet|wc|badezimmer|\bbad\b|badkamer|salle de bain|douche", "bathroom"),
    (r"living|lounge|family|sitting|wohn|woonkamer|salon|séjour", "living"),
    (r"kitchen|küche|keuken|cuisine", "kitchen"),
    (r"hall|corridor|landing|stair|flur|\bgang\b|couloir", "hallway"),
    (r"entrance|entry|porch|front door|foyer|eingang|entrée", "entrance"),
    (r"office|study|\bden\b|büro|kantoor|bureau", "office"),
    (r"garage", "garage"),
    (r"garden|yard|patio|terrace|balcony|garten|tuin|jardin", "garden"),
    (r"outside|outdoor|exterior|außen|buiten|extérieur", "outdoor"),
    (r"laundry|utility|basement|cellar|attic|keller|zolder|buanderie", "utility"),
)


@dataclass
class Profile:
    """What the entities of one device say about it."""

    type: str = "other"
    sensors: set[str] = field(default_factory=set)
    actuators: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    plain_readings: bool = False
    """A sensor without a device class (what a home-made sensor reports)."""


def profile(entities: Iterable[HaEntity]) -> Profile:
    result = Profile()
    classes: set[str] = set()
    for entity in entities:
        result.domains.add(entity.domain)
        if entity.device_class:
            classes.add(entity.device_class)
            sensor = _SENSOR_BY_CLASS.get(entity.device_class)
            if sensor and entity.domain in ("binary_sensor", "sensor", "event"):
                result.sensors.add(sensor)
        elif entity.domain in ("sensor", "binary_sensor"):
            result.plain_readings = True
        if entity.domain == "camera":
            result.sensors.add("camera")
        if entity.domain == "device_tracker":
            result.sensors.add("location")
        actuator = _ACTUATOR_BY_DOMAIN.get(entity.domain)
        if actuator:
            result.actuators.add(actuator)
        if entity.domain == "cover":
            result.actuators.add("door" if entity.device_class in _COVER_DOORS else "motor")
        if entity.domain in _DATA_BY_DOMAIN:
            result.data.add(_DATA_BY_DOMAIN[entity.domain])
    result.data |= {_DATA_BY_SENSOR[s] for s in result.sensors if s in _DATA_BY_SENSOR}
    result.type = _device_type(result, classes)
    return result


def _device_type(p: Profile, classes: set[str]) -> str:
    for domain, kind in _TYPE_BY_DOMAIN:
        if domain in p.domains:
            return kind
    if "binary_sensor" in p.domains and classes & set(_SAFETY_CLASSES):
        return "sensor_alarm"
    if "cover" in p.domains and "door" in p.actuators:
        return "lock"  # a garage door opener or gate controller: access to the home
    if "event" in p.domains and "button" in classes and p.domains <= {"event", "sensor", "binary_sensor"}:
        return "lighting_plug"  # a remote or wall button
    if p.domains & {"light", "switch"}:
        return "lighting_plug"
    if p.domains & {"fan", "humidifier"}:
        return "climate"
    if "valve" in p.domains:
        return "appliance"
    if p.domains & {"sensor", "binary_sensor", "event"} and p.sensors:
        return "energy" if p.sensors <= {"power"} else "sensor_alarm"
    if p.domains and p.domains <= {"sensor", "binary_sensor"} and (p.plain_readings or classes - _UPKEEP_CLASSES):
        return "sensor_alarm"  # readings without a device class (a home-made ESPHome or MQTT sensor)
    return "other"


NOT_BRIDGE_TYPES = frozenset({"network_equipment", "energy", "climate", "tv_media", "appliance", "camera"})
"""Types that stay devices when others are listed under them (their parts, or sensors of their own system)."""


def device_type(entities: list[HaEntity], integrations: list[str], manufacturer: str, model: str) -> tuple[Profile, str]:
    """The profile of a device's primary entities, and its type.

    Entities marked ``config`` or ``diagnostic`` are left out: a socket's "child lock" setting does not
    make it a lock, nor does a battery reading make a sensor. The order is: the product's own name
    where it is unambiguous (a smoke detector, a Google Nest speaker, a phone), an integration whose
    devices are all of one kind, then the primary entities, then weaker words of the product's name.
    """
    prof = profile(e for e in entities if e.is_primary)
    if any(d in hints.PHONE_INTEGRATIONS for d in integrations):
        return prof, "other"  # a phone or tablet with the companion app: docs/homeassistant.md
    strong = hints.type_from_product(manufacturer, model, strong=True)
    if strong:
        return prof, strong
    # A router's integration also lists the clients it sees (a device_tracker, or nothing): not its kind.
    tracked = prof.domains <= {"device_tracker"} and bool(prof.domains or set(integrations) & set(hints.NETWORK_INTEGRATIONS))
    by_integration = hints.type_from_integration(integrations, tracked_client=tracked)
    if by_integration:
        return prof, by_integration
    if prof.type != "other":
        return prof, prof.type
    return prof, hints.weak_type_from_integration(integrations) or hints.type_from_product(manufacturer, model, strong=False) or "other"


def zone_kind(area_id: str, name: str) -> str:
    text = f"{name} {area_id.replace('_', ' ')}".lower()
    for pattern, kind in _ZONE_WORDS:
        if re.search(pattern, text):
            return kind
    return "other"


def flow_data(entities: Iterable[HaEntity]) -> list[str]:
    """Data categories a group of entities carries (for the flow of an integration to its cloud)."""
    p = profile(entities)
    categories = set(p.data)
    if p.domains - {"button", "update", "select", "number", "text", "scene", "script"}:
        categories.add("telemetry")
    return sorted(categories)
