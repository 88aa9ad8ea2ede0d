"""``duban serve`` and ``duban user ...``: the web dashboard and its accounts."""

from __future__ import annotations

import ipaddress
import sys

import click

from ..engine.services.permissions import ACCOUNT_ROLES
from ..web.auth import add_user, create_demo_accounts, disable_user, list_users, set_password
from .context import app, echo_json, handle_errors

ROLE_CHOICE = click.Choice([r.value for r in ACCOUNT_ROLES])


@click.command("serve")
@click.option("--host", help="Address to listen on (default: web.host in the configuration, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: web.port, 8000).")
@click.option("--workers", type=click.IntRange(1, 64),
              help="Worker processes sharing the port (default: web.workers; 0 there = one per CPU).")
@click.option("--no-access-log", is_flag=True, help="Do not log every request (for load tests).")
@handle_errors
def serve_cmd(host: str | None, port: int | None, workers: int | None, no_access_log: bool) -> None:
    """Serve the web dashboard (督办看板) with uvicorn until stopped (Ctrl-C, SIGTERM).

    With several workers, uvicorn's supervisor runs that many processes on
    one listening socket, replaces one that dies and stops them all on
    Ctrl-C or SIGTERM; sessions are signed cookies, so any worker serves any
    request.

    Only logged-in users see anything: create accounts first with
    `duban user add`. Sessions are signed with $DUBAN_WEB_SECRET, else with a
    key generated once in var/web-secret (mode 0600). Serve over https (a
    reverse proxy, and web.base_url starting with https://) when the
    dashboard leaves the machine: cookies are then marked Secure.
    """
    from ..web.server import default_workers, serve

    a = app()
    listen = host or a.settings.web_host
    try:
        loopback = ipaddress.ip_address(listen).is_loopback
    except ValueError:
        loopback = listen == "localhost"
    if not loopback and not a.settings.web_base_url.startswith("https://"):
        click.echo(f"warning: listening on {listen} without https: passwords and session cookies cross the "
                   f"network in clear; put an https reverse proxy in front and set web.base_url to https://",
                   err=True)
    configured = int(a.settings.values.get("web.workers") or 0)
    count = workers or configured or default_workers()
    click.echo(f"督办看板: http://{listen}:{a.settings.web_port if port is None else port}/ "
               f"({count} worker process{'es' if count > 1 else ''}; Ctrl-C to stop)", err=True)
    serve(a.settings, host=listen, port=port, runtime=a, workers=count, access_log=False if no_access_log else None)


@click.group("user")
def user() -> None:
    """Dashboard accounts: admin, supervisor (督查室), clerk (bound to units), viewer."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=ROLE_CHOICE, help="admin | supervisor | clerk | viewer.")
@click.option("--unit", "units", multiple=True, help="A unit the clerk acts for (repeatable; clerks only).")
@click.option("--display-name", help="The name shown in the dashboard (e.g. 林瑜).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--actor", default="cli", show_default=True, help="Who creates it (recorded in the audit log).")
@handle_errors
def user_add(name: str, role: str, units: tuple[str, ...], display_name: str | None, password_stdin: bool,
             actor: str) -> None:
    """Create an account; the password is hashed with Argon2id (at least 10 characters)."""
    password = _read_password(password_stdin)
    with app().transaction() as session:
        created = add_user(session, name=name, role=role, password=password, units=units,
                           display_name=display_name, actor=actor, source="cli")
    click.echo(f"account {created.name!r} created ({role}{': ' + '、'.join(units) if units else ''})")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--actor", default="cli", show_default=True, help="Who changes it (recorded in the audit log).")
@handle_errors
def user_passwd(name: str, password_stdin: bool, actor: str) -> None:
    """Set a new password; every open session of the account ends."""
    password = _read_password(password_stdin)
    with app().transaction() as session:
        set_password(session, name, password, actor=actor, source="cli")
    click.echo(f"password of {name!r} changed; its sessions ended")


@user.command("disable")
@click.argument("name")
@click.option("--reason", help="Why (kept in the audit log).")
@click.option("--actor", default="cli", show_default=True, help="Who disables it (recorded in the audit log).")
@handle_errors
def user_disable(name: str, reason: str | None, actor: str) -> None:
    """Disable an account: it cannot log in any more and every open session ends at once."""
    with app().transaction() as session:
        disable_user(session, name, actor=actor, reason=reason, source="cli")
    click.echo(f"account {name!r} disabled; its sessions ended")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def user_list(as_json: bool) -> None:
    """The accounts (never their password hashes)."""
    with app().sessions() as session:
        rows = list_users(session)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    for r in rows:
        click.echo(f"{r.name}\t{r.role}\t{'、'.join(r.units) or '-'}\t{'active' if r.active else 'disabled'}\t"
                   f"{r.display_name or ''}")


@user.command("demo")
@handle_errors
def user_demo() -> None:
    """Create (or re-key) the four demo accounts and print their fresh passwords (demo only)."""
    with app().transaction() as session:
        accounts = create_demo_accounts(session)
    click.echo("demo accounts (演示账号; new passwords on every run):")
    for account in accounts:
        click.echo("  " + account.line())
