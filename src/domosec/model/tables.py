"""The normalised tables: the columns every rule query reads, derived from the model classes.

Each model element becomes a row of a flat table keyed by ``home_id``. Column names follow
the model mechanically: a scalar field keeps its name, a nested object is flattened with an
underscore (``update.signed`` → ``update_signed``), an element's ``id`` becomes
``<element>_id``, a reference to another element gets ``_id`` (``zone`` → ``zone_id``), and
``provenance`` becomes the string column ``provenance`` (declared when not given). Lists
become child tables. A few derived columns (``tier``, ``is_private``…) are added from the
catalogue; they are marked as derived in docs/tables.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import annotated_types
from pydantic import BaseModel

from domosec.model import elements as el
from domosec.model import parts

if TYPE_CHECKING:
    import pyarrow as pa
    from pydantic.fields import FieldInfo

REFERENCE_FIELDS = frozenset({"zone", "gateway", "source", "target"})

# Column types by their Arrow names, so that the single-model path needs no pyarrow (its import costs ~0.08 s).
STRING, BOOL, INT64, FLOAT64, DATE = "string", "bool", "int64", "double", "date32[day]"
SQL_TYPES = {STRING: "varchar", BOOL: "boolean", INT64: "bigint", FLOAT64: "double", DATE: "date"}


def arrow_type(kind: str | pa.DataType) -> pa.DataType:
    """The Arrow type of a column type."""
    import pyarrow as pa

    if isinstance(kind, pa.DataType):
        return kind
    return {STRING: pa.string(), BOOL: pa.bool_(), INT64: pa.int64(), FLOAT64: pa.float64(), DATE: pa.date32()}[kind]


def sql_type(kind: str | pa.DataType) -> str:
    """The DuckDB (and Spark) SQL type of a column type."""
    return SQL_TYPES[str(kind)]


@dataclass(frozen=True)
class Column:
    """A column; its type is one of the type names above, or an Arrow type (whose ``str`` is the same name)."""

    name: str
    type: str | pa.DataType
    description: str = ""
    derived: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One normalised table: its name, its key columns and its value columns."""

    name: str
    description: str
    keys: tuple[Column, ...]
    columns: tuple[Column, ...] = field(default=())

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return (Column("home_id", STRING, "The home (system.id) the row belongs to."), *self.keys, *self.columns)

    def schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in self.all_columns])


def _column_type(annotation: Any) -> str | None:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _column_type(inner[0]) if len(inner) == 1 else None
    if origin is typing.Annotated:
        return _column_type(typing.get_args(annotation)[0])
    if origin is Literal:
        values = typing.get_args(annotation)
        return INT64 if all(isinstance(v, int) for v in values) else STRING
    if annotation is bool:
        return BOOL
    if annotation is int:
        return INT64
    if annotation is float:
        return FLOAT64
    if annotation is str:
        return STRING
    if annotation is dt.date:
        return DATE
    return None


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _nested_model(inner[0])
    return None


def flat_columns(cls: type[BaseModel], prefix: str = "", id_name: str = "") -> list[Column]:
    """Columns for the scalar and nested-object fields of ``cls`` (lists are left to child tables)."""
    cols: list[Column] = []
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        if name == "id":
            if id_name:
                cols.append(Column(id_name, STRING, info.description or ""))
            continue
        if name == "provenance":
            cols.append(Column(f"{prefix}provenance", STRING, "Where the fact came from: declared, imported, observed or derived."))
            continue
        if typing.get_origin(annotation) is list:
            continue
        nested = _nested_model(annotation)
        if nested is not None:
            cols.extend(flat_columns(nested, f"{prefix}{name}_"))
            continue
        kind = _column_type(annotation)
        if kind is None:
            raise TypeError(f"no column type for {cls.__name__}.{name}")
        column = f"{prefix}{name}_id" if name in REFERENCE_FIELDS and not prefix else f"{prefix}{name}"
        cols.append(Column(column, kind, _with_range(info)))
    return cols


def _with_range(info: FieldInfo) -> str:
    """The field's description, with its range when it is a number (every number in a model has one)."""
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    text = info.description or ""
    if low is None and high is None:
        return text
    bounds = f"*range:* {low if low is not None else '…'} to {f'{high:,}' if high is not None else '…'}"
    return f"{text} {bounds}".strip()


@functools.cache
def _value_plan(cls: type[BaseModel]) -> tuple[tuple[str, type[BaseModel] | None], ...]:
    """For each column-producing field of ``cls``: its name and, for nested objects, their class."""
    plan: list[tuple[str, type[BaseModel] | None]] = []
    for name, info in cls.model_fields.items():
        if name == "id" or typing.get_origin(info.annotation) is list:
            continue
        plan.append((name, None if name == "provenance" else _nested_model(info.annotation)))
    return tuple(plan)


def flat_values(obj: BaseModel | None, cls: type[BaseModel], out: list[Any]) -> None:
    """Append ``obj``'s values in :func:`flat_columns` order (``None`` objects give nulls)."""
    values = obj.__dict__ if obj is not None else {}
    for name, nested in _value_plan(cls):
        value = values.get(name)
        if name == "provenance":
            out.append(value.source if value is not None else ("declared" if obj is not None else None))
        elif nested is not None:
            flat_values(value, nested, out)
        else:
            out.append(value)


def _c(name: str, kind: str, description: str, derived: bool = False) -> Column:
    return Column(name, kind, description, derived)


S, B, N, D = STRING, BOOL, INT64, DATE

ASSET_KEYS = (
    _c("asset_kind", S, "gateway, device or service: the kind of element the row belongs to."),
    _c("asset_id", S, "ID of the gateway, device or service."),
)

SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "homes",
            "One row per model: the system being assessed.",
            (),
            (
                *[c for c in flat_columns(el.System) if c.name not in ("domosec",)],
                _c("source_file", S, "The model file the home was read from.", derived=True),
            ),
        ),
        TableSpec(
            "stakeholders",
            "Parties with a role in the system (system.stakeholders).",
            (_c("stakeholder_index", N, "Position in the list."),),
            tuple(flat_columns(parts.Stakeholder)),
        ),
        TableSpec(
            "users",
            "People in and around the home.",
            (_c("user_id", S, "User ID."),),
            (
                *flat_columns(el.User),
                _c(
                    "is_vulnerable",
                    B,
                    "vulnerable as stated; unset, true when the person lists a need or has a role marked vulnerable in the catalogue "
                    "(child, elderly), as their role or one of other_roles.",
                    derived=True,
                ),
            ),
        ),
        TableSpec(
            "user_roles",
            "Other roles each user has besides role (users[].other_roles): a visiting child is a child and a guest.",
            (_c("user_id", S, "User ID."), _c("role", S, "Household role.")),
        ),
        TableSpec(
            "user_needs",
            "Why each user needs extra protection (users[].needs): disability, dependency, cognitive…",
            (_c("user_id", S, "User ID."), _c("need", S, "The need.")),
        ),
        TableSpec(
            "user_services",
            "Services each user has an account with (users[].services).",
            (_c("user_id", S, "User ID."), _c("service_id", S, "Service ID.")),
        ),
        TableSpec(
            "user_devices",
            "Devices each user was given access to directly (users[].devices): a shared camera, an e-key, a lock code.",
            (_c("user_id", S, "User ID."), _c("device_id", S, "Device ID.")),
            (
                _c("expires", D, "When the code, key or share stops working (users[].devices[].expires)."),
                _c(
                    "never_expires",
                    B,
                    "The grant has no end date: never_expires as stated, else false when expires is given.",
                    derived=True,
                ),
                _c("last_reviewed", D, "When someone last checked that this person still needs this access."),
            ),
        ),
        TableSpec(
            "zones",
            "Rooms and areas.",
            (_c("zone_id", S, "Zone ID."),),
            (
                *flat_columns(el.Zone),
                _c("is_private", B, "privacy is high, given or by default for bedrooms, bathrooms and children's rooms.", derived=True),
            ),
        ),
        TableSpec(
            "networks",
            "Home networks, radio links and the internet uplink.",
            (_c("network_id", S, "Network ID."),),
            (
                *flat_columns(el.Network),
                _c("is_wireless", B, "The network is a radio link (every kind but ethernet, powerline and wan).", derived=True),
            ),
        ),
        TableSpec(
            "gateways",
            "IoT-domotics gateways: hubs, routers, bridges, home servers.",
            (_c("gateway_id", S, "Gateway ID."),),
            tuple(flat_columns(el.Gateway)),
        ),
        TableSpec(
            "devices",
            "IoT-domotics devices.",
            (_c("device_id", S, "Device ID."),),
            (
                *flat_columns(el.Device),
                _c("tier", S, "The device type's criticality tier (high, medium, low) from the catalogue.", derived=True),
                _c("is_safety_relevant", B, "safety_relevant, or the device type's default when not given.", derived=True),
                _c("is_child_directed", B, "child_directed, or the device type's default when not given.", derived=True),
            ),
        ),
        TableSpec(
            "equipment_networks",
            "Networks each gateway or device is on (gateways[].networks, devices[].networks).",
            (*ASSET_KEYS, _c("network_id", S, "Network ID.")),
        ),
        TableSpec(
            "device_sensors",
            "What each device senses (devices[].sensors).",
            (_c("device_id", S, "Device ID."), _c("sensor", S, "Sensor kind.")),
        ),
        TableSpec(
            "device_actuators",
            "What each device moves or switches (devices[].actuators).",
            (_c("device_id", S, "Device ID."), _c("actuator", S, "Actuator kind.")),
        ),
        TableSpec(
            "equipment_data",
            "Data categories each gateway or device collects (devices[].data) or stores (data_at_rest.categories).",
            (*ASSET_KEYS, _c("category", S, "Data category ID.")),
            (
                _c("collected", B, "Listed in devices[].data.", derived=True),
                _c("stored", B, "Listed in devices[].data_at_rest.categories.", derived=True),
                _c("sensitivity", S, "The category's sensitivity from the catalogue (low, medium, high, special).", derived=True),
            ),
        ),
        TableSpec(
            "credentials",
            "Logins of gateways and devices (credentials[]); properties only, never secrets.",
            (*ASSET_KEYS, _c("credential_index", N, "Position in the list.")),
            tuple(flat_columns(parts.Credential)),
        ),
        TableSpec(
            "endpoints",
            "Network services exposed by gateways, devices and services (endpoints[]).",
            (*ASSET_KEYS, _c("endpoint_index", N, "Position in the list.")),
            tuple(flat_columns(parts.Endpoint)),
        ),
        TableSpec(
            "software",
            "Software components of gateways and devices, from their SBOMs (software[]).",
            (*ASSET_KEYS, _c("component_index", N, "Position in the list.")),
            tuple(flat_columns(parts.SoftwareComponent)),
        ),
        TableSpec(
            "software_vulnerabilities",
            "Known vulnerabilities matched to software components (software[].vulnerabilities[]).",
            (*ASSET_KEYS, _c("component_index", N, "Position of the component."), _c("vulnerability_id", S, "Vulnerability ID.")),
            tuple(c for c in flat_columns(parts.KnownVulnerability) if c.name != "id"),
        ),
        TableSpec(
            "port_forwards",
            "Ports the gateway opens towards the home (gateways[].port_forwards).",
            (_c("gateway_id", S, "Gateway ID."), _c("forward_index", N, "Position in the list.")),
            (
                *flat_columns(parts.PortForward),
                _c("target_kind", S, "device or gateway.", derived=True),
            ),
        ),
        TableSpec(
            "gateway_bridges",
            "Brokers and integrations forwarding the home's messages outside the home (gateways[].bridges).",
            (_c("gateway_id", S, "Gateway ID."), _c("bridge_index", N, "Position in the list.")),
            tuple(flat_columns(parts.Bridge)),
        ),
        TableSpec(
            "services",
            "Service sub-systems: cloud backends, apps, voice platforms, third parties.",
            (_c("service_id", S, "Service ID."),),
            tuple(flat_columns(el.Service)),
        ),
        TableSpec(
            "service_sharing",
            "Purposes for which a service shares data (services[].sharing_purposes).",
            (_c("service_id", S, "Service ID."), _c("purpose", S, "Sharing purpose.")),
        ),
        TableSpec(
            "service_decisions",
            "Automated decisions a service makes (services[].automated_decisions).",
            (_c("service_id", S, "Service ID."), _c("decision_index", N, "Position in the list.")),
            tuple(flat_columns(parts.AutomatedDecision)),
        ),
        TableSpec(
            "service_links",
            "Cloud-to-cloud account links (services[].linked_accounts).",
            (_c("service_id", S, "Service ID."), _c("link_index", N, "Position in the list.")),
            (
                _c("linked_service_id", S, "The service given access (linked_accounts[].service)."),
                _c("scope", S, "full, limited or read_only."),
            ),
        ),
        TableSpec(
            "flows",
            "Data flows between elements.",
            (_c("flow_id", S, "Flow ID."),),
            (
                _c("source_id", S, "ID of the element the data comes from (flows[].from)."),
                _c("source_kind", S, "user, gateway, device or service.", derived=True),
                _c("target_id", S, "ID of the element the data goes to (flows[].to)."),
                _c("target_kind", S, "user, gateway, device or service.", derived=True),
                *[c for c in flat_columns(el.Flow) if c.name not in ("source_id", "target_id")],
                _c("leaves_home", B, "One end is a service, or the flow crosses a wan or cellular network.", derived=True),
            ),
        ),
        TableSpec(
            "flow_networks", "Networks each flow crosses (flows[].via).", (_c("flow_id", S, "Flow ID."), _c("network_id", S, "Network ID."))
        ),
        TableSpec(
            "flow_data",
            "Data categories each flow carries (flows[].data).",
            (_c("flow_id", S, "Flow ID."), _c("category", S, "Data category ID.")),
            (_c("sensitivity", S, "The category's sensitivity from the catalogue.", derived=True),),
        ),
        TableSpec(
            "automations",
            "Rules that drive a device by themselves (automations[]).",
            (_c("automation_index", N, "Position in the list."),),
            tuple(flat_columns(el.Automation)),
        ),
        TableSpec(
            "controls",
            "Declared status of clause-7 items (controls[]).",
            (_c("control_id", S, "Clause-7 item, e.g. 7.2.16."),),
            (
                *flat_columns(el.ControlStatus),
                _c("evidence_count", N, "Number of evidence entries.", derived=True),
            ),
        ),
    )
}
