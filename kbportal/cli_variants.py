"""``kbportal doc translate`` and ``kbportal doc variants``: translated variants of documents.

    kbportal doc translate 12 --to de --as mia@vendor.example [--json]   queue, wait, print the variant
    kbportal doc variants 12 --as mia@vendor.example [--json]            every variant of a document
    kbportal doc segments 7 --as mia@vendor.example [--only-changed]     a variant's segments, for review
    kbportal doc review 7 --as mia@vendor.example --edit "The house is small.=>Das Haus ist klein." [--title T]
                                                                         correct segments, approve, wait

Merged into ``kbportal doc`` in ``cli.py``. Commands act as ``--as EMAIL`` with exactly
that user's rights (a partner may translate into their own language only). The
plumbing (migrated session, one-line errors, ``--as``) is ``cli.py``'s, imported when
a command runs (``cli.py`` imports this module).
"""

from __future__ import annotations

from typing import Annotated

import typer

doc_variants_app = typer.Typer()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
AsOpt = Annotated[str, typer.Option("--as", metavar="EMAIL", help="Act as this user, with exactly that user's rights.")]


def _row(info) -> dict:
    return {"id": info.id, "document_id": info.document_id, "language": info.language, "kind": info.kind,
            "state": info.state, "stale": info.stale, "source_version": info.source_number, "title": info.title,
            "description": info.description, "filename": info.filename, "size": info.size,
            "has_file": info.has_file, "job_id": info.job_id, "failure_code": info.failure_code,
            "reviewed_by": info.reviewed_by_name, "reviewed_at": info.reviewed_at, "updated_at": info.updated_at}


def _line(info) -> str:
    flags = [info.kind, info.state] + (["stale"] if info.stale else [])
    file = f"  file: {info.filename}" if info.has_file else ""
    return f"{info.language}  v{info.source_number}  {', '.join(flags)}  {info.title}{file}"


@doc_variants_app.command("translate")
def doc_translate(
    doc_id: Annotated[int, typer.Argument(help="Document id.")],
    target: Annotated[str, typer.Option("--to", help="Language to translate into, e.g. de.")],
    as_email: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Machine-translate a document (metadata, and a DOCX into a DOCX) and wait for it."""
    from kbportal import cli
    from kbportal.services import jobs, variants

    with cli._session() as session:  # a missing pair: one line naming the package, exit 1
        principal, actor = cli._acting(session, as_email)
        ref = variants.request_translation(session, principal, actor, doc_id, target)
    if ref.job_id is not None:
        with cli._guard():
            jobs.run(ref.job_id)  # a no-op when a worker already has it
            outcome = jobs.wait(ref.job_id)
        if outcome.state == "failed":
            assert outcome.error is not None
            cli._fail(outcome.error.message("en"))
        if not outcome.finished:
            cli._fail("The translation is still running; `kbportal doc variants` tells when it is ready.")
    with cli._session() as session:
        principal, _ = cli._acting(session, as_email)
        info = variants.get_variant(session, principal, ref.variant_id)
    if as_json:
        cli._print_json(_row(info) | {"text": info.text, "existing": ref.existing})
    else:
        typer.echo(_line(info))


@doc_variants_app.command("variants")
def doc_variants(
    doc_id: Annotated[int, typer.Argument(help="Document id.")],
    as_email: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """List a document's translated variants (users who may edit it)."""
    from kbportal import cli
    from kbportal.services import variants

    with cli._session() as session:
        principal, _ = cli._acting(session, as_email)
        rows = variants.list_variants(session, principal, doc_id)
    if as_json:
        cli._print_json([_row(info) for info in rows])
    elif not rows:
        typer.echo(f"Document {doc_id} has no translated variants.")
    else:
        for info in rows:
            typer.echo(_line(info))


@doc_variants_app.command("segments")
def doc_segments(
    variant_id: Annotated[int, typer.Argument(help="Variant id (see `kbportal doc variants`).")],
    as_email: AsOpt,
    only_changed: Annotated[bool, typer.Option("--only-changed", help="Only the corrected segments.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List a variant's segments: source, machine translation, correction (staff)."""
    from kbportal import cli
    from kbportal.services import variants

    items, page = [], 1
    with cli._session() as session:
        principal, _ = cli._acting(session, as_email)
        while True:
            found = variants.review_segments(session, principal, variant_id, page=page, per_page=200,
                                             only_changed=only_changed)
            items.extend(found.items)
            if page >= found.pages:
                break
            page += 1
    if as_json:
        cli._print_json([{"key": s.key, "source": s.source, "machine": s.machine, "edited": s.edited}
                         for s in items])
        return
    for s in items:
        mark = "*" if s.edited is not None else " "
        typer.echo(f"{mark} {s.source}\n    {s.translation}")


@doc_variants_app.command("review")
def doc_review(
    variant_id: Annotated[int, typer.Argument(help="Variant id (see `kbportal doc variants`).")],
    as_email: AsOpt,
    edit: Annotated[list[str], typer.Option("--edit", metavar="SOURCE=>TRANSLATION",
                                            help="Correct one segment (repeat the option).")] = [],  # noqa: B006
    title: Annotated[str | None, typer.Option("--title", help="Translated title (default: kept).")] = None,
    description: Annotated[str | None, typer.Option("--description", help="Translated description.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct segments of a translation and approve it; waits while the file is made again."""
    from kbportal import cli
    from kbportal.services import jobs, translation, variants

    corrections: dict[str, str] = {}
    for item in edit:
        source, sep, text = item.partition("=>")
        if not sep:
            cli._fail(f"--edit needs SOURCE=>TRANSLATION, got: {item}")
        corrections[translation.segment_key(source.strip())] = text.strip()
    with cli._session() as session:
        principal, actor = cli._acting(session, as_email)
        info = variants.get_variant(session, principal, variant_id)
        ref = variants.review(session, principal, actor, variant_id, info.title if title is None else title,
                              info.description if description is None else description, corrections)
    if ref.job_id is not None:
        with cli._guard():
            jobs.run(ref.job_id)
            outcome = jobs.wait(ref.job_id)
        if outcome.state == "failed":
            assert outcome.error is not None
            cli._fail(outcome.error.message("en"))
    with cli._session() as session:
        principal, _ = cli._acting(session, as_email)
        info = variants.get_variant(session, principal, variant_id)
    if as_json:
        cli._print_json(_row(info) | {"text": info.text})
    else:
        typer.echo(_line(info))
