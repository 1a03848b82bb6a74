"""Logging in, sessions, the account lock, and how accounts end sessions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from kbportal import config
from kbportal import db as kbdb
from kbportal.models import AuditEvent, LoginSession, Role, User
from kbportal.services import access, auth, orgs, users
from kbportal.services.audit import Actor
from kbportal.services.errors import AuthFailed, ValidationFailed
from factories import PASSWORD, Template, build_template, SYSTEM, SYSTEM_ACTOR, make_org, make_user

EMAIL = "pat@partner.example"
WRONG = "not the password at all"
IP = "203.0.113.9"


class Clock:
    """The auth service's clock, moved by the test (time is injected, not waited for)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(auth, "utcnow", fake)
    return fake


def _build(session) -> int:
    org = make_org(session, "Partner Co", region="EMEA", tier="silver")
    return make_user(session, EMAIL, Role.PARTNER_USER, org=org).id


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "auth", _build)


@pytest.fixture
def account(template, db_from_template) -> int:
    """A partner user of an active organisation (a fresh copy per test); returns the user id."""
    return db_from_template(template)


def login(email: str = EMAIL, password: str = PASSWORD, ip: str = IP) -> auth.LoginOk:
    return auth.authenticate(email, password, ip=ip, user_agent="pytest")


def login_error(email: str = EMAIL, password: str = WRONG) -> AuthFailed:
    with pytest.raises(AuthFailed) as info:
        login(email, password)
    return info.value


def resolve(token: str | None) -> User | None:
    """The user behind ``token``, asked of both resolvers; they must agree."""
    with kbdb.session_scope() as s:
        who = auth.resolve_principal(s, token)
    with kbdb.session_scope() as s:
        user = auth.resolve_session(s, token)
        assert (who.user_id if who else None) == (user.id if user else None)
        if user is not None:
            assert who.principal == access.principal_for(s, user)
        return user


def fail_times(n: int, email: str = EMAIL) -> list[str]:
    return [login_error(email).code for _ in range(n)]


# --------------------------------------------------------------------------- logging in


def test_login_returns_a_token_that_resolves_to_the_user(account):
    token = login().token
    assert resolve(token).id == account


def test_login_ignores_case_and_spaces_around_the_email(account):
    assert login("  PAT@Partner.Example ").user.id == account


def test_only_a_hash_of_the_session_token_is_stored(account):
    token = login().token
    with kbdb.session_scope() as s:
        stored = [row.token_hash for row in s.exec(select(LoginSession))]
    assert stored and token not in stored


def test_wrong_password_fails_with_invalid_credentials(account):
    assert login_error(password=WRONG).code == "auth.invalid_credentials"


def test_unknown_email_fails_exactly_like_a_wrong_password(account):
    unknown = login_error("nobody@partner.example", PASSWORD)
    wrong = login_error(EMAIL, WRONG)
    assert (unknown.code, unknown.message("en")) == (wrong.code, wrong.message("en"))


def test_unknown_or_missing_token_resolves_to_nobody(account):
    assert resolve("made-up-token") is None
    assert resolve(None) is None


# --------------------------------------------------------------------------- the lock


def test_five_failures_lock_the_account_even_for_the_right_password(account, clock):
    assert fail_times(4) == ["auth.invalid_credentials"] * 4
    fail_times(1)
    clock.advance(seconds=30)
    assert login_error(password=PASSWORD).code == "auth.locked"


def test_the_lock_message_says_how_long_to_wait(account, clock):
    fail_times(5)
    clock.advance(minutes=3)
    error = login_error(password=PASSWORD)
    minutes = config.get_settings().login_lock_minutes - 3
    assert error.params == {"minutes": minutes}
    assert f"{minutes} minutes" in error.message("en")


def test_the_lock_lifts_after_the_lock_time(account, clock):
    fail_times(5)
    clock.advance(minutes=config.get_settings().login_lock_minutes, seconds=1)
    assert login().user.id == account


def test_failures_before_a_lifted_lock_do_not_count_again(account, clock):
    fail_times(5)
    clock.advance(minutes=config.get_settings().login_lock_minutes, seconds=1)
    assert login_error().code == "auth.invalid_credentials"
    assert login().user.id == account


def test_failures_older_than_the_window_do_not_count(account, clock):
    fail_times(4)
    clock.advance(minutes=config.get_settings().login_window_minutes, seconds=1)
    assert fail_times(4) == ["auth.invalid_credentials"] * 4
    assert login().user.id == account


def test_a_successful_login_resets_the_failure_count(account, clock):
    fail_times(4)
    clock.advance(seconds=10)
    login()
    clock.advance(seconds=10)
    assert fail_times(4) == ["auth.invalid_credentials"] * 4
    clock.advance(seconds=10)
    assert login().user.id == account


def test_unknown_emails_are_locked_too_so_the_lock_reveals_nothing(account, clock):
    fail_times(5, email="ghost@partner.example")
    assert login_error("ghost@partner.example", PASSWORD).code == "auth.locked"


def test_the_lock_of_one_account_does_not_affect_another(account, clock):
    with kbdb.session_scope() as s:
        make_user(s, "other@partner.example", Role.PARTNER_USER, org=s.get(User, account).org_id)
    fail_times(5)
    assert login("other@partner.example").user.email == "other@partner.example"


def test_the_account_lock_threshold_follows_the_setting(account, clock, monkeypatch):
    monkeypatch.setenv("KBPORTAL_LOGIN_MAX_FAILURES", "2")
    config.reset_settings()
    fail_times(2)
    assert login_error(password=PASSWORD).code == "auth.locked"


# --------------------------------------------------------------------------- disabled accounts


def test_disabled_user_cannot_log_in(account):
    with kbdb.session_scope() as s:
        users.set_active(s, SYSTEM, SYSTEM_ACTOR, account, False)
    assert login_error(password=PASSWORD).code == "auth.disabled"


def test_disabling_a_user_ends_their_sessions(account):
    token = login().token
    with kbdb.session_scope() as s:
        users.set_active(s, SYSTEM, SYSTEM_ACTOR, account, False)
    assert resolve(token) is None


def test_a_reenabled_user_does_not_get_old_sessions_back(account):
    token = login().token
    with kbdb.session_scope() as s:
        users.set_active(s, SYSTEM, SYSTEM_ACTOR, account, False)
    with kbdb.session_scope() as s:
        users.set_active(s, SYSTEM, SYSTEM_ACTOR, account, True)
    assert resolve(token) is None
    assert login().user.id == account


def _deactivate_org_of(user_id: int) -> None:
    with kbdb.session_scope() as s:
        orgs.update_org(s, SYSTEM, SYSTEM_ACTOR, s.get(User, user_id).org_id, active=False)


def test_user_of_a_deactivated_org_cannot_log_in(account):
    _deactivate_org_of(account)
    assert login_error(password=PASSWORD).code == "auth.org_disabled"


def test_deactivating_an_org_ends_the_sessions_of_its_users(account):
    token = login().token
    _deactivate_org_of(account)
    assert resolve(token) is None


def test_reactivating_an_org_does_not_bring_old_sessions_back(account):
    token = login().token
    _deactivate_org_of(account)
    with kbdb.session_scope() as s:
        orgs.update_org(s, SYSTEM, SYSTEM_ACTOR, s.get(User, account).org_id, active=True)
    assert resolve(token) is None
    assert login().user.id == account


# --------------------------------------------------------------------------- session lifetime


def test_idle_session_expires_after_the_idle_setting(account, clock, monkeypatch):
    monkeypatch.setenv("KBPORTAL_SESSION_IDLE_HOURS", "2")
    config.reset_settings()
    token = login().token
    clock.advance(hours=2, seconds=1)
    assert resolve(token) is None


def test_an_expired_session_stays_ended_when_time_is_rewound(account, clock):
    token = login().token
    clock.advance(hours=config.get_settings().session_idle_hours, seconds=1)
    assert resolve(token) is None
    clock.now -= timedelta(hours=1)
    assert resolve(token) is None


def test_activity_keeps_a_session_alive(account, clock, monkeypatch):
    monkeypatch.setenv("KBPORTAL_SESSION_IDLE_HOURS", "1")
    config.reset_settings()
    token = login().token
    clock.advance(minutes=50)
    assert resolve(token) is not None
    clock.advance(minutes=50)  # 100 minutes after login, 50 after the last activity
    assert resolve(token) is not None


def test_logout_ends_the_session(account):
    token = login().token
    with kbdb.session_scope() as s:
        auth.logout(s, token, ip=IP)
    assert resolve(token) is None


def test_logout_ends_only_that_session(account):
    laptop, phone = login().token, login().token
    with kbdb.session_scope() as s:
        auth.logout(s, laptop)
    assert resolve(phone).id == account


# --------------------------------------------------------------------------- passwords


def test_password_change_ends_existing_sessions(account):
    token = login().token
    with kbdb.session_scope() as s:
        users.set_password(s, SYSTEM, SYSTEM_ACTOR, account, "another long passphrase")
    assert resolve(token) is None


def test_changing_your_own_password_ends_your_other_sessions_but_not_this_one(account):
    this_browser, other_browser = login().token, login().token
    with kbdb.session_scope() as s:
        me = s.get(User, account)
        users.change_own_password(s, me, Actor.of(me, IP), PASSWORD, "another long passphrase",
                                  keep_token=this_browser)
    assert resolve(other_browser) is None
    assert resolve(this_browser).id == account


def test_changing_your_own_password_needs_the_current_one(account):
    token = login().token
    with kbdb.session_scope() as s, pytest.raises(ValidationFailed) as info:
        me = s.get(User, account)
        users.change_own_password(s, me, Actor.of(me, IP), WRONG, "another long passphrase", keep_token=token)
    assert (info.value.code, info.value.field) == ("profile.wrong_current_password", "current_password")
    assert login().user.id == account


def test_after_a_password_change_only_the_new_password_works(account):
    with kbdb.session_scope() as s:
        users.set_password(s, SYSTEM, SYSTEM_ACTOR, account, "another long passphrase")
    assert login_error(password=PASSWORD).code == "auth.invalid_credentials"
    assert login(password="another long passphrase").user.id == account


def test_passwords_are_stored_as_argon2id_hashes_never_in_plain_text(account):
    with kbdb.session_scope() as s:
        stored = s.get(User, account).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


# --------------------------------------------------------------------------- audit


def _login_events() -> list[AuditEvent]:
    with kbdb.session_scope() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action.startswith("login")).order_by(AuditEvent.id)))


def test_successful_login_is_audited_with_the_ip(account):
    login(ip="192.0.2.10")
    [event] = _login_events()
    assert (event.action, event.actor_id, event.actor_email, event.ip) == ("login.ok", account, EMAIL, "192.0.2.10")


def test_failed_login_is_audited_with_the_ip_and_reason(account):
    with pytest.raises(AuthFailed):
        login(password=WRONG, ip="192.0.2.11")
    [event] = _login_events()
    assert (event.action, event.actor_email, event.ip) == ("login.failed", EMAIL, "192.0.2.11")
    assert json.loads(event.detail) == {"reason": "bad_password"}


def test_failed_login_for_an_unknown_email_is_audited_too(account):
    with pytest.raises(AuthFailed):
        login("who@partner.example", PASSWORD, ip="192.0.2.12")
    [event] = _login_events()
    assert (event.action, event.actor_id, event.ip) == ("login.failed", None, "192.0.2.12")
    assert json.loads(event.detail) == {"reason": "unknown"}


# --------------------------------------------------------------------------- the download route's resolver


def test_the_one_query_resolver_gives_the_principal_the_policy_would(account):
    token = login().token
    with kbdb.session_scope() as s:
        who = auth.resolve_principal(s, token)
        assert (who.user_id, who.email) == (account, EMAIL)
        assert who.principal == access.principal_for(s, s.get(User, account))
    assert who.principal.region == "EMEA" and who.principal.eligible_tiers == {"silver", "registered"}


def test_the_one_query_resolver_ends_an_idle_session_for_good(account, clock):
    token = login().token
    clock.advance(hours=config.get_settings().session_idle_hours, seconds=1)
    with kbdb.session_scope() as s:
        assert auth.resolve_principal(s, token) is None
    clock.now -= timedelta(hours=1)
    with kbdb.session_scope() as s:
        assert auth.resolve_principal(s, token) is None
        assert s.exec(select(LoginSession)).one().revoked


def test_the_one_query_resolver_keeps_an_active_session_alive(account, clock, monkeypatch):
    monkeypatch.setenv("KBPORTAL_SESSION_IDLE_HOURS", "1")
    config.reset_settings()
    token = login().token
    for _ in range(2):
        clock.advance(minutes=50)
        with kbdb.session_scope() as s:
            assert auth.resolve_principal(s, token) is not None
