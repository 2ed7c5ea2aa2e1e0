"""The Parquet layout of a fleet: the normalised tables, split into parts that hold the same homes.

A fleet directory holds one folder per table (``homes/``, ``devices/``…, the tables of
``docs/tables.md``) plus ``accepted_risks/``, which only fleets need. Each folder holds
``part-00000.parquet``, ``part-00001.parquet``…; part *k* of every table holds the rows of the
same homes, so a part is a batch that can be assessed on its own. A table with no rows in a part
may leave its file out.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pyarrow as pa

from domosec.model.tables import SPECS, Column, TableSpec

ACCEPTED_RISKS = TableSpec(
    "accepted_risks",
    "Risks the household accepted (accepted_risks[]); read by the treatment step, never by rules.",
    (Column("risk_index", pa.int64(), "Position in the list."),),
    (
        Column("rule", pa.string(), "Rule ID."),
        Column("asset", pa.string(), "Element ID, or * for every asset."),
        Column("reason", pa.string(), "Why the risk is accepted."),
        Column("approver", pa.string(), "Who accepted it."),
        Column("expires", pa.date32(), "Last day the acceptance holds."),
        Column("ticket", pa.string(), "Tracking reference."),
    ),
)

FLEET_TABLES: dict[str, TableSpec] = {**SPECS, ACCEPTED_RISKS.name: ACCEPTED_RISKS}
"""Every table of a fleet, in a fixed order."""

PART_GLOB = "part-*.parquet"


def part_file(table: str, index: int) -> str:
    return f"{table}/part-{index:05d}.parquet"


def part_indices(root: Path) -> list[int]:
    """The part numbers present in a fleet directory (from its ``homes`` folder)."""
    found = []
    for path in sorted((root / "homes").glob(PART_GLOB)):
        stem = path.name[len("part-") : -len(".parquet")]
        if stem.isdigit():
            found.append(int(stem))
    return found


def is_fleet_dir(path: Path) -> bool:
    return path.is_dir() and (path / "homes").is_dir()


def empty_table(name: str) -> pa.Table:
    return FLEET_TABLES[name].schema().empty_table()


@functools.cache
def column_defaults() -> dict[str, dict[str, Any]]:
    """For each table, the value each column takes when the model leaves the field out.

    Computed by normalising a model that gives every element only its required fields, so the
    defaults can never drift from the model classes.
    """
    from domosec.model.elements import SystemModel
    from domosec.model.normalise import normalise

    smallest = SystemModel.model_validate(
        {
            "system": {"id": "h", "name": "n", "stakeholders": [{"role": "user", "name": "n"}]},
            "users": [{"id": "u", "role": "resident", "services": ["s"]}],
            "zones": [{"id": "z"}],
            "networks": [{"id": "n", "kind": "other"}],
            "gateways": [
                {
                    "id": "g",
                    "networks": ["n"],
                    "credentials": [{"kind": "other"}],
                    "endpoints": [{"protocol": "other"}],
                    "port_forwards": [{"target": "d", "external_port": 1}],
                    "data_at_rest": {"categories": ["telemetry"]},
                }
            ],
            "devices": [{"id": "d", "type": "other", "sensors": ["other"], "actuators": ["other"]}],
            "services": [
                {
                    "id": "s",
                    "kind": "other",
                    "sharing_purposes": ["legal"],
                    "automated_decisions": [{"decision": "x"}],
                    "linked_accounts": [{"service": "s"}],
                }
            ],
            "flows": [{"id": "f", "from": "d", "to": "s", "via": ["n"], "data": ["telemetry"]}],
            "controls": [{"id": "7.1.1", "status": "planned"}],
        }
    )
    tables = normalise([(smallest, "")])
    # A table the smallest model gives no row (a list it leaves empty) has no defaults: generators fill every column.
    out: dict[str, dict[str, Any]] = {name: (table.slice(0, 1).to_pylist() or [{}])[0] for name, table in tables.items()}
    out[ACCEPTED_RISKS.name] = {"asset": "*", "ticket": ""}
    return out
