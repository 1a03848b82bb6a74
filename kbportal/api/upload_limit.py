"""Oversized uploads are refused while they arrive, not after.

Reflex's upload endpoint (``/_upload``) reads the whole multipart body into temporary
files before the page's handler runs, so the server's own limit
(``KBPORTAL_MAX_UPLOAD_MB``) would only apply once a too-large body had filled the disk.
The studio's drop zone refuses such a file in the browser already; this middleware is
the server's side of that promise for any other client: a declared ``Content-Length``
over the limit answers 413 at once, and a body that grows past it (chunked, or a false
length) is cut off there (the endpoint sees a disconnect; its temporary files are
removed) and answers 413. The answer is the same sentence the studio shows, in the
language of the request's ``Accept-Language``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kbportal.config import get_settings
from kbportal.i18n import best_language, translate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

UPLOAD_PATH = "/_upload"
MULTIPART_SLACK = 1024 * 1024  # form boundaries and headers around the file


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


class UploadSizeLimit:
    def __init__(self, app: ASGIApp, path: str = UPLOAD_PATH) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or not scope.get("path", "").startswith(
                self.path):
            await self.app(scope, receive, send)
            return
        max_mb = get_settings().max_upload_mb
        limit = max_mb * 1024 * 1024 + MULTIPART_SLACK
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, max_mb)
            return

        received = 0
        cut_off = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body") or b"")
                if received > limit:
                    cut_off = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut_off and not started:
                return  # our 413 answers instead of whatever the endpoint makes of the disconnect
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not cut_off:
                raise
        if cut_off and not started:
            await self._refuse(scope, send, max_mb)

    @staticmethod
    async def _refuse(scope: Scope, send, max_mb: int) -> None:
        lang = best_language(_header(scope, b"accept-language"))
        body = json.dumps({"detail": translate(lang, "upload.too_large", max_mb=max_mb)},
                          ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
