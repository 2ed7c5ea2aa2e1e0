"""What a device is, from its integration and its manufacturer and model, where entities do not say.

Entities tell most devices apart (a ``camera`` entity makes a camera), but not all: a smoke detector
reports a binary sensor like a door contact, a Google Nest speaker is a ``media_player`` like a TV,
a router's clients have no entity at all. These tables hold what the integration or the product
name says instead; ``classify.device_type`` consults them before and after the entities. They also
name registry entries that are not hardware at all (helpers, add-on stores, browser tabs, media
sessions, scenes), which the importer leaves out with that reason.

The words were chosen from the devices of the public configurations in ``bench/ha_corpus.txt``;
``tests/evidence/homeassistant/device_types.csv`` measures the result against hand-given types.
"""

from __future__ import annotations

import re

# Integrations whose every device is of one type, whatever its entities say.
TYPE_BY_INTEGRATION: dict[str, str] = {
    **dict.fromkeys(("roomba", "neato", "ecovacs", "roborock", "dreame_vacuum", "husqvarna_automower", "landroid_cloud"), "robot_vacuum"),
    **dict.fromkeys(
        ("frigate", "reolink", "eufy_security", "blink", "arlo", "wyzeapi", "onvif", "onvif_hd", "generic", "unifiprotect"), "camera"
    ),
    **dict.fromkeys(("nest_protect",), "sensor_alarm"),
    **dict.fromkeys(("schlage", "nuki", "august", "yale", "myq", "tedee"), "lock"),
    **dict.fromkeys(("synology_dsm", "qnap"), "network_equipment"),
    **dict.fromkeys(
        ("powerwall", "fronius", "goodwe", "emporia_vue", "homewizard", "dsmr", "solaredge", "enphase_envoy", "tesla_wall_connector"),
        "energy",
    ),
    **dict.fromkeys(("withings", "owlet", "fitbit", "oralb"), "health_wearable"),
    **dict.fromkeys(("home_connect", "smartthinq_sensors", "miele", "litterrobot"), "appliance"),
    **dict.fromkeys(("sensibo", "airzone_cloud", "daikin_onecta", "ha_carrier", "tado", "honeywell"), "climate"),
    **dict.fromkeys(
        ("sonos", "cast", "apple_tv", "roku", "webostv", "samsungtv", "braviatv", "androidtv", "androidtv_remote", "dlna_dmr"), "tv_media"
    ),
    **dict.fromkeys(("yamaha_musiccast", "yamaha", "heos", "denonavr", "onkyo", "bluesound", "linkplay", "frontier_silicon"), "tv_media"),
    **dict.fromkeys(("upnp",), "network_equipment"),  # UPnP/IGD: the router itself, never a client it tracks
    **dict.fromkeys(("ibeacon",), "other"),  # a Bluetooth beacon or tag carried around: its distance is no sensor of the home
    **dict.fromkeys(("alexa_media",), "voice_assistant"),
    **dict.fromkeys(("harmony", "broadlink", "bluetooth"), "hub"),
    **dict.fromkeys(("nut", "ipp", "brother"), "other"),
}
"""Each an integration whose devices are all of one kind (the product's own name, below, comes first:
a Sonos One is a voice assistant, a Google TV a TV)."""

NETWORK_INTEGRATIONS: dict[str, str] = dict.fromkeys(
    ("asuswrt", "netgear", "fritz", "unifi", "tplink_omada", "openwrt", "freebox"), "network_equipment"
)
"""Routers and access points: they also list every client they see, so they give a type only when no other
integration claims the device and it is more than a tracked client."""

WEAK_TYPE_BY_INTEGRATION: dict[str, str] = {
    **dict.fromkeys(
        ("hue", "tradfri", "lutron_caseta", "lifx", "wiz", "yeelight", "govee", "govee_lan", "nanoleaf", "wled"), "lighting_plug"
    ),
    **dict.fromkeys(("simplisafe", "ring", "abode"), "sensor_alarm"),
}
"""Integrations whose devices are mostly of one kind: used when the entities do not say (a Hue bulb whose
light entity is disabled), after them (a Hue motion sensor is a sensor)."""

PHONE_INTEGRATIONS = frozenset({"mobile_app", "ios", "owntracks"})
"""The companion apps: each device is a phone, a tablet or a computer running the app."""

HELPER_INTEGRATIONS = frozenset(
    {"integration", "derivative", "powercalc", "switch_as_x", "utility_meter", "template", "group", "statistics"}
)
"""Helpers that attach their entities to another integration's device: they say nothing of what it is."""

# (pattern over "manufacturer model", type), strongest first. Only words that name the product.
_STRONG: tuple[tuple[str, str], ...] = (
    (r"\b(iphone|ipad|galaxy|pixel \d|sm-[a-z]\d|oneplus|macbook|chromebook|thinkpad|imac)", "other"),
    (r"google tv|android tv|fire ?tv|\baft|shield|chromecast|apple tv|roku|playstation|xbox|sony interactive|nintendo|\btv\b", "tv_media"),
    (
        r"google home|nest (hub|mini|audio)|echo (dot|show|studio|pop|spot|hub)|homepod|sonos (one|roam|move|era)|amazon echo|voice pe",
        "voice_assistant",
    ),
    (r"smoke|carbon monoxide|\bco alarm|topaz|fgsd|nest protect|first alert|alarm[- ]panel", "sensor_alarm"),
    (r"doorbell|camera|\bcam\b|wyzec|\bipc\b|hi3516", "camera"),
    (r"vacuum|roomba|deebot|roborock|automower", "robot_vacuum"),
    (r"\b(router|access point|mesh|orbi|modem|fritz!box|repeater|range extender|ds\d{3,4}\+?|ts-\d{3}\w*)\b", "network_equipment"),
    (r"unifi (controller|cloud ?key|network application)|\bcloud ?key\b", "network_equipment"),
    (r"\b(udm\w*|uap\w*|usw\w*|u6\w*|u7\w*|usl\w*|usmini|usf\w*|usg\w*|uxg\w*)\b", "network_equipment"),
    (
        r"husbzb|skyconnect|coordinator|\bezsp\b|z-stick|\bzst\d|\buzb\b|usb (controller|adapter|stick)|conbee|silicon labs|bridge|gateway|\bhub\b",
        "hub",
    ),
    (r"thermostat|\btrv\b|radiator|heat pump|air ?condition|purifier|humidifier", "climate"),
    (r"\b(smart|energy|electricity|kwh) meter\b(?!.*\b(plug|socket|outlet)\b)|\bsmart breaker\b", "energy"),
    (r"washer|dryer|dishwasher|oven|fridge|refrigerator|kettle|coffee|cooktop|\bhob\b|\bda_(wm|dw|ref|ks)", "appliance"),
)
_WEAK: tuple[tuple[str, str], ...] = (
    (
        r"plug|socket|outlet|bulb|lamp|light|\bled\b|strip|dimmer|relay|wall switch|on/off switch|in-wall|shutter|blind|curtain|shade",
        "lighting_plug",
    ),
    (r"remote|button|wireless switch|wireless mini switch|styrbar|tap switch|smart button|cube", "lighting_plug"),
    (r"sensor|motion|door|window|contact|leak|flood|water|temperature|humidity|presence|vibration|weather", "sensor_alarm"),
    (r"meter|kwh|inverter|battery|powerwall|charger", "energy"),
    (r"chromecast|soundbar|receiver|speaker", "tv_media"),
    (r"\bscale\b|smartwatch|withings", "health_wearable"),
)

NOT_HARDWARE_INTEGRATIONS: dict[str, str] = {
    "hacs": "an add-on store of Home Assistant",
    "spook": "a toolkit inside Home Assistant",
    "alarmo": "alarm software inside Home Assistant",
    "smart_irrigation": "a calculation inside Home Assistant",
    "icloud3": "the iCloud3 integration itself (its phones are separate devices)",
    "browser_mod": "a browser tab showing the Home Assistant dashboard",
    "cpuspeed": "a reading of the Home Assistant host itself",
    "systemmonitor": "a reading of the Home Assistant host itself",
    "google_fit": "a cloud account",
    "babybuddy": "an account of the Baby Buddy application",
    "plex": "a Plex media server or client session (software)",
    "jellyfin": "a Jellyfin media session (software)",
    "emby": "an Emby media session (software)",
    "kodi": "a Kodi media player application",
    "homekit": "Home Assistant's own HomeKit Bridge (software)",
    "scheduler": "a schedule inside Home Assistant",
    "spotify": "a Spotify account (a cloud service)",
    "pi_hole": "a Pi-hole DNS filter (software on some computer)",
    "adguard": "an AdGuard Home DNS filter (software on some computer)",
    "powercalc": "an energy estimate inside Home Assistant",
}
"""Integrations whose registry entries are software, accounts or sessions rather than hardware."""


def type_from_integration(domains: list[str], *, tracked_client: bool) -> str | None:
    """The type an integration gives its devices; a router's integration only for a device no other one claims."""
    own = [d for d in domains if d not in HELPER_INTEGRATIONS]
    for domain in own:
        if domain in TYPE_BY_INTEGRATION:
            return TYPE_BY_INTEGRATION[domain]
    others = [d for d in own if d not in NETWORK_INTEGRATIONS]
    if own and not others and not tracked_client:
        return NETWORK_INTEGRATIONS[own[0]]
    return None


def weak_type_from_integration(domains: list[str]) -> str | None:
    return next((WEAK_TYPE_BY_INTEGRATION[d] for d in domains if d in WEAK_TYPE_BY_INTEGRATION), None)


def _first(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, kind in table:
        if re.search(pattern, text):
            return kind
    return None


def type_from_product(manufacturer: str, model: str, *, strong: bool) -> str | None:
    """The type a product's name gives, from the strong words (sure) or the weak ones (a fallback)."""
    text = f"{manufacturer} {model}".lower().strip()
    return _first(_STRONG if strong else _WEAK, text) if text else None


def not_hardware(domains: list[str], model: str, entity_domains: set[str], integration_types: list[str | None]) -> str | None:
    """Why a registry entry is not a piece of hardware, or None when it is one.

    ``integration_types`` gives the ``integration_type`` of each of ``domains`` (None when unknown).
    """
    # Only when every integration of the entry says so: powercalc, for one, adds its sensors to real lights.
    if domains and all(d in NOT_HARDWARE_INTEGRATIONS for d in domains):
        return NOT_HARDWARE_INTEGRATIONS[domains[0]]
    if integration_types and all(kind == "helper" for kind in integration_types):
        return "a helper of Home Assistant (software)"
    if entity_domains and entity_domains <= {"scene", "script", "automation"}:
        return "a scene or script (software)"
    text = model.lower()
    if re.search(r"\bscene\b", text):
        return "a scene (software)"
    if re.search(r"\b(cast|speaker|audio) group\b", text):
        return "a group of speakers (virtual)"
    if re.search(r"alexa mobile voice|alexa (app|mobile)", text):
        return "the Alexa app on a phone (software)"
    if "public weather" in text:
        return "public data of other people's weather stations"
    return None
