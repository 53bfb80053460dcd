"""The feedback-portal command: serve the portal, upgrade the database, manage people, import and export feedback."""

from __future__ import annotations

import os
import sys

import click

from feedback_portal import db
from feedback_portal.errors import ImportFailed, ValidationFailed
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


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
def import_feedback(file: str) -> None:
    """Import feedback from a .csv or .xlsx FILE: all of it, or (if any row is bad) none of it.

    Columns: ref,title,body,module,kind,impact,team,submitted_at (only body, module, kind and impact are
    needed). Imported feedback is anonymous. Every bad row is listed by its line number.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from feedback_portal.feedback.importing import ImportService, read_rows

    settings = _settings()
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    stages = {"check": "Checking rows", "save": "Saving"}
    try:
        with (
            db.make_session_factory(engine)() as session,
            Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(stderr=True),
            ) as bar,
        ):
            tasks: dict[str, object] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stages.get(stage, stage), total=total)
                bar.update(tasks[stage], completed=done, total=total)

            rows = read_rows(file)
            try:
                summary = ImportService(session).import_rows(rows, progress, source=os.path.basename(file))
            finally:
                rows.close()
    except ImportFailed as failed:
        lines = [str(problem) for problem in failed.problems]
        heading = (
            "Nothing was imported."
            if len(lines) == 1 and failed.problems[0].line is None
            else f"Nothing was imported: {len(lines):,} problem{'s' if len(lines) != 1 else ''} to fix in {file}:"
        )
        raise click.ClickException("\n".join([heading, *lines])) from None
    finally:
        engine.dispose()
    first, last = summary.refs[0], summary.refs[-1]
    span = f" ({first})" if first == last else f" ({first} to {last})" if _consecutive(summary.refs) else ""
    click.echo(f"Imported {summary.created:,} feedback item{'s' if summary.created != 1 else ''}{span}.")
    if summary.new_teams:
        click.echo(f"New teams ({len(summary.new_teams)}):")
        for team in summary.new_teams:
            click.echo(f"  {team}")
    for warning in summary.warnings:
        click.echo(f"Warning: {warning}")


def _consecutive(refs: list[str]) -> bool:
    numbers = [int(ref.split("-", 1)[1]) for ref in refs]
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


@main.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default=None,
    help="The file format; by default, from FILE's extension.",
)
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=str))
def export_feedback(fmt: str | None, file: str) -> None:
    """Export all feedback to FILE as CSV, Excel or JSON.

    Who sent it is included only for named feedback.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from feedback_portal.feedback import exporting

    if fmt is None:
        fmt = os.path.splitext(file)[1].lower().lstrip(".")
        if fmt not in exporting.FORMATS:
            raise click.UsageError("Give --format csv, xlsx or json (FILE's extension does not say which).")
    settings = _settings()
    engine = db.make_engine(settings.database_url)
    try:
        with (
            db.make_session_factory(engine)() as session,
            Progress(
                TextColumn("Exporting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(stderr=True),
            ) as bar,
        ):
            task = bar.add_task("export", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            written = exporting.export_feedback(session, fmt, file, progress)
    except OSError as error:
        raise click.ClickException(f"Could not write {file}: {error.strerror or error}") from None
    finally:
        engine.dispose()
    click.echo(f"Exported {written:,} feedback item{'s' if written != 1 else ''} to {file}.")


@main.command("reindex")
def reindex() -> None:
    """Rebuild this host's search index from the database (the portal keeps answering meanwhile)."""
    from rich.progress import Progress

    from feedback_portal.indexing.indexer import Indexer, IndexStore

    settings = _settings()
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        indexer = Indexer(db.make_session_factory(engine), IndexStore(settings.index_dir))
        with Progress(transient=False) as progress:
            task = progress.add_task("Indexing feedback and issues", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            count = indexer.rebuild(progress=update)
        click.echo(f"Indexed {count:,} feedback items and issues into {settings.index_dir}.")
    finally:
        engine.dispose()


@main.command("cluster")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as a JSON list of lists of refs.")
def cluster(as_json: bool) -> None:
    """Suggested groups of untriaged feedback."""
    import json

    from feedback_portal.grouping.services import GroupingService

    settings = _settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.make_session_factory(engine)() as session:
            groups = GroupingService(session).cluster_refs()
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(groups))
        return
    for number, group in enumerate(groups, start=1):
        click.echo(f"Group {number}: {' '.join(group)}")
    if not groups:
        click.echo("No groups to suggest.")


@main.group("notifications")
def notifications_group() -> None:
    """Notifications and the email outbox."""


@notifications_group.command("send")
def notifications_send() -> None:
    """Send the emails that are due from the outbox, once (for cron, or when the portal is not running).

    Emails that cannot be sent stay in the outbox with the error and are tried again later (after 1, 5, 15
    and 60 minutes, then 3 hours, then every 6 hours). Exits with status 1 if any could not be sent.
    """
    from feedback_portal.notifications.mailer import OutboxSender

    settings = _settings()
    if not settings.smtp_configured:
        raise click.ClickException(
            "Email is not set up: set FEEDBACK_PORTAL_SMTP_HOST (and the other FEEDBACK_PORTAL_SMTP_ "
            "settings). Notifications are still shown in the portal."
        )
    engine = db.make_engine(settings.database_url)
    try:
        sender = OutboxSender(db.make_session_factory(engine), settings)
        report = sender.send_due()
        waiting = sender.pending()
    finally:
        engine.dispose()
    click.echo(f"Sent {report.sent:,} email{'s' if report.sent != 1 else ''}.")
    if waiting:
        are = "emails are" if waiting != 1 else "email is"
        click.echo(f"{waiting:,} {are} waiting to be sent or tried again later.")
    if report.failed:
        click.echo(
            f"{report.failed:,} could not be sent (they stay in the outbox and will be tried again): "
            f"{report.errors[-1]}",
            err=True,
        )
        sys.exit(1)



@main.group("privacy")
def privacy_group() -> None:
    """Personal data in feedback."""


@privacy_group.command("purge")
def privacy_purge() -> None:
    """Delete the original text of redacted feedback once it is past its purge date (for cron, daily)."""
    from feedback_portal.feedback.privacy import purge_originals

    settings = _settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.make_session_factory(engine)() as session:
            purged = purge_originals(session)
    finally:
        engine.dispose()
    click.echo(f"Deleted the original text of {purged:,} redacted feedback item{'s' if purged != 1 else ''}.")


@main.group("retention")
def retention_group() -> None:
    """Anonymise or delete feedback older than the retention period set at /admin/retention."""


@retention_group.command("apply")
@click.option("--dry-run", is_flag=True, help="Say what would be anonymised or deleted, and change nothing.")
def retention_apply(dry_run: bool) -> None:
    """Apply the retention period: anonymise or delete old feedback (run with --dry-run first)."""
    from feedback_portal.triage import admin_settings, retention

    settings = _settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.make_session_factory(engine)() as session:
            policy = admin_settings.retention_policy(session)
            try:
                if dry_run:
                    plan = retention.plan(session, policy)
                else:
                    plan = retention.apply(session, policy, settings.uploads_dir)
            except retention.RetentionNotSet as problem:
                raise click.ClickException(str(problem)) from None
    finally:
        engine.dispose()
    for line in plan.lines(applied=not dry_run):
        click.echo(line)


@main.command("subject-access")
@click.argument("email")
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=str))
def subject_access_export(email: str, output: str) -> None:
    """Write everything held about the person with EMAIL to OUTPUT as JSON (subject access request)."""
    import json

    from feedback_portal.triage import subject_access

    settings = _settings()
    engine = db.make_engine(settings.database_url)
    try:
        with db.make_session_factory(engine)() as session:
            try:
                user = subject_access.find_user(session, email)
            except ValidationFailed as failed:
                raise click.ClickException(failed.errors["email"]) from None
            document = subject_access.export(session, user)
            subject_access.record(session, None, user)
    finally:
        engine.dispose()
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
    counts = ", ".join(
        f"{len(document[key])} {label}"
        for key, label in (
            ("feedback", "feedback"),
            ("comments_written", "comments"),
            ("me_toos", "me toos"),
            ("notifications", "notifications"),
            ("audit_events_as_actor", "audit events"),
        )
    )
    click.echo(f"Wrote everything held about {user.email} to {output}: {counts}.")


if __name__ == "__main__":
    main()
