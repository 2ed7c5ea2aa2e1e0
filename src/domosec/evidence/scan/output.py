"""Writing the merged model as YAML that ``domosec validate`` and ``domosec assess`` read back unchanged."""

from __future__ import annotations

import io
from typing import Any

from domosec.evidence.scan.merge import MergeReport
from domosec.evidence.scan.observations import Observations
from domosec.model.elements import SystemModel
from domosec.model.load import load_model_text


def model_yaml(model: SystemModel, *, header: list[str]) -> str:
    """The model as YAML (defaults left out, keys in model order), checked by loading it back."""
    from ruamel.yaml import YAML

    data: dict[str, Any] = {"domosec": model.domosec}
    data.update(model.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    yaml = YAML(typ="safe")
    yaml.representer.ignore_aliases = lambda _data: True
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    text = "".join(f"# {line}\n" for line in header) + buffer.getvalue()
    load_model_text(text, "<scan output>")
    return text


def summary_lines(observations: Observations, report: MergeReport) -> list[str]:
    """What the scan found and what the merge did, a few lines for the terminal."""
    hosts = observations.sorted_hosts()
    services = sum(len(h.services) for h in hosts)
    lines = [
        f"{'scanned' if observations.complete else 'interrupted after'} {observations.elapsed:.1f} s: "
        f"{len(hosts)} host{'s' if len(hosts) != 1 else ''} with {services} open service{'s' if services != 1 else ''}, "
        f"{observations.probes_sent} connections or datagrams"
    ]
    for host in hosts:
        ports = (
            ", ".join(f"{s.protocol}/{s.port}{'/udp' if s.transport == 'udp' else ''}" for s in host.sorted_services()) or "no open port"
        )
        lines.append(f"  {host.address:<15} {ports}")
    if report.matched:
        lines.append("matched: " + ", ".join(f"{addr} → {ident} (by {by})" for addr, ident, by in report.matched))
    if report.added:
        lines.append("not in the model, added as observed: " + ", ".join(f"{addr} → {kind} {ident}" for addr, ident, kind in report.added))
    for host in hosts:
        if host.gateway is not None:
            wan = f" (WAN address {host.gateway.external_ip})" if host.gateway.external_ip else ""
            lines.append(
                f"UPnP gateway {host.address}{wan}: {len(host.gateway.mappings)} port mapping(s)"
                + (f"; {host.gateway.error}" if host.gateway.error else "")
            )
    if report.forwards:
        lines.append(f"UPnP port mappings recorded as port forwards: {report.forwards}")
    lines.extend(observations.notes)
    return lines
