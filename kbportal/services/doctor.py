"""``kbportal doctor``: is everything the portal needs present, and if not, how to fix it?

Each check is a plain function returning a :class:`Check`; :func:`run_checks` runs
them all and turns a crashing check into a failed one, so the doctor itself never
breaks on the very problem it should report. Checks only look: nothing is created,
migrated or installed here.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

REQUIRED_PYTHON = (3, 11)
MIN_NODE_MAJOR = 20
# Import name -> distribution name (what ``pip install`` wants).
REQUIRED_PACKAGES: dict[str, str] = {
    "reflex": "reflex",
    "sqlmodel": "sqlmodel",
    "alembic": "alembic",
    "argon2": "argon2-cffi",
    "typer": "typer",
    "babel": "babel",
}
CHROMIUM = Path("/usr/bin/chromium")
SETUP_FIX = "Run `make setup` to create the virtualenv and install the tools."


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but something is missing that some use needs
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One finding: ``detail`` says what was found, ``fix`` what to do when not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != Status.FAIL


def _run(cmd: list[str]) -> str:
    """First line of a tool's ``--version`` style output ("" when it fails)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = (out.stdout.strip() or out.stderr.strip()).splitlines()
    return lines[0] if lines else ""


# --------------------------------------------------------------------------- checks


def check_python() -> Check:
    found = ".".join(map(str, sys.version_info[:3]))
    want = ".".join(map(str, REQUIRED_PYTHON))
    if sys.version_info[:2] == REQUIRED_PYTHON:
        return Check("python", Status.OK, f"Python {found} at {sys.executable}.")
    return Check("python", Status.FAIL, f"Python {found} is running; kbportal needs Python {want}.",
                 f"Install Python {want} and recreate the virtualenv with `make setup`.")


def check_package(module: str) -> Check:
    name = f"package {module}"
    dist = REQUIRED_PACKAGES.get(module, module)
    try:
        importlib.import_module(module)
    except Exception as exc:  # ImportError, or a broken install failing on import
        return Check(name, Status.FAIL, f"Cannot import {module}: {exc}.",
                     f"{SETUP_FIX} (or `.venv/bin/pip install -e .` for {dist}).")
    try:
        from importlib.metadata import version

        detail = f"{dist} {version(dist)} is installed."
    except Exception:
        detail = f"{module} is importable."
    return Check(name, Status.OK, detail)


def check_settings() -> Check:
    from kbportal.config import get_settings

    try:
        get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"KBPORTAL_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        return Check("settings", Status.FAIL, f"Invalid settings: {problems}.",
                     "Correct those KBPORTAL_* variables in the environment or in .env (see .env.example).")
    return Check("settings", Status.OK, "KBPORTAL_* settings are valid.")


def _redacted(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def check_database() -> Check:
    from kbportal import db
    from kbportal.config import get_settings

    url = get_settings().resolved_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.split("///", 1)[1])
        if not path.exists():
            return Check("database", Status.FAIL, f"The database {path} does not exist yet.",
                         "Run `kbportal init` to create it and the first admin.")
    try:
        current = db.current_revision(url)
        head = db.head_revision()
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
        return Check("database", Status.FAIL, f"Cannot reach the database {_redacted(url)}: {reason}.",
                     "Check KBPORTAL_DATABASE_URL and that the database server is running.")
    if current is None:
        return Check("database", Status.FAIL, f"The database {_redacted(url)} has no schema yet.",
                     "Run `kbportal init` to apply the migrations.")
    if current != head:
        return Check("database", Status.FAIL, f"The schema is at revision {current}, the code expects {head}.",
                     "Run `kbportal init` to apply the pending migrations.")
    return Check("database", Status.OK, f"{_redacted(url)} is reachable and at migration head {head}.")


def check_data_dir() -> Check:
    from kbportal.config import get_settings

    path = get_settings().resolved_data_dir
    fix = "Set KBPORTAL_DATA_DIR to a writable directory, or fix its permissions."
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != path:
        if os.access(existing, os.W_OK):
            return Check("data dir", Status.OK, f"{path} does not exist yet; it will be created.")
        return Check("data dir", Status.FAIL, f"{path} does not exist and {existing} is not writable.", fix)
    if not path.is_dir():
        return Check("data dir", Status.FAIL, f"{path} exists but is not a directory.", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir", Status.FAIL, f"Cannot write to {path}: {exc.strerror or exc}.", fix)
    return Check("data dir", Status.OK, f"{path} is writable.")


def check_bun() -> Check:
    from kbportal.runtime import TOOLS_DIR

    bun = TOOLS_DIR / "bin" / "bun"
    if not (bun.exists() and os.access(bun, os.X_OK)):
        return Check("bun", Status.FAIL, f"bun is missing from {bun.parent}; the web frontend cannot be built.",
                     "Run `make setup` (it installs bun from the npm registry into .tools/).")
    version = _run([str(bun), "--version"])
    return Check("bun", Status.OK, f"bun {version or '(unknown version)'} at {bun}.")


def check_node() -> Check:
    from kbportal.runtime import reflex_env

    fix = f"Install Node.js {MIN_NODE_MAJOR} or newer and put `node` on PATH (e.g. `apt-get install nodejs`)."
    node = shutil.which("node", path=reflex_env()["PATH"])
    if node is None:
        return Check("node", Status.FAIL, "node is not on PATH; the web frontend cannot be built.", fix)
    version = _run([node, "--version"])
    match = re.match(r"v?(\d+)", version)
    if match is None:
        return Check("node", Status.FAIL, f"Cannot tell the version of {node} (got {version!r}).", fix)
    if int(match.group(1)) < MIN_NODE_MAJOR:
        return Check("node", Status.FAIL, f"node {version} at {node} is too old; {MIN_NODE_MAJOR}+ is needed.", fix)
    return Check("node", Status.OK, f"node {version} at {node}.")


def check_chromium() -> Check:
    if CHROMIUM.exists():
        return Check("chromium", Status.OK, f"{CHROMIUM} is present for the browser tests.")
    return Check("chromium", Status.WARN, f"{CHROMIUM} is missing; only the browser tests need it.",
                 "Install it with `apt-get install chromium` to run the browser tests.")


def check_storage() -> Check:
    """The blob store answers (starting the embedded S3 server when that is the setup)."""
    from kbportal.storage import StorageError, get_blob_store

    try:
        store = get_blob_store()
        store.check()
    except StorageError as exc:
        return Check("storage", Status.FAIL, exc.message("en"),
                     "Check the KBPORTAL_STORAGE / KBPORTAL_S3_* settings, or run `make setup` for the embedded "
                     "server.")
    return Check("storage", Status.OK, f"{store!r} answers.")


def check_search_index() -> Check:
    """The search index opens and reads, and the indexer keeps up with the outbox.

    Opened read-only here: unlike the app, the doctor never creates a missing index.
    """
    from kbportal import db
    from kbportal.services import indexing, system_status
    from kbportal.services.search import IndexMissing, SearchIndex, SearchIndexError

    fix = "Run `kbportal reindex` to rebuild it from the database (search keeps answering meanwhile)."
    path = indexing.index_path()
    try:
        index = SearchIndex.open(path)
        try:
            index.check()
        finally:
            index.close()
    except IndexMissing:
        return Check("search index", Status.WARN, f"There is no search index at {path}; search finds nothing.", fix)
    except SearchIndexError as exc:
        return Check("search index", Status.WARN, f"The search index at {path} is damaged ({exc}).", fix)
    if check_database().status != Status.OK:
        return Check("search index", Status.WARN, f"The search index at {path} reads fine; whether the indexer "
                     "keeps up is unknown while the database is not ready.", "Fix the database first.")
    with db.session_scope() as session:
        status = indexing.status(session)
    health = system_status.index_health(status)
    entries = f"{status.stats.doc_count} entr{'y' if status.stats.doc_count == 1 else 'ies'}"
    if health == system_status.IndexHealth.FAILING:
        return Check("search index", Status.WARN, f"The indexer's last run failed: {status.last_error}",
                     "Read the worker's log for the cause; " + fix[0].lower() + fix[1:])
    if health == system_status.IndexHealth.LAGGING:
        minutes = max(1, round(status.lag_seconds / 60))
        return Check("search index", Status.WARN,
                     f"{status.pending} change(s) wait for the indexer, the oldest for {minutes} min; search "
                     "shows older content meanwhile.",
                     "Make sure the worker runs (`kbportal run` starts one, or `kbportal worker`).")
    return Check("search index", Status.OK, f"{path}: {entries}, {status.pending} change(s) pending.")


def check_pdftoppm() -> Check:
    if shutil.which("pdftoppm"):
        return Check("pdftoppm", Status.OK, "pdftoppm is present for PDF thumbnails.")
    return Check("pdftoppm", Status.WARN, "pdftoppm is missing: PDFs get no preview thumbnail.",
                 "Install it with `apt-get install poppler-utils` (make test does).")


def check_locales() -> Check:
    """Every UI language has a catalogue with exactly the English keys.

    A gap is a warning: the UI falls back to English for missing strings.
    """
    from kbportal.i18n import LANGUAGES, LOCALES_DIR, REFERENCE

    reference_path = LOCALES_DIR / f"{REFERENCE}.json"
    try:
        reference = set(json.loads(reference_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        return Check("locales", Status.FAIL, f"The reference catalogue {reference_path} is unreadable: {exc}.",
                     "Restore locales/en.json from version control.")
    problems: list[str] = []
    broken = False
    for lang in LANGUAGES:
        if lang == REFERENCE:
            continue
        path = LOCALES_DIR / f"{lang}.json"
        if not path.exists():
            problems.append(f"{lang}.json is missing")
            continue
        try:
            keys = set(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            problems.append(f"{lang}.json is not valid JSON ({exc})")
            broken = True
            continue
        missing, extra = reference - keys, keys - reference
        if missing:
            problems.append(f"{lang}.json lacks {len(missing)} key(s), e.g. {sorted(missing)[0]}")
        if extra:
            problems.append(f"{lang}.json has {len(extra)} unknown key(s), e.g. {sorted(extra)[0]}")
    if problems:
        return Check("locales", Status.FAIL if broken else Status.WARN, "; ".join(problems) + ".",
                     "Complete locales/<lang>.json with every key of locales/en.json (`pytest tests` lists them).")
    return Check("locales", Status.OK, f"{len(LANGUAGES)} catalogues with all {len(reference)} keys.")


def all_checks() -> list[Callable[[], Check]]:
    """The checks in the order they are reported (cheap and fundamental first)."""
    packages = [lambda m=module: check_package(m) for module in REQUIRED_PACKAGES]
    return [check_python, *packages, check_settings, check_data_dir, check_database,
            check_storage, check_search_index, check_bun, check_node, check_chromium, check_pdftoppm, check_locales]


def _name_of(check: Callable[[], Check]) -> str:
    return getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")


def run_checks() -> list[Check]:
    results: list[Check] = []
    for check in all_checks():
        try:
            results.append(check())
        except ValidationError:  # settings invalid: the settings check says why
            results.append(Check(_name_of(check), Status.FAIL, "Cannot check while the settings are invalid.",
                                 "Fix the settings first (see the settings check)."))
        except Exception as exc:  # a crashing check is itself a finding
            results.append(Check(_name_of(check), Status.FAIL, f"The check crashed: {exc!r}.",
                                 "Report this with the output of `kbportal doctor`."))
    return results


def healthy(checks: list[Check]) -> bool:
    return all(c.ok for c in checks)
