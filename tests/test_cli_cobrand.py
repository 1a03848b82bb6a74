"""`kbportal org brand` and `kbportal cobrand`, as a partner admin and a partner use them.

Users come from a template database built once per module; each test gets its own copy,
data dir and filesystem blob store, with the job queue as in production (the CLI runs
its jobs itself). Commands run in-process (CliRunner), LibreOffice through the test
session's pool; one real child process proves the entry point and its own pool's cleanup.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from cobrand_files import LOGO_RED, PARTNER, colour_box, make_logo, make_pdf_template, make_plain_docx_template, \
    pdf_text, render_page
from cli_runner import data_dir_from, kb, kb_json
from factories import Template, build_template, make_org, make_user
from kbportal import db
from kbportal.i18n import translate
from kbportal.models import GeneratedPdf, Job, Role
from kbportal.services.cobrand import converter as lo

pytest_plugins = ["cobrand_files"]

MARKETING = "mia@vendor.example"
PAULA = "paula@acme.example"  # partner_admin, Acme Widgets (APAC gold)
ANA = "ana@acme.example"  # partner_user, Acme Widgets
EVE = "eve@euro.example"  # partner_user, Euro Silver (EMEA silver)
NOT_FOUND = "Not found. It may have been removed, or you may not have access to it."


def _build(session: Session) -> None:
    acme = make_org(session, "Acme Widgets", "APAC", "gold")
    euro = make_org(session, "Euro Silver", "EMEA", "silver")
    make_user(session, MARKETING, Role.MARKETING)
    make_user(session, PAULA, Role.PARTNER_ADMIN, org=acme)
    make_user(session, ANA, Role.PARTNER_USER, org=acme)
    make_user(session, EVE, Role.PARTNER_USER, org=euro)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "cli-cobrand", _build)


@pytest.fixture(autouse=True)
def data_dir(template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from data_dir_from(template, tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def pool(cobrand_pool, monkeypatch):
    """Conversions in these commands use the test session's LibreOffice pool."""
    monkeypatch.setattr(lo, "_default_pool", cobrand_pool)
    return cobrand_pool


def add_template(path: Path, *audience: str) -> int:
    return kb_json("doc", "add", path, "--title", "Partner brochure", "--type", "template", "--publish",
                   *(audience or ("--regions", "APAC", "--min-tier", "gold")), "--as", MARKETING)["id"]


def docx_template(tmp_path: Path) -> Path:
    return make_plain_docx_template(tmp_path / "brochure.docx", [
        "Welcome, {{partner_name}}!", "Contact {{partner_contact}} at {{partner_email}}, {{partner_phone}}.",
        "Visit {{partner_website}} - event on {{event_date}}", "{{partner_footer}}"], logo=True)


def brand_acme(tmp_path: Path) -> dict:
    logo = tmp_path / "logo.png"
    logo.write_bytes(make_logo())
    return kb_json("org", "brand", "Acme Widgets", "--display-name", PARTNER["partner_name"],
                   "--contact", PARTNER["partner_contact"], "--email", PARTNER["partner_email"],
                   "--phone", PARTNER["partner_phone"], "--website", PARTNER["partner_website"],
                   "--address", r"Hauptstrasse 1\n10115 Berlin", "--color", "#dc141e",
                   "--footer", PARTNER["partner_footer"], "--logo", logo, "--as", PAULA)


def count(model, *where) -> int:
    with Session(db.get_engine()) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def generation_jobs() -> int:
    return count(Job, Job.kind == "cobrand.generate")


# --------------------------------------------------------------------------- org brand


def test_org_brand_sets_the_profile_and_prints_it_as_json(tmp_path):
    shown = brand_acme(tmp_path)

    assert (shown["partner_name"], shown["email"], shown["brand_colour"]) == (
        PARTNER["partner_name"], PARTNER["partner_email"], "#DC141E")
    assert shown["address"] == "Hauptstrasse 1\n10115 Berlin"
    assert shown["has_logo"] and shown["version"] == 1 and shown["can_edit"]


def test_org_brand_without_options_shows_the_profile(tmp_path):
    brand_acme(tmp_path)

    result = kb("org", "brand", "Acme Widgets", "--as", ANA)

    assert result.exit_code == 0, result.stderr
    assert "Showing the branding of 'Acme Widgets' (version 1)." in result.stdout
    assert PARTNER["partner_email"] in result.stdout and "image/png, 300 x 300 px" in result.stdout


def test_org_brand_says_when_nothing_changed(tmp_path):
    brand_acme(tmp_path)

    result = kb("org", "brand", "Acme Widgets", "--email", PARTNER["partner_email"], "--as", PAULA)

    assert result.exit_code == 0 and "Nothing changed in the branding of 'Acme Widgets' (version 1)." in result.stdout


@pytest.mark.parametrize("who, expected", [
    (ANA, NOT_FOUND),  # a partner user of the organisation
    (MARKETING, NOT_FOUND),
    (EVE, 'No organisation called "Acme Widgets" was found.'),  # another organisation's partner does not see it
])
def test_org_brand_by_anyone_but_its_partner_admin_or_an_admin_is_refused(who, expected):
    result = kb("org", "brand", "Acme Widgets", "--display-name", "Hijacked", "--as", who)

    assert result.exit_code == 1
    assert expected in result.stderr
    assert kb_json("org", "brand", "Acme Widgets", "--as", PAULA)["partner_name"] == "Acme Widgets"


def test_org_brand_with_an_invalid_value_says_what_is_wrong():
    result = kb("org", "brand", "Acme Widgets", "--email", "not-an-email", "--as", PAULA)

    assert result.exit_code == 1
    assert result.stderr.strip() == "This is not a valid email address. Write it like name@company.com."


# --------------------------------------------------------------------------- cobrand


def test_org_brand_then_cobrand_writes_the_partners_pdf(tmp_path):
    doc_id = add_template(docx_template(tmp_path))
    brand_acme(tmp_path)
    out = tmp_path / "acme.pdf"

    made = kb_json("cobrand", doc_id, "--as", ANA, "--out", out, "--field", "event_date=12 March 2027")

    assert made["cached"] is False and made["output"] == str(out) and made["size"] == out.stat().st_size
    text = pdf_text(out)
    assert "{{" not in text
    for value in (PARTNER["partner_name"], PARTNER["partner_contact"], PARTNER["partner_email"],
                  PARTNER["partner_footer"], "12 March 2027"):
        assert value in text, value
    assert colour_box(render_page(out, 1, dpi=50), LOGO_RED)[0] > 1000  # the logo is on page 1


def test_cobrand_again_reuses_the_pdf_made_before(tmp_path):
    doc_id = add_template(make_pdf_template(tmp_path / "prices.pdf"))
    first = kb_json("cobrand", doc_id, "--as", ANA, "--out", tmp_path / "a.pdf")

    again = kb_json("cobrand", doc_id, "--as", PAULA, "--out", tmp_path)

    assert (again["cached"], again["id"], again["job_id"]) == (True, first["id"], None)
    assert Path(again["output"]) == tmp_path / again["filename"]
    assert Path(again["output"]).read_bytes() == (tmp_path / "a.pdf").read_bytes()
    assert generation_jobs() == 1


def test_cobrand_of_a_template_outside_the_audience_is_not_found_and_writes_nothing(tmp_path):
    doc_id = add_template(make_pdf_template(tmp_path / "prices.pdf"))
    out = tmp_path / "eve.pdf"

    result = kb("cobrand", doc_id, "--as", EVE, "--out", out)

    assert result.exit_code == 1 and result.stderr.strip() == NOT_FOUND
    assert not out.exists() and generation_jobs() == 0


def test_cobrand_that_cannot_be_made_exits_1_with_the_reason(tmp_path):
    doc_id = add_template(make_pdf_template(tmp_path / "prices.pdf"))
    out = tmp_path / "out.pdf"

    result = kb("cobrand", doc_id, "--as", ANA, "--out", out, "--field", "partner_name=株式会社サンプル")

    assert result.exit_code == 1
    assert result.stderr.startswith('"partner_name" contains characters this PDF template cannot show')
    assert not out.exists() and count(GeneratedPdf) == 0


def test_cobrand_with_a_field_the_template_does_not_have_exits_1(tmp_path):
    doc_id = add_template(make_pdf_template(tmp_path / "prices.pdf"))

    result = kb("cobrand", doc_id, "--as", ANA, "--out", tmp_path / "out.pdf", "--field", "slogan=Hi")

    assert result.exit_code == 1 and generation_jobs() == 0
    assert result.stderr.strip() == translate("en", "cobrand.unknown_field", name="slogan", known=(
        "partner_name, partner_contact, partner_email, partner_phone, partner_website, partner_address, event_date"))


def test_a_field_without_a_value_is_a_usage_error(tmp_path):
    result = kb("cobrand", 1, "--as", ANA, "--out", tmp_path / "out.pdf", "--field", "event_date")

    assert result.exit_code == 2 and "--field takes name=value" in result.stderr


# --------------------------------------------------------------------------- the real command


def _listener_pids() -> set[int]:
    """LibreOffice listeners and soffice processes of kbportal pools (any process)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if "kbportal-lo-" in cmd and ("soffice" in cmd or "uno_listener" in cmd):
            found.add(int(entry))
    return found


def test_the_real_command_makes_a_pdf_and_leaves_no_libreoffice_behind(tmp_path, data_dir):
    doc_id = add_template(docx_template(tmp_path))
    brand_acme(tmp_path)
    before = _listener_pids()
    env = {**os.environ, "KBPORTAL_DATA_DIR": str(data_dir), "KBPORTAL_STORAGE": "filesystem"}
    out = tmp_path / "child.pdf"

    done = subprocess.run([sys.executable, "-m", "kbportal.cli", "cobrand", str(doc_id), "--as", ANA, "--out",
                           str(out), "--field", "event_date=May"], capture_output=True, text=True, env=env,
                          timeout=180, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Saved the co-branded PDF to {out}")
    assert PARTNER["partner_name"] in pdf_text(out)
    deadline = time.monotonic() + 15
    while _listener_pids() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _listener_pids() - before == set()
