"""``domosec serve`` (the assessment workspace in the browser), ``domosec audit verify`` and
``domosec workspace backup|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="DOMOSEC_DB",
        help="Database URL: sqlite:///FILE (default: domosec-workspace.sqlite here) or postgresql://…",
        show_default=False,
    ),
]
DEFAULT_DB = "sqlite:///domosec-workspace.sqlite"
EvidenceOption = Annotated[
    Path | None,
    typer.Option(
        "--evidence-dir",
        envvar="DOMOSEC_EVIDENCE_DIR",
        help="Folder of the evidence files (default: beside a SQLite file, FILE.evidence; else ./domosec-evidence).",
        show_default=False,
    ),
]

audit_app = typer.Typer(help="Check the workspace's audit log.", no_args_is_help=True)
workspace_app = typer.Typer(help="Back up and restore the workspace (database and evidence files).", no_args_is_help=True)


def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default; put TLS in front for anything else).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    evidence_dir: EvidenceOption = None,
    vulndb: Annotated[
        Path | None,
        typer.Option(help="The vulnerability store (domosec vulndb import) SBOM imports are matched against.", show_default=False),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Web server processes (default: the CPUs this process may use, at most 4; 1 on a single CPU).",
            min=1,
            max=64,
            show_default=False,
        ),
    ] = None,
    assess_workers: Annotated[
        int, typer.Option(help="Processes that run assessments, per web server process (0: in the web process).", min=0, max=64)
    ] = 1,
    assess_time_limit: Annotated[
        float, typer.Option(help="Seconds an assessment may run before it is stopped (HTTP 503, nothing stored).", min=1)
    ] = 300.0,
    ha_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--ha-allow",
            envvar="DOMOSEC_HA_ALLOW",
            help="Where live Home Assistant imports may connect (repeatable): an address or network (192.168.1.0/24), "
            "private, loopback or a host name, each [:PORT]. Default: nowhere (docs/workspace.md).",
            show_default=False,
        ),
    ] = None,
    ha_ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ha-ca-file",
            envvar="DOMOSEC_HA_CA_FILE",
            help="PEM certificates to trust, instead of the system's, for live imports of https Home Assistants "
            "(a home lab's own authority or a self-signed certificate).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the assessment workspace: projects, model versions, assessments, treatments and reports in the browser.

    The database is created or upgraded to the newest schema first. Sign up at http://127.0.0.1:8000/signup.

    Examples:

      domosec serve

      domosec serve --db sqlite:///srv/domosec/workspace.sqlite --port 8080

      domosec serve --db postgresql://domosec@db.example/domosec --workers 4
    """
    from domosec.extras import require

    require("web", "domosec serve")
    import uvicorn

    from domosec.cli.output import say
    from domosec.web import app as web_app
    from domosec.web import migrate

    if vulndb is not None and not vulndb.is_file():
        from domosec.errors import Diagnostic, InputError

        raise InputError([Diagnostic(str(vulndb), None, None, "file-not-found", "no such vulnerability store")])
    from domosec.web.ha_allow import allow_in_environment

    allow_in_environment(ha_allow or [])  # read by every web process
    if ha_ca_file is not None:
        import os

        from domosec.evidence.homeassistant.websocket_client import tls_context
        from domosec.web.imports import CA_ENV

        tls_context(ca_file=ha_ca_file)  # error[ha-ca-file], exit 2, before anything starts
        os.environ[CA_ENV] = str(ha_ca_file.resolve())
    engine = _checked_engine(db)
    migrate.upgrade(engine)  # once, before any web process starts
    engine.dispose()
    settings = web_app.ServeSettings(
        db_url=engine.url.render_as_string(hide_password=False),
        evidence_dir=str(evidence_dir) if evidence_dir else None,
        vulndb=str(vulndb) if vulndb else None,
        assess_workers=assess_workers,
        assess_time_limit=assess_time_limit,
    )
    if host not in ("127.0.0.1", "::1", "localhost"):
        say("domosec serve: warning: sign-in cookies are Secure: serve other addresses through HTTPS (a TLS reverse proxy)", err=True)
    processes = workers or web_app.default_workers()
    options = {"host": host, "port": port, "log_level": "info", "server_header": False, "proxy_headers": False}
    if processes == 1:
        uvicorn.run(web_app.app_from_settings(settings), **options)  # type: ignore[arg-type]
    else:  # uvicorn's worker processes each import the application from the settings in the environment
        settings.export()
        uvicorn.run(web_app.FACTORY, factory=True, workers=processes, **options)  # type: ignore[arg-type]


@audit_app.command("verify")
def verify(
    db: DbOption = DEFAULT_DB,
    expect_head: Annotated[
        str | None,
        typer.Option(help="A head hash printed by an earlier run: refuse if it is no longer in the log (catches deleted last entries)."),
    ] = None,
) -> None:
    """Check the audit log's hash chain: exit 0 when every entry is intact, 1 naming the first that was changed or deleted.

    Example:

      domosec audit verify --db sqlite:///domosec-workspace.sqlite
    """
    from domosec.extras import require

    require("web", "domosec audit verify")
    from domosec.cli.output import say
    from domosec.web import audit, migrate
    from domosec.web.db import make_sessionmaker

    engine = _checked_engine(db)
    if migrate.current_revision(engine) is None:
        _refuse(db, "not-a-workspace", "this database holds no domosec workspace")
    with make_sessionmaker(engine)() as session:
        verdict = audit.verify(session, expect_head)
    from domosec.errors import Diagnostic

    for problem in verdict.problems:
        say(Diagnostic(_shown(db), None, None, "audit-chain-broken", problem).render(), err=True)
    if not verdict.ok:
        raise typer.Exit(1)
    say(f"audit log intact: {verdict.entries} entries, head {verdict.head}")


@workspace_app.command("backup")
def backup(
    output: Annotated[Path, typer.Option("-o", "--output", help="The backup file to write (a tar file, readable by you only).")],
    db: DbOption = DEFAULT_DB,
    evidence_dir: EvidenceOption = None,
) -> None:
    """Write the whole workspace (every table but sessions, and every evidence file) to one file, from one snapshot.

    A running server may keep working meanwhile. The file holds password hashes and TOTP seeds: keep it as safe as
    the database.

    Example:

      domosec workspace backup --db sqlite:///srv/domosec/workspace.sqlite -o workspace-2026-12-07.tar
    """
    from domosec.extras import require

    require("web", "domosec workspace backup")
    from domosec.cli.output import say
    from domosec.output_file import check_output_file, refuse_stdout
    from domosec.web import backup as backups
    from domosec.web.evidence import default_dir

    refuse_stdout(output, "a tar file")
    check_output_file(output)
    engine = _checked_engine(db)
    try:
        summary = backups.backup(engine, evidence_dir or default_dir(db), output)
    except backups.BackupError as exc:
        _refuse(db, exc.code, str(exc))
    say(f"wrote {output}: schema {summary.revision}, {sum(summary.rows.values())} rows, {summary.evidence_files} evidence files")


@workspace_app.command("restore")
def restore(
    source: Annotated[Path, typer.Argument(help="A file written by domosec workspace backup.", exists=True, dir_okay=False)],
    db: DbOption = DEFAULT_DB,
    evidence_dir: EvidenceOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a workspace the target database already holds.")] = False,
) -> None:
    """Load a backup into a database (SQLite or PostgreSQL, either way round); it must hold no workspace unless --force.

    The schema is brought to this domosec's newest revision afterwards, and the restore is added to the audit log.

    Example:

      domosec workspace restore workspace-2026-12-07.tar --db postgresql://domosec@db.example/domosec
    """
    from domosec.extras import require

    require("web", "domosec workspace restore")
    from domosec.cli.output import say
    from domosec.web import backup as backups
    from domosec.web.evidence import default_dir

    engine = _checked_engine(db)
    try:
        summary = backups.restore(engine, evidence_dir or default_dir(db), source, force=force)
    except backups.BackupError as exc:
        problem = _shown(db) if exc.code == "workspace-not-empty" else str(source)
        from domosec.errors import Diagnostic, InputError

        raise InputError([Diagnostic(problem, None, None, exc.code, str(exc))]) from None
    say(f"restored {source}: schema {summary.revision}, {sum(summary.rows.values())} rows, {summary.evidence_files} evidence files")


def _shown(url: str) -> str:
    """The URL without its password (never printed)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"


def _checked_engine(url: str) -> Engine:
    """An engine that has connected once, or ``error[bad-database]`` (exit 2)."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from domosec.web.db import make_engine

    try:
        engine = make_engine(url)
        with engine.connect():
            pass
    except ArgumentError:
        _refuse(url, "bad-database-url", "not a database URL (expected sqlite:///FILE or postgresql://…)")
    except (SQLAlchemyError, ImportError) as exc:
        _refuse(url, "cannot-open-database", str(exc).splitlines()[0][:300])
    return engine


def _refuse(url: str, code: str, message: str) -> NoReturn:
    from domosec.errors import Diagnostic, InputError

    raise InputError([Diagnostic(_shown(url), None, None, code, message)])
