"""Authenticated downloads: policy check, Range (resume), ETag, Content-Disposition, audit.

Files never go through Reflex's public upload folder. The browser sends the session
cookie the UI set; without a session, or without access, the answer is 404 (a
forbidden document looks exactly like a missing one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from kbportal.db import session_scope
from kbportal.i18n import best_language
from kbportal.services import access, auth, repository
from kbportal.services.audit import Actor
from kbportal.services.errors import KbError, NotFound
from kbportal.storage import StorageError, get_blob_store

SESSION_COOKIE = "kbp_session"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive


def parse_range(header: str | None, size: int) -> ByteRange | None | str:
    """None: whole file. ByteRange: one satisfiable range. "unsatisfiable": answer 416.

    Several ranges, or a malformed header, are served as the whole file (RFC 9110 allows it).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return ByteRange(max(size - length, 0), size - 1) if size else "unsatisfiable"
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return ByteRange(start, min(end, size - 1))


def content_disposition(kind: str, filename: str) -> str:
    """``attachment`` with an ASCII fallback and the exact UTF-8 name (RFC 6266/5987)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "'").replace("\\", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _error(request: Request, status: int, exc: KbError) -> JSONResponse:
    lang = best_language(request.headers.get("accept-language"))
    return JSONResponse({"error": exc.code, "message": exc.message(lang)}, status_code=status)


def _resolve(token: str | None, doc_id: int, version: int | None, variant: str, thumbnail: bool):
    with session_scope() as session:
        user = auth.resolve_session(session, token)
        if user is None:
            raise NotFound()
        principal = access.principal_for(session, user)
        if thumbnail:
            target = repository.open_thumbnail(session, principal, doc_id, version)
            if target is None:
                raise NotFound()
        else:
            target = repository.open_download(session, principal, doc_id, version, variant)
        return user, principal, target


def _audit(principal, actor: Actor, target) -> None:
    with session_scope() as session:
        repository.record_download(session, principal, actor, target)


async def _serve(request: Request, thumbnail: bool) -> Response:
    try:
        doc_id = int(request.path_params["doc_id"])
        version = int(request.query_params["version"]) if request.query_params.get("version") else None
    except ValueError:
        return _error(request, 404, NotFound())
    variant = "light" if request.query_params.get("variant") == "light" else "original"
    try:
        user, principal, target = await run_in_threadpool(
            _resolve, request.cookies.get(SESSION_COOKIE), doc_id, version, variant, thumbnail)
    except NotFound as exc:
        return _error(request, 404, exc)
    except KbError as exc:
        return _error(request, 503, exc)

    etag = f'"{target.etag}{"-light" if variant == "light" else ""}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600" if thumbnail else "private, no-cache",
        "Content-Disposition": content_disposition("inline" if thumbnail else "attachment", target.filename),
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    byte_range = parse_range(request.headers.get("range"), target.size)
    if_range = request.headers.get("if-range")
    if byte_range is not None and if_range and if_range != etag:
        byte_range = None  # the file changed since the partial download began: send it whole
    if byte_range == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{target.size}"})

    store = get_blob_store()
    if byte_range is None:
        start, end, status = 0, target.size - 1, 200
    else:
        start, end, status = byte_range.start, byte_range.end, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{target.size}"
    headers["Content-Length"] = str(max(end - start + 1, 0))
    chunks = store.iter_bytes(target.key, target.storage_version_id, start, end) if target.size else iter([b""])
    try:
        # Pull the first chunk now: when storage is down the client gets a clear 503, not a cut stream.
        first = await run_in_threadpool(next, chunks, b"")
    except StorageError as exc:
        return _error(request, 503, exc)
    if not thumbnail and start == 0:
        # One audit event per download; resumed ranges of the same download are not counted again.
        actor = Actor(user_id=user.id, email=user.email, ip=request.client.host if request.client else "")
        await run_in_threadpool(_audit, principal, actor, target)
    return StreamingResponse(_prepend(first, chunks), status_code=status, media_type=target.mime_type,
                             headers=headers)


def _prepend(first: bytes, rest):
    yield first
    yield from rest


async def download(request: Request) -> Response:
    return await _serve(request, thumbnail=False)


async def thumbnail(request: Request) -> Response:
    return await _serve(request, thumbnail=True)
