"""``domosec import …``: build a model from evidence of a real system."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Build a system model from a real system (facts get provenance 'imported').",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _register_sbom() -> None:
    from domosec.cli.sbom_cmds import import_sbom

    app.command(
        "sbom",
        epilog="Examples: domosec import sbom firmware.cdx.json --asset router --model home.yaml -o home.yaml; "
        "domosec import sbom fw.spdx.json --asset cam --model home.yaml --vulndb vulns.duckdb --vex fw.openvex.json -o home.yaml",
    )(import_sbom)


@app.command(
    "homeassistant",
    epilog="Examples: domosec import homeassistant /config -o home.yaml; "
    "domosec import homeassistant /config --overlay additions.yaml -o home.yaml && domosec assess home.yaml; "
    "domosec import homeassistant --url http://homeassistant.local:8123 --token-file ha.token -o home.yaml",
)
def homeassistant(
    config_dir: Annotated[
        Path | None,
        typer.Argument(help="The Home Assistant configuration directory (holds configuration.yaml and .storage/).", show_default=False),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the model here instead of standard output.")] = None,
    overlay: Annotated[
        Path | None, typer.Option("--overlay", help="A partial model merged over the import: what Home Assistant cannot know.")
    ] = None,
    max_bytes: Annotated[int, typer.Option(help="Refuse any file (with --url: message) over this many bytes.")] = 64 * 1024 * 1024,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print warnings only, not the summary.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list every device left out, with its reason.")] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Accept an import without devices from a registry that lists some (else exit 2).")
    ] = False,
    url: Annotated[
        str | None, typer.Option("--url", help="Read a running Home Assistant at this address instead of a directory.", show_default=False)
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="A file holding a long-lived access token (else $DOMOSEC_HA_TOKEN).", show_default=False),
    ] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="With --url https://…: do not verify the TLS certificate.")] = False,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file", help="With --url https://…: trust the certificates of this PEM file (a self-signed one).", show_default=False
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="With --url: seconds to wait for the connection and for each answer.", min=0.1)] = 30.0,
) -> None:
    """Import devices, areas, users, exposure and cloud integrations of a Home Assistant installation.

    Reads the files, or with --url a running instance through its WebSocket API (the access token comes
    from --token-file or $DOMOSEC_HA_TOKEN, never the command line). Secret values —
    password hashes, tokens, TOTP secrets, secrets.yaml — are never read into the model.
    Exit codes: 0 imported (warnings say what was skipped), 2 bad input, or no device imported from a
    registry that lists some (unless --allow-empty).
    """
    from domosec.cli.output import errors, print_diagnostics
    from domosec.evidence.homeassistant import import_homeassistant
    from domosec.output_file import check_output_file, stdout_or_path, write_atomically

    output = stdout_or_path(output)
    if output is not None:
        check_output_file(output)
    if (config_dir is None) == (url is None):
        from domosec.errors import Diagnostic, InputError

        message = "give either a configuration directory or --url, not both" if url else "give a configuration directory or --url"
        raise InputError([Diagnostic("import homeassistant", None, None, "ha-usage", message)])
    if url is not None:
        from domosec.extras import require

        require("homeassistant", "domosec import homeassistant --url")
        from domosec.evidence.homeassistant.live_import import import_live, read_token

        token = read_token(token_file)
        result = import_live(
            url, token, overlay=overlay, timeout=timeout, insecure=insecure, ca_file=ca_file, max_message=max_bytes, allow_empty=allow_empty
        )
    else:
        assert config_dir is not None
        result = import_homeassistant(config_dir, overlay=overlay, max_bytes=max_bytes, allow_empty=allow_empty)
    print_diagnostics(result.warnings)
    if output is None:
        from domosec.cli.output import echo_document

        echo_document(result.text)
    else:
        write_atomically(output, result.text)
    if not quiet:
        for line in result.summary:
            errors.print(line, markup=False)
        if verbose:
            for drop in result.dropped:
                errors.print(f"  left out {drop.render()}", markup=False)
        if output is not None:
            errors.print(f"wrote {output}; next: domosec assess {output}", markup=False)


@app.command(
    "nmap",
    epilog="Examples: nmap -sV -oX scan.xml 192.168.1.0/24; domosec import nmap scan.xml --model home.yaml -o observed.yaml",
)
def nmap(
    xml_file: Annotated[Path, typer.Argument(help="nmap's XML output (nmap -sV … -oX FILE).", show_default=False)],
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Merge the observations into this model.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the merged model here instead of standard output.")] = None,
    home_id: Annotated[str, typer.Option(help="system.id of the new model when no --model is given.")] = "scanned-home",
    max_bytes: Annotated[int, typer.Option(help="Refuse an XML file larger than this many bytes.")] = 256 * 1024 * 1024,
) -> None:
    """Turn nmap results (-sV, and scripts such as ssl-enum-ciphers, mqtt-subscribe, rtsp-methods, upnp-info) into observed facts.

    Hosts are matched to the model's devices by MAC address, IP address and host name, exactly as
    `domosec scan` does; facts get provenance 'observed', tool 'nmap (domosec import nmap)'. The XML is parsed
    safely (no entity expansion, bounded size). Exit codes: 0 imported, 2 bad input. See docs/scan.md.
    """
    from domosec.extras import require

    require("scan", "domosec import nmap")  # defusedxml comes with the scan extra's async-upnp-client
    from domosec.cli.output import errors
    from domosec.evidence.scan.merge import MergeOptions, merge_observations
    from domosec.evidence.scan.nmap_xml import read_nmap_xml
    from domosec.evidence.scan.output import model_yaml, summary_lines
    from domosec.output_file import check_output_file, stdout_or_path, write_atomically

    output = stdout_or_path(output)
    if output is not None:
        check_output_file(output)
    observations = read_nmap_xml(xml_file, max_bytes=max_bytes)
    base = None
    if model is not None:
        from domosec.model.load import load_model

        base = load_model(model).model
    merged, report = merge_observations(
        observations, base, MergeOptions(home_id=home_id, targets=f"nmap results {xml_file.name}", tool="nmap (domosec import nmap)")
    )
    header = f"Written by domosec import nmap from {xml_file.name}; observed facts carry provenance source 'observed'."
    text = model_yaml(merged, header=[header])
    if output is None:
        from domosec.cli.output import echo_document

        echo_document(text)
    else:
        write_atomically(output, text)
    for line in summary_lines(observations, report)[1:]:
        errors.print(line, markup=False)
    if output is not None:
        errors.print(f"wrote {output}; next: domosec assess {output}", markup=False)


_register_sbom()
