"""Translating a KB article written in Markdown without breaking it.

What is translated: paragraph, heading, list item, block quote and table cell text,
emphasis, link text and image alt text. What is kept byte for byte: fenced and
indented code blocks, inline code, URLs (link destinations, autolinks, bare URLs,
e-mail addresses), snake_case identifiers, HTML, reference definitions, front
matter, entities, escapes, and the block structure (heading marks, list markers and indentation, task boxes,
quote marks, table pipes and alignment rows, blank lines).

How: a line scanner finds the blocks (no Markdown library renders Markdown back to
Markdown); a small inline parser turns each text into text, verbatim pieces and
wrappers (emphasis, links). Verbatim pieces cut a sentence (so "Run `make test`
first" is two segments: the code must not reach the model); emphasis and link
text are placed in the translated sentence by :mod:`.spans`. A paragraph wrapped
over several lines is translated as one and written as one line (Markdown renders
it the same); hard line breaks are kept. ``[text]`` shortcut references become
``[translated][text]`` so they still resolve.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable
from dataclasses import dataclass, field

from kbportal.services.translation.engine import Batch, TranslationEngine
from kbportal.services.translation.spans import SpanMapping
from kbportal.services.translation.types import Progress

_QUOTE = re.compile(r"^(?: {0,3}>[ \t]?)*")
_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_ATX = re.compile(r"^( {0,3}#{1,6})([ \t]+|$)(.*?)((?:[ \t]+#+)?[ \t]*)$")
_LIST = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]+)(\[[ xX]\][ \t]+)?(.*)$")
_REF_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:[ \t]*\S")
_HTML_BLOCK = re.compile(r"^ {0,3}<(?:[A-Za-z][A-Za-z0-9-]*[\s/>]|[A-Za-z][A-Za-z0-9-]*$|/[A-Za-z]|!--|\?|!\[CDATA\[)")
_TABLE_DELIM = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_FRONT = re.compile(r"^(---|\+\+\+)\s*$")

_ESCAPABLE = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_AUTOLINK = re.compile(r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>@]+)>")
_HTML_INLINE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--.*?-->")
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>]*[^\s<>.,;:!?'\")\]*_~]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IDENTIFIER = re.compile(r"\w+(?:_\w+)+")  # snake_case names are code: the model would eat the "_"
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def translate_markdown(text: str, source: str, target: str, engine: TranslationEngine,
                       progress: Progress | None = None) -> str:
    """``text`` (Markdown) translated; see the module docstring for what is kept."""
    lines = _scan(text)
    batch = engine.batch(source, target, progress)
    units = [piece for line in lines for piece in line if isinstance(piece, _Unit)]
    for unit in units:
        unit.plan(batch)
    batch.run()
    if any(unit.needs_second_round(batch) for unit in units):
        batch.run()
    return "".join(piece if isinstance(piece, str) else piece.render(batch) for line in lines for piece in line)


# --------------------------------------------------------------------------- blocks


@dataclass
class _Unit:
    """Inline text to translate, between a kept prefix and suffix (markers, pipes, spaces)."""

    text: str
    refs: frozenset[str]
    runs: list = field(default_factory=list)  # _Run | (verbatim text, path)

    def plan(self, batch: Batch) -> None:
        leaves = _flatten(_inline(self.text, self.refs), ())
        current: list[tuple[str, tuple]] = []
        for kind, text, path in leaves:
            if kind == "text":
                current.append((text, path))
                continue
            if current:
                self.runs.append(_Run(current))
                current = []
            self.runs.append((text, path))
        if current:
            self.runs.append(_Run(current))
        for run in self.runs:
            if isinstance(run, _Run):
                run.mapping.request(batch)

    def needs_second_round(self, batch: Batch) -> bool:
        pending = False
        for run in self.runs:
            if isinstance(run, _Run):
                run.result = run.mapping.resolve(batch)
                pending |= run.result is None
        return pending

    def render(self, batch: Batch) -> str:
        items: list[tuple[str, tuple]] = []
        for run in self.runs:
            if isinstance(run, _Run):
                result = run.result if run.result is not None else run.mapping.resolve(batch)
                assert result is not None
                items.extend((text, path) for text, path in result)  # type: ignore[misc]
            else:
                items.append(run)
        return _render(items)


@dataclass
class _Run:
    spans: list[tuple[str, Hashable]]
    mapping: SpanMapping = field(init=False)
    result: list | None = None

    def __post_init__(self) -> None:
        self.mapping = SpanMapping(list(self.spans))


def _split_newline(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _scan(text: str) -> list[list]:
    """Each source line as [str | _Unit, ...]; a paragraph's continuation lines are
    merged into its unit (their list is empty)."""
    raw = text.splitlines(keepends=True)
    refs = frozenset(_label(m.group(1)) for line in raw if (m := _REF_DEF.match(_QUOTE.sub("", line, count=1))))
    out: list[list] = []
    fence: tuple[str, int] | None = None
    html = False
    para: tuple[_Unit, list, str] | None = None  # (unit, its line, quote prefix)
    in_list = False
    i = 0
    if raw and _FRONT.match(raw[0].rstrip("\r\n")):
        marker = raw[0].strip()
        for j in range(1, len(raw)):
            if raw[j].strip() in (marker, "..."):
                out.extend([line] for line in raw[: j + 1])
                i = j + 1
                break
    while i < len(raw):
        line = raw[i]
        i += 1
        body, newline = _split_newline(line)
        quote = _QUOTE.match(body).group(0)
        rest = body[len(quote):]
        if fence is not None:
            out.append([line])
            close = rest.strip()
            if close and set(close) == {fence[0]} and len(close) >= fence[1]:
                fence = None
            continue
        if html:
            out.append([line])
            html = bool(rest.strip())
            continue
        if not rest.strip():
            out.append([line])
            para = None
            continue
        indent = len(rest) - len(rest.lstrip(" \t"))
        if (m := _FENCE_OPEN.match(rest)) and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            fence = (m.group(2)[0], len(m.group(2)))
            out.append([line])
            para = None
            continue
        if para is None and not in_list and (indent >= 4 or rest.startswith("\t")):
            out.append([line])  # indented code
            continue
        if para is None and _HTML_BLOCK.match(rest):
            html = True
            out.append([line])
            continue
        if _HR.match(rest) or (para is not None and _SETEXT.match(rest)) or _REF_DEF.match(rest):
            out.append([line])
            para = None
            continue
        if "|" in rest and i < len(raw) and _TABLE_DELIM.match(_QUOTE.sub("", raw[i], count=1).rstrip("\r\n")) \
                and para is None:
            i = _table(raw, i - 1, refs, out)
            continue
        if m := _ATX.match(rest):
            unit = _Unit(m.group(3), refs)
            out.append([quote + m.group(1) + m.group(2), unit, m.group(4) + newline])
            para = None
            continue
        if m := _LIST.match(rest):
            content, trail = _strip_break(m.group(5))
            unit = _Unit(content, refs)
            piece = [quote + m.group(1) + m.group(2) + m.group(3) + (m.group(4) or ""), unit, trail + newline]
            out.append(piece)
            para = (unit, piece, quote) if not trail else None
            in_list = True
            continue
        if indent == 0 and not quote:
            in_list = False
        content, trail = _strip_break(rest.lstrip(" \t"))
        if para is not None and para[2].strip() == quote.strip():
            unit, piece, _ = para
            unit.text += " " + content
            piece[-1] = trail + piece[-1][len(piece[-1].rstrip("\r\n")):]
            out.append([])
            if trail:
                para = None
            continue
        unit = _Unit(content, refs)
        piece = [quote + rest[:indent], unit, trail + newline]
        out.append(piece)
        para = (unit, piece, quote) if not trail else None
    return out


def _strip_break(text: str) -> tuple[str, str]:
    """Text without a trailing hard line break (two spaces or a backslash), and the break."""
    if text.endswith("\\") and not text.endswith("\\\\"):
        return text[:-1], "\\"
    stripped = text.rstrip(" ")
    if len(text) - len(stripped) >= 2:
        return stripped, text[len(stripped):]
    return stripped, ""


def _table(raw: list[str], start: int, refs: frozenset[str], out: list[list]) -> int:
    """Header row at ``start``, the alignment row, then rows while they have pipes."""
    i = start
    while i < len(raw):
        body, newline = _split_newline(raw[i])
        quote = _QUOTE.match(body).group(0)
        rest = body[len(quote):]
        if not rest.strip() or ("|" not in rest and i > start + 1):
            break
        if i == start + 1:
            out.append([raw[i]])
        else:
            pieces: list = [quote]
            for k, cell in enumerate(_cells(rest)):
                if k % 2:  # a pipe
                    pieces.append(cell)
                    continue
                lead = cell[: len(cell) - len(cell.lstrip())]
                trail = cell[len(cell.rstrip()):]
                if cell.strip():
                    pieces.extend([lead, _Unit(cell.strip(), refs), trail])
                else:
                    pieces.append(cell)
            pieces.append(newline)
            out.append(pieces)
        i += 1
    return i


def _cells(row: str) -> list[str]:
    """``row`` split at unescaped pipes outside code, pipes kept: [cell, "|", cell, ...]."""
    parts, current, i = [], [], 0
    while i < len(row):
        ch = row[i]
        if ch == "\\" and i + 1 < len(row):
            current.append(row[i:i + 2])
            i += 2
            continue
        if ch == "`":
            run = len(row[i:]) - len(row[i:].lstrip("`"))
            end = row.find("`" * run, i + run)
            if end >= 0:
                current.append(row[i:end + run])
                i = end + run
                continue
        if ch == "|":
            parts.extend(["".join(current), "|"])
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


# --------------------------------------------------------------------------- inline


@dataclass(eq=False)
class _Wrap:
    """Emphasis or a link around other nodes; rendered as ``open`` + children + ``close``."""

    open: str
    close: str
    children: list
    id: int = field(default_factory=itertools.count().__next__)


@dataclass(frozen=True)
class _Lit:
    text: str


def _label(text: str) -> str:
    return " ".join(text.split()).casefold()


def _inline(s: str, refs: frozenset[str]) -> list:
    """Nodes of inline Markdown: str (text to translate), _Lit (kept), _Wrap."""
    nodes: list = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            nodes.append("".join(buf))
            buf.clear()

    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        word_start = i == 0 or not (s[i - 1].isalnum() or s[i - 1] in "_-.+")
        if ch == "\\" and i + 1 < n and s[i + 1] in _ESCAPABLE:
            flush()
            nodes.append(_Lit(s[i:i + 2]))
            i += 2
        elif ch == "`":
            run = len(s[i:]) - len(s[i:].lstrip("`"))
            end = _closing_backticks(s, i + run, run)
            flush()
            nodes.append(_Lit(s[i:end + run] if end >= 0 else s[i:i + run]))
            i = end + run if end >= 0 else i + run
        elif ch == "<" and (m := _AUTOLINK.match(s, i) or _HTML_INLINE.match(s, i)):
            flush()
            nodes.append(_Lit(m.group(0)))
            i = m.end()
        elif ch == "&" and (m := _ENTITY.match(s, i)):
            flush()
            nodes.append(_Lit(m.group(0)))
            i = m.end()
        elif ch in "![" and (link := _link(s, i, refs)) is not None:
            flush()
            wrap, i = link
            nodes.append(wrap)
        elif ch in "*_~" and (emph := _emphasis(s, i, refs)) is not None:
            flush()
            wrap, i = emph
            nodes.append(wrap)
        elif word_start and (m := _URL.match(s, i) or _EMAIL.match(s, i) or _identifier(s, i)):
            flush()
            nodes.append(_Lit(m.group(0)))
            i = m.end()
        else:
            buf.append(ch)
            i += 1
    flush()
    return nodes


def _identifier(s: str, i: int) -> re.Match | None:
    m = _IDENTIFIER.match(s, i)
    return m if m is not None and m.group(0).strip("_") == m.group(0) else None


def _closing_backticks(s: str, start: int, run: int) -> int:
    i = start
    while (i := s.find("`" * run, i)) >= 0:
        after = i + run
        if (after >= len(s) or s[after] != "`") and s[i - 1] != "`":
            return i
        i = after + (len(s[after:]) - len(s[after:].lstrip("`")))
    return -1


def _matching(s: str, i: int, opener: str, closer: str) -> int:
    """Index of the bracket closing the one at ``i`` (escapes and code skipped), or -1."""
    depth, j = 0, i
    while j < len(s):
        ch = s[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "`":
            run = len(s[j:]) - len(s[j:].lstrip("`"))
            end = _closing_backticks(s, j + run, run)
            j = end + run if end >= 0 else j + run
            continue
        if ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _link(s: str, i: int, refs: frozenset[str]) -> tuple[_Wrap | _Lit, int] | None:
    """A link or image at ``i``: its text as children, destination kept in ``close``."""
    image = s[i] == "!"
    if image and not s.startswith("![", i):
        return None
    start = i + 1 if image else i
    end = _matching(s, start, "[", "]")
    if end < 0:
        return None
    label = s[start + 1:end]
    if label.startswith("^"):  # footnote reference
        return _Lit(s[i:end + 1]), end + 1
    opener = "![" if image else "["
    if end + 1 < len(s) and s[end + 1] == "(":
        close_at = _matching(s, end + 1, "(", ")")
        if close_at < 0:
            return None
        return _Wrap(opener, s[end:close_at + 1], _inline(label, refs)), close_at + 1
    if end + 1 < len(s) and s[end + 1] == "[":
        close_at = s.find("]", end + 2)
        if close_at < 0:
            return None
        ref = s[end + 2:close_at] or label  # [text][] -> the label is the reference
        if _label(ref) not in refs:
            return None
        return _Wrap(opener, "][" + ref + "]", _inline(label, refs)), close_at + 1
    if _label(label) in refs:  # shortcut [text]: keep it resolving after translation
        return _Wrap(opener, "][" + label + "]", _inline(label, refs)), end + 1
    return None


def _emphasis(s: str, i: int, refs: frozenset[str]) -> tuple[_Wrap, int] | None:
    ch = s[i]
    run = len(s[i:]) - len(s[i:].lstrip(ch))
    if (ch == "~" and run != 2) or run > 3:
        return None
    delim = ch * run
    after = i + run
    if after >= len(s) or s[after].isspace():
        return None
    if ch == "_" and i > 0 and s[i - 1].isalnum():
        return None  # snake_case is not emphasis
    j = after + 1
    while (j := s.find(delim, j)) >= 0:
        run_here = len(s[j:]) - len(s[j:].lstrip(ch))
        before_ok = not s[j - 1].isspace()
        after_ok = ch != "_" or j + run_here >= len(s) or not s[j + run_here].isalnum()
        if run_here == run and before_ok and after_ok:
            return _Wrap(delim, delim, _inline(s[after:j], refs)), j + run
        j += run_here
    return None


def _flatten(nodes: list, path: tuple) -> list[tuple[str, str, tuple]]:
    """Leaves in order: ("text" | "lit", text, path of wrappers around it)."""
    out: list[tuple[str, str, tuple]] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(("text", node, path))
        elif isinstance(node, _Lit):
            out.append(("lit", node.text, path))
        else:
            inner = _flatten(node.children, path + (node,))
            out.extend(inner or [("lit", "", path + (node,))])
    return out


def _render(items: list[tuple[str, tuple]]) -> str:
    """Text with its wrappers re-opened and closed as the path changes from item to item."""
    out: list[str] = []
    open_: tuple = ()
    for text, path in items:
        common = 0
        while common < min(len(open_), len(path)) and open_[common] is path[common]:
            common += 1
        for wrap in reversed(open_[common:]):
            out.append(wrap.close)
        for wrap in path[common:]:
            out.append(wrap.open)
        out.append(text)
        open_ = path
    for wrap in reversed(open_):
        out.append(wrap.close)
    return "".join(out)
