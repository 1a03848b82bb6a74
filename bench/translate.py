"""Machine translation: segments per second cold vs cached, and a 20-page DOCX.

    .venv/bin/python bench/translate.py --json [--segments 2000] [--pages 20] [--seed 11]

Uses the test suite's tiny real Argos package (``tests/argos_models.py``: a
word-by-word gloss Transformer, 1+1 layers, d=192) through the whole kbportal path:
segmentation, the segment cache in SQLite, MiniSBD, SentencePiece, CTranslate2 beam
search. Real Argos models (6+6 layers, d=512, vocab 32k-50k) are one to two orders
of magnitude slower per segment, so the cold figures are an upper bound for the
pipeline's overhead, not a prediction for production; the cached figures hold for
any model (no model runs).

Measured, on one fixed-seed corpus of English sentences made from glossary and
common words:

  model_load_s            first use of the pair (CTranslate2 + MiniSBD + tokenizer)
  cold_segments_per_s     distinct sentences, empty cache, model loaded
  cached_segments_per_s   the same sentences again (cache hits only, no model call)
  docx_*                  a generated DOCX of ``--pages`` pages (headings, paragraphs with
                          bold runs, a table per page, header and footer): translate
                          cold, then the same file again (all cached)

Prints one JSON object (``--json``) or a short table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

NOTE = ("tiny word-by-word test model (1+1 layers, d=192): real Argos models are 10-100x slower per segment "
        "when cold; cached figures do not depend on the model")
COMMON = ("for with from about after before between into over under this that these those there here when "
          "where which while what who why how all any each some more most other such only own same so than too "
          "very can will just should now also").split()


def sentences(rng: random.Random, n: int, words: list[str]) -> list[str]:
    """``n`` distinct sentences of 6-18 words."""
    out: set[str] = set()
    while len(out) < n:
        chosen = [rng.choice(words) for _ in range(rng.randint(6, 18))]
        out.add(" ".join(chosen).capitalize() + rng.choice(".....?!"))
    return sorted(out, key=lambda s: rng.random())


def make_docx(path: Path, rng: random.Random, words: list[str], pages: int) -> int:
    """About a page each: a heading, 8 paragraphs of 3-5 sentences with a bold phrase, a 4x3 table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "The partner price list"
    section = document.sections[0]
    section.header.paragraphs[0].text = "The partner guide"
    section.footer.paragraphs[0].text = "The new price list"
    paragraphs = 0
    for page in range(pages):
        document.add_heading(f"The guide part {page + 1}", level=1)
        for _ in range(8):
            paragraph = document.add_paragraph(" ".join(sentences(rng, rng.randint(3, 5), words)) + " ")
            paragraph.add_run(" ".join(rng.choice(words) for _ in range(3))).bold = True
            paragraph.add_run(" " + sentences(rng, 1, words)[0])
            paragraphs += 1
        table = document.add_table(rows=4, cols=3)
        for row in table.rows:
            for cell in row.cells:
                cell.text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 5)))
        if page < pages - 1:
            document.add_page_break()
    document.save(str(path))
    return paragraphs


def run(segments: int, pages: int, seed: int) -> dict:
    from argos_models import GLOSSARY, build_packages

    rng = random.Random(seed)
    words = sorted(set(GLOSSARY["de"]) | set(COMMON))
    with tempfile.TemporaryDirectory(prefix="kbportal-bench-translate-") as tmp:
        os.environ["KBPORTAL_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["KBPORTAL_STORAGE"] = "filesystem"
        from kbportal import db
        from kbportal.services import translation

        db.migrate()
        package = build_packages(Path(tmp) / "packages", ["en-de"])["en-de"]
        translation.install_package(package)
        engine = translation.get_engine()
        translator = engine.translator

        t = time.perf_counter()
        translator.translate(["Hello world."], "en", "de")
        model_load_s = time.perf_counter() - t

        corpus = sentences(rng, segments, words)
        calls_before = translator.model_calls
        t = time.perf_counter()
        done, cached = engine.translate_segments(corpus, "en", "de")
        cold_s = time.perf_counter() - t
        cold_calls = translator.model_calls - calls_before
        assert cached == 0 and len(done) == len(corpus)

        calls_before = translator.model_calls
        t = time.perf_counter()
        again, cached = engine.translate_segments(corpus, "en", "de")
        cached_s = time.perf_counter() - t
        assert cached == len(corpus) and again == done and translator.model_calls == calls_before

        docx_in = Path(tmp) / "brochure.docx"
        paragraphs = make_docx(docx_in, rng, words, pages)
        t = time.perf_counter()
        cold_doc = translation.translate_docx(docx_in, Path(tmp) / "brochure-de.docx", "en", "de")
        docx_cold_s = time.perf_counter() - t
        t = time.perf_counter()
        warm_doc = translation.translate_docx(docx_in, Path(tmp) / "brochure-de-2.docx", "en", "de")
        docx_cached_s = time.perf_counter() - t
        assert warm_doc.cached == warm_doc.segments

        result = {
            "seed": seed,
            "segments": len(corpus),
            "avg_words_per_segment": round(sum(len(s.split()) for s in corpus) / len(corpus), 1),
            "model_load_s": round(model_load_s, 3),
            "cold_segments_per_s": round(len(corpus) / cold_s, 1),
            "cold_model_calls": cold_calls,
            "cached_segments_per_s": round(len(corpus) / cached_s, 1),
            "cached_speedup": round(cold_s / cached_s, 1),
            "docx_pages": pages,
            "docx_paragraphs": paragraphs,
            "docx_segments": cold_doc.segments,
            "docx_fell_back": cold_doc.fell_back,
            "docx_cold_s": round(docx_cold_s, 3),
            "docx_cached_s": round(docx_cached_s, 3),
            "intra_threads": translator.intra_threads,
            "note": NOTE,
        }
        translation.reset()
        db.get_engine().dispose()
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=2000, help="distinct sentences in the corpus")
    parser.add_argument("--pages", type=int, default=20, help="pages of the generated DOCX")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.segments, args.pages, args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
