"""UI catalogues (``locales/<lang>.json``) and locale-aware formatting.

English is the reference: every language has exactly its keys and the same
placeholders, and every key the code uses exists.
"""

from __future__ import annotations

import ast
import json
import re
import string
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kbportal import i18n
from kbportal.models import Role
from kbportal.services.errors import ValidationFailed
from factories import TIERS

PACKAGE_DIR = Path(i18n.__file__).resolve().parent
KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
OTHER_LANGUAGES = [lang for lang in i18n.LANGUAGES if lang != i18n.REFERENCE]

# Callables whose string arguments are catalogue keys: error classes (the code),
# translators, and the UI helpers that take a key for a label, title or hint.
KEY_FUNCTIONS = {
    "KbError", "NotFound", "ValidationFailed", "AuthFailed",
    "translate", "tr", "t", "fail",
    "field", "sort_header", "page_header", "empty_state", "_nav_item",
}

# Keyword arguments ending in "_key" that name something else than a catalogue key.
NOT_CATALOGUE_KWARGS = {"foreign_key", "primary_key", "data_key", "sort_key"}


def read_catalogue(lang: str) -> dict[str, str]:
    """The file itself: i18n.catalogue() falls back to English and would hide a missing file."""
    path = i18n.LOCALES_DIR / f"{lang}.json"
    assert path.exists(), f"locales/{lang}.json is missing"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values()), f"{lang}.json: not a flat object"
    return data


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


REFERENCE = read_catalogue(i18n.REFERENCE)


# --------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_catalogue_has_every_english_key(lang):
    missing = sorted(REFERENCE.keys() - read_catalogue(lang).keys())
    assert not missing, f"locales/{lang}.json misses {len(missing)} key(s): {missing}"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_catalogue_has_no_keys_english_does_not_have(lang):
    unknown = sorted(read_catalogue(lang).keys() - REFERENCE.keys())
    assert not unknown, f"locales/{lang}.json has {len(unknown)} unknown key(s): {unknown}"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_translations_keep_the_placeholders_of_the_english_string(lang):
    catalogue = read_catalogue(lang)
    wrong = {key: {"en": sorted(placeholders(REFERENCE[key])), lang: sorted(placeholders(text))}
             for key, text in catalogue.items()
             if key in REFERENCE and placeholders(text) != placeholders(REFERENCE[key])}
    assert not wrong, f"locales/{lang}.json: placeholders differ from English: {wrong}"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_no_translation_is_blank_where_english_has_text(lang):
    blank = sorted(key for key, text in read_catalogue(lang).items()
                   if not text.strip() and REFERENCE.get(key, "").strip())
    assert not blank, f"locales/{lang}.json: blank entries {blank}"


def test_every_language_has_a_babel_locale_for_dates():
    assert set(i18n._BABEL_LOCALE) == set(i18n.LANGUAGES)


# --------------------------------------------------------------------------- keys used by the code


def keys_used_in_code() -> dict[str, list[str]]:
    """Catalogue keys the package's source passes to KEY_FUNCTIONS, ``*_key=`` or ``.t[...]``."""
    used: dict[str, list[str]] = {}

    def note(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value):
            used.setdefault(node.value, []).append(where)

    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE_DIR.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in KEY_FUNCTIONS:
                    for arg in node.args:
                        note(arg, where)
                for kw in node.keywords:
                    if kw.arg == "code" and name in KEY_FUNCTIONS or (
                            (kw.arg or "").endswith("_key") and kw.arg not in NOT_CATALOGUE_KWARGS):
                        note(kw.value, where)
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "t":
                note(node.slice, where)
            elif isinstance(node, ast.ClassDef):  # KbError subclasses: code = "error.x"
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "code" for t in stmt.targets):
                        note(stmt.value, where)
    return used


def test_every_catalogue_key_used_in_the_code_exists_in_english():
    used = keys_used_in_code()
    # The scan must see the keys we know are used, or it proves nothing.
    assert {"auth.locked", "user.partner_needs_org", "org.unknown_region", "error.not_found"} <= used.keys()
    missing = {key: places for key, places in sorted(used.items()) if key not in REFERENCE}
    assert not missing, f"keys used in the code but missing from locales/en.json: {missing}"


def test_every_role_and_seeded_tier_has_a_label():
    expected = {f"role.{role.value}" for role in Role} | {f"tier.{code}" for code in TIERS}
    assert sorted(expected - REFERENCE.keys()) == []


# --------------------------------------------------------------------------- translate


def test_translate_fills_placeholders():
    assert i18n.translate("en", "auth.locked", minutes=7) == REFERENCE["auth.locked"].format(minutes=7)


def test_translate_accepts_a_placeholder_called_lang():
    error = ValidationFailed("user.unknown_language", field="ui_language", lang="tlh", known="en, de")
    assert "tlh" in error.message("de") and "tlh" in error.message("en")


def test_translate_falls_back_to_english_for_an_unsupported_language():
    assert i18n.translate("tlh", "app.name") == REFERENCE["app.name"]


def test_translate_returns_an_unknown_key_unchanged():
    assert i18n.translate("en", "no.such_key") == "no.such_key"


@pytest.mark.parametrize("header, expected", [("de-DE,de;q=0.9,en;q=0.8", "de"), ("pt-BR", "pt"),
                                              ("tlh, xx;q=0.5", "en"), (None, "en")])
def test_best_language_picks_the_first_supported_language(header, expected):
    assert i18n.best_language(header) == expected


# --------------------------------------------------------------------------- dates

NOON_UTC = datetime(2026, 3, 5, 12, 0, tzinfo=timezone.utc)


def test_datetimes_are_shown_in_the_users_time_zone():
    assert "19:00" in i18n.format_datetime(NOON_UTC, "en", "Asia/Jakarta")


def test_german_dates_are_written_day_dot_month_dot_year():
    assert "05.03.2026" in i18n.format_datetime(NOON_UTC, "de", "Europe/Berlin")


def test_summer_time_is_applied():
    assert "14:00" in i18n.format_datetime(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc), "de", "Europe/Berlin")


def test_naive_datetimes_are_taken_as_utc():
    assert i18n.format_datetime(NOON_UTC.replace(tzinfo=None), "en", "Asia/Jakarta") == \
        i18n.format_datetime(NOON_UTC, "en", "Asia/Jakarta")


def test_unknown_time_zone_shows_utc_instead_of_failing():
    assert "12:00" in i18n.format_datetime(NOON_UTC, "en", "Nowhere/Land")


def test_no_datetime_is_shown_as_nothing():
    assert i18n.format_datetime(None, "en", "UTC") == ""


def test_sizes_use_the_same_megabyte_as_the_upload_limit():
    from kbportal.i18n import format_size

    assert format_size(200 * 1024 * 1024, "en") == "200 MB"
    assert format_size(1536, "en") == "1.5 KB"
    assert format_size(1536 * 1024, "de") == "1,5 MB"
    assert format_size(512, "en") == "512 B"
    assert format_size(0, "en") == "0 B"
