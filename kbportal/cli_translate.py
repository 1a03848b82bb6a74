"""``kbportal translate ...``: manage machine translation packages and translate text.

    kbportal translate install translate-en_de-1_9.argosmodel
    kbportal translate pairs [--json]          installed pairs and pairs through English
    kbportal translate remove en de
    kbportal translate text --from en --to de "Hello world."   [--json]

Registered on the main app in ``cli.py``. Nothing here downloads: packages are files
the operator brings. Refused actions print one line on stderr and exit 1; usage
errors exit 2. The translation engine is imported only when a command runs, so the
rest of the CLI does not pay for it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer

translate_app = typer.Typer(help="Machine translation: language packages (.argosmodel) and text.",
                            no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
_INSTALL_HINT = "Install it with `kbportal translate install FILE.argosmodel`."


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def _guard() -> Iterator[None]:
    """Migrated database (the segment cache lives there); service errors as one line, exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from kbportal import db
    from kbportal.services.errors import KbError
    from kbportal.services.translation import PairMissing

    try:
        db.migrate()
        yield
    except PairMissing as err:
        _fail(f"{err.message('en')} Get its .argosmodel file, then `kbportal translate install FILE`.")
    except KbError as err:
        _fail(err.message("en"))
    except SQLAlchemyError as err:
        _fail(f"Database error: {err.__class__.__name__}: {str(err).splitlines()[0]}. "
              "Check KBPORTAL_DATABASE_URL, or run `kbportal doctor`.")


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _language(code: str) -> str:
    from kbportal.services.translation.types import LANGUAGE_CODE

    code = code.strip()
    if not LANGUAGE_CODE.match(code):
        _fail(f"{code!r} is not a language code (two or three letters, e.g. en, de, id).", code=2)
    return code


@translate_app.command("install")
def install_cmd(
    file: Annotated[Path, typer.Argument(help="An Argos Translate package (.argosmodel).", exists=True,
                                         dir_okay=False, readable=True)],
    as_json: JsonOpt = False,
) -> None:
    """Install a language package (replaces an installed package of the same pair)."""
    from kbportal.services import translation

    with _guard():
        info = translation.install_package(file)
    if as_json:
        _print_json({"name": info.name, "source": info.source, "target": info.target, "version": info.version,
                     "size_bytes": info.size_bytes, "path": str(info.path)})
    else:
        typer.echo(f"Installed {info.name} {info.version} ({info.source_name or info.source} -> "
                   f"{info.target_name or info.target}).")


@translate_app.command("pairs")
def pairs_cmd(as_json: JsonOpt = False) -> None:
    """List the pairs that can be translated: installed packages, then pairs through English."""
    from kbportal.services import translation

    with _guard():
        versions = {(p.source, p.target): p.version for p in translation.packages()}
        pairs = translation.pairs()
    rows = [{"source": p.source, "target": p.target, "via": p.via,
             "package": translation.package_name(p.source, p.target) if p.via is None else None,
             "version": versions.get((p.source, p.target))} for p in pairs]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo(f"No language packages are installed. {_INSTALL_HINT}")
        return
    for row in rows:
        how = f"{row['package']} {row['version']}" if row["via"] is None else f"via {row['via']}"
        typer.echo(f"{row['source']} -> {row['target']}  ({how})")


@translate_app.command("remove")
def remove_cmd(
    source: Annotated[str, typer.Argument(metavar="FROM", help="Source language code, e.g. en.")],
    target: Annotated[str, typer.Argument(metavar="TO", help="Target language code, e.g. de.")],
) -> None:
    """Uninstall the package of one pair (translations already cached stay usable)."""
    from kbportal.services import translation

    source, target = _language(source), _language(target)
    with _guard():
        info = translation.remove_package(source, target)
    typer.echo(f"Removed {info.name} {info.version}.")


@translate_app.command("text")
def text_cmd(
    text: Annotated[str, typer.Argument(help="The text to translate; '-' reads it from standard input.")],
    source: Annotated[str, typer.Option("--from", help="Language of the text, e.g. en.")],
    target: Annotated[str, typer.Option("--to", help="Language to translate into, e.g. de.")],
    as_json: JsonOpt = False,
) -> None:
    """Translate a text and print the translation."""
    from kbportal.services import translation

    source, target = _language(source), _language(target)
    if text == "-":
        text = sys.stdin.read()
    with _guard():
        result = translation.translate_text(text, source, target)
    if as_json:
        _print_json({"text": result.text, "source": result.source, "target": result.target, "via": result.via,
                     "segments": result.segments, "cached": result.cached})
    else:
        typer.echo(result.text)
