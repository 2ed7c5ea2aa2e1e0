"""A home's system along the ISO/IEC 27403 reference model, drawn by Graphviz as inline SVG.

Users, networks, gateways and devices sit inside the home boundary (devices and gateways in
their zone), services outside it; data flows are arrows (an open arrowhead and "observed" for flows
seen in a traffic capture rather than declared), and attachments to networks dotted lines. Each element with open findings is filled in the colour of its worst residual level
and says how many it has. Above ``GROUP_THRESHOLD`` elements of one kind, devices are drawn
as one node per zone and type (services and users per type), and flows between the same two
nodes as one arrow, so a 5,000-device home stays a readable picture of bounded size.

Every text from the model goes into HTML-like Graphviz labels, XML-escaped here; node names
are generated (``n0``, ``n1``…), so nothing from the model reaches DOT syntax unescaped.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

import graphviz

from domosec.assessment import LEVELS, DataFlow, Element, Finding, Home, LevelName
from domosec.safe_text import visible

GROUP_THRESHOLD = 40
LABELLED_FLOWS = 30  # above this many arrows, flows carry no text (the privacy view lists them)
FONT = "Helvetica,Arial,sans-serif"
LEVEL_FILL: dict[LevelName, str] = {
    # the heat-map ramp of report.css: lightness 57 → 96, apart by lightness as well as hue (colour-blind safe)
    "critical": "#e45a6a",
    "high": "#f99b4c",
    "medium": "#fcca55",
    "low": "#fff5b8",
    "info": "#eeeeee",
}
LEVEL_LINE: dict[LevelName, str] = {
    "critical": "#8e1b2b",
    "high": "#c2410c",
    "medium": "#a16207",
    "low": "#1d6fa5",
    "info": "#6b7280",
}
SHAPES = {
    "user": {"shape": "ellipse"},
    "network": {"shape": "ellipse", "style": "dashed,filled"},
    "gateway": {"shape": "box3d"},
    "device": {"shape": "box", "style": "rounded,filled"},
    "service": {"shape": "component"},
}
KIND_WORDS = {"user": "user", "network": "network", "gateway": "gateway", "device": "device", "service": "service"}


@dataclass(frozen=True)
class Diagram:
    """The rendered diagram of one home, or the reason it is absent."""

    home_id: str
    svg: str = ""
    absent: str = ""
    grouped: bool = False
    flow_labels: bool = True
    nodes: dict[str, list[str]] = field(default_factory=dict)  # SVG node id → the element IDs it stands for


@dataclass
class _Node:
    name: str
    kind: str
    title: str
    subtitle: str
    zone: str | None
    assets: list[str] = field(default_factory=list)
    count: int = 0
    worst: LevelName | None = None


def draw(home: Home, findings: list[Finding], prefix: str) -> Diagram:
    """Draw ``home``; ``findings`` are its open findings; ``prefix`` makes SVG ids unique in the page."""
    nodes, owner = _nodes(home, findings, prefix)
    if not nodes:
        return Diagram(home.home_id, absent="The model describes no users, networks, gateways, devices or services to draw.")
    dot, flow_labels = _graph(home, findings, nodes, owner, prefix)
    grouped = any(len(n.assets) > 1 for n in nodes.values())
    try:
        svg = dot.pipe(format="svg", encoding="utf-8", quiet=True)  # quiet: dot's stderr is never copied to ours
    except graphviz.ExecutableNotFound:
        return Diagram(
            home.home_id,
            absent="Graphviz is not installed (its dot program was not found on PATH), so the system diagram could not be drawn. "
            "Install Graphviz (Debian and Ubuntu: apt-get install graphviz) and render the report again.",
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = detail.decode("utf-8", "replace").strip().splitlines() if isinstance(detail, bytes) else str(detail).splitlines()
        return Diagram(home.home_id, absent=f"Graphviz could not draw the system diagram: {text[-1] if text else exc}.")
    ids = {f"{prefix}-{n.name}": n.assets for n in nodes.values()}
    return Diagram(home.home_id, svg=_inline(svg, home.name or home.home_id), grouped=grouped, flow_labels=flow_labels, nodes=ids)


def _nodes(home: Home, findings: list[Finding], prefix: str) -> tuple[dict[str, _Node], dict[str, str]]:
    """Nodes keyed by name, and the node that stands for each element ID."""
    marks: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        marks[f.asset.id].append(f)
    zones = {e.id: e.name or e.id for e in home.elements if e.kind == "zone"}
    by_kind: dict[str, list[Element]] = defaultdict(list)
    for e in home.elements:
        if e.kind in SHAPES:
            by_kind[e.kind].append(e)
    nodes: dict[str, _Node] = {}
    owner: dict[str, str] = {}
    for kind in ("user", "network", "gateway", "device", "service"):
        elements = by_kind[kind]
        group = kind in ("user", "device", "service") and len(elements) > GROUP_THRESHOLD
        for e in elements:
            key = f"{kind}|{e.zone if kind == 'device' else ''}|{e.type}" if group else f"{kind}|{e.id}"
            node = nodes.get(key)
            if node is None:
                node = nodes[key] = _Node(
                    name=f"n{len(nodes)}",
                    kind=kind,
                    title="" if group else (e.name or e.id),
                    subtitle=_subtitle(e, zones) if not group else "",
                    zone=e.zone if kind == "device" else None,
                )
            node.assets.append(e.id)
            owner[e.id] = node.name
            for f in marks.get(e.id, []):
                node.count += 1
                if node.worst is None or LEVELS.index(f.residual.level) > LEVELS.index(node.worst):
                    node.worst = f.residual.level
    for key, node in nodes.items():
        if len(node.assets) > 1 or node.title == "":
            kind, zone, kind_type = key.split("|", 2)
            node.title = f"{len(node.assets):,} × {kind_type.replace('_', ' ') or KIND_WORDS[kind]}"
            node.subtitle = zones.get(zone, zone) if zone else f"{KIND_WORDS[kind]}s"
    return {n.name: n for n in nodes.values()}, owner


def _subtitle(e: Element, zones: dict[str, str]) -> str:
    words = [e.type.replace("_", " ")] if e.type else [KIND_WORDS[e.kind]]
    if e.zone:
        words.append(zones.get(e.zone, e.zone))
    if e.kind == "service" and (e.operator or e.jurisdiction):
        words.append(", ".join(x for x in (e.operator, e.jurisdiction) if x))
    return " · ".join(words)


def _graph(
    home: Home, findings: list[Finding], nodes: dict[str, _Node], owner: dict[str, str], prefix: str
) -> tuple[graphviz.Digraph, bool]:
    dot = graphviz.Digraph(name=prefix)
    dot.attr(rankdir="LR", fontname=FONT, fontsize="11", nodesep="0.25", ranksep="0.7", newrank="true", bgcolor="transparent")
    dot.attr("node", fontname=FONT, fontsize="10", style="filled", fillcolor="white", color="#374151", margin="0.12,0.06")
    dot.attr("edge", fontname=FONT, fontsize="9", color="#6b7280", arrowsize="0.7")
    zones = {e.id: e.name or e.id for e in home.elements if e.kind == "zone"}
    with dot.subgraph(name="cluster_home") as inside:
        inside.attr(label=_html_label("Home", "inside the home boundary"), style="rounded", color="#1f2937", penwidth="1.6")
        by_zone: dict[str | None, list[_Node]] = defaultdict(list)
        for n in nodes.values():
            if n.kind != "service":
                by_zone[n.zone].append(n)
        for n in by_zone.pop(None, []):
            _add_node(inside, n, prefix)
        for i, zone in enumerate(sorted(by_zone, key=lambda z: str(z))):
            with inside.subgraph(name=f"cluster_zone{i}") as box:
                box.attr(label=f"<<I>{_text(zones.get(zone, zone) if zone else '')}</I>>", style="rounded,dashed", color="#9ca3af")
                for n in by_zone[zone]:
                    _add_node(box, n, prefix)
    services = [n for n in nodes.values() if n.kind == "service"]
    if services:
        with dot.subgraph(name="cluster_internet") as outside:
            outside.attr(
                label=_html_label("Internet", "beyond the home boundary"), style="filled,dashed", fillcolor="#f3f4f6", color="#6b7280"
            )
            for n in services:
                _add_node(outside, n, prefix)
    _attachments(dot, home, owner)
    return dot, _flows(dot, home.flows, findings, owner)


def _add_node(graph: graphviz.Digraph, n: _Node, prefix: str) -> None:
    attrs = dict(SHAPES[n.kind])
    style = attrs.pop("style", "filled")
    if n.worst is not None:
        attrs.update(fillcolor=LEVEL_FILL[n.worst], color=LEVEL_LINE[n.worst], penwidth="1.6")
    mark = ""
    if n.count:
        assert n.worst is not None
        mark = f"{n.count:,} open finding{'s' if n.count != 1 else ''} · worst {n.worst}"
    graph.node(
        n.name, label=_html_label(n.title, n.subtitle, mark), style=style, id=f"{prefix}-{n.name}", **{"class": f"el el-{n.kind}"}, **attrs
    )


def _attachments(dot: graphviz.Digraph, home: Home, owner: dict[str, str]) -> None:
    """Dotted lines: device → network → gateway → WAN, so the picture reads from the rooms out to the internet.

    Invisible edges from the WAN side to the services keep the services in the last column.
    """
    pairs: set[tuple[str, str]] = set()
    networks = {e.id: e for e in home.elements if e.kind == "network"}
    for e in home.elements:
        if e.kind == "device":
            links = [(e.id, n) for n in e.networks if n in networks] or ([(e.id, e.parent)] if e.parent else [])
        elif e.kind == "gateway":
            links = [(e.id, n) if networks[n].type == "wan" else (n, e.id) for n in e.networks if n in networks]
        elif e.kind == "network" and e.parent:
            links = [(e.parent, e.id) if e.type == "wan" else (e.id, e.parent)]
        else:
            links = []
        for x, y in links:
            a, b = owner.get(x), owner.get(y)
            if a and b and a != b:
                pairs.add((a, b))
    for a, b in sorted(pairs):
        dot.edge(a, b, style="dotted", arrowhead="none", color="#9ca3af")
    edge_side = [owner[n] for n, e in networks.items() if e.type == "wan" and n in owner]
    edge_side = edge_side or sorted({owner[e.id] for e in home.elements if e.kind == "gateway" and e.id in owner})
    services = sorted({owner[e.id] for e in home.elements if e.kind == "service" and e.id in owner})
    for a in sorted(set(edge_side)):
        for b in services:
            dot.edge(a, b, style="invis")


def _flows(dot: graphviz.Digraph, flows: list[DataFlow], findings: list[Finding], owner: dict[str, str]) -> bool:
    """One arrow per pair of nodes: the data it carries, whether it is encrypted, and the findings on it.

    Returns whether the arrows are labelled (they are not when there are too many to read).
    """
    marked: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.asset.kind == "flow":
            marked[f.asset.id].append(f)
    merged: dict[tuple[str, str], list[DataFlow]] = defaultdict(list)
    for fl in flows:
        a, b = owner.get(fl.source), owner.get(fl.target)
        if a and b:
            merged[(a, b)].append(fl)
    labelled = len(merged) <= LABELLED_FLOWS
    for (a, b), group in sorted(merged.items()):
        data = sorted({c for fl in group for c in fl.data})
        words = ", ".join(c.replace("_", " ") for c in data[:3]) + (f" +{len(data) - 3}" if len(data) > 3 else "")
        head = f"{len(group):,} flows" if len(group) > 1 else ""
        clear = sum(1 for fl in group if fl.encrypted is False)
        seen = sum(1 for fl in group if fl.observed)
        notes = []
        if seen:
            notes.append("observed" if seen == len(group) else f"{seen:,} observed")
        if clear:
            notes.append("unencrypted" if clear == len(group) else f"{clear:,} unencrypted")
        issues = [f for fl in group for f in marked.get(fl.id, [])]
        if issues:
            notes.append(f"{len(issues):,} finding{'s' if len(issues) != 1 else ''}")
        lines = [x for x in (head, words, " · ".join(notes)) if x]
        attrs = {"penwidth": "1.6" if any(fl.leaves_home for fl in group) else "1.0", "constraint": "false"}
        if clear:
            attrs["style"] = "dashed"
        if seen:  # seen in a traffic capture, not declared: an open arrowhead, and a class the page can style
            attrs.update(arrowhead="onormal", **{"class": "flow flow_observed" if seen == len(group) else "flow flow_mixed"})
        else:
            attrs["class"] = "flow flow_declared"
        if issues:
            worst = max((f.residual.level for f in issues), key=LEVELS.index)
            attrs.update(color=LEVEL_LINE[worst], fontcolor=LEVEL_LINE[worst])
        label = "<" + "<BR/>".join(_text(x) for x in lines) + ">" if lines and labelled else ""
        dot.edge(a, b, label=label, **attrs)
    return labelled


def _html_label(title: str, subtitle: str = "", mark: str = "") -> str:
    parts = [f"<B>{_text(title)}</B>"]
    if subtitle:
        parts.append(f'<FONT POINT-SIZE="8">{_text(subtitle)}</FONT>')
    if mark:
        parts.append(f'<FONT POINT-SIZE="8">{_text(mark)}</FONT>')
    return "<" + "<BR/>".join(parts) + ">"


def _text(text: str) -> str:
    """Model text for a Graphviz HTML-like label: XML forbids control characters, so they are shown as escapes."""
    return escape(visible(text))


_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
_NODE = re.compile(r'(<g id="[^"]*" class="(?:node|cluster)[^"]*">\s*<title>)[^<]*(</title>)(.*?</g>)', re.S)
_TEXT = re.compile(r"<text\b[^>]*>([^<]*)</text>")


def _name_nodes(svg: str) -> str:
    """Give each node the words drawn in it as its ``<title>`` (its accessible name) instead of Graphviz's "n0"."""

    def named(m: re.Match[str]) -> str:
        words = [t.strip() for t in _TEXT.findall(m.group(3)) if t.strip()]
        return m.group(1) + (", ".join(words) or "element") + m.group(2) + m.group(3)

    return _NODE.sub(named, svg)


def _inline(svg: str, name: str) -> str:
    """Graphviz's SVG without the XML prolog and comments, labelled for screen readers, ready to inline."""
    svg = _name_nodes(_COMMENT.sub("", _PROLOG.sub("", svg, count=1)))
    return _SIZE.sub(
        lambda m: (
            f'<svg class="diagram" role="img" aria-label="System diagram of {_text(name)}" width="{m.group(1)}pt" height="{m.group(2)}pt"'
        ),
        svg,
        count=1,
    )
