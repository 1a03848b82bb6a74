"""Translating formats: Markdown keeps its structure (code and URLs untouched), DOCX keeps
its formatting (runs, tables, headers/footers), PDF text comes out readable, and
metadata and plain text are translated through the same cache.

Real tiny Argos packages (``argos_models``): en->de glosses word by word.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

from kbportal.services import translation
from kbportal.services.errors import ValidationFailed
from kbportal.services.simple_pdf import text_pdf
from kbportal.services.translation.pdf_doc import reflow

pytest_plugins = ["argos_models"]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"


def md(text: str) -> str:
    return translation.translate_markdown(textwrap.dedent(text).lstrip("\n"), "en", "de")


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --------------------------------------------------------------------------- Markdown


def test_markdown_fenced_code_blocks_are_untouched(translation_ready):
    source = dedent("""
        The house is small.

        ```python
        # the house is small
        print("Hello world")
        ```

        ~~~
        the cat
        ~~~
        """)

    assert md(source) == source.replace("The house is small.", "Die haus ist klein.", 1)


def test_markdown_indented_code_blocks_are_untouched(translation_ready):
    assert md("The cat:\n\n    the cat is small\n") == "Die katze:\n\n    the cat is small\n"


def test_markdown_inline_code_is_untouched(translation_ready):
    assert md("Run `the house` and see the guide.\n") == "Starte `the house` und siehe die anleitung.\n"


def test_markdown_links_keep_their_url_and_translate_their_text(translation_ready):
    assert md("See [the guide](https://example.com/the_guide?a=the) today.\n") == \
        "Siehe [die anleitung](https://example.com/the_guide?a=the) heute.\n"


def test_markdown_bare_urls_autolinks_and_emails_are_untouched(translation_ready):
    source = "See https://example.com/the_house, <https://example.com/a_b> and partner@example.com.\n"

    assert md(source) == \
        "Siehe https://example.com/the_house, <https://example.com/a_b> und partner@example.com.\n"


def test_markdown_headings_keep_their_level(translation_ready):
    assert md("# The guide\n\n### The new price list ###\n") == "# Die anleitung\n\n### Die neu preis liste ###\n"


def test_markdown_lists_keep_markers_numbers_nesting_and_task_boxes(translation_ready):
    source = dedent("""
        - The cat
          - The dog
        1. The house
        2) The car
        * [x] The book
        """)

    assert md(source) == dedent("""
        - Die katze
          - Die hund
        1. Die haus
        2) Die auto
        * [x] Die buch
        """)


def test_markdown_emphasis_moves_with_its_words(translation_ready):
    assert md("This is **very** important and *new*.\n") == "Dies ist **sehr** wichtig und *neu*.\n"


def test_markdown_a_link_with_emphasis_inside_stays_one_link(translation_ready):
    assert md("See [the **new** guide](https://example.com) today.\n") == \
        "Siehe [die **neu** anleitung](https://example.com) heute.\n"


def test_markdown_tables_keep_pipes_and_alignment(translation_ready):
    source = dedent("""
        | The house | The car |
        |:----------|:-------:|
        | small     | `red`   |
        """)

    assert md(source) == dedent("""
        | Die haus | Die auto |
        |:----------|:-------:|
        | klein     | `red`   |
        """)


def test_markdown_block_quotes_keep_their_marks(translation_ready):
    assert md("> The dog is good.\n>\n> > The cat is small.\n") == \
        "> Die hund ist gut.\n>\n> > Die katze ist klein.\n"


def test_markdown_a_wrapped_paragraph_is_translated_as_one_sentence(translation_ready):
    assert md("The house is\nvery small.\n") == "Die haus ist sehr klein.\n"


def test_markdown_hard_line_breaks_are_kept(translation_ready):
    assert md("The cat  \nThe dog\\\nThe car\n") == "Die katze  \nDie hund\\\nDie auto\n"


def test_markdown_shortcut_references_still_resolve(translation_ready):
    source = "Read the [guide].\n\n[guide]: https://example.com/guide\n"

    assert md(source) == "Lese die [anleitung][guide].\n\n[guide]: https://example.com/guide\n"


def test_markdown_front_matter_html_and_snake_case_names_are_untouched(translation_ready):
    source = dedent("""
        ---
        title: The house
        ---
        <div class="the-house">the house</div>

        The my_house_name is small.
        """)

    assert md(source) == source.replace("The my_house_name is small.", "Die my_house_name ist klein.")


def test_markdown_image_alt_text_is_translated_and_its_source_kept(translation_ready):
    assert md("![The red car](images/the_car.png)\n") == "![Die rot auto](images/the_car.png)\n"


# --------------------------------------------------------------------------- DOCX


def add_hyperlink(paragraph, url: str, text: str) -> None:
    rid = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def add_page_field(paragraph) -> None:
    xml = (f'<w:p xmlns:w="{W}"><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
           '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
           '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>one</w:t></w:r>'
           '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    for child in etree.fromstring(xml):
        paragraph._p.append(child)


def make_collateral(path: Path) -> Path:
    """A partner brochure: formatted runs split like Word splits them, a hyperlink, a tab and
    a line break, a table with a nested table, header and footer (with a PAGE field)."""
    document = docx.Document()
    document.core_properties.title = "The price list"
    document.add_heading("The partner guide", level=1)
    p = document.add_paragraph("This is ")
    p.add_run("very").bold = True
    p.add_run(" important.")
    p = document.add_paragraph()
    p.add_run("The house").italic = True
    p.add_run(" is").italic = True  # Word often splits one formatting over runs
    p.add_run(" small.")
    p = document.add_paragraph("See ")
    add_hyperlink(p, "https://example.com/the_guide", "the guide")
    p.add_run(" today.")
    p = document.add_paragraph("The cat")
    p.add_run().add_tab()
    p.add_run("The dog")
    p.add_run().add_break()
    p.add_run("The car")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "The red car"
    table.cell(0, 1).add_table(rows=1, cols=1).cell(0, 0).text = "The blue book"
    section = document.sections[0]
    section.header.paragraphs[0].text = "The partner guide"
    footer = section.footer.paragraphs[0]
    footer.text = "The new price list "
    add_page_field(footer)
    document.save(str(path))
    return path


@pytest.fixture
def translated_docx(translation_ready, tmp_path) -> docx.document.Document:
    result = translation.translate_docx(make_collateral(tmp_path / "in.docx"), tmp_path / "out.docx", "en", "de")
    return docx.Document(str(result.path))


def runs(paragraph) -> list[tuple[str, bool | None, bool | None]]:
    return [(r.text, r.bold, r.italic) for r in paragraph.runs if r.text]


def test_docx_paragraph_text_is_translated(translated_docx):
    assert translated_docx.paragraphs[0].text == "Die partner anleitung"
    assert translated_docx.paragraphs[0].style.name == "Heading 1"


def test_docx_bold_words_stay_bold_where_they_went(translated_docx):
    assert runs(translated_docx.paragraphs[1]) == [("Dies ist ", None, None), ("sehr", True, None),
                                                   (" wichtig.", None, None)]


def test_docx_runs_split_with_the_same_formatting_are_translated_together(translated_docx):
    assert runs(translated_docx.paragraphs[2]) == [("Die haus ist ", None, True), ("klein.", None, None)]


def test_docx_hyperlink_text_is_translated_and_its_target_kept(translated_docx):
    paragraph = translated_docx.paragraphs[3]
    link = paragraph._p.find(qn("w:hyperlink"))

    assert paragraph.text == "Siehe die anleitung heute."
    assert "".join(t.text for t in link.iter(qn("w:t"))) == "die anleitung"
    assert paragraph.part.rels[link.get(qn("r:id"))].target_ref == "https://example.com/the_guide"


def test_docx_tabs_and_line_breaks_stay_between_the_translated_pieces(translated_docx):
    assert translated_docx.paragraphs[4].text == "Die katze\tDie hund\nDie auto"


def test_docx_table_and_nested_table_text_is_translated(translated_docx):
    table = translated_docx.tables[0]

    assert table.cell(0, 0).text == "Die rot auto"
    assert table.cell(0, 1).tables[0].cell(0, 0).text == "Die blau buch"


def test_docx_header_and_footer_are_translated_and_fields_kept(translated_docx):
    section = translated_docx.sections[0]
    footer = section.footer.paragraphs[0]

    assert section.header.paragraphs[0].text == "Die partner anleitung"
    assert footer.text.startswith("Die neu preis liste ")
    assert [i.text for i in footer._p.iter(qn("w:instrText"))] == [" PAGE "]
    assert "one" in [t.text for t in footer._p.iter(qn("w:t"))]  # the field's shown value is not translated


def test_docx_title_and_language_are_those_of_the_translation(translated_docx):
    assert (translated_docx.core_properties.title, translated_docx.core_properties.language) == \
        ("Die preis liste", "de")


def test_docx_progress_is_reported_up_to_the_total(translation_ready, tmp_path):
    reports: list[tuple[int, int]] = []

    result = translation.translate_docx(make_collateral(tmp_path / "in.docx"), tmp_path / "out.docx", "en", "de",
                                        progress=lambda done, total: reports.append((done, total)))

    assert reports[-1][0] == reports[-1][1] == result.segments > 0
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_docx_translating_the_same_file_again_uses_the_cache_only(translation_ready, tmp_path):
    source = make_collateral(tmp_path / "in.docx")
    translation.translate_docx(source, tmp_path / "one.docx", "en", "de")

    again = translation.translate_docx(source.read_bytes(), tmp_path / "two.docx", "en", "de")

    assert again.cached == again.segments > 0


def test_docx_the_source_file_is_left_unchanged(translation_ready, tmp_path):
    source = make_collateral(tmp_path / "in.docx")
    before = source.read_bytes()

    translation.translate_docx(source, tmp_path / "out.docx", "en", "de")

    assert source.read_bytes() == before


def test_docx_footnotes_are_translated(translation_ready, tmp_path):
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    document = docx.Document()
    document.add_paragraph("The guide.")
    xml = (f'<w:footnotes xmlns:w="{W}"><w:footnote w:id="1"><w:p><w:r><w:t>The cat is small.</w:t></w:r></w:p>'
           '</w:footnote></w:footnotes>')
    notes = Part(PackURI("/word/footnotes.xml"), FOOTNOTES, xml.encode(), document.part.package)
    document.part.relate_to(notes, RT.FOOTNOTES)
    document.save(str(tmp_path / "in.docx"))

    translation.translate_docx(tmp_path / "in.docx", tmp_path / "out.docx", "en", "de")

    out = docx.Document(str(tmp_path / "out.docx"))
    part = next(p for p in out.part.package.iter_parts() if p.content_type == FOOTNOTES)
    assert [t.text for t in etree.fromstring(part.blob).iter(qn("w:t"))] == ["Die katze ist klein."]


def test_docx_a_file_that_is_not_a_docx_is_refused(translation_ready, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        translation.translate_docx(b"not a word document", tmp_path / "out.docx", "en", "de")

    assert refused.value.code == "doc.damaged_word"


# --------------------------------------------------------------------------- DOCX review


def corrections(pairs: dict[str, str]) -> dict[str, str]:
    """A reviewer's corrections as the engine takes them: by the source segment's key."""
    return {translation.segment_key(source): text for source, text in pairs.items()}


def test_docx_segments_are_listed_once_in_document_order(translation_ready, tmp_path):
    segments = translation.docx_segments(make_collateral(tmp_path / "in.docx"))

    assert segments == ["The partner guide", "This is very important.", "The house is small.", "See the guide today.",
                        "The cat", "The dog", "The car", "The red car", "The blue book", "The new price list",
                        "The price list"]


def test_docx_a_correction_wins_over_the_engine_and_keeps_the_formatting(translation_ready, tmp_path):
    result = translation.translate_docx(make_collateral(tmp_path / "in.docx"), tmp_path / "out.docx", "en", "de",
                                        overrides=corrections({"The partner guide": "Der Partner-Leitfaden"}))

    out = docx.Document(str(result.path))
    assert (out.paragraphs[0].text, out.paragraphs[0].style.name) == ("Der Partner-Leitfaden", "Heading 1")
    assert out.sections[0].header.paragraphs[0].text == "Der Partner-Leitfaden"  # the same segment everywhere
    assert runs(out.paragraphs[1]) == [("Dies ist ", None, None), ("sehr", True, None), (" wichtig.", None, None)]
    assert result.edited == 1


def test_docx_a_corrected_sentence_keeps_bold_words_the_correction_kept(translation_ready, tmp_path):
    result = translation.translate_docx(make_collateral(tmp_path / "in.docx"), tmp_path / "out.docx", "en", "de",
                                        overrides=corrections({"This is very important.": "Das ist sehr wichtig."}))

    assert runs(docx.Document(str(result.path)).paragraphs[1]) == [
        ("Das ist ", None, None), ("sehr", True, None), (" wichtig.", None, None)]


def test_docx_a_rewritten_sentence_keeps_the_reviewers_words_over_inline_formatting(translation_ready, tmp_path):
    result = translation.translate_docx(make_collateral(tmp_path / "in.docx"), tmp_path / "out.docx", "en", "de",
                                        overrides=corrections({"This is very important.": "Das ist äußerst wichtig."}))

    assert docx.Document(str(result.path)).paragraphs[1].text == "Das ist äußerst wichtig."


def test_corrections_are_not_written_to_the_segment_cache(translation_ready):
    corrected = translation.get_engine().translate_text("The house is small.", "en", "de",
                                                        overrides=corrections({"The house is small.": "Das Haus."}))

    assert corrected.text == "Das Haus."
    assert translation.SegmentCache().get_many(["The house is small."], "en", "de") == {}
    assert translation.translate_text("The house is small.", "en", "de").text == "Die haus ist klein."


# --------------------------------------------------------------------------- PDF


def test_pdf_text_is_extracted_and_translated(translation_ready, tmp_path):
    pdf = tmp_path / "guide.pdf"
    pdf.write_bytes(text_pdf([("The partner guide", "The house is very small. " * 8)]))

    result = translation.translate_pdf(pdf, "en", "de")

    assert result.text.split("\n\n") == ["Die partner anleitung", ("Die haus ist sehr klein. " * 8).strip()]


def test_pdf_that_cannot_be_read_is_refused_with_the_upload_reason(translation_ready, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 nothing else")

    with pytest.raises(ValidationFailed) as refused:
        translation.translate_pdf(broken, "en", "de")

    assert refused.value.code.startswith("doc.")


def test_stored_pdf_text_can_be_translated_without_the_file(translation_ready):
    result = translation.translate_extracted_text("The house is very\nsmall.\n\nThe cat.", "en", "de")

    assert result.text == "Die haus ist sehr klein.\n\nDie katze."


def test_reflow_joins_lines_and_hyphenated_words_of_a_paragraph():
    text = "A long line of text that fills the page width\nthe next line of it and a trans-\nlation.\nShort.\n"

    assert reflow(text) == ["A long line of text that fills the page width the next line of it and a translation.",
                            "Short."]


def test_reflow_starts_a_paragraph_after_a_short_line_and_before_bullets():
    text = "Introduction\nThis paragraph is long enough to fill a line\n- one point\n- another point"

    assert reflow(text) == ["Introduction", "This paragraph is long enough to fill a line", "- one point",
                            "- another point"]


# --------------------------------------------------------------------------- metadata and plain text


def test_metadata_title_and_description_are_translated_together(translation_ready):
    result = translation.translate_metadata("The price list", "The new price list. Very good.", "en", "de")

    assert (result.title, result.description) == ("Die preis liste", "Die neu preis liste. Sehr gut.")


def test_plain_text_keeps_its_line_breaks_and_blank_lines(translation_ready):
    result = translation.translate_text("Hello world.\n\n  The cat is small.\n- The dog\n", "en", "de")

    assert result.text == "Hallo welt.\n\n  Die katze ist klein.\n- Die hund\n"


def test_numbers_and_symbols_are_not_sent_to_the_model(translation_ready):
    result = translation.translate_text("42\n---\n\u2022", "en", "de")

    assert (result.text, result.segments) == ("42\n---\n\u2022", 0)
