"""Operator commands: `flask --app wsgi db|tenants|platform|demo ...` (`openapi` comes from flask-smorest)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from saas import db, migrate


class PlatformCommands(AppGroup):
    """A group whose commands act for the platform (`saas.db.set_platform`): the operator's command line creates,
    suspends, exports and deletes districts and reads the platform's own tables, which row-level security
    shows to the platform only."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
        wrap = super().command(*args, **kwargs)

        def decorator(f: Callable[..., Any]) -> click.Command:
            @functools.wraps(f)
            def for_the_platform(*a: Any, **kw: Any) -> Any:
                db.set_platform(True)
                return f(*a, **kw)

            return wrap(for_the_platform)

        return decorator


class SchemaGroup(AppGroup):
    """A group whose commands need the database migrated: on an empty or outdated database they say what to run,
    in the operator's language, instead of ending in a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        if not any(arg in ("--help", "-h") for arg in [*getattr(ctx, "_protected_args", []), *ctx.args]):
            from flask.cli import ScriptInfo

            app = ctx.ensure_object(ScriptInfo).load_app()
            with app.app_context():
                need_schema(app)
        return super().invoke(ctx)


def need_schema(app: Flask) -> None:
    from flask_babel import gettext as _

    engine = db.make_engine(app.config["MIGRATE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            state = migrate.schema_state(app, conn)
    except sa.exc.OperationalError as err:
        raise click.ClickException(_("The database cannot be reached: %(error)s", error=type(err).__name__)) from None
    finally:
        engine.dispose()
    if state == "missing":
        raise click.ClickException(_("The database is empty. Run `flask --app wsgi db upgrade` first."))
    if state == "behind":
        raise click.ClickException(_("The database needs its migrations. Run `flask --app wsgi db upgrade` first."))


class PlatformSchemaGroup(SchemaGroup, PlatformCommands):
    """Commands for the platform that need the schema migrated."""


db_cli = AppGroup("db", help="Database schema.")
tenants_cli = PlatformSchemaGroup("tenants", help="Districts and their modules.")
platform_cli = PlatformSchemaGroup("platform", help="Platform operators.")
demo_cli = PlatformCommands("demo", help="Demo data.")


class _Cli:
    """The actor recorded in the audit log for command-line changes."""

    id = None
    name = "CLI"


@db_cli.command("upgrade")
@click.option("-v", "--verbose", is_flag=True, help="Show each migration as it runs")
def db_upgrade(verbose: bool) -> None:
    """Apply migrations as the owner, then row-level security and grants for the app role."""
    if verbose:
        logging.getLogger("alembic").setLevel(logging.INFO)
    from flask_babel import gettext as _

    migrate.upgrade(current_app)
    click.echo(_("The database is up to date."))


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--module", default=migrate.KERNEL, help="Module key, or 'kernel'")
def db_revision(message: str, module: str) -> None:
    """Write a migration from the difference between the models and the database."""
    migrate.revision(current_app, message, module)


def _tenant_or_fail(slug: str):  # type: ignore[no-untyped-def]
    from tenants.models import Tenant

    tenant = db.session.scalars(sa.select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        raise click.ClickException(f"no district with slug {slug!r}")
    return tenant


@tenants_cli.command("create")
@click.argument("slug")
@click.option("--name", "name_zh", required=True, help="Chinese name, e.g. 芦淞区")
@click.option("--name-en", default="", help="English name")
@click.option("--timezone", default="Asia/Shanghai")
@click.option("--admin-name", default="", help="The first district admin's full name")
@click.option("--admin-phone", default="", help="The first district admin's mobile number (gets the set-password link)")
def tenants_create(slug: str, name_zh: str, name_en: str, timezone: str, admin_name: str, admin_phone: str) -> None:
    """Provision a district; with --admin-name and --admin-phone, its first admin and their set-password link."""
    from saas.schemas import normalize_phone
    from tenants import services

    session = db.session()
    try:
        if admin_name or admin_phone:
            phone = normalize_phone(admin_phone)
            if admin_phone and phone is None:
                raise services.ServiceError({"admin_phone": "not a mainland mobile number"})
            tenant, _admin, link = services.provision_district(
                session, current_app.extensions["saas.roles"], _Cli(), slug=slug, name_zh=name_zh, name_en=name_en,
                timezone=timezone, admin_name=admin_name, admin_phone=phone)
        else:
            tenant, link = services.create_tenant(session, _Cli(), slug, name_zh, name_en, timezone), None
    except services.ServiceError as err:
        db.session.rollback()
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in err.errors.items())) from None
    tenant_id = tenant.id
    db.session.commit()
    click.echo(f"created {tenant.slug} ({tenant.name_zh})")
    if link is not None:
        hours = current_app.config["PASSWORD_LINK_HOURS"]
        click.echo(f"the admin's set-password link (works once, for {hours} hours; sent by SMS; not shown again):")
        click.echo(link)
        _relay(tenant_id)


def _relay(tenant_id: int) -> None:
    """Send what a command wrote to the outbox now; the cron relay would otherwise within seconds."""
    from workers.delivery import RelayUnavailable, relay_tenant

    try:
        relay_tenant(current_app._get_current_object(), tenant_id)  # type: ignore[attr-defined]
    except RelayUnavailable as err:
        click.echo(f"Redis unavailable; the SMS waits in the outbox: {err}", err=True)


@tenants_cli.command("suspend")
@click.argument("slug")
def tenants_suspend(slug: str) -> None:
    """Suspend a district: its pages answer that it is suspended, its jobs and notices stop, its data stays."""
    from tenants import services

    tenant = _tenant_or_fail(slug)
    changed = services.set_tenant_active(db.session(), _Cli(), tenant, False)
    db.session.commit()
    click.echo(f"{slug} suspended" if changed else f"{slug} was already suspended")


@tenants_cli.command("reactivate")
@click.argument("slug")
def tenants_reactivate(slug: str) -> None:
    """Reactivate a suspended district."""
    from tenants import services

    tenant = _tenant_or_fail(slug)
    changed = services.set_tenant_active(db.session(), _Cli(), tenant, True)
    db.session.commit()
    click.echo(f"{slug} is active again" if changed else f"{slug} was already active")


@tenants_cli.command("list")
def tenants_list() -> None:
    """List districts and their switched-on modules."""
    from saas.modules import enabled_keys
    from tenants.models import Tenant

    for tenant in db.session.scalars(sa.select(Tenant).order_by(Tenant.slug)).all():
        with db.tenant_context(tenant.id):
            on = ",".join(sorted(enabled_keys(db.session()))) or "-"
        click.echo(f"{tenant.slug}\t{tenant.name_zh}\t{on}" + ("" if tenant.active else "\tsuspended"))


@tenants_cli.command("modules")
@click.argument("slug")
@click.option("--enable", "enable", multiple=True, help="Module key to switch on (repeatable)")
@click.option("--disable", "disable", multiple=True, help="Module key to switch off (repeatable)")
def tenants_modules(slug: str, enable: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Switch modules on or off for a district; with no option, show them."""
    from saas.modules import enabled_keys, switch_off_effects
    from tenants import services

    registry = current_app.extensions["saas.modules"]
    tenant = _tenant_or_fail(slug)
    unknown = [k for k in (*enable, *disable) if k not in registry]
    if unknown:
        raise click.ClickException(f"unknown module(s): {', '.join(unknown)}; known: {', '.join(registry.keys())}")
    with db.tenant_context(tenant.id):
        for key in enable:
            services.set_module(db.session(), registry, _Cli(), key, True)
        for key in disable:
            was_on = key in enabled_keys(db.session())
            services.set_module(db.session(), registry, _Cli(), key, False)
            if was_on:
                # said on stderr, so the list below stays the same for scripts
                effects = switch_off_effects(registry.get(key))
                click.echo(f"{key} switched off: its {len(effects.menus)} menu entries, {len(effects.widgets)} "
                           f"dashboard panels, jobs ({', '.join(j.name for j in registry.get(key).jobs) or '-'}) "
                           f"and {len(effects.notices)} kinds of notice stop; its data stays", err=True)
        db.session.commit()
        on = enabled_keys(db.session())
    for spec in registry:
        click.echo(f"{spec.key}\t{'on' if spec.key in on else 'off'}")


class _Operator:
    """The platform audit's actor for a command: the CLI, and the system account that ran it."""

    id = None

    def __init__(self) -> None:
        import getpass

        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "?"
        self.name = f"CLI ({user})"[:80]


def _personal_data_warning() -> None:
    from flask_babel import gettext as _

    click.echo(_("This file holds personal data (names, phone numbers, the elderly's addresses, photos). Keep it "
                 "encrypted where only operators can read it, and destroy it when it is no longer needed."), err=True)


def _default_export_path(slug: str) -> str:
    return f"{slug}-{db.utcnow():%Y%m%dT%H%M%SZ}.wgt.zip"


@tenants_cli.command("export")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: SLUG-<time>.wgt.zip)")
def tenants_export(slug: str, output: str | None) -> None:
    """Write everything a district owns to one file (a zip of JSON lines, with a manifest)."""
    from pathlib import Path

    from flask_babel import gettext as _

    from tenants import transfer

    path = Path(output or _default_export_path(slug))
    try:
        outcome = transfer.export_district(current_app, slug, path, _Operator())
    except transfer.TransferError as err:
        raise click.ClickException(str(err)) from None
    click.echo(_("Wrote %(path)s: %(rows)s rows in %(tables)s tables, SHA-256 %(sha)s.", path=str(path),
                 rows=outcome.rows, tables=len(outcome.manifest["tables"]), sha=outcome.sha256))
    _personal_data_warning()


@tenants_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def tenants_import(path: str) -> None:
    """Restore a district from its export file into this deployment (same schema revisions; not already here)."""
    from pathlib import Path

    from flask_babel import gettext as _

    from tenants import transfer

    try:
        outcome = transfer.import_district(current_app, Path(path), _Operator())
    except transfer.TransferError as err:
        raise click.ClickException(str(err)) from None
    tenant = outcome.manifest["tenant"]
    click.echo(_("Imported %(slug)s (%(name)s): %(rows)s rows in %(tables)s tables.", slug=tenant["slug"],
                 name=tenant["name_zh"], rows=outcome.rows, tables=len(outcome.manifest["tables"])))


@tenants_cli.command("delete")
@click.argument("slug")
@click.option("--confirm", is_flag=True, help="Really delete; without it, only say what would be deleted")
@click.option("--export-to", type=click.Path(dir_okay=False),
              help="Where the export written first goes (default: SLUG-<time>.wgt.zip)")
def tenants_delete(slug: str, confirm: bool, export_to: str | None) -> None:
    """Export a district, then delete every row of it, in one transaction; audited on the platform."""
    from pathlib import Path

    from flask_babel import gettext as _

    from tenants import transfer

    try:
        if not confirm:
            counts = transfer.count_rows(current_app, slug)
            raise click.ClickException(_(
                "Nothing was deleted. District %(slug)s has %(rows)s rows in %(tables)s tables; to export them and "
                "delete the district, run this again with --confirm.", slug=slug, rows=sum(counts.values()),
                tables=len(counts)))
        path = Path(export_to or _default_export_path(slug))
        outcome = transfer.delete_district(current_app, slug, path, _Operator())
    except transfer.TransferError as err:
        raise click.ClickException(str(err)) from None
    click.echo(_("Exported %(slug)s to %(path)s (SHA-256 %(sha)s), then deleted its %(rows)s rows.", slug=slug,
                 path=str(path), sha=outcome.sha256, rows=outcome.rows))
    _personal_data_warning()


@platform_cli.command("audit")
@click.option("--limit", default=50, show_default=True)
def platform_audit(limit: int) -> None:
    """What the platform did to whole districts (export, delete, import), newest first."""
    from saas.audit import PlatformAuditEntry, action_label

    rows = db.session.scalars(sa.select(PlatformAuditEntry).order_by(PlatformAuditEntry.at.desc()).limit(limit))
    for e in rows:
        details = " ".join(f"{k}={v}" for k, v in (e.details or {}).items())
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}Z\t{e.district_slug}\t{action_label(e.action)}\t{e.actor_name}\t{details}")


@platform_cli.command("create-operator")
@click.argument("username")
@click.option("--name", default="平台运营")
@click.password_option()
def create_operator(username: str, name: str, password: str) -> None:
    """Create a platform operator (who provisions districts)."""
    from saas.auth import hash_password
    from tenants.models import PlatformOperator

    db.session.add(PlatformOperator(username=username, name=name, password_hash=hash_password(password)))
    db.session.commit()
    click.echo(f"operator {username} created")


jobs_cli = SchemaGroup("jobs", help="Periodic jobs of the modules.")
outbox_cli = SchemaGroup("outbox", help="The notification outbox.")


@outbox_cli.command("relay")
@click.option("--loop", is_flag=True, help="Keep relaying every --interval seconds (instead of RQ cron)")
@click.option("--interval", default=5.0, show_default=True)
def outbox_relay(loop: bool, interval: float) -> None:
    """Move due deliveries onto the queues (or deliver them here when no Redis is configured)."""
    import time

    from workers.delivery import RelayUnavailable, relay_all

    while True:
        try:
            click.echo(f"relayed {relay_all(current_app)}")
        except RelayUnavailable as err:
            click.echo(f"Redis unavailable, will retry: {err}", err=True)
        if not loop:
            return
        time.sleep(interval)


@outbox_cli.command("status")
def outbox_status() -> None:
    """Deliveries by district and status."""
    from saas.notify import outbox_counts

    for slug, counts in outbox_counts(db.session()).items():
        click.echo(f"{slug}\t" + " ".join(f"{s}={n}" for s, n in sorted(counts.items())))


@jobs_cli.command("list")
def jobs_list() -> None:
    """List the periodic jobs the modules declare, with their schedules."""
    from saas.jobs import periodic_jobs

    for spec, job in periodic_jobs(current_app):
        click.echo(f"{spec.key}.{job.name}\t{job.cron}\t{job.func}")


@jobs_cli.command("run")
@click.argument("module_key")
@click.argument("job_name")
def jobs_run(module_key: str, job_name: str) -> None:
    """Run a periodic job now, once per district that has its module on."""
    from saas.jobs import find_job, run_periodic

    try:
        find_job(current_app, module_key, job_name)
    except LookupError as err:
        raise click.ClickException(str(err)) from None
    ran = run_periodic(current_app, module_key, job_name)
    click.echo(f"ran for: {', '.join(ran) or 'no district'}")


@demo_cli.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000)
def demo_run(host: str, port: int) -> None:
    """Serve the embedded default: the web app, with the outbox relay and periodic jobs in a thread."""
    from workers.periodic import InProcessScheduler

    if current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is set: run `rq worker` and `rq cron workers.cron` instead")
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    InProcessScheduler(app).start()
    # Flask's app.run() refuses to start inside a `flask` command; werkzeug's server is what it would use
    run_simple(host, port, app, use_reloader=False, threaded=True)


@demo_cli.command("seed")
@click.option("--reset", is_flag=True, help="Drop every table first (never on real data)")
def demo_seed(reset: bool) -> None:
    """Build the demo districts from the source reports, with their org trees, staff and modules."""
    from tenants.demo import seed

    if reset:
        migrate.reset_all(current_app)
        migrate.upgrade(current_app)
    for line in seed():
        click.echo(line)


def init_app(app: Flask) -> None:
    for group in (db_cli, tenants_cli, platform_cli, demo_cli, jobs_cli, outbox_cli):
        app.cli.add_command(group)
