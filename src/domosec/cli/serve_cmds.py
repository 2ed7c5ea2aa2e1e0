"""``domosec serve`` (the assessment workspace in the browser) and ``domosec audit verify``."""

from __future__ import annotations

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

audit_app = typer.Typer(help="Check the workspace's audit log.", no_args_is_help=True)


def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default; put TLS in front for anything else).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Run the assessment workspace: projects, model versions, assessments, treatments and reports in the browser.

    The database is created or upgraded to the newest schema first. Sign up at http://127.0.0.1:8000/signup.

    Examples:

      domosec serve

      domosec serve --db sqlite:///srv/domosec/workspace.sqlite --port 8080
    """
    from domosec.extras import require

    require("web", "domosec serve")
    import uvicorn

    from domosec.cli.output import say
    from domosec.web.app import create_app

    app = create_app(_checked_engine(db).url.render_as_string(hide_password=False))
    if host not in ("127.0.0.1", "::1", "localhost"):
        say("domosec serve: warning: sign-in cookies are Secure: serve other addresses through HTTPS (a TLS reverse proxy)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)


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
