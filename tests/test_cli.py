"""The `kbportal` command line, as an operator uses it.

Most tests call the Typer app in-process (CliRunner) for speed; a few run the real
command as a subprocess to prove the entry point end to end. Every test gets its
own data dir (so its own SQLite database) and a working directory without a .env.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from sqlmodel import func, select
from typer.testing import CliRunner, Result

from kbportal import db
from kbportal.cli import app
from kbportal.config import reset_settings
from kbportal.models import Organisation, Role, User
from kbportal.services import auth
from kbportal.services.demo import DEMO_PASSWORD
from kbportal.services.errors import AuthFailed

ADMIN_EMAIL = "ops@vendor.example.com"
ADMIN_PASSWORD = "admin-password-1"
REGIONS = {"APAC", "EMEA", "NA", "LATAM"}
TIERS = {"registered", "silver", "gold", "platinum"}


def _reset() -> None:
    """Close the current database's files and forget cached settings and engines."""
    db.get_engine().dispose()
    reset_settings()
    db.reset_engines()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir per test; no KBPORTAL_* leaks in from the caller or a .env."""
    for name in list(os.environ):
        if name.startswith("KBPORTAL_"):
            monkeypatch.delenv(name)
    path = tmp_path / "data"
    monkeypatch.setenv("KBPORTAL_DATA_DIR", str(path))
    monkeypatch.chdir(tmp_path)
    _reset()
    yield path
    _reset()


@pytest.fixture(scope="module")
def demo_seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """One real `seed --demo` per module (argon2 makes seeding take seconds): its database and JSON output."""
    path = tmp_path_factory.mktemp("demo") / "data"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("KBPORTAL_"):
                mp.delenv(name)
        mp.setenv("KBPORTAL_DATA_DIR", str(path))
        output = kb_json("seed", "--demo")
    yield path / "kbportal.db", output


@pytest.fixture
def seeded(demo_seed: tuple[Path, dict], data_dir: Path) -> dict:
    """This test's database starts as a copy of the seeded one; returns the seed's JSON output."""
    source, output = demo_seed
    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(data_dir / "kbportal.db") as dst:
        src.backup(dst)
    return output


def kb(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `kbportal ARGS` in-process; settings are re-read so ``env`` applies."""
    _reset()
    result = CliRunner().invoke(app, list(args), env=env)
    _reset()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def kb_json(*args: str) -> object:
    result = kb(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def kb_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process (the `kbportal` console script's code path)."""
    return subprocess.run([sys.executable, "-m", "kbportal.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60, check=False)


def count(model) -> int:
    with db.session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def add_org(name: str = "Nusantara Digital", region: str = "APAC", tier: str = "gold") -> None:
    assert kb("org", "add", name, "--region", region, "--tier", tier).exit_code == 0


def add_partner(email: str = "budi@nusantara.example.com", password: str = "first-password-1") -> None:
    add_org()
    result = kb("user", "add", email, "--name", "Budi", "--role", "partner_user", "--org", "Nusantara Digital",
                "--password", password)
    assert result.exit_code == 0, result.stderr


# --------------------------------------------------------------------------- init


def test_init_creates_the_admin_from_the_environment():
    result = kb_process("init", env={"KBPORTAL_ADMIN_EMAIL": ADMIN_EMAIL, "KBPORTAL_ADMIN_PASSWORD": ADMIN_PASSWORD})

    assert result.returncode == 0, result.stderr
    assert f"Created admin {ADMIN_EMAIL}" in result.stdout
    assert auth.authenticate(ADMIN_EMAIL, ADMIN_PASSWORD).user.role == Role.ADMIN


def test_init_is_idempotent_and_says_the_admin_exists():
    env = {"KBPORTAL_ADMIN_EMAIL": ADMIN_EMAIL, "KBPORTAL_ADMIN_PASSWORD": ADMIN_PASSWORD}
    assert kb("init", env=env).exit_code == 0

    again = kb("init", env=env)

    assert again.exit_code == 0
    assert "already exists" in again.stdout
    assert count(User) == 1


def test_init_without_admin_settings_migrates_and_says_what_to_set():
    result = kb("init")

    assert result.exit_code == 0
    assert "KBPORTAL_ADMIN_EMAIL" in result.stderr and "KBPORTAL_ADMIN_PASSWORD" in result.stderr
    assert db.current_revision() == db.head_revision()
    assert count(User) == 0


# --------------------------------------------------------------------------- seed


def test_seed_demo_covers_every_region_tier_and_role(seeded: dict):
    with db.session_scope() as session:
        orgs = session.exec(select(Organisation)).all()
        roles = set(session.exec(select(User.role)).all())
    assert len(orgs) >= 6
    assert {o.region_code for o in orgs} == REGIONS
    assert {o.tier_code for o in orgs} == TIERS
    assert roles == {r.value for r in Role}
    assert {c["role"] for c in seeded["credentials"]} == {r.value for r in Role}
    assert (seeded["orgs_created"], seeded["users_created"]) == (len(orgs), len(seeded["credentials"]))


def test_seed_demo_twice_changes_nothing_and_still_prints_the_credentials(seeded: dict):
    before = (count(Organisation), count(User))

    again = kb("seed", "--demo")

    assert again.exit_code == 0
    assert (count(Organisation), count(User)) == before
    assert "admin@example.com" in again.stdout and DEMO_PASSWORD in again.stdout


def test_demo_partner_logs_in_with_the_demo_password_in_their_language(seeded: dict):
    user = auth.authenticate("budi@nusantara.example.com", DEMO_PASSWORD).user

    assert (user.role, user.ui_language, user.time_zone) == ("partner_admin", "id", "Asia/Jakarta")


def test_seed_without_demo_is_a_usage_error():
    result = kb("seed")

    assert result.exit_code == 2
    assert "--demo" in result.stderr


# --------------------------------------------------------------------------- organisations


def test_org_add_and_list_round_trip_as_json():
    created = kb_json("org", "add", "Rheinland Distribution GmbH", "--region", "emea", "--tier", "Platinum")

    listed = kb_json("org", "list")

    assert created == {"id": created["id"], "name": "Rheinland Distribution GmbH", "region": "EMEA",
                       "tier": "platinum", "active": True, "users": 0}
    assert listed == [created]


def test_org_add_with_unknown_region_exits_1_with_the_known_regions():
    result = kb("org", "add", "Acme", "--region", "MARS", "--tier", "gold")

    assert result.exit_code == 1
    assert result.stderr.strip() == 'Unknown region "MARS". Choose one of: APAC, EMEA, LATAM, NA.'


def test_org_update_moves_tier_and_deactivates():
    add_org()

    updated = kb_json("org", "update", "nusantara digital", "--tier", "platinum", "--inactive")

    assert (updated["name"], updated["tier"], updated["active"]) == ("Nusantara Digital", "platinum", False)


def test_org_update_of_unknown_org_names_it():
    result = kb("org", "update", "Nobody Ltd", "--tier", "gold")

    assert result.exit_code == 1
    assert 'No organisation called "Nobody Ltd"' in result.stderr


# --------------------------------------------------------------------------- users


def test_user_add_partner_without_org_fails_clearly():
    result = kb("user", "add", "x@partner.example.com", "--name", "X", "--role", "partner_user",
                "--password", "long-enough-1")

    assert result.exit_code == 1
    assert "must belong to an organisation" in result.stderr and "--org" in result.stderr
    assert count(User) == 0


def test_user_add_then_list_as_json_shows_it():
    add_org()
    created = kb_json("user", "add", "siti@nusantara.example.com", "--name", "Siti Rahayu", "--role",
                      "partner_admin", "--org", "Nusantara Digital", "--password", "long-enough-1",
                      "--language", "id", "--timezone", "Asia/Jakarta")

    listed = kb_json("user", "list", "--org", "Nusantara Digital")

    assert listed == [created]
    assert (created["email"], created["role"], created["org_name"], created["ui_language"],
            created["time_zone"]) == ("siti@nusantara.example.com", "partner_admin", "Nusantara Digital", "id",
                                      "Asia/Jakarta")


def test_user_add_with_unknown_role_is_a_usage_error():
    result = kb("user", "add", "x@example.com", "--name", "X", "--role", "boss", "--password", "long-enough-1")

    assert result.exit_code == 2


def test_user_add_without_password_and_without_terminal_is_a_usage_error():
    result = kb("user", "add", "x@example.com", "--name", "X", "--role", "marketing")

    assert result.exit_code == 2
    assert "--password" in result.stderr


def test_disabled_user_cannot_log_in():
    add_partner()

    result = kb("user", "disable", "budi@nusantara.example.com")

    assert result.exit_code == 0
    with pytest.raises(AuthFailed) as failed:
        auth.authenticate("budi@nusantara.example.com", "first-password-1")
    assert failed.value.code == "auth.disabled"


def test_enabled_user_can_log_in_again():
    add_partner()
    kb("user", "disable", "budi@nusantara.example.com")

    assert kb("user", "enable", "budi@nusantara.example.com").exit_code == 0
    assert auth.authenticate("budi@nusantara.example.com", "first-password-1").user.active


def test_disable_of_unknown_email_exits_1():
    result = kb("user", "disable", "nobody@example.com")

    assert result.exit_code == 1
    assert "No user with the email nobody@example.com" in result.stderr


def test_passwd_replaces_the_password():
    add_partner()

    result = kb("user", "passwd", "budi@nusantara.example.com", "--password", "second-password-2")

    assert result.exit_code == 0
    with pytest.raises(AuthFailed):
        auth.authenticate("budi@nusantara.example.com", "first-password-1")
    assert auth.authenticate("budi@nusantara.example.com", "second-password-2")


def test_passwd_rejects_a_short_password_with_the_rule():
    add_partner()

    result = kb("user", "passwd", "budi@nusantara.example.com", "--password", "short")

    assert result.exit_code == 1
    assert "at least 10 characters" in result.stderr


# --------------------------------------------------------------------------- help, errors, doctor


def _command_paths(command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*prefix, name))


def test_every_command_has_help():
    paths = list(_command_paths(typer.main.get_command(app)))
    assert ("user", "passwd") in paths and ("run",) in paths

    for path in paths:
        result = kb(*path, "--help")
        assert result.exit_code == 0, path
        assert "Usage" in result.stdout, path


def test_a_user_mistake_prints_one_line_and_no_traceback():
    result = kb_process("org", "add", "Acme", "--region", "MARS", "--tier", "gold")

    assert result.returncode == 1
    assert result.stderr.strip().startswith('Unknown region "MARS"')
    assert "Traceback" not in result.stderr


def test_doctor_reports_the_database_ok_after_init():
    kb("init")

    report = json.loads(kb_process("doctor", "--json").stdout)

    database = next(c for c in report["checks"] if c["name"] == "database")
    assert database["status"] == "ok", database


def test_doctor_fails_before_init_and_says_how_to_fix():
    result = kb("doctor", "--json")

    report = json.loads(result.stdout)
    database = next(c for c in report["checks"] if c["name"] == "database")
    assert result.exit_code == 1 and report["ok"] is False
    assert database["status"] == "fail" and "kbportal init" in database["fix"]
    assert all({"name", "status", "detail", "fix"} <= set(c) for c in report["checks"])
