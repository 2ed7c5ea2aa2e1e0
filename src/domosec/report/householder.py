"""The householder summary: the few things to fix first, in plain words (ISO/IEC 27403 7.2.20).

Reads the Assessment only. Open findings are gathered per rule, so one action covers every
device it concerns; actions are ordered by their worst residual risk. The advice is the part of
the rule's ``how_to_fix`` addressed to the householder; rules that only the maker or the service
provider can fix become "ask the maker" items. No rule IDs, scores or clause numbers appear;
the technical words that remain (they are what the device menus say) are explained in a short
word list. ``home_plans`` feeds both the Markdown here and the HTML ``audience="home"`` page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domosec.assessment import Assessment, DataFlow, Finding, Home, LevelName, RuleInfo

FIRST = 5  # actions shown in full, per home
ASK = 3  # maker/provider items shown, per home
LISTED_PLACES = 6  # devices named per action before "and N more"

URGENCY: dict[LevelName, str] = {
    "critical": "Fix this now",
    "high": "Fix this soon",
    "medium": "Worth fixing",
    "low": "When you have time",
    "info": "Good to know",
}

_ROLE = r"(?:householder|integrator|installer|developer|service provider|service developer|service and device developer|device developer|manufacturer)"
_LABEL = re.compile(rf"(?:^|(?<=[.;!?])\s+)({_ROLE}(?: or {_ROLE})*):\s+", re.IGNORECASE)
_RULE_REF = re.compile(r"\s*\([^()]*\b[A-Z]{2,4}-[SP]\d{2}\b[^()]*\)|\b[A-Z]{2,4}-[SP]\d{2}\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")

# Technical words that survive in householder advice because device menus use them, explained plainly.
GLOSSARY: dict[str, str] = {
    "ADB": "a maintenance back door on Android-based devices (TVs, boxes) meant for developers",
    "AES": "a strong kind of encryption; in Wi-Fi settings, the good choice",
    "AP": "access point: the box that sends out a Wi-Fi signal (often your router)",
    "API": "a way for apps and other programs to control a device or service",
    "APIs": "ways for apps and other programs to control a device or service",
    "BLE": "Bluetooth Low Energy, the short-range radio many locks, toys and trackers use",
    "CCMP": "the strong kind of Wi-Fi encryption (also called AES)",
    "CISA": "the US government's cyber-security agency, which keeps the list of weaknesses attackers are known to use",
    "CVE": "the ID number of a published software weakness (CVE-year-number)",
    "CVSS": "a 0-10 score experts give a software weakness: the higher, the worse",
    "DECT": "the radio used by cordless home phones and some smart-home devices",
    "DNS": "the internet's phone book, which turns names into addresses",
    "DSK": "the code printed on a Z-Wave device, typed or scanned when adding it securely",
    "DuckDuckGo": "a privacy-minded search company that publishes a list of trackers and who runs them",
    "EN": "European Norm: a European standard",
    "EU": "the European Union",
    "ETSI": "a European standards body; its EN 303 645 is a security baseline for smart devices",
    "FTC": "the US Federal Trade Commission, which protects consumers",
    "HTTPS": "the encrypted way of opening a web page (the padlock in the browser)",
    "ICT": "information and communication technology",
    "IGD": "part of UPnP: lets devices open doors in the router by themselves",
    "IoT": "Internet of Things: smart devices that connect to a network",
    "IP": "the numbering of devices on a network and the internet (an IP address)",
    "IPv4": "the older form of internet addresses",
    "IPv6": "the newer form of internet addresses",
    "JTAG": "a factory test connector on a device's circuit board",
    "LE": "Low Energy, as in Bluetooth LE",
    "MAC": "a device's hardware address on a network",
    "MHz": "megahertz: a radio frequency",
    "MQTT": "a messaging system smart-home devices use to talk to a hub",
    "NAS": "a storage box for files and backups on your home network",
    "NAT": "how your router shares one internet address between all your devices",
    "ONVIF": "a standard way to control security cameras over the network",
    "PCP": "like UPnP: lets devices open doors in the router by themselves",
    "PIN": "a short number code",
    "PINs": "short number codes",
    "PMP": "like UPnP: lets devices open doors in the router by themselves",
    "QR": "the square barcode you scan with a phone camera",
    "RTSP": "a way to watch a camera's video over the network, often with no password or encryption",
    "RTSPS": "the encrypted form of RTSP camera video",
    "S0": "Z-Wave's old, weak pairing security",
    "S2": "Z-Wave's modern pairing security",
    "SMS": "a text message on a phone",
    "SSH": "an encrypted way to log in to a device remotely",
    "SSID": "the name of a Wi-Fi network",
    "TEE": "a protected area inside a device's chip that keeps secrets apart",
    "TKIP": "an old, weak kind of Wi-Fi encryption",
    "TLS": "the encryption that protects connections on the internet (the padlock)",
    "ULE": "a low-power version of DECT radio used by some smart-home devices",
    "UPnP": "a router feature that lets devices open doors into your home network by themselves",
    "VLAN": "a separate network that shares the same cables and router",
    "VPN": "an encrypted tunnel into your home network from outside",
    "WAN": "the internet side of your router",
    "WEP": "a very old Wi-Fi security that is easy to break",
    "WPA": "an old Wi-Fi security; WPA2 and WPA3 are its successors",
    "WPA2": "the common Wi-Fi security; fine with a long password",
    "WPA3": "the newest and strongest Wi-Fi security",
    "WPS": "a push-button or PIN way of joining Wi-Fi that is easy to abuse",
    "firmware": "the software built into a device",
    "port forward": "a router setting that lets the internet reach a device inside your home",
    "telnet": "an old way to log in to a device over the network, without encryption",
    "Z-Wave": "a home-automation radio used by sensors, locks and switches",
    "Zigbee": "a home-automation radio used by lights, sensors and plugs",
}
EVERYDAY = frozenset({"TV", "TVs", "USB", "IDs", "PC", "US"})  # abbreviations every householder knows
# Names in the sources rules cite (companies, conferences, products): named, not explained.
CITED_NAMES = frozenset({"CON", "DEF", "DIS", "IPVM", "L1", "SensePost", "VIZIO"})

_GLOSSARY_RE = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(t) if t[:1].isupper() else f"(?i:{re.escape(t)})" for t in sorted(GLOSSARY, key=len, reverse=True))
    + r")(?![\w-])"
)
_GLOSSARY_KEYS = {t if t[:1].isupper() else t.lower(): t for t in GLOSSARY}


@dataclass(frozen=True)
class Action:
    """One thing to do, covering every place (device, account, service) where the same problem was found."""

    title: str
    level: LevelName
    urgency: str
    places: list[str]
    more_places: int
    why: str
    steps: str


@dataclass(frozen=True)
class HomePlan:
    home_id: str
    name: str
    open_findings: int
    first: list[Action]
    ask_maker: list[Action]
    not_shown: int
    glossary: list[tuple[str, str]]


def advice_parts(how_to_fix: str) -> list[tuple[str, str]]:
    """A rule's remediation split by audience: ``[(label, text)]``; text before any label gets the label ``""``."""
    text = " ".join(how_to_fix.split())
    marks = list(_LABEL.finditer(text))
    parts = [("", text[: marks[0].start()] if marks else text)]
    parts += [(m.group(1), text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]) for i, m in enumerate(marks)]
    return [(label, body.strip()) for label, body in parts if body.strip()]


def householder_advice(how_to_fix: str) -> str:
    """The part of a rule's remediation addressed to the householder, in one paragraph; empty if none."""
    advice = " ".join(body for label, body in advice_parts(how_to_fix) if "householder" in label.lower())
    return _sentence_case(" ".join(_RULE_REF.sub("", advice).split()))


def home_plans(assessment: Assessment) -> list[HomePlan]:
    """The plan for each home of the assessment, in home order."""
    rules = {r.id: r for r in assessment.rules}
    by_home: dict[str, list[Finding]] = {h.home_id: [] for h in assessment.homes}
    for f in assessment.findings:
        if f.is_open and not f.is_unverified:  # an unverified finding is a question for the assessor, not a fix
            by_home.setdefault(f.home_id, []).append(f)
    return [_plan(home, by_home[home.home_id], rules) for home in assessment.homes]


def render_home_markdown(assessment: Assessment) -> str:
    """The householder summary as Markdown that also reads well as plain text."""
    lines: list[str] = []
    for plan in home_plans(assessment):
        lines += [f"# {_md(plan.name or plan.home_id)}: what to fix first", ""]
        if not plan.first and not plan.ask_maker:
            lines += ["Nothing needs fixing right now. Check again when you add a device or a service.", ""]
            continue
        lines += [_intro(plan), ""]
        for n, a in enumerate(plan.first, 1):
            lines += [f"## {n}. {_md(a.title)}", "", f"**{a.urgency}.** Where: {_md(_places(a))}.", ""]
            if a.why:
                lines += [f"Why it matters: {_md(a.why)}", ""]
            lines += [f"What to do: {_md(a.steps)}", ""]
        if plan.ask_maker:
            lines += ["## Ask the maker or the service provider", ""]
            lines += ["Only they can fix these. Ask them for an update, or choose another product when you replace it.", ""]
            lines += [f"- **{_md(a.title)}** ({a.urgency.lower()}): {_md(_places(a))}." for a in plan.ask_maker]
            lines.append("")
        if plan.not_shown:
            lines += [f"There {_are(plan.not_shown)} to look at later; the full report lists them.", ""]
        if plan.glossary:
            lines += ["## Words you may see", ""]
            lines += [f"- **{term}**: {meaning}." for term, meaning in plan.glossary]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _plan(home: Home, findings: list[Finding], rules: dict[str, RuleInfo]) -> HomePlan:
    names = {e.id: e.name or e.id for e in home.elements}
    flows = {fl.id: fl for fl in home.flows}
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.rule_id, []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (-max(f.residual.score for f in kv[1]), -len(kv[1]), kv[0]))
    mine: list[Action] = []
    theirs: list[Action] = []
    for rule_id, items in ordered:
        rule = rules.get(rule_id)
        steps = householder_advice(rule.how_to_fix) if rule else ""
        action = _action(items, rule, steps, names, flows)
        (mine if steps else theirs).append(action)
    first, ask = mine[:FIRST], theirs[:ASK]
    text = " ".join(a.title + " " + a.why + " " + a.steps for a in first + ask)
    terms = sorted({_GLOSSARY_KEYS.get(m, _GLOSSARY_KEYS.get(m.lower(), m)) for m in _GLOSSARY_RE.findall(text)}, key=str.lower)
    return HomePlan(
        home_id=home.home_id,
        name=home.name,
        open_findings=len(findings),
        first=first,
        ask_maker=ask,
        not_shown=len(mine) - len(first) + len(theirs) - len(ask),
        glossary=[(t, GLOSSARY[t]) for t in terms],
    )


def _action(items: list[Finding], rule: RuleInfo | None, steps: str, names: dict[str, str], flows: dict[str, DataFlow]) -> Action:
    worst = max(items, key=lambda f: f.residual.score)
    places = sorted({_place(f, names, flows) for f in items}, key=str.lower)
    why = _first_sentences(rule.why_it_matters, 2) if rule else ""
    return Action(
        title=(rule.title if rule else worst.title),
        level=worst.residual.level,
        urgency=URGENCY[worst.residual.level],
        places=places[:LISTED_PLACES],
        more_places=max(0, len(places) - LISTED_PLACES),
        why=why,
        steps=steps,
    )


def _place(f: Finding, names: dict[str, str], flows: dict[str, DataFlow]) -> str:
    if f.asset.kind == "flow" and f.asset.id in flows:
        fl = flows[f.asset.id]
        return f"data sent from {names.get(fl.source, fl.source)} to {names.get(fl.target, fl.target)}"
    if f.asset.kind == "user":
        return f"the account of {f.asset.name or names.get(f.asset.id, f.asset.id)}"
    return f.asset.name or names.get(f.asset.id, f.asset.id)


def _places(a: Action) -> str:
    text = ", ".join(a.places)
    return f"{text} and {a.more_places} more" if a.more_places else text


def _intro(plan: HomePlan) -> str:
    shown = len(plan.first)
    kinds = len(plan.first) + len(plan.ask_maker) + plan.not_shown  # the units the rest of the page counts in
    head = f"This check found {plan.open_findings:,} open {'issue' if plan.open_findings == 1 else 'issues'} in this home"
    head += "." if kinds == plan.open_findings else f", of {kinds:,} {'kind' if kinds == 1 else 'kinds'}."
    if shown:
        return head + f" Start with {'this one' if shown == 1 else f'these {shown}'}: each is a change you can make yourself."
    return head + " None of them is something you can change yourself; the list below says whom to ask."


def _first_sentences(text: str, n: int) -> str:
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    return " ".join(sentences[:n]).strip()


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _are(n: int) -> str:
    return f"is {n} more kind of issue" if n == 1 else f"are {n:,} more kinds of issue"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


def _md(text: str) -> str:
    """Escape Markdown's special characters so model text reads literally (and cannot inject links or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", text)
