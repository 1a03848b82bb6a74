"""The ``kbportal`` command: set up, seed, run and administer the portal.

Thin by design: each command parses its options, calls a service inside
``session_scope()`` and prints the result (a table, or JSON with ``--json``).
Commands act as the operator (``demo.SYSTEM``, an admin principal with no user row)
and audit as ``cli``. Every database command first runs the migrations (idempotent
and fast), so there is no "not initialised" state to trip over. Service errors are
printed in English on stderr with exit code 1; usage errors exit with 2.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from kbportal import db
from kbportal.config import get_settings
from kbportal.i18n import LANGUAGES, translate
from kbportal.models import Role, User
from kbportal.services import access, demo, doctor, jobs, orgs, reference, repository, users
from kbportal.services.audit import Actor
from kbportal.services.demo import CLI_ACTOR, SYSTEM
from kbportal.services.errors import KbError
from kbportal.cli_translate import translate_app
from kbportal.cli_variants import doc_variants_app

app = typer.Typer(help="Partner knowledge base and document portal.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
org_app = typer.Typer(help="Manage partner organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
region_app = typer.Typer(help="Manage sales regions (data, not code).", no_args_is_help=True)
tier_app = typer.Typer(help="Manage partner tiers and their order.", no_args_is_help=True)
app.add_typer(region_app, name="region")
app.add_typer(tier_app, name="tier")
doc_app = typer.Typer(help="Upload, publish, list and download documents, acting as a user (--as).",
                      no_args_is_help=True)
doc_version_app = typer.Typer(help="Versions of a document.", no_args_is_help=True)
app.add_typer(doc_app, name="doc")
doc_app.add_typer(doc_version_app, name="version")
doc_app.add_typer(doc_variants_app)  # doc translate, doc variants
app.add_typer(translate_app, name="translate")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
PROMPTED = "{} (asked for, hidden, in a terminal when omitted)."

# Extra CLI advice after a service message, by catalogue key.
_HINTS = {
    "user.partner_needs_org": "Pass --org ORG_NAME (see `kbportal org list`).",
    "org.not_found": "See `kbportal org list` for the names.",
}


# --------------------------------------------------------------------------- plumbing


def _fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and the exit code: 1 for refused actions, 2 for usage errors."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def _guard() -> Iterator[None]:
    """Turn user-caused errors into one clear line on stderr and exit code 1, never a traceback."""
    try:
        yield
    except KbError as err:
        hint = _HINTS.get(err.code)
        _fail(err.message("en") + (f" {hint}" if hint else ""))
    except ValidationError as err:  # KBPORTAL_* settings that do not parse
        problems = "; ".join(f"KBPORTAL_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in err.errors())
        _fail(f"Invalid settings ({problems}). Fix them in the environment or .env (see .env.example).")
    except SQLAlchemyError as err:
        _fail(f"Database error: {err.__class__.__name__}: {str(err).splitlines()[0]}. "
              "Check KBPORTAL_DATABASE_URL, or run `kbportal doctor`.")


def _await_check(ref: repository.VersionRef) -> None:
    """Wait for an upload's background check (running it here when no worker took it),
    and fail with its reason when the file was rejected: scripts see the outcome."""
    if ref.job_id is None:
        return
    with _guard():
        jobs.run(ref.job_id)  # a no-op when a worker already has it
        outcome = jobs.wait(ref.job_id)
        if outcome.state == "failed":
            err = outcome.error
            assert err is not None
            _fail(err.message("en") + (" Try again: `kbportal doc list` shows the version as processing."
                                       if outcome.retryable else ""))
        if not outcome.finished:
            _fail("The file check is still running; `kbportal doc show` tells when the version is ready.")


@contextmanager
def _session() -> Iterator[Session]:
    """Migrated database, one transaction, clean errors."""
    with _guard():
        db.migrate()
        with db.session_scope() as session:
            yield session


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    """Dataclasses (also nested in dicts and lists) as plain dicts, for JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(_plain(data), indent=2, ensure_ascii=False, default=_json_default))


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        if n == 0:
            typer.echo("  ".join("-" * w for w in widths))


def _password(given: str | None, what: str) -> str:
    """The password from the option, else a hidden prompt with confirmation (TTY only)."""
    if given is not None:
        return given
    if not sys.stdin.isatty():
        _fail(f"Give {what} with --password (there is no terminal to prompt on).", code=2)
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user_by_email(session: Session, email: str) -> User:
    user = users.find_user_by_email(session, email)
    if user is None:
        _fail(f"{translate('en', 'user.not_found', email=email.strip())} See `kbportal user list`.")
    return user


def _org_row(session: Session, org_id: int) -> orgs.OrgRow:
    return next(r for r in orgs.list_orgs(session, SYSTEM) if r.id == org_id)


def _user_row(session: Session, user_id: int) -> users.UserRow:
    return next(r for r in users.list_users(session, SYSTEM) if r.id == user_id)


def _show_org(row: orgs.OrgRow, verb: str, as_json: bool) -> None:
    if as_json:
        _print_json(row)
    else:
        state = "active" if row.active else "inactive"
        typer.echo(f"{verb} organisation {row.name!r} (id {row.id}, {row.region}, {row.tier}, {state}).")


def _show_user(row: users.UserRow, verb: str, as_json: bool) -> None:
    if as_json:
        _print_json(row)
    else:
        org = f", {row.org_name}" if row.org_name else ""
        state = "active" if row.active else "disabled"
        typer.echo(f"{verb} user {row.email} (id {row.id}, {row.role}{org}, {state}).")


# --------------------------------------------------------------------------- setup and running


@app.command()
def init() -> None:
    """Create or upgrade the database, then the first admin (idempotent).

    The admin comes from KBPORTAL_ADMIN_EMAIL and KBPORTAL_ADMIN_PASSWORD, or from a
    prompt when run in a terminal.
    """
    with _guard():
        db.migrate()
        settings = get_settings()
    typer.echo("Database is at the latest migration.")
    email, password = settings.admin_email.strip(), settings.admin_password
    with _session() as session:
        if email:
            existing = users.find_user_by_email(session, email)
            if existing is not None:
                typer.echo(f"User {existing.email} already exists ({existing.role}); nothing to do.")
                return
        else:
            admin = session.exec(select(User).where(User.role == Role.ADMIN.value)).first()
            if admin is not None:
                typer.echo(f"An admin already exists ({admin.email}); nothing to do.")
                return
        interactive = sys.stdin.isatty()
        if not (email and password) and not interactive:
            missing = " and ".join(n for n, v in (("KBPORTAL_ADMIN_EMAIL", email),
                                                  ("KBPORTAL_ADMIN_PASSWORD", password)) if not v)
            typer.echo(f"No admin was created: set {missing} (in the environment or .env) and run "
                       "`kbportal init` again, or run it in a terminal to be asked.", err=True)
            return
        if not email:
            email = typer.prompt("Admin email").strip()
        if not password:
            password = typer.prompt(f"Password for {email}", hide_input=True, confirmation_prompt=True)
        user = users.create_user(session, SYSTEM, CLI_ACTOR, email=email, name="Administrator",
                                 role=Role.ADMIN.value, password=password)
        typer.echo(f"Created admin {user.email}.")


@app.command()
def seed(
    demo_data: Annotated[bool, typer.Option("--demo", help="Create demo organisations and users.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load demo data: partner organisations in every region and tier, a user of every role.

    Idempotent: existing organisations and users are left alone. Prints the demo logins.
    """
    if not demo_data:
        _fail("Nothing to seed: pass --demo to create the demo organisations and users.", code=2)
    with _session() as session:
        result = demo.seed_demo(session, SYSTEM, CLI_ACTOR)
    with _guard():  # the demo files' checks (thumbnails, text) run here: the portal shows them at once
        jobs.run_queued(repository.CHECK_JOB)
    if as_json:
        _print_json({"orgs_created": result.orgs_created, "users_created": result.users_created,
                     "documents_created": result.documents_created,
                     "password": demo.DEMO_PASSWORD, "credentials": result.credentials})
        return
    typer.echo(f"Demo data ready: {result.orgs_created} organisation(s), {result.users_created} user(s) and "
               f"{result.documents_created} document(s) created.")
    typer.echo(f"Every demo account uses the password {demo.DEMO_PASSWORD!r}.\n")
    _print_table(["email", "password", "role", "organisation", "language", "time zone"],
                 [(c.email, c.password, c.role, c.org, c.ui_language, c.time_zone) for c in result.credentials])


@app.command()
def run(
    port: Annotated[int | None, typer.Option(help="Port to serve on (default: KBPORTAL_PORT, else 3000).")] = None,
) -> None:
    """Apply migrations, then serve the portal in production mode (frontend and backend on one port)."""
    from kbportal import runtime

    with _guard():
        db.migrate()
        port = port or get_settings().port
    typer.echo(f"Serving kbportal on http://localhost:{port} (Ctrl+C stops it).")
    with _guard():
        code = runtime.serve(port, host=get_settings().host)
    raise typer.Exit(code)


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help='What to look for: words, "a phrase", AND/OR/NOT, prefix*, word~.')],
    as_email: AsOpt,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of the query (default: the user's).")] = None,
    doc_type: Annotated[str | None, typer.Option("--type", help="Only this document type.")] = None,
    product: Annotated[str | None, typer.Option(help="Only this product.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only documents with this tag.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Result page.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Search exactly what that user may see: hits, facets and a "did you mean" suggestion."""
    from kbportal.services import indexing, searching
    from kbportal.services.search import SearchQuery

    with _guard():
        db.migrate()
        indexing.apply_outbox()  # changes not yet indexed (no worker may be running)
    with _session() as session:
        principal, _actor = _acting(session, as_email)
        user = users.find_user_by_email(session, as_email)
        query = SearchQuery(text=query, language=lang or (user.ui_language if user else "en"),
                            doc_types=frozenset([doc_type] if doc_type else []),
                            products=frozenset([product] if product else []),
                            tags=frozenset([tag] if tag else []), page=page)
        result = searching.search(session, principal, query)
    if result.degraded:
        _fail("The search index is being rebuilt; try again in a minute (or run `kbportal reindex`).")
    hits = [{"id": h.object_id, "kind": h.kind, "title": h.title, "snippet": h.snippet, "score": round(h.score, 4),
             "language": h.language, "url": h.url} for h in result.hits]
    if as_json:
        _print_json({"total": result.total, "page": result.page, "page_count": result.page_count, "hits": hits,
                     "facets": {k: [{"value": v, "count": c} for v, c in vals] for k, vals in result.facets.items()},
                     "suggestion": result.suggestion})
        return
    if not hits:
        typer.echo("No results." + (f' Did you mean "{result.suggestion}"?' if result.suggestion else ""))
        return
    typer.echo(f"{result.total} result(s), page {result.page} of {result.page_count}:")
    _print_table(["id", "kind", "title", "score"], [(h["id"], h["kind"], h["title"], h["score"]) for h in hits])
    if result.suggestion:
        typer.echo(f'Did you mean "{result.suggestion}"?')


@app.command("reindex")
def reindex_cmd() -> None:
    """Rebuild the search index from the database (search keeps working meanwhile)."""
    from kbportal.services import indexing

    with _guard():
        db.migrate()
        with typer.progressbar(length=100, label="Indexing") as bar:
            shown = [0]

            def progress(done: int, total: int) -> None:
                percent = int(100 * done / max(total, 1))
                bar.update(percent - shown[0])
                shown[0] = percent

            count = indexing.rebuild(progress)
    typer.echo(f"Search index rebuilt: {count} entr{'y' if count == 1 else 'ies'}.")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run the jobs queued now, then exit.")] = False,
    threads: Annotated[int | None, typer.Option(help="Jobs run at the same time (default: "
                                                     "KBPORTAL_JOB_WORKERS).")] = None,
) -> None:
    """Run background jobs (file checks, thumbnails, indexing). `kbportal run` starts one."""
    with _guard():
        db.migrate()
        if once:
            done = jobs.run_queued()
            typer.echo(f"Ran {done} job(s).")
            return
        jobs.serve_worker(threads)


@app.command("doctor")
def doctor_cmd(as_json: JsonOpt = False) -> None:
    """Check every dependency and service; say what is missing and how to fix it.

    Exits non-zero when any check fails (warnings do not count).
    """
    checks = doctor.run_checks()
    if as_json:
        _print_json({"ok": doctor.healthy(checks), "checks": checks})
    else:
        marks = {doctor.Status.OK: "ok  ", doctor.Status.WARN: "WARN", doctor.Status.FAIL: "FAIL"}
        width = max(len(c.name) for c in checks)
        for c in checks:
            typer.echo(f"[{marks[c.status]}] {c.name.ljust(width)}  {c.detail}")
            if c.status != doctor.Status.OK and c.fix:
                typer.echo(f"       {' ' * width}  fix: {c.fix}")
        failed = sum(c.status == doctor.Status.FAIL for c in checks)
        warned = sum(c.status == doctor.Status.WARN for c in checks)
        summary = f"{failed} check(s) failed" if failed else "All required checks passed"
        typer.echo(f"\n{summary}" + (f", {warned} warning(s)." if warned else "."))
    if not doctor.healthy(checks):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- organisations


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="Organisation name (unique).")],
    region: Annotated[str, typer.Option(help="Region code, e.g. APAC, EMEA, NA, LATAM.")],
    tier: Annotated[str, typer.Option(help="Partner tier, e.g. registered, silver, gold, platinum.")],
    as_json: JsonOpt = False,
) -> None:
    """Create a partner organisation."""
    with _session() as session:
        org = orgs.create_org(session, SYSTEM, CLI_ACTOR, name, region, tier)
        row = _org_row(session, org.id)
    _show_org(row, "Created", as_json)


@org_app.command("list")
def org_list(
    query: Annotated[str, typer.Option(help="Only names containing this text.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List organisations with their region, tier and number of users."""
    with _session() as session:
        rows = orgs.list_orgs(session, SYSTEM, query)
    if as_json:
        _print_json(rows)
    else:
        _print_table(["id", "name", "region", "tier", "active", "users"],
                     [(r.id, r.name, r.region, r.tier, "yes" if r.active else "no", r.users) for r in rows])


@org_app.command("update")
def org_update(
    name: Annotated[str, typer.Argument(help="Current name of the organisation.")],
    new_name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    region: Annotated[str | None, typer.Option(help="New region code.")] = None,
    tier: Annotated[str | None, typer.Option(help="New partner tier.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive",
                                                help="Enable or disable the organisation's access.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename an organisation, move it to another region or tier, or (de)activate it."""
    with _session() as session:
        org = orgs.find_org_by_name(session, SYSTEM, name)
        orgs.update_org(session, SYSTEM, CLI_ACTOR, org.id, name=new_name, region=region, tier=tier, active=active)
        row = _org_row(session, org.id)
    _show_org(row, "Updated", as_json)


# --------------------------------------------------------------------------- users


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Login email (unique).")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[Role, typer.Option(help="Role of the account.", case_sensitive=False)],
    org: Annotated[str | None, typer.Option(help="Organisation name (required for partner roles).")] = None,
    password: Annotated[str | None, typer.Option(help=PROMPTED.format("Initial password"))] = None,
    language: Annotated[str | None, typer.Option(
        help=f"UI language: {', '.join(LANGUAGES)} (default: KBPORTAL_DEFAULT_LANGUAGE).")] = None,
    timezone: Annotated[str | None, typer.Option(
        help="Time zone, e.g. Asia/Jakarta (default: KBPORTAL_DEFAULT_TIMEZONE).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user account."""
    password = _password(password, "the new user's password")
    with _session() as session:
        org_id = orgs.find_org_by_name(session, SYSTEM, org).id if org else None
        user = users.create_user(session, SYSTEM, CLI_ACTOR, email=email, name=name, role=role.value,
                                 password=password, org_id=org_id, ui_language=language, time_zone=timezone)
        row = _user_row(session, user.id)
    _show_user(row, "Created", as_json)


@user_app.command("list")
def user_list(
    org: Annotated[str | None, typer.Option(help="Only users of this organisation.")] = None,
    query: Annotated[str, typer.Option(help="Only emails or names containing this text.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List user accounts."""
    with _session() as session:
        org_id = orgs.find_org_by_name(session, SYSTEM, org).id if org else None
        rows = users.list_users(session, SYSTEM, query, org_id=org_id)
    if as_json:
        _print_json(rows)
    else:
        _print_table(["id", "email", "name", "role", "organisation", "language", "time zone", "active"],
                     [(r.id, r.email, r.name, r.role, r.org_name, r.ui_language, r.time_zone,
                       "yes" if r.active else "no") for r in rows])


def _set_active(email: str, active: bool) -> None:
    with _session() as session:
        user = users.set_active(session, SYSTEM, CLI_ACTOR, _user_by_email(session, email).id, active)
    typer.echo(f"{'Enabled' if active else 'Disabled'} {user.email}.")


@user_app.command("disable")
def user_disable(email: Annotated[str, typer.Argument(help="Email of the account.")]) -> None:
    """Disable an account; its open sessions end at once."""
    _set_active(email, False)


@user_app.command("enable")
def user_enable(email: Annotated[str, typer.Argument(help="Email of the account.")]) -> None:
    """Enable a disabled account again."""
    _set_active(email, True)


@user_app.command("passwd")
def user_passwd(
    email: Annotated[str, typer.Argument(help="Email of the account.")],
    password: Annotated[str | None, typer.Option(help=PROMPTED.format("New password"))] = None,
) -> None:
    """Set a user's password; the user's open sessions end."""
    with _session() as session:
        user = _user_by_email(session, email)
        users.set_password(session, SYSTEM, CLI_ACTOR, user.id, _password(password, "the new password"))
    typer.echo(f"Password changed for {user.email}.")


def main() -> None:
    try:
        app(prog_name="kbportal")
    finally:
        # A command that needed storage may have started the embedded S3 server: stop it
        # again (``kbportal run`` manages its own). A server that was already running stays.
        from kbportal.storage import seaweed

        seaweed.stop_all_started_here()



@region_app.command("list")
def region_list(as_json: JsonOpt = False) -> None:
    """List regions."""
    with _session() as session:
        rows = [{"code": r.code, "name": r.name} for r in reference.regions(session)]
    if as_json:
        _print_json(rows)
    else:
        _print_table(["code", "name"], [(r["code"], r["name"]) for r in rows])


@region_app.command("add")
def region_add(
    code: Annotated[str, typer.Argument(help="Region code, e.g. MEA.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. 'Middle East and Africa'.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a region organisations and audiences can use."""
    with _session() as session:
        region = reference.add_region(session, SYSTEM, CLI_ACTOR, code, name)
        row = {"code": region.code, "name": region.name}
    _print_json(row) if as_json else typer.echo(f"Created region {row['code']} ({row['name']}).")


@tier_app.command("list")
def tier_list(as_json: JsonOpt = False) -> None:
    """List tiers from lowest to highest rank."""
    with _session() as session:
        rows = [{"code": t.code, "name": t.name, "rank": t.rank} for t in reference.tiers(session)]
    if as_json:
        _print_json(rows)
    else:
        _print_table(["code", "name", "rank"], [(r["code"], r["name"], r["rank"]) for r in rows])


@tier_app.command("add")
def tier_add(
    code: Annotated[str, typer.Argument(help="Tier code, e.g. diamond.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    rank: Annotated[int, typer.Option(help="Order among tiers: higher ranks see everything lower ranks see.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a partner tier at a given rank."""
    with _session() as session:
        tier = reference.add_tier(session, SYSTEM, CLI_ACTOR, code, name, rank)
        row = {"code": tier.code, "name": tier.name, "rank": tier.rank}
    _print_json(row) if as_json else typer.echo(f"Created tier {row['code']} at rank {row['rank']}.")


# --------------------------------------------------------------------------- documents

AsOpt = Annotated[str, typer.Option("--as", metavar="EMAIL",
                                    help="Act as this user, with exactly that user's rights.")]


def _acting(session: Session, email: str) -> tuple[access.Principal, Actor]:
    """The principal and audit actor of ``--as EMAIL``; unknown or disabled users exit 1."""
    user = users.find_user_by_email(session, email)
    if user is None:
        _fail(translate("en", "user.not_found", email=email.strip()))
    principal = access.principal_for(session, user)
    if not user.active:
        _fail(translate("en", "auth.disabled"))
    if not principal.active:
        _fail(translate("en", "auth.org_disabled"))
    return principal, Actor(user_id=user.id, email=user.email, ip="cli")


def _upload_of(file: Path) -> repository.Upload:
    if not file.is_file():
        _fail(translate("en", "doc.file_not_found", path=str(file)))
    return repository.Upload(path=file, filename=file.name)


def _expiry(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(translate("en", "doc.invalid_date", value=value.strip()))


def _audience_option(session: Session, principal: access.Principal, regions: str | None, min_tier: str | None,
                     org_names: str | None) -> access.AudienceRule | None:
    """--regions APAC,EMEA|all, --min-tier, --orgs "A,B" as an audience (None when none is given).

    A minimum tier without --regions applies in every region.
    """
    if regions is None and min_tier is None and org_names is None:
        return None
    all_regions = (regions or "").strip().lower() == "all" or (regions is None and min_tier is not None)
    codes = frozenset() if all_regions or regions is None else frozenset(
        r.strip() for r in regions.split(",") if r.strip())
    org_ids = frozenset(orgs.find_org_by_name(session, principal, n).id
                        for n in (org_names or "").split(",") if n.strip())
    return access.AudienceRule(all_regions=all_regions, regions=codes, min_tier=min_tier, org_ids=org_ids)


def _jsonable(value: Any) -> Any:
    """Dataclasses, sets and dates as JSON-ready values (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _all_documents(session: Session, principal: access.Principal) -> list[repository.DocumentCard]:
    cards: list[repository.DocumentCard] = []
    page = 0
    while True:
        result = repository.list_documents(session, principal, repository.DocumentFilters(page=page, page_size=200))
        cards.extend(result.items)
        if not result.items or len(cards) >= result.total:
            return cards
        page += 1


@doc_app.command("add")
def doc_add(
    file: Annotated[Path, typer.Argument(help="The file to upload (PDF, Word, PowerPoint, Excel, text, "
                                              "Markdown, CSV, PNG, JPEG).")],
    title: Annotated[str, typer.Option(help="Title partners see.")],
    as_email: AsOpt,
    doc_type: Annotated[str, typer.Option("--type", help="brochure, datasheet, presentation, case_study, "
                                                         "price_list, training, template or other.")] = "other",
    description: Annotated[str, typer.Option(help="What the document is for.")] = "",
    product: Annotated[str, typer.Option(help="Product it is about.")] = "",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat the option, or separate with "
                                                               "commas).")] = None,
    language: Annotated[str, typer.Option(help="Language of the document, e.g. en, de, pt-BR.")] = "en",
    regions: Annotated[str | None, typer.Option(help="Regions that see it: APAC,EMEA or all.")] = None,
    min_tier: Annotated[str | None, typer.Option(help="Minimum partner tier (all regions when --regions is "
                                                      "not given).")] = None,
    org_names: Annotated[str | None, typer.Option("--orgs", help='Organisations that always see it: '
                                                                 '"Org A,Org B".')] = None,
    expires: Annotated[str | None, typer.Option(help="Last day partners see it, YYYY-MM-DD.")] = None,
    label: Annotated[str, typer.Option(help='Version label, e.g. "Q3 launch".')] = "",
    note: Annotated[str, typer.Option(help="Change note of the first version.")] = "",
    publish: Annotated[bool, typer.Option("--publish", help="Publish at once (default: a draft).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload a new document (a draft unless --publish).

    Without --regions, --min-tier or --orgs no partner sees it.
    """
    upload = _upload_of(file)
    expires_on = _expiry(expires)
    tags = [t.strip() for value in (tag or []) for t in value.split(",") if t.strip()]
    with _session() as session:
        principal, actor = _acting(session, as_email)
        audience = _audience_option(session, principal, regions, min_tier, org_names)
        ref = repository.create_document(
            session, principal, actor, upload, title=title, description=description, doc_type=doc_type,
            product=product, tags=tags, source_language=language, audience=audience, expires_at=expires_on,
            label=label, note=note, publish=publish)
    _await_check(ref)
    if as_json:
        _print_json({"id": ref.document_id, "version": ref.number})
    else:
        state = "published" if publish else "a draft"
        typer.echo(f"Created document {ref.document_id} (version {ref.number}, {state}).")


@doc_version_app.command("add")
def doc_version_add(
    doc_id: Annotated[int, typer.Argument(help="Document id.")],
    file: Annotated[Path, typer.Argument(help="The new version's file.")],
    as_email: AsOpt,
    note: Annotated[str, typer.Option(help="What changed.")] = "",
    label: Annotated[str, typer.Option(help='Version label, e.g. "Q3 launch".')] = "",
    publish: Annotated[bool, typer.Option("--publish", help="Publish it at once (default: partners keep the "
                                                            "published version).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload a new version of a document."""
    upload = _upload_of(file)
    with _session() as session:
        principal, actor = _acting(session, as_email)
        ref = repository.add_version(session, principal, actor, doc_id, upload, label=label, note=note,
                                     publish=publish)
    _await_check(ref)
    if as_json:
        _print_json({"id": ref.document_id, "version": ref.number})
    else:
        typer.echo(f"Added version {ref.number} to document {ref.document_id}"
                   f"{' and published it' if publish else ''}.")


@doc_app.command("publish")
def doc_publish(
    doc_id: Annotated[int, typer.Argument(help="Document id.")],
    version: Annotated[int, typer.Option("--version", help="Version number to publish (an older one rolls "
                                                           "back).")],
    as_email: AsOpt,
) -> None:
    """Publish a version: partners of the audience see it from now on."""
    with _session() as session:
        principal, actor = _acting(session, as_email)
        repository.publish_version(session, principal, actor, doc_id, version)
    typer.echo(f"Published version {version} of document {doc_id}.")


@doc_app.command("archive")
def doc_archive(doc_id: Annotated[int, typer.Argument(help="Document id.")], as_email: AsOpt) -> None:
    """Archive a document: partners no longer see it (nothing is deleted)."""
    with _session() as session:
        principal, actor = _acting(session, as_email)
        repository.archive_document(session, principal, actor, doc_id)
    typer.echo(f"Archived document {doc_id}.")


@doc_app.command("restore")
def doc_restore(doc_id: Annotated[int, typer.Argument(help="Document id.")], as_email: AsOpt) -> None:
    """Restore an archived document (published again if it was)."""
    with _session() as session:
        principal, actor = _acting(session, as_email)
        repository.restore_document(session, principal, actor, doc_id)
    typer.echo(f"Restored document {doc_id}.")


@doc_app.command("list")
def doc_list(as_email: AsOpt, as_json: JsonOpt = False) -> None:
    """Every document the user may see (partners: published versions of their audience)."""
    with _session() as session:
        principal, _ = _acting(session, as_email)
        cards = _all_documents(session, principal)
    if as_json:
        _print_json(_jsonable(cards))
    else:
        _print_table(["id", "title", "type", "status", "version", "size", "language", "updated"],
                     [(c.id, c.title, c.doc_type, c.status, c.version_number, c.size, c.language,
                       c.updated_at.date().isoformat()) for c in cards])


@doc_app.command("show")
def doc_show(doc_id: Annotated[int, typer.Argument(help="Document id.")], as_email: AsOpt,
             as_json: JsonOpt = False) -> None:
    """A document's metadata and the versions the user may see."""
    with _session() as session:
        principal, _ = _acting(session, as_email)
        detail = repository.get_document(session, principal, doc_id)
    if as_json:
        _print_json(_jsonable(detail))
        return
    typer.echo(f"{detail.title} (document {detail.id}, {detail.doc_type}, {detail.status}, {detail.language})")
    if detail.description:
        typer.echo(detail.description)
    typer.echo("")
    _print_table(["version", "published", "label", "file", "size", "type", "pages", "created"],
                 [(v.number, "yes" if v.is_published else "", v.label, v.filename, v.size, v.mime_type,
                   v.page_count, v.created_at.date().isoformat()) for v in detail.versions])


@doc_app.command("get")
def doc_get(
    doc_id: Annotated[int, typer.Argument(help="Document id.")],
    as_email: AsOpt,
    out: Annotated[Path, typer.Option("--out", help="File to write (or a folder: the stored file name is "
                                                    "used).")],
    version: Annotated[int | None, typer.Option("--version", help="Version number (partners: only the "
                                                                  "published one).")] = None,
    light: Annotated[bool, typer.Option("--light", help="The light variant of a large PDF.")] = False,
) -> None:
    """Download a document the user may see (recorded in the audit log).

    Writes nothing when the document is missing or the user may not see it.
    """
    with _session() as session:
        principal, actor = _acting(session, as_email)
        target = repository.open_download(session, principal, doc_id, version, "light" if light else "original")
        destination = out / target.filename if out.is_dir() else out
        _stream_to(target, destination)
        repository.record_download(session, principal, actor, target)
    typer.echo(f"Saved version {target.number} of document {doc_id} to {destination} ({target.size} bytes).")


def _stream_to(target: repository.DownloadTarget, destination: Path) -> None:
    """Stream the blob into a temp file beside ``destination``, check it, then rename."""
    from kbportal.storage import get_blob_store

    try:
        fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    except OSError:
        _fail(translate("en", "doc.cannot_write", path=str(destination)))
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in get_blob_store().iter_bytes(target.key, target.storage_version_id):
                f.write(chunk)
                digest.update(chunk)
        if target.variant == "original" and digest.hexdigest() != target.etag:
            _fail(translate("en", "doc.download_damaged"))
        os.replace(tmp, destination)
    except OSError:
        _fail(translate("en", "doc.cannot_write", path=str(destination)))
    finally:
        Path(tmp).unlink(missing_ok=True)


# --------------------------------------------------------------------------- storage housekeeping


@app.command("verify")
def verify_cmd(as_json: JsonOpt = False) -> None:
    """Re-hash every stored document version and report missing or changed files (exit 1 if any)."""
    with _session() as session:
        report = repository.verify(session)
    if as_json:
        _print_json({"ok": report.ok, "checked": report.checked, "problems": _jsonable(report.problems),
                     "cache_copies_dropped": report.cache_copies_dropped})
    else:
        for p in report.problems:
            typer.echo(f"document {p.document_id} version {p.number} {p.part}: {p.problem.replace('_', ' ')} "
                       f"({p.key} @ {p.version_id}){': ' + p.detail if p.detail else ''}")
        summary = "all match their checksums" if report.ok else f"{len(report.problems)} problem(s)"
        typer.echo(f"Checked {report.checked} version(s): {summary}.")
        if report.cache_copies_dropped:
            typer.echo(f"Removed {report.cache_copies_dropped} damaged local cached copy(ies); downloads read "
                       "those from storage again.")
    if not report.ok:
        raise typer.Exit(1)


@app.command("thumbnails")
def thumbnails_cmd(as_json: JsonOpt = False) -> None:
    """Give ready Word and PowerPoint versions without a thumbnail their first-page picture
    and page count (versions uploaded before kbportal made them; idempotent)."""
    from kbportal.services import office_thumbnail, version_check

    with _session() as session:
        missing = version_check.versions_missing_thumbnails(session)
    if missing and not office_thumbnail.libreoffice_available():
        _fail(f"{len(missing)} version(s) have no thumbnail, and LibreOffice is not installed: "
              "run `make run` (or scripts/system-packages.sh) first.")
    added = 0
    with _guard():
        with typer.progressbar(missing, label="Thumbnails", file=sys.stderr if as_json else None) as bar:
            for version_id in bar:
                added += version_check.backfill_thumbnail(version_id)
    if as_json:
        _print_json({"missing": len(missing), "added": added})
    else:
        typer.echo(f"Added {added} thumbnail(s) of {len(missing)} version(s) without one."
                   + (" The others could not be converted; the worker log says why." if added < len(missing) else ""))


@app.command("gc")
def gc_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    grace_minutes: Annotated[int, typer.Option("--grace-minutes", min=0,
                                               help="Keep unreferenced files younger than this (uploads in "
                                                    "flight).")] = 60,
    as_json: JsonOpt = False,
) -> None:
    """Remove stored files no document version references (left by failed uploads)."""
    with _session() as session:
        report = repository.gc(session, dry_run=dry_run, grace=timedelta(minutes=grace_minutes))
    if as_json:
        _print_json(_jsonable(report))
        return
    verb = "Would remove" if dry_run else "Removed"
    for blob in report.removed:
        typer.echo(f"{verb} {blob.key} @ {blob.version_id} ({blob.size} bytes)")
    typer.echo(f"{verb} {len(report.removed)} unreferenced file version(s), {report.bytes_removed} bytes; "
               f"{report.kept_recent} younger than {grace_minutes} minute(s) kept; {report.scanned} scanned.")


# --------------------------------------------------------------------------- co-branding


def _show_branding(info: Any, as_json: bool, verb: str) -> None:
    if as_json:
        _print_json(_jsonable(info))
        return
    typer.echo(f"{verb} the branding of {info.org_name!r} (version {info.version}).")
    logo = f"{info.logo_mime_type}, {info.logo_width} x {info.logo_height} px" if info.has_logo else ""
    rows = [("company name", info.partner_name), ("contact", info.contact_name), ("email", info.email),
            ("phone", info.phone), ("address", info.address.replace("\n", " / ")), ("website", info.website),
            ("footer", info.footer), ("brand colour", info.brand_colour), ("logo", logo)]
    _print_table(["field", "value"], rows)


def _org_for_branding(session: Session, principal: access.Principal, name: str) -> int:
    """The organisation named: the user's own (partner users may not list organisations),
    else one the user may list; unknown names exit 1."""
    if principal.org_id is not None:
        own = orgs.organisation_of(session, session.get(User, principal.user_id))
        if own is not None and own.name.casefold() == name.strip().casefold():
            return own.id
    return orgs.find_org_by_name(session, principal, name).id


@org_app.command("brand")
def org_brand(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    as_email: AsOpt,
    display_name: Annotated[str | None, typer.Option("--display-name", help="Company name printed on co-branded "
                                                                           "PDFs (partner_name).")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact person (partner_contact).")] = None,
    email: Annotated[str | None, typer.Option(help="Contact email (partner_email).")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number (partner_phone).")] = None,
    website: Annotated[str | None, typer.Option(help="Website, e.g. https://example.com (partner_website).")] = None,
    address: Annotated[str | None, typer.Option(help=r"Postal address (partner_address); \n starts a new "
                                                     "line.")] = None,
    color: Annotated[str | None, typer.Option("--color", metavar="#RRGGBB", help="Brand colour.")] = None,
    footer: Annotated[str | None, typer.Option(help="Co-brand footer line (partner_footer).")] = None,
    logo: Annotated[Path | None, typer.Option(help="Logo file: PNG or JPEG (partner_logo).")] = None,
    remove_logo: Annotated[bool, typer.Option("--remove-logo", help="Remove the logo.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show or change an organisation's branding profile for co-branded PDFs.

    Partner admins change their own organisation's profile, admins any. Without options it is shown; "" clears a field.
    """
    from kbportal.services import branding

    if logo is not None and not logo.is_file():
        _fail(translate("en", "doc.file_not_found", path=str(logo)))
    changes = {"partner_name": display_name, "contact_name": contact, "email": email, "phone": phone,
               "address": address.replace("\\n", "\n") if address is not None else None, "website": website,
               "footer": footer, "brand_colour": color}
    with _session() as session:
        principal, actor = _acting(session, as_email)
        org_id = _org_for_branding(session, principal, name)
        before = branding.get_profile(session, principal, org_id)
        if all(v is None for v in changes.values()) and logo is None and not remove_logo:
            _show_branding(before, as_json, "Showing")
            return
        info = branding.update_profile(session, principal, actor, org_id, logo_path=logo, remove_logo=remove_logo,
                                       **changes)
    _show_branding(info, as_json, "Updated" if info.version != before.version else "Nothing changed in")


def _field_values(values: list[str] | None) -> dict[str, str]:
    """``--field name=value`` options as a dict (usage error without "=")."""
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _fail(f"--field takes name=value, e.g. --field event_date='12 March'; got {item!r}.", code=2)
        out[name.strip()] = value.replace("\\n", "\n")
    return out


def _await_generation(job_id: int) -> jobs.JobStatus:
    """Run a generation job here unless a worker has it (a failure for a passing reason is
    tried again at once, up to the job's attempts), wait for the end, fail with its sentence."""
    import time

    with _guard():
        while True:
            jobs.run(job_id)  # a no-op when a worker already has it
            with db.session_scope() as session:
                outcome = jobs.status_unchecked(session, job_id)
            if outcome.finished:
                break
            if outcome.state == "running":  # a worker runs it
                outcome = jobs.wait(job_id, timeout=600)
                if not outcome.finished:
                    _fail("The PDF is still being made; run the command again in a moment to fetch it.")
                break
            time.sleep(1)  # queued again after a passing failure: give LibreOffice a moment
    if outcome.state == "failed":
        err = outcome.error
        assert err is not None
        _fail(err.message("en") + (" Running the command again retries it." if outcome.retryable else ""))
    return outcome


@app.command("cobrand")
def cobrand_cmd(
    template_id: Annotated[int, typer.Argument(help="Document id of the template (`kbportal doc list --as "
                                                   "EMAIL` shows them, type template).")],
    as_email: AsOpt,
    out: Annotated[Path, typer.Option("--out", help="PDF file to write (or a folder: the generated name is "
                                                    "used).")],
    field: Annotated[list[str] | None, typer.Option("--field", metavar="NAME=VALUE",
                                                    help=r"A value for this PDF only, e.g. event_date='12 March' "
                                                         r"or partner_phone=... (repeat; \n starts a new line).")]
    = None,
    org_name: Annotated[str | None, typer.Option("--org", help="Staff: use this organisation's branding "
                                                               "(default: the user's own).")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Staff: a version of the template other than "
                                                                  "the published one.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a co-branded PDF of a template with the user's organisation branding.

    A PDF made before from the same inputs is reused at once. Audited. Exits 1 with the reason on failure.
    """
    from kbportal.services import cobranding

    overrides = _field_values(field)
    if not (out if out.is_dir() else out.parent).is_dir():  # say so before making the PDF
        _fail(translate("en", "doc.cannot_write", path=str(out)))
    with _session() as session:
        principal, actor = _acting(session, as_email)
        org_id = orgs.find_org_by_name(session, principal, org_name).id if org_name else None
        ref = cobranding.request(session, principal, actor, template_id, overrides, org_id=org_id, version=version)
    generated_id = ref.generated_id
    if ref.job_id is not None:
        outcome = _await_generation(ref.job_id)
        generated_id = outcome.result.get("generated_id")
    with _session() as session:
        principal, actor = _acting(session, as_email)
        target = cobranding.open_generated(session, principal, int(generated_id))
        destination = out / target.filename if out.is_dir() else out
        _stream_to(target, destination)
        cobranding.record_download(session, principal, actor, target)
    if as_json:
        _print_json({"id": target.generated_id, "cached": ref.cached, "size": target.size,
                     "output": str(destination), "filename": target.filename, "job_id": ref.job_id})
    else:
        made = "reused the PDF made before" if ref.cached else "made it now"
        typer.echo(f"Saved the co-branded PDF to {destination} ({target.size} bytes; {made}).")


if __name__ == "__main__":
    main()
