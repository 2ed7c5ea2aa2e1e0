"""``domosec import sbom`` and ``domosec vulndb import|info``: software inventory and offline vulnerability data (docs/sbom.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

vulndb_app = typer.Typer(
    help="Offline vulnerability data (OSV, NVD CVE 2.0, CISA KEV, end-of-life table) in one local store; never fetched at run time.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def import_sbom(
    sbom_file: Annotated[
        Path,
        typer.Argument(help="A CycloneDX 1.4–1.7 (JSON, XML), SPDX 2.3 (JSON, tag-value) or SPDX 3.0 (JSON-LD) SBOM.", show_default=False),
    ],
    asset: Annotated[str, typer.Option("--asset", "-a", help="ID of the device or gateway the software runs on.", show_default=False)],
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Add the software to this model (else a new product model).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the model here instead of standard output.")] = None,
    vulndb: Annotated[
        Path | None, typer.Option("--vulndb", help="Match the components against this store (domosec vulndb import).", show_default=False)
    ] = None,
    vex: Annotated[
        list[Path] | None, typer.Option("--vex", help="An OpenVEX or CycloneDX VEX document about this asset (repeatable).")
    ] = None,
    home_id: Annotated[str, typer.Option(help="system.id of the new model when no --model is given.")] = "product",
    max_bytes: Annotated[int, typer.Option(help="Refuse an SBOM larger than this many bytes.")] = 64 * 1024 * 1024,
) -> None:
    """Record the software components of a device or gateway from its SBOM, with their known vulnerabilities.

    Components (name, version, supplier, purl, CPE, SHA-256, licences, dependencies) replace the asset's
    `software` list; with --vulndb each gets the vulnerabilities the offline store matches, with a confidence
    (exact_purl, cpe_range, name_only), CISA KEV status, the fixed version and any VEX statement.
    Exit codes: 0 imported, 2 bad input. See docs/sbom.md.
    """
    from domosec.extras import require

    require("sbom", "domosec import sbom")
    from domosec.cli.output import errors
    from domosec.evidence.sbom.attach import attach_sbom, new_model
    from domosec.evidence.sbom.reader import read_sbom
    from domosec.evidence.sbom.vex import read_vex
    from domosec.evidence.scan.output import model_yaml
    from domosec.output_file import check_output_file, stdout_or_path, write_atomically

    output = stdout_or_path(output)
    if output is not None:
        check_output_file(output)
    document = read_sbom(sbom_file, max_bytes=max_bytes)
    statements = [s for path in vex or [] for s in read_vex(path)]
    if model is not None:
        from domosec.model.load import load_model

        base = load_model(model).model
    else:
        base = new_model(home_id, asset)
    report = attach_sbom(base, asset, sbom_file, document, store=vulndb, vex=statements)
    header = f"Written by domosec import sbom from {sbom_file.name} ({document.format} {document.spec_version}) for {asset}."
    text = model_yaml(base, header=[header])
    if output is None:
        from domosec.cli.output import echo_document

        echo_document(text)
    else:
        write_atomically(output, text)
    line = f"{report.asset}: {report.components} components"
    if vulndb is not None:
        line += (
            f", {report.vulnerabilities} known vulnerabilities ({report.known_exploited} known exploited, "
            f"{report.suppressed} not affected or fixed by VEX), {report.end_of_life} with an end-of-life date"
        )
    errors.print(line, markup=False)
    if output is not None:
        errors.print(f"wrote {output}; next: domosec assess {output}", markup=False)


@vulndb_app.command(
    "import", epilog="Example: domosec vulndb import --osv PyPI-all.zip --nvd nvdcve-2.0-2024.json --kev kev.json -o vulns.duckdb"
)
def vulndb_import(
    output: Annotated[Path, typer.Option("--output", "-o", help="The store to write (replaced whole).", show_default=False)],
    osv: Annotated[list[Path] | None, typer.Option("--osv", help="An OSV dump: all.zip, or a JSON record or array (repeatable).")] = None,
    nvd: Annotated[list[Path] | None, typer.Option("--nvd", help="An NVD CVE JSON 2.0 feed (repeatable).")] = None,
    kev: Annotated[list[Path] | None, typer.Option("--kev", help="CISA's Known Exploited Vulnerabilities catalog, JSON or CSV.")] = None,
    eol: Annotated[list[Path] | None, typer.Option("--eol", help="An end-of-life table (endoflife.date cycles), JSON.")] = None,
    max_bytes: Annotated[int, typer.Option(help="Refuse any input file (a zip: any record) over this many bytes.")] = 1024 * 1024 * 1024,
) -> None:
    """Build the offline vulnerability store from files you downloaded. Exit codes: 0 written, 2 bad input."""
    from domosec.extras import require

    require("sbom", "domosec vulndb import")
    from domosec.cli.output import errors
    from domosec.errors import Diagnostic, InputError
    from domosec.output_file import check_output_file
    from domosec.vulndb.feeds import read_eol, read_kev, read_nvd, read_osv
    from domosec.vulndb.store import StoreWriter, store_info

    if not (osv or nvd or kev or eol):
        raise InputError([Diagnostic("vulndb import", None, None, "vulndb-usage", "give at least one of --osv, --nvd, --kev, --eol")])
    check_output_file(output)
    with StoreWriter(output) as store:  # records streamed in, rows inserted in batches: bounded memory
        for reader, paths in ((read_osv, osv), (read_nvd, nvd), (read_kev, kev), (read_eol, eol)):
            for path in paths or []:
                reader(path, store, max_bytes=max_bytes)
    info = store_info(output)
    errors.print(
        f"wrote {output}: {info['rows_vulns']:,} records, {info['rows_affected']:,} package ranges, {info['rows_cpe_ranges']:,} CPE ranges, "
        f"{info['rows_kev']:,} known exploited, {info['rows_eol']:,} end-of-life cycles; newest record {info['data_date'] or 'undated'}",
        markup=False,
    )


@vulndb_app.command("info")
def vulndb_info(
    store: Annotated[Path, typer.Argument(help="The store (domosec vulndb import -o).", show_default=False)],
    max_age: Annotated[int, typer.Option(help="Exit 1 when the newest record is older than this many days.", min=0)] = 30,
    as_of: Annotated[str | None, typer.Option(help="Measure the age on this date (YYYY-MM-DD) instead of today.")] = None,
) -> None:
    """Print the store's build time, the date of its newest record, its age, sources and row counts."""
    import datetime as dt

    from domosec.errors import Diagnostic, InputError
    from domosec.vulndb.store import store_info

    info = store_info(store)
    try:
        today = dt.date.fromisoformat(as_of) if as_of else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise InputError([Diagnostic("--as-of", None, None, "bad-date", f"not a date: {as_of!r}")]) from None
    data_date = str(info.get("data_date") or "")
    age = (today - dt.date.fromisoformat(data_date)).days if data_date else None
    for key in sorted(info):
        print(f"{key}: {info[key]}")
    print(f"age_days: {age if age is not None else 'unknown'}")
    if age is None or age > max_age:
        from domosec.cli.output import errors

        errors.print(
            f"{store}: warning: vulnerability data is {'of unknown age' if age is None else f'{age} days old'} "
            f"(more than {max_age}); import newer dumps",
            markup=False,
        )
        raise typer.Exit(1)
