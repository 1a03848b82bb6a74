"""The engine's pure helpers: cache keys, value cleaning, titles, text cleaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbportal.services.cobrand import ENGINE_VERSION, cache_key, clean_values, default_title, generate
from kbportal.services.cobrand.sanitize import clean_text
from kbportal.services.errors import ValidationFailed

T = "a" * 64
L = "b" * 64


def test_cache_key_is_stable_and_canonical() -> None:
    key = cache_key(T, {"partner_name": "Acme", "event_date": "May"}, L)
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == cache_key(T.upper(), {"Event_Date": " May ", "{{partner_name}}": "Acme", "partner_phone": ""}, L)


@pytest.mark.parametrize("change", [
    {"template": "c" * 64}, {"logo": None}, {"logo": "d" * 64}, {"values": {"partner_name": "Acme Ltd"}},
    {"extra": {"title": "Other"}},
])
def test_cache_key_changes_with_every_input(change: dict) -> None:
    base = {"template": T, "values": {"partner_name": "Acme"}, "logo": L, "extra": None}
    args = {**base, **change}
    assert cache_key(args["template"], args["values"], args["logo"], args["extra"]) != \
        cache_key(base["template"], base["values"], base["logo"], base["extra"])


def test_engine_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from kbportal.services.cobrand import engine

    before = cache_key(T, {"partner_name": "Acme"}, L)
    monkeypatch.setattr(engine, "ENGINE_VERSION", ENGINE_VERSION + "-next")
    assert engine.cache_key(T, {"partner_name": "Acme"}, L) != before


def test_clean_values() -> None:
    cleaned = clean_values({"Partner_Name": " Acme\x07 Widgets ", "partner_address": "Line 1\r\nLine 2\n",
                            "partner_logo": "ignored", "bad name!": "x", "slogan": "Two\nlines",
                            "partner_footer": "one\nline"})
    assert cleaned == {"partner_name": "Acme Widgets", "partner_address": "Line 1\nLine 2", "slogan": "Two\nlines",
                       "partner_footer": "one line"}


def test_clean_values_too_long() -> None:
    with pytest.raises(ValidationFailed) as err:
        clean_values({"partner_email": "x" * 255})
    assert err.value.code == "cobrand.value_too_long" and err.value.field == "partner_email"
    assert err.value.params == {"name": "partner_email", "max": 254}


def test_clean_text_removes_bidi_overrides_and_controls() -> None:
    assert clean_text("a\u202eb\u2066c\x00d\ufeff") == "abcd"
    assert clean_text("محمد\u200f علي") == "محمد\u200f علي"
    assert clean_text("e\u0301") == "\u00e9"  # NFC


def test_default_title() -> None:
    assert default_title("Price list", "Acme") == "Price list \u2013 Acme"
    assert default_title("", "Acme") == "Acme" and default_title("Price list", " ") == "Price list"


def test_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as err:
        generate(tmp_path / "x", "odt", {}, None, tmp_path / "o.pdf", title="t", author="a")
    assert err.value.code == "cobrand.template_kind"


def test_bad_logo_bytes_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as err:
        generate(tmp_path / "x.pdf", "pdf", {}, b"GIF89a....", tmp_path / "o.pdf", title="t", author="a")
    assert err.value.code == "cobrand.logo_type" and err.value.field == "logo"
