"""Authenticated downloads: policy check, Range (resume), ETag, Content-Disposition, audit.

kbportal streams the bytes itself by default. With ``KBPORTAL_S3_PUBLIC_ENDPOINT`` set
(S3 reachable by browsers), a checked and audited download answers 307 with a signed
S3 link instead (its response headers - file name, type - are fixed by the signature),
so large files do not pass through Python.

Files never go through Reflex's public upload folder. The browser sends the session
cookie the UI set; without a session, or without access, the answer is 404 (a
forbidden document looks exactly like a missing one).

Two kinds of file share this code (``_prepare_file``): document versions (and their
light variants and thumbnails) and co-branded PDFs (``/api/cobrand/{id}/download``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from kbportal.db import session_scope
from kbportal.i18n import best_language
from kbportal.services import auth, cobranding, repository
from kbportal.services.audit import Actor
from kbportal.services.errors import KbError, NotFound
from kbportal.storage import get_blob_store

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


@dataclass
class _Prepared:
    target: Any  # repository.DownloadTarget or cobranding.GeneratedTarget (key, version, size, name, type)
    etag: str
    headers: dict[str, str]
    status: int = 200
    first: bytes = b""
    chunks: object = None
    path: Path | None = None  # a local file holding the version (then start/end: the bytes to send)
    stat: os.stat_result | None = None
    start: int = 0
    end: int = -1


CHUNK = 1024 * 1024


def _prepare(request_headers, cookie: str | None, client_ip: str, doc_id: int, version: int | None, variant: str,
             thumbnail: bool) -> _Prepared:
    """A document version, its light variant or its thumbnail (see ``_prepare_file``)."""

    def open_target(session, principal):
        if thumbnail:
            target = repository.open_thumbnail(session, principal, doc_id, version)
            if target is None:
                raise NotFound()
        else:
            target = repository.open_download(session, principal, doc_id, version, variant)
        return target, f'"{target.etag}{"-light" if variant == "light" else ""}"'

    return _prepare_file(request_headers, cookie, client_ip, open_target,
                         None if thumbnail else repository.record_download, inline=thumbnail)


def _prepare_generated(request_headers, cookie: str | None, client_ip: str, generated_id: int) -> _Prepared:
    """A co-branded PDF of the user's organisation (see ``_prepare_file``)."""

    def open_target(session, principal):
        target = cobranding.open_generated(session, principal, generated_id)
        return target, f'"{target.etag}"'

    return _prepare_file(request_headers, cookie, client_ip, open_target, cobranding.record_download)


def _prepare_file(request_headers, cookie: str | None, client_ip: str,
                  open_target: Callable[[Any, Any], tuple[Any, str]], record: Callable[..., None] | None,
                  inline: bool = False) -> _Prepared:
    """Everything before the bytes flow, in one worker-thread call and one transaction:
    session, policy and lookup (``open_target(session, principal) -> (target, etag)``), the
    audit event (``record(session, principal, actor, target)``, once per download; None for
    thumbnails, which are shown ``inline``) and the first chunk from storage.
    Raises NotFound (404), KbError/StorageError (503)."""
    with session_scope() as session:
        who = auth.resolve_principal(session, cookie)
        if who is None:
            raise NotFound()
        principal = who.principal
        actor = Actor(user_id=who.user_id, email=who.email, ip=client_ip)
        target, etag = open_target(session, principal)
        headers = {
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=3600" if inline else "private, no-cache",
            "Content-Disposition": content_disposition("inline" if inline else "attachment", target.filename),
            "X-Content-Type-Options": "nosniff",
        }
        if request_headers.get("if-none-match") == etag:
            return _Prepared(target, etag, headers, status=304)
        byte_range = parse_range(request_headers.get("range"), target.size)
        if_range = request_headers.get("if-range")
        if byte_range is not None and if_range and if_range != etag:
            byte_range = None  # the file changed since the partial download began: send it whole
        if byte_range == "unsatisfiable":
            return _Prepared(target, etag, {**headers, "Content-Range": f"bytes */{target.size}"}, status=416)
        if byte_range is None:
            start, end, status = 0, target.size - 1, 200
        else:
            start, end, status = byte_range.start, byte_range.end, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{target.size}"
        headers["Content-Length"] = str(max(end - start + 1, 0))
        store = get_blob_store()
        link = None if inline else store.download_url(
            target.key, target.storage_version_id, filename_header=headers["Content-Disposition"],
            content_type=target.mime_type)
        if link:  # S3 reachable by browsers (KBPORTAL_S3_PUBLIC_ENDPOINT): checked here, bytes from S3
            if record is not None and start == 0:
                record(session, principal, actor, target)
            return _Prepared(target, etag, {"Location": link, "Cache-Control": "no-store"}, status=307)
        if record is not None and start == 0:
            # One audit event per download; resumed ranges of the same download are not counted again.
            record(session, principal, actor, target)
        local = store.local_path(target.key, target.storage_version_id, target.size) if target.size else None
        if local is not None:  # on this machine (filesystem store, or the S3 read cache): the server sends it
            try:
                return _Prepared(target, etag, headers, status=status, path=local, stat=os.stat(local), start=start,
                                 end=end)
            except OSError:  # evicted meanwhile: stream it
                pass
        chunks = (store.iter_bytes(target.key, target.storage_version_id, start, end, chunk_size=CHUNK)
                  if target.size else iter([b""]))
        if target.size and start == 0 and end == target.size - 1:  # the whole file: keep it for next time
            chunks = store.caching_stream(target.key, target.storage_version_id, target.size, chunks)
        # The first chunk now: when storage is down the client gets a clear 503, not a cut stream.
        first = next(chunks, b"")
        return _Prepared(target, etag, headers, status=status, first=first, chunks=chunks)


async def _serve(request: Request, thumbnail: bool) -> Response:
    try:
        doc_id = int(request.path_params["doc_id"])
        version = int(request.query_params["version"]) if request.query_params.get("version") else None
    except ValueError:
        return _error(request, 404, NotFound())
    variant = "light" if request.query_params.get("variant") == "light" else "original"
    return await _respond(request, _prepare, doc_id, version, variant, thumbnail)


async def _respond(request: Request, prepare: Callable[..., _Prepared], *args: Any) -> Response:
    """Run ``prepare(headers, cookie, client ip, *args)`` on a worker thread and send its file."""
    try:
        prepared = await run_in_threadpool(
            prepare, request.headers, request.cookies.get(SESSION_COOKIE),
            request.client.host if request.client else "", *args)
    except NotFound as exc:
        return _error(request, 404, exc)
    except KbError as exc:  # storage or database trouble: say so, nothing was counted
        return _error(request, 503, exc)
    if prepared.status in (304, 307, 416):
        return Response(status_code=prepared.status, headers=prepared.headers)
    if prepared.path is not None:
        if prepared.status == 200 and "range" not in request.headers:
            # The whole file: the server sends it from disk (ASGI pathsend), no bytes through Python.
            response = FileResponse(prepared.path, headers=prepared.headers, media_type=prepared.target.mime_type,
                                    stat_result=prepared.stat)
            del response.headers["last-modified"]  # the cache file's time, not the version's
            return response
        return StreamingResponse(_file_slice(prepared.path, prepared.start, prepared.end),
                                 status_code=prepared.status, media_type=prepared.target.mime_type,
                                 headers=prepared.headers)
    return StreamingResponse(_prepend(prepared.first, prepared.chunks), status_code=prepared.status,
                             media_type=prepared.target.mime_type, headers=prepared.headers)


def _file_slice(path: Path, start: int, end: int):
    with open(path, "rb") as src:
        src.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def _prepend(first: bytes, rest):
    yield first
    yield from rest


async def download(request: Request) -> Response:
    return await _serve(request, thumbnail=False)


async def thumbnail(request: Request) -> Response:
    return await _serve(request, thumbnail=True)


def _prepare_variant(request_headers, cookie: str | None, client_ip: str, variant_id: int) -> _Prepared:
    """A translated variant's file (translated DOCX or uploaded localized file), audited like a download."""
    from kbportal.services import variants

    def open_target(session, principal):
        target = variants.open_variant_download(session, principal, variant_id)
        return target, f'"{target.etag}"'

    return _prepare_file(request_headers, cookie, client_ip, open_target, repository.record_download)


async def variant_download(request: Request) -> Response:
    """``/api/variants/{variant_id}/download``: 404 for whoever may not download the document."""
    try:
        variant_id = int(request.path_params["variant_id"])
    except ValueError:
        return _error(request, 404, NotFound())
    return await _respond(request, _prepare_variant, variant_id)


async def generated_download(request: Request) -> Response:
    """A co-branded PDF (``/api/cobrand/{generated_id}/download``): 404 for another organisation's."""
    try:
        generated_id = int(request.path_params["generated_id"])
    except ValueError:
        return _error(request, 404, NotFound())
    return await _respond(request, _prepare_generated, generated_id)


# --------------------------------------------------------------------------- co-branding images


@dataclass(frozen=True)
class _LogoFile:
    """A stored logo in the shape ``_prepare_file`` serves (``branding.LogoTarget`` + name and etag)."""

    key: str
    storage_version_id: str
    size: int
    filename: str
    mime_type: str
    etag: str


def _prepare_logo(request_headers, cookie: str | None, client_ip: str, org_id: int) -> _Prepared:
    """An organisation's logo, shown inline to its members and staff (404 otherwise or without one)."""
    from kbportal.services import branding

    def open_target(session, principal):
        logo = branding.open_logo(session, principal, org_id)
        if logo is None:
            raise NotFound()
        ext = ".png" if logo.mime_type == "image/png" else ".jpg"
        target = _LogoFile(key=logo.key, storage_version_id=logo.storage_version_id, size=logo.size,
                           filename=f"logo{ext}", mime_type=logo.mime_type, etag=logo.sha256)
        return target, f'"{target.etag}"'

    return _prepare_file(request_headers, cookie, client_ip, open_target, None, inline=True)


async def branding_logo(request: Request) -> Response:
    """``/api/branding/{org_id}/logo``: the organisation's current logo (inline)."""
    try:
        org_id = int(request.path_params["org_id"])
    except ValueError:
        return _error(request, 404, NotFound())
    return await _respond(request, _prepare_logo, org_id)


def _preview_file(cookie: str | None, generated_id: int) -> Path:
    with session_scope() as session:
        who = auth.resolve_principal(session, cookie)
        if who is None:
            raise NotFound()
        return cobranding.preview_png(session, who.principal, generated_id)


async def generated_preview(request: Request) -> Response:
    """``/api/cobrand/{generated_id}/preview.png``: page 1 of a generated PDF (404 for another organisation's)."""
    try:
        generated_id = int(request.path_params["generated_id"])
        path = await run_in_threadpool(_preview_file, request.cookies.get(SESSION_COOKIE), generated_id)
    except ValueError:
        return _error(request, 404, NotFound())
    except NotFound as exc:
        return _error(request, 404, exc)
    except KbError as exc:
        return _error(request, 503, exc)
    etag = f'"{path.stem}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    response = FileResponse(path, headers=headers, media_type="image/png")
    del response.headers["last-modified"]
    return response


async def draft_preview(request: Request) -> Response:
    """``/api/cobrand/draft/{key}.png?t=DOC[&o=ORG]&s=...``: page 1 of a draft the same login
    session rendered (live preview of the co-brand form). 404 without the session's
    signature, so nobody reads another user's draft by guessing or copying its URL, and
    404 once the user may no longer use the template (checked on every request)."""
    key = request.path_params.get("key", "")
    signature = request.query_params.get("s", "")
    try:
        template_doc_id = int(request.query_params.get("t", ""))
        org_text = request.query_params.get("o", "")
        org_id = int(org_text) if org_text else None
    except ValueError:
        return _error(request, 404, NotFound())

    def open_draft() -> Path:
        with session_scope() as session:
            return cobranding.open_draft(session, request.cookies.get(SESSION_COOKIE), key, signature,
                                         template_doc_id, org_id)

    try:
        path = await run_in_threadpool(open_draft)
    except NotFound as exc:
        return _error(request, 404, exc)
    except KbError as exc:  # the database is unavailable
        return _error(request, 503, exc)
    headers = {"ETag": f'"{key}"', "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    try:
        stat = os.stat(path)
    except OSError:  # evicted meanwhile
        return _error(request, 404, NotFound())
    response = FileResponse(path, headers=headers, media_type="image/png", stat_result=stat)
    del response.headers["last-modified"]
    return response
