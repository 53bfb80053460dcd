"""The feedback-portal command: serve the portal, upgrade the database, manage people."""

from __future__ import annotations

import os
import sys

import click

from feedback_portal import db
from feedback_portal.errors import ValidationFailed
from feedback_portal.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def main() -> None:
    """Feedback Portal: frontline feedback on the case management system."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--demo", is_flag=True, help="Seed demo data and logins into an empty database.")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Apply migrations, optionally seed demo data, and serve the portal."""
    import uvicorn

    settings = _settings()
    db.upgrade(settings.database_url)
    if demo:
        _seed_demo(settings)
    click.echo(f"Data folder: {settings.data_dir}")
    click.echo(f"Serving on http://{host}:{port}  (Ctrl+C to stop)")
    # Workers are separate processes: they read the same FEEDBACK_PORTAL_* settings (the data folder
    # is made absolute here so every worker finds it).
    os.environ["FEEDBACK_PORTAL_DATA_DIR"] = str(settings.data_dir)
    uvicorn.run(
        "feedback_portal.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # No access log: request lines could tie an anonymous submission to a person's address.
        access_log=False,
        proxy_headers=True,
        log_level="info",
    )


def _seed_demo(settings: Settings) -> None:
    from feedback_portal.demo import seed

    engine = db.make_engine(settings.database_url)
    try:
        with db.make_session_factory(engine)() as session:
            if seed.is_empty(session):
                count = seed.seed(session)
                click.echo(f"Seeded {count} demo feedback items.")
    finally:
        engine.dispose()
    click.echo("Demo logins (email / password):")
    for login in seed.DEMO_LOGINS:
        click.echo(f"  {login.role:<17} {login.email:<24} {login.password}")


@main.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    settings = _settings()
    db.upgrade(settings.database_url, revision)
    click.echo("Database is up to date.")


@main.group()
def users() -> None:
    """People who can sign in."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["frontline", "business_support", "board", "admin"]))
@click.option("--team", default=None, help="Team slug; created if it does not exist.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, name: str, role: str, team: str | None, password_stdin: bool) -> None:
    """Create a person who can sign in."""
    from feedback_portal.accounts.services import AccountService

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    settings = _settings()
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        with db.write_session(db.make_session_factory(engine)) as session:
            accounts = AccountService(session)
            if team:
                accounts.ensure_team(team)
            user = accounts.create_user(email=email, name=name, role=role, team_slug=team, password=password)
            click.echo(f"Created {user.email} ({role}).")
    except ValidationFailed as failed:
        raise click.ClickException("; ".join(f"{field}: {message}" for field, message in failed.errors.items()))
    finally:
        engine.dispose()


@users.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for EMAIL (the previous token stops working)."""
    from feedback_portal.accounts.services import AccountService

    settings = _settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.write_session(db.make_session_factory(engine)) as session:
            accounts = AccountService(session)
            user = accounts.user_by_email(email)
            if user is None:
                raise click.ClickException(f"There is nobody with the email address {email}")
            click.echo(accounts.issue_api_token(user))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
