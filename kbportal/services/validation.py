"""Small input cleaners shared by the services: strip control characters, bound lengths."""

from __future__ import annotations

import unicodedata

from kbportal.services.errors import ValidationFailed


def clean_text(value: str | None, field: str, *, min_len: int = 0, max_len: int = 200) -> str:
    """Trim, drop control characters, enforce length; raises ValidationFailed."""
    text = "".join(ch for ch in (value or "") if unicodedata.category(ch)[0] != "C" or ch == " ").strip()
    text = " ".join(text.split())
    if len(text) < min_len:
        raise ValidationFailed("validation.required" if min_len <= 1 else "validation.too_short", field=field, min=min_len)
    if len(text) > max_len:
        raise ValidationFailed("validation.too_long", field=field, max=max_len)
    return text


def clean_date(value: str | None, field: str):
    """A form's YYYY-MM-DD text as a date (None when empty)."""
    from datetime import date

    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("document.bad_date", field=field) from None
