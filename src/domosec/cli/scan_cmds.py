"""``domosec scan``: observe what the home's devices really expose and merge it into a model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

EXIT_INTERRUPTED = 130


def scan(
    target: Annotated[
        list[str],
        typer.Option("--target", "-t", help="Addresses, CIDR blocks or host names, comma-separated (repeatable).", show_default=False),
    ],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Merge the observations into this model.", rich_help_panel="Input")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the merged model here instead of standard output.", rich_help_panel="Output"),
    ] = None,
    ports: Annotated[
        str,
        typer.Option(
            help="More ports to scan, e.g. 8000-8010,9000; U: before UDP ports (CoAP), e.g. U:5683,56830.", rich_help_panel="What"
        ),
    ] = "",
    default_ports: Annotated[
        bool,
        typer.Option(
            "--default-ports/--no-default-ports", help="Scan the table of home and IoT ports (docs/scan.md).", rich_help_panel="What"
        ),
    ] = True,
    top_ports: Annotated[
        int | None,
        typer.Option(help="Only the first N ports of the home and IoT table, by rank.", rich_help_panel="What", show_default=False),
    ] = None,
    all_ports: Annotated[bool, typer.Option("--all-ports", help="Every TCP port, 1-65535.", rich_help_panel="What")] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            help="Never touch these: addresses, CIDR blocks, MAC addresses or model device IDs, comma-separated (repeatable); "
            "adds to the model's exclude: list.",
            rich_help_panel="Safety",
            show_default=False,
        ),
    ] = None,
    probes: Annotated[
        bool,
        typer.Option("--probes/--no-probes", help="Probe open ports (banners, TLS, logins); off: open ports only.", rich_help_panel="What"),
    ] = True,
    discovery: Annotated[
        bool, typer.Option("--discovery/--no-discovery", help="Browse mDNS and search SSDP.", rich_help_panel="What")
    ] = True,
    discovery_wait: Annotated[float, typer.Option(help="Seconds to listen for mDNS and SSDP answers.", rich_help_panel="What")] = 2.0,
    check_default_credentials: Annotated[
        bool,
        typer.Option(
            "--check-default-credentials", help="Try at most 5 default logins per service that asks for one.", rich_help_panel="What"
        ),
    ] = False,
    allow_public: Annotated[
        bool,
        typer.Option("--allow-public", help="Allow public addresses (only networks you are responsible for).", rich_help_panel="Safety"),
    ] = False,
    rate: Annotated[float, typer.Option(help="New connections or datagrams per second, at most.", rich_help_panel="Safety")] = 1000.0,
    per_host: Annotated[int, typer.Option(help="Connections to one host at once, at most.", rich_help_panel="Safety")] = 8,
    concurrency: Annotated[int, typer.Option(help="Connections in flight, at most.", rich_help_panel="Safety")] = 256,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a TCP connection.", rich_help_panel="Safety")] = 1.0,
    probe_timeout: Annotated[float, typer.Option(help="Seconds one probe may take.", rich_help_panel="Safety")] = 5.0,
    max_hosts: Annotated[int, typer.Option(help="Refuse targets with more addresses than this.", rich_help_panel="Safety")] = 4096,
    home_id: Annotated[
        str, typer.Option(help="system.id of the new model when no --model is given.", rich_help_panel="Output")
    ] = "scanned-home",
    timestamps: Annotated[
        bool,
        typer.Option(
            "--timestamps", help="Record when each fact was observed (output then differs between runs).", rich_help_panel="Output"
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop before sending anything.")] = False,
) -> None:
    """Scan the home network and turn what answers into model facts with provenance 'observed'.

    Only private, loopback and link-local targets unless --allow-public. The plan is printed first.

    Ctrl-C stops the scan and still writes what was found (exit code 130). See docs/scan.md.

    Examples:

      domosec scan --target 192.168.1.0/24 --model home.yaml -o observed.yaml

      domosec assess observed.yaml
    """
    import asyncio

    from domosec.extras import require
    from domosec.output_file import stdout_or_path

    require("scan", "domosec scan")  # before the scan modules, which import its packages
    output = stdout_or_path(output)

    from domosec.cli.output import errors
    from domosec.errors import Diagnostic, InputError
    from domosec.evidence.scan.exclusions import exclusion_items, resolve_exclusions
    from domosec.evidence.scan.merge import MergeOptions, merge_observations
    from domosec.evidence.scan.observations import Observations
    from domosec.evidence.scan.output import model_yaml, summary_lines
    from domosec.evidence.scan.ports import top_ports as table_ports
    from domosec.evidence.scan.runner import run_scan
    from domosec.evidence.scan.targets import Limits, ScanPlan, parse_port_spec, parse_targets

    problems = [
        Diagnostic(f"--{name}", None, None, "bad-limit", f"must be {what}, not {value:g}")
        for name, value, ok, what in (
            ("rate", rate, rate > 0, "above 0"),
            ("per-host", per_host, per_host >= 1, "at least 1"),
            ("concurrency", concurrency, concurrency >= 1, "at least 1"),
            ("timeout", timeout, timeout > 0, "above 0"),
            ("probe-timeout", probe_timeout, probe_timeout > 0, "above 0"),
            ("discovery-wait", discovery_wait, discovery_wait > 0, "above 0"),
            ("max-hosts", max_hosts, max_hosts >= 1, "at least 1"),
            ("top-ports", top_ports or 0, top_ports is None or top_ports >= 1, "at least 1"),
        )
        if not ok
    ]
    if output is not None:
        from domosec.output_file import output_file_problems

        problems += output_file_problems(output)  # found before the scan, not after it
    if problems:
        raise InputError(problems)
    table_tcp, table_udp = table_ports(top_ports) if default_ports or top_ports is not None else ((), ())
    extra_tcp, extra_udp = parse_port_spec(ports)
    tcp_ports = tuple(range(1, 65536)) if all_ports else tuple(sorted({*table_tcp, *extra_tcp}))
    udp_ports = tuple(sorted({*table_udp, *extra_udp}))
    if not tcp_ports and not udp_ports:
        raise InputError([Diagnostic("--ports", None, None, "no-ports", "no port to scan: give --ports or keep --default-ports")])
    items, hosts = parse_targets(target, allow_public=allow_public, max_hosts=max_hosts)
    base = None
    if model is not None:
        from domosec.model.load import load_model

        base = load_model(model).model
    excluded = resolve_exclusions(exclusion_items(exclude or [], base), base)
    hosts = tuple(h for h in hosts if not excluded.covers(str(h)))
    plan = ScanPlan(
        targets=items,
        hosts=hosts,
        tcp_ports=tcp_ports,
        udp_ports=udp_ports,
        excluded=excluded.described,
        limits=Limits(rate=rate, per_host=per_host, concurrency=concurrency, connect_timeout=timeout, probe_timeout=probe_timeout),
        discovery=discovery,
        discovery_wait=discovery_wait,
        probes=probes,
        default_credentials=check_default_credentials,
        allow_public=allow_public,
    )
    errors.print("domosec scan plan:", markup=False)
    for line in plan.describe():
        errors.print(f"  {line}", markup=False)
    if dry_run:
        return
    observations = Observations()
    try:
        asyncio.run(run_scan(plan, observations, log=lambda message: errors.print(f"… {message}", markup=False)))
    except KeyboardInterrupt:
        errors.print("interrupted: writing what was found so far", style="yellow", markup=False)
    at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat() if timestamps else None
    merged, report = merge_observations(observations, base, MergeOptions(home_id=home_id, targets=", ".join(items), at=at))
    header = [f"Written by domosec scan of {', '.join(items)}; observed facts carry provenance source 'observed'."]
    if not observations.complete:
        header.append("The scan was interrupted: this model holds only what was found before it stopped.")
    text = model_yaml(merged, header=header)
    if output is None:
        from domosec.cli.output import echo_document

        echo_document(text)
    else:
        from domosec.output_file import write_atomically

        write_atomically(output, text)
    for line in summary_lines(observations, report):
        errors.print(line, markup=False)
    if output is not None:
        errors.print(f"wrote {output}; next: domosec assess {output}", markup=False)
    if not observations.complete:
        raise typer.Exit(EXIT_INTERRUPTED)
