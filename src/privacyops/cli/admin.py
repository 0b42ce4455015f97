"""``privacyops admin``: staff accounts and API tokens.

privacyops admin create --email dpo@example.com --role dpo      # password prompted
echo "$PASSWORD" | privacyops admin create --email ... --role ... --password-stdin
privacyops admin list
privacyops admin password --email dpo@example.com
privacyops admin token create --name prometheus --scope metrics:read
privacyops admin token list
privacyops admin token revoke 3
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from privacyops.accounts.roles import ROLES, SCOPES
from privacyops.errors import InvalidInput, NotFound

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Staff accounts (admin, dpo, operator, auditor) and API tokens.",
)
token_app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="API tokens for the JSON API (scoped, shown once, stored hashed).",
)
app.add_typer(token_app, name="token")
console = Console()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InvalidInput("No password given.")
    return password


@app.command("create")
def create(
    email: str = typer.Option(..., "--email", help="The staff member's e-mail (login name)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create a staff account (password prompted, or read from stdin)."""
    from privacyops.accounts import create_user, normalise_email
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    normalise_email(email)
    password = _read_password(password_stdin)
    db = open_database(get_settings())
    try:
        with db.session() as session:
            user = create_user(session, email, password, role)
            console.print(f"created staff user {user.email} ({user.role})", highlight=False)
    finally:
        db.dispose()


@app.command("password")
def password(
    email: str = typer.Option(..., "--email", help="Whose password to set."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read it from stdin."),
) -> None:
    """Set a staff member's password (ends their sessions)."""
    from privacyops.accounts import set_password
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    new = _read_password(password_stdin)
    db = open_database(get_settings())
    try:
        with db.session() as session:
            set_password(session, email, new)
        console.print("password changed; the user's sessions were ended")
    finally:
        db.dispose()


@app.command("list")
def list_users() -> None:
    """List staff accounts."""
    import sqlalchemy as sa

    from privacyops.accounts import StaffUser
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        with db.session() as session:
            users = list(session.scalars(sa.select(StaffUser).order_by(StaffUser.email)))
    finally:
        db.dispose()
    table = Table("e-mail", "role", "active", "last login")
    for u in users:
        last = u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "-"
        table.add_row(u.email, u.role, "yes" if u.active else "no", last)
    console.print(table)


@token_app.command("create")
def token_create(
    name: str = typer.Option(..., "--name", help="What the token is for (e.g. 'prometheus')."),
    scope: list[str] = typer.Option(
        ..., "--scope", help=f"Repeatable. One of: {', '.join(SCOPES)}."
    ),
    owner: str | None = typer.Option(
        None, "--owner", help="Staff e-mail the token acts for (its scopes never exceed the role)."
    ),
    days: int | None = typer.Option(None, "--days", min=1, help="Expire after this many days."),
) -> None:
    """Create an API token; it is printed once (only its hash is kept)."""
    import sqlalchemy as sa

    from privacyops.accounts import StaffUser, create_api_token, normalise_email
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        with db.session() as session:
            user = None
            if owner is not None:
                user = session.scalar(
                    sa.select(StaffUser).where(StaffUser.email == normalise_email(owner))
                )
                if user is None:
                    raise NotFound("No staff user with this e-mail.")
            row, text = create_api_token(session, name, scope, user=user, ttl_days=days)
            scopes = row.scopes
    finally:
        db.dispose()
    console.print(f"token for {name!r} with scopes {scopes} (shown once, keep it safe):")
    sys.stdout.write(text + "\n")


@token_app.command("list")
def token_list() -> None:
    """List API tokens (never their text)."""
    import sqlalchemy as sa

    from privacyops.accounts import ApiToken
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        with db.session() as session:
            tokens = list(session.scalars(sa.select(ApiToken).order_by(ApiToken.id)))
    finally:
        db.dispose()
    table = Table("id", "name", "prefix", "scopes", "revoked")
    for t in tokens:
        table.add_row(str(t.id), t.name, t.prefix + "…", t.scopes, "yes" if t.revoked_at else "")
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="The token's id (admin token list)."),
) -> None:
    """Revoke an API token."""
    from privacyops.accounts import revoke_api_token
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        with db.session() as session:
            revoke_api_token(session, token_id)
    finally:
        db.dispose()
    console.print(f"token {token_id} revoked")
