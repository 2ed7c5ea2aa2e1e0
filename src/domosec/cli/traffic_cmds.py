"""``domosec traffic``: what the devices really send, and to whom, from a pcap or pcapng capture (docs/traffic.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from domosec.evidence.traffic.analyse import Analysis

SHOWN_FINDINGS = 20


def traffic(
    capture: Annotated[Path, typer.Argument(help="A pcap or pcapng file (tcpdump -w, Wireshark, a router's capture).", show_default=False)],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Merge the evidence into this model.", rich_help_panel="Input")
    ] = None,
    devices: Annotated[
        Path | None,
        typer.Option(help="CSV of 'mac,name' rows: names matched to the model's devices.", rich_help_panel="Input", show_default=False),
    ] = None,
    trackers: Annotated[
        list[Path] | None,
        typer.Option(
            "--trackers",
            help="A tracker list you downloaded: hosts file, Adblock ||name^ rules, names, or DuckDuckGo Tracker Radar "
            "(its directory, a domain or entity JSON file, tds.json) (repeatable).",
            rich_help_panel="Input",
        ),
    ] = None,
    geoip: Annotated[
        Path | None,
        typer.Option(
            help="A GeoIP country database (.mmdb: MaxMind GeoLite2, DB-IP): each destination's country.", rich_help_panel="Input"
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the result here instead of standard output.", rich_help_panel="Output"),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="yaml: the merged model; json: hosts, flow table and findings.", rich_help_panel="Output")
    ] = "yaml",
    home_id: Annotated[
        str, typer.Option(help="system.id of the new model when no --model is given.", rich_help_panel="Output")
    ] = "captured-home",
    max_flows: Annotated[int, typer.Option(help="Flows kept at most; packets of further flows are only counted.")] = 500_000,
) -> None:
    """Read a traffic capture and turn its flows, destinations and cleartext logins into model facts with provenance 'observed'.

    Logins seen in clear are reported as seen: user names and passwords are never written or shown.

    Examples:

      domosec traffic home.pcapng --model home.yaml -o observed.yaml

      domosec traffic home.pcap --format json -o flows.json
    """
    from domosec.errors import Diagnostic, InputError
    from domosec.extras import require
    from domosec.output_file import output_file_problems, stdout_or_path

    require("traffic", "domosec traffic")
    output = stdout_or_path(output)
    problems = []
    if format not in ("yaml", "json"):
        problems.append(Diagnostic("--format", None, None, "bad-format", f"must be yaml or json, not {format!r}"))
    if max_flows < 1:
        problems.append(Diagnostic("--max-flows", None, None, "bad-limit", "must be at least 1"))
    if output is not None:
        problems += output_file_problems(output)
    if problems:
        raise InputError(problems)

    from domosec.cli.output import errors
    from domosec.evidence.traffic.destinations import load_tracker_lists
    from domosec.evidence.traffic.run import read_capture, read_device_names

    base = None
    if model is not None:
        from domosec.model.load import load_model

        base = load_model(model).model
    names = read_device_names(devices) if devices is not None else {}
    lists = load_tracker_lists(trackers) if trackers else None
    countries = None
    if geoip is not None:
        from domosec.evidence.traffic.geoip import GeoIP

        countries = GeoIP(geoip)
    analysis = read_capture(
        capture, trackers=lists, geoip=countries, max_flows=max_flows, progress=_progress if sys.stderr.isatty() else None
    )
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    report = None
    if format == "json":
        _write_json(analysis, output)
    else:
        from domosec.evidence.scan.output import model_yaml
        from domosec.evidence.traffic.merge import merge_traffic

        merged, report = merge_traffic(analysis, base, home_id, capture.name, names)
        header = [f"Written by domosec traffic from {capture.name}; observed facts carry provenance source 'observed'."]
        text = model_yaml(merged, header=header)
        if output is None:
            from domosec.cli.output import echo_document

            echo_document(text)
        else:
            from domosec.output_file import write_atomically

            write_atomically(output, text)
    stats, table = analysis.stats, analysis.table
    errors.print(
        f"read {stats.packets} packets ({stats.format or 'unknown format'}): {len(table.flows)} flows, {len(table.hosts)} local hosts, "
        f"{len(analysis.findings)} findings",
        markup=False,
    )
    for finding in analysis.findings[:SHOWN_FINDINGS]:
        errors.print(f"  {finding.device}: {finding.kind}: {finding.detail}", markup=False)
    if len(analysis.findings) > SHOWN_FINDINGS:
        errors.print(f"  … and {len(analysis.findings) - SHOWN_FINDINGS} more (all of them: --format json)", markup=False)
    if report is not None:
        if report.matched:
            errors.print("matched: " + ", ".join(f"{addr} → {ident} (by {by})" for addr, ident, by in report.matched), markup=False)
        if report.added_devices:
            errors.print("not in the model, added as observed: " + ", ".join(f"{a} → {i}" for a, i in report.added_devices), markup=False)
        if report.added_services:
            errors.print("destinations not in the model, added as services: " + ", ".join(report.added_services), markup=False)
    for warning in stats.warnings:
        errors.print(f"{capture}: warning: {warning}", style="yellow", markup=False)
    if output is not None:
        errors.print(f"wrote {output}" + ("; next: domosec assess " + str(output) if format == "yaml" else ""), markup=False)


def _write_json(analysis: Analysis, output: Path | None) -> None:
    """The ``--format json`` document, written as its rows are made (never whole in memory): to ``output`` through a
    temporary file renamed at the end, or to standard output (on a terminal with control characters escaped)."""
    from domosec.evidence.traffic.analyse import write_document

    if output is not None:
        from domosec.output_file import writing_atomically

        with writing_atomically(output) as handle:
            write_document(analysis, handle.write)
        return
    sys.stdout.flush()
    stream = sys.stdout.buffer
    if sys.stdout.isatty():
        from domosec.safe_text import json_escaped

        write_document(analysis, lambda piece: stream.write(json_escaped(piece.decode()).encode()))
    else:
        write_document(analysis, stream.write)
    stream.flush()


def _progress(done: int, total: int) -> None:
    share = f"{100 * done / total:5.1f} %" if total else ""
    sys.stderr.write(f"\rreading capture: {done / 1e6:,.0f} MB {share}")
    sys.stderr.flush()
