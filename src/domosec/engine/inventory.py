"""The system inventory an Assessment carries, so renderers can draw a home without reading its model."""

from __future__ import annotations

from domosec.assessment import DataCategoryInfo, DataFlow, Element
from domosec.catalog.load import Catalogue
from domosec.model.elements import SystemModel


def elements(model: SystemModel) -> list[Element]:
    """Every user, zone, network, gateway, device and service of a model, in that order and by ID.

    Built with ``model_construct``: the values come from a validated model, so checking them again is waste.
    """
    out: list[Element] = []
    out += [Element.model_construct(kind="user", id=u.id, name=u.name, type=u.role, side="home") for u in model.users]
    out += [Element.model_construct(kind="zone", id=z.id, name=z.name, type=z.kind, side="home") for z in model.zones]
    out += [
        Element.model_construct(kind="network", id=n.id, name=n.name, type=n.kind, side="home", parent=n.gateway) for n in model.networks
    ]
    out += [
        Element.model_construct(
            kind="gateway",
            id=g.id,
            name=g.name,
            type=g.kind,
            side="home",
            zone=g.zone,
            networks=sorted(g.networks),
            vendor=g.vendor,
            model=g.model,
            firmware=g.firmware,
        )
        for g in model.gateways
    ]
    out += [
        Element.model_construct(
            kind="device",
            id=d.id,
            name=d.name,
            type=d.type,
            side="home",
            zone=d.zone,
            networks=sorted(d.networks),
            parent=d.gateway,
            vendor=d.vendor,
            model=d.model,
            firmware=d.firmware,
            data=sorted(d.data),
        )
        for d in model.devices
    ]
    out += [
        Element.model_construct(
            kind="service", id=s.id, name=s.name, type=s.kind, side="internet", operator=s.operator, jurisdiction=s.jurisdiction
        )
        for s in model.services
    ]
    order = {"user": 0, "zone": 1, "network": 2, "gateway": 3, "device": 4, "service": 5}
    return sorted(out, key=lambda e: (order[e.kind], e.id))


def flows(model: SystemModel) -> list[DataFlow]:
    """Every data flow, by ID; a flow leaves the home when one of its ends or hops is a service."""
    services = {s.id for s in model.services}
    return sorted(
        (
            DataFlow.model_construct(
                id=f.id,
                source=f.source,
                target=f.target,
                via=list(f.via),
                data=sorted(f.data),
                protocol=f.protocol,
                encrypted=f.encrypted,
                authenticated=f.authenticated,
                purpose=f.purpose,
                consent=f.consent,
                leaves_home=bool({f.source, f.target, *f.via} & services),
                observed=f.provenance is not None and f.provenance.source == "observed",
            )
            for f in model.flows
        ),
        key=lambda f: f.id,
    )


def data_categories(models: list[SystemModel], catalogue: Catalogue) -> list[DataCategoryInfo]:
    """The catalogue's entry for every data category a device or flow of these models names."""
    used = {c for m in models for d in m.devices for c in d.data} | {c for m in models for f in m.flows for c in f.data}
    known = catalogue.data_categories
    return [DataCategoryInfo(id=c, title=known[c].title, sensitivity=known[c].sensitivity) for c in sorted(used) if c in known]
