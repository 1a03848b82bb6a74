"""Opening untrusted files: the child process, its limits, and what it reads out.

Each test hands a real file to ``extraction.extract`` (which runs
``kbportal.services.extract_worker`` in a limited child) or to the pure ``sniff``.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

import docfiles
from kbportal.services import extraction, sniff
from kbportal.services.errors import ValidationFailed
from kbportal.services.extraction import Limits


@pytest.fixture
def work(tmp_path: Path):
    with extraction.workdir(tmp_path / "work") as path:
        yield path


def rejected(path: Path, work: Path, limits: Limits | None = None, name: str | None = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as failed:
        extraction.extract(path, name or path.name, work, limits)
    assert failed.value.field == "file"
    return failed.value


# --------------------------------------------------------------------------- limits of the child


def test_a_docx_zip_bomb_is_rejected_quickly_without_inflating_it(tmp_path, work):
    bomb = docfiles.make_docx_bomb(tmp_path / "bomb.docx", inflated_mb=150)
    assert bomb.stat().st_size < 1024 * 1024

    started = time.monotonic()
    error = rejected(bomb, work)

    assert error.code == "doc.inflates_too_much" and error.params == {"max_mb": 100}
    assert time.monotonic() - started < 5
    assert str(error).startswith("This file expands to more than 100 MB when opened.")


def test_the_inflation_limit_is_configurable(tmp_path, work):
    docx = docfiles.make_docx_bomb(tmp_path / "padded.docx", inflated_mb=3)

    error = rejected(docx, work, Limits(max_inflated_bytes=2 * 1024 * 1024))

    assert (error.code, error.params) == ("doc.inflates_too_much", {"max_mb": 2})


def test_a_cpu_heavy_file_hits_the_cpu_limit_and_gets_the_timeout_message(tmp_path, work):
    heavy = docfiles.make_cpu_heavy_pdf(tmp_path / "heavy.pdf")

    started = time.monotonic()
    error = rejected(heavy, work, Limits(cpu_seconds=1, wall_seconds=30))

    assert error.code == "doc.processing_timeout"
    assert time.monotonic() - started < 10
    assert str(error).startswith("Checking this file took too long.")


def test_the_wall_clock_limit_kills_a_child_that_takes_too_long(tmp_path, work):
    heavy = docfiles.make_cpu_heavy_pdf(tmp_path / "heavy.pdf")

    started = time.monotonic()
    error = rejected(heavy, work, Limits(cpu_seconds=60, wall_seconds=0.8))

    assert error.code == "doc.processing_timeout"
    assert time.monotonic() - started < 5


def test_running_out_of_memory_in_the_child_gives_the_too_complex_message(tmp_path, work):
    from PIL import Image

    big = tmp_path / "poster.png"
    Image.new("RGB", (7000, 7000), (10, 20, 30)).save(big)  # 49 MP: under the pixel limit, ~150 MB decoded

    error = rejected(big, work, Limits(memory_bytes=150 * 1024 * 1024))

    assert error.code == "doc.too_complex"


def test_an_image_over_the_megapixel_limit_is_refused_before_decoding(tmp_path, work):
    error = rejected(docfiles.make_huge_png(tmp_path / "huge.png"), work)

    assert (error.code, error.params) == ("doc.image_too_large", {"megapixels": 144, "max_megapixels": 60})


# --------------------------------------------------------------------------- broken and protected PDFs


def test_an_encrypted_pdf_is_rejected_with_the_password_message(tmp_path, work):
    error = rejected(docfiles.make_encrypted_pdf(tmp_path / "locked.pdf"), work)

    assert str(error) == "This PDF is password-protected. Upload a version without a password."


def test_a_pdf_with_only_an_owner_password_opens_and_is_accepted(tmp_path, work):
    from pypdf import PdfReader, PdfWriter

    path = tmp_path / "no-print.pdf"
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(docfiles.pdf_bytes(["Read me"]))))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="RC4-128")
    with open(path, "wb") as f:
        writer.write(f)

    result = extraction.extract(path, path.name, work)

    assert result.encrypted and "Read me" in result.text


@pytest.mark.parametrize("make", [docfiles.make_corrupt_pdf, docfiles.make_truncated_pdf], ids=["garbage", "truncated"])
def test_a_corrupt_pdf_is_rejected_as_damaged(tmp_path, work, make):
    error = rejected(make(tmp_path / "broken.pdf"), work)

    assert error.code == "doc.damaged_pdf"
    assert str(error).startswith("This file is damaged or not a real PDF.")


# --------------------------------------------------------------------------- what is read out


def test_pdf_text_page_count_and_thumbnail(tmp_path, work):
    from PIL import Image

    path = docfiles.make_pdf(tmp_path / "deck.pdf", ["First page", "Second page", "Third page"])

    result = extraction.extract(path, path.name, work)

    assert (result.kind.name, result.mime_type, result.page_count) == ("pdf", "application/pdf", 3)
    assert "First page" in result.text and "Third page" in result.text
    with Image.open(result.thumbnail) as thumb:
        assert (thumb.format, max(thumb.size)) == ("PNG", 480)


def test_docx_text_includes_paragraphs_and_tables_in_order(tmp_path, work):
    path = docfiles.make_docx(tmp_path / "specs.docx", ["Introduction", "Details follow"], heading="Datasheet",
                              table=[["Model", "Throughput"], ["X1", "940 Mbps"]])

    result = extraction.extract(path, path.name, work)

    lines = result.text.splitlines()
    assert lines[:3] == ["Datasheet", "Introduction", "Details follow"]
    assert lines[3:] == ["Model", "Throughput", "X1", "940 Mbps"]
    assert result.kind.name == "docx" and result.page_count >= 1 and result.thumbnail is None


def test_markdown_text_is_kept_verbatim(tmp_path, work):
    text = "# Launch kit\n\n* Brochure\n* Datasheet — Präsentation 日本\n"
    path = docfiles.make_text(tmp_path / "README.md", text)

    result = extraction.extract(path, path.name, work)

    assert (result.kind.name, result.mime_type, result.text) == ("md", "text/markdown", text)


def test_pptx_slides_and_xlsx_strings_are_read(tmp_path, work):
    deck = extraction.extract(docfiles.make_pptx(tmp_path / "d.pptx", ["Q3 launch", "Pricing"]), "d.pptx", work)
    sheet = extraction.extract(docfiles.make_xlsx(tmp_path / "p.xlsx", ["SKU", "Router X"]), "p.xlsx", work)

    assert (deck.kind.name, deck.page_count, deck.text.splitlines()) == ("pptx", 2, ["Q3 launch", "Pricing"])
    assert (sheet.kind.name, sheet.text.splitlines()) == ("xlsx", ["SKU", "Router X"])


def test_extracted_text_is_capped(tmp_path, work):
    path = docfiles.make_text(tmp_path / "long.txt", "word " * 10_000)

    result = extraction.extract(path, path.name, work, Limits(max_text_chars=1000))

    assert len(result.text) == 1000


def test_a_light_pdf_is_smaller_and_keeps_every_page(tmp_path, work):
    from pypdf import PdfReader

    path = docfiles.make_image_pdf(tmp_path / "photos.pdf", pages=2, side=1200)

    light = extraction.make_light_pdf(path, work)

    assert light is not None and light.stat().st_size < path.stat().st_size / 2
    assert len(PdfReader(light).pages) == 2


def test_no_light_pdf_when_it_would_not_be_smaller(tmp_path, work):
    path = docfiles.make_pdf(tmp_path / "text.pdf", ["Only text"])

    assert extraction.make_light_pdf(path, work) is None


# --------------------------------------------------------------------------- sniffing (pure, no child)


def kind_of(path: Path, name: str | None = None) -> str:
    try:
        return sniff.sniff(path, name or path.name).name
    except sniff.Rejected as rejected_file:
        return rejected_file.code


@pytest.mark.parametrize("make, name, expected", [
    (lambda p: docfiles.make_pdf(p), "brochure.pdf", "pdf"),
    (lambda p: docfiles.make_pdf(p), "brochure.txt", "pdf"),
    (lambda p: docfiles.make_pdf(p), "brochure", "pdf"),
    (lambda p: docfiles.make_png(p), "photo.jpg", "png"),
    (lambda p: docfiles.make_jpeg(p), "photo.jpeg", "jpeg"),
    (lambda p: docfiles.make_docx(p), "memo.docx", "docx"),
    (lambda p: docfiles.make_docx(p), "memo.zip", "docx"),
    (lambda p: docfiles.make_pptx(p), "deck.pptx", "pptx"),
    (lambda p: docfiles.make_xlsx(p), "prices.xlsx", "xlsx"),
    (lambda p: docfiles.make_text(p, "a,b\n1,2\n"), "data.csv", "csv"),
    (lambda p: docfiles.make_text(p, "# Title\n"), "notes.markdown", "md"),
    (lambda p: docfiles.make_text(p, "plain\n"), "README", "txt"),
    (lambda p: docfiles.make_text(p, "plain\n"), "notes.pdf", "doc.damaged_pdf"),
    (lambda p: docfiles.make_text(p, "plain\n"), "memo.docx", "doc.damaged_word"),
    (lambda p: docfiles.make_text(p, "<svg/>"), "logo.svg", "doc.type_not_allowed"),
    (lambda p: docfiles.make_plain_zip(p), "memo.docx", "doc.damaged_word"),
    (lambda p: docfiles.make_plain_zip(p), "files.zip", "doc.type_not_allowed"),
    (lambda p: docfiles.make_exe(p), "setup.exe", "doc.type_not_allowed"),
    (lambda p: (p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), p)[1], "old.doc",
     "doc.legacy_office"),
    (lambda p: (p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), p)[1], "locked.docx",
     "doc.encrypted_office"),
    (lambda p: (p.write_bytes("Größe\n".encode("latin-1")), p)[1], "sizes.txt", "doc.text_not_utf8"),
    (lambda p: (p.write_bytes(b"text\x00with nul"), p)[1], "nul.txt", "doc.type_not_allowed"),
    (lambda p: (p.write_bytes(b""), p)[1], "empty.txt", "doc.empty"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_type_comes_from_the_content(tmp_path, make, name, expected):
    path = make(tmp_path / "upload.bin")

    assert kind_of(path, name) == expected


def test_the_child_gets_no_settings_or_credentials_from_the_environment(tmp_path, work, monkeypatch):
    seen: list[dict] = []
    real_popen = extraction.subprocess.Popen

    def recording_popen(*args, **kwargs):
        seen.append(kwargs["env"])
        return real_popen(*args, **kwargs)

    monkeypatch.setenv("KBPORTAL_S3_SECRET_KEY", "s3-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setattr(extraction.subprocess, "Popen", recording_popen)

    extraction.extract(docfiles.make_text(tmp_path / "a.txt"), "a.txt", work)

    [env] = seen
    assert "secret" not in " ".join(env.values())
    assert not any(name.startswith(("KBPORTAL_", "AWS_")) for name in env)
