"""HTTP routes beside the Reflex app (mounted with ``api_transformer``).

Authenticated routes read the session cookie the UI sets and go through the same
services and access policy as the pages.
"""

from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kbportal.db import current_revision, get_engine, head_revision


async def health(_request: Request) -> JSONResponse:
    """Liveness and readiness: the database answers and is migrated."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision()
        ok = revision == head_revision()
        return JSONResponse({"status": "ok" if ok else "migrations_pending", "db_revision": revision},
                            status_code=200 if ok else 503)
    except Exception as exc:  # report, do not crash
        return JSONResponse({"status": "error", "detail": type(exc).__name__}, status_code=503)


def build_api() -> Starlette:
    from kbportal.api import downloads

    return Starlette(routes=[
        Route("/api/health", health),
        Route("/api/documents/{doc_id:int}/download", downloads.download),
        Route("/api/documents/{doc_id:int}/thumbnail", downloads.thumbnail),
        Route("/api/variants/{variant_id:int}/download", downloads.variant_download),
        Route("/api/cobrand/{generated_id:int}/download", downloads.generated_download),
        Route("/api/cobrand/{generated_id:int}/preview.png", downloads.generated_preview),
        Route("/api/cobrand/draft/{key}.png", downloads.draft_preview),
        Route("/api/branding/{org_id:int}/logo", downloads.branding_logo),
    ])
