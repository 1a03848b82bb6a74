"""UI strings from ``locales/<lang>.json`` and locale-aware date formatting.

English (``en.json``) is the reference catalogue; every other catalogue must have
exactly its keys (a test enforces it). Placeholders use ``{name}`` syntax.
Content (documents, articles, posts) is translated by the MT pipeline, not here.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as _babel_format_datetime

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

# Code -> name of the language in itself (what the language switcher shows).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "id": "Bahasa Indonesia",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt": "Português",
    "ja": "日本語",
    "zh": "中文",
}
REFERENCE = "en"
# Babel locale per UI language (formatting of dates and numbers).
_BABEL_LOCALE = {"en": "en_GB", "id": "id_ID", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "pt": "pt_BR",
                 "ja": "ja_JP", "zh": "zh_Hans_CN"}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    path = LOCALES_DIR / f"{lang}.json"
    if lang not in LANGUAGES or not path.exists():
        path = LOCALES_DIR / f"{REFERENCE}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def catalogues() -> dict[str, dict[str, str]]:
    """Every catalogue, keys completed from English so a UI lookup never fails."""
    reference = catalogue(REFERENCE)
    return {lang: {**reference, **catalogue(lang)} for lang in LANGUAGES}


def translate(lang: str, key: str, /, **params: object) -> str:
    text = catalogue(lang).get(key) or catalogue(REFERENCE).get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def best_language(accept_language: str | None, default: str = REFERENCE) -> str:
    """Pick a supported language from an HTTP Accept-Language header."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return default


def format_datetime(value: datetime | None, lang: str, time_zone: str, fmt: str = "medium") -> str:
    """A UTC datetime in the user's time zone and locale format ("" for None)."""
    if value is None:
        return ""
    try:
        tz = ZoneInfo(time_zone or "UTC")
    except Exception:  # unknown zone: show UTC rather than fail
        tz = ZoneInfo("UTC")
    if value.tzinfo is None:
        from datetime import timezone

        value = value.replace(tzinfo=timezone.utc)
    return _babel_format_datetime(value, format=fmt, tzinfo=tz, locale=_BABEL_LOCALE.get(lang, "en_GB"))


def format_size(size: int | None, lang: str) -> str:
    """A byte count for people, in the user's number format (e.g. "1,2 MB" in German).

    Binary steps (1 MB = 1024 KB), the unit the upload limits use: a file at the 200 MB
    limit shows as "200 MB", not "209.7 MB"."""
    from babel.numbers import format_decimal

    if not size:
        return "0 B"
    units = ["B", "KB", "MB", "GB", "TB"]
    value = float(size)
    unit = 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    pattern = "#,##0" if unit == 0 or value >= 100 else "#,##0.#"
    return f"{format_decimal(value, format=pattern, locale=_BABEL_LOCALE.get(lang, 'en_GB'))} {units[unit]}"


def format_date(value: datetime | None, lang: str, time_zone: str) -> str:
    """A date (no time) in the user's time zone and locale."""
    from babel.dates import format_date as _babel_format_date

    if value is None:
        return ""
    try:
        tz = ZoneInfo(time_zone or "UTC")
    except Exception:
        tz = ZoneInfo("UTC")
    return _babel_format_date(value.astimezone(tz).date(), format="medium", locale=_BABEL_LOCALE.get(lang, "en_GB"))


def format_day(value, lang: str) -> str:
    """A calendar date (no time zone involved) in the user's locale."""
    from babel.dates import format_date as _babel_format_date

    return _babel_format_date(value, format="medium", locale=_BABEL_LOCALE.get(lang, "en_GB")) if value else ""
