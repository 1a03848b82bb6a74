"""Oversized uploads are refused while they arrive (``api.upload_limit``), in front of an
endpoint that reads the multipart body the way Reflex's upload endpoint does."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from kbportal.api.upload_limit import UploadSizeLimit
from kbportal.config import reset_settings

MB = 1024 * 1024


@pytest.fixture
def endpoint(monkeypatch):
    """An upload endpoint behind the limit (1 MB); records what it got to read in full."""
    monkeypatch.setenv("KBPORTAL_MAX_UPLOAD_MB", "1")
    reset_settings()
    finished: list[int] = []

    async def upload(request: Request) -> JSONResponse:
        form = await request.form()
        size = len(await form["files"].read())
        finished.append(size)
        return JSONResponse({"size": size})

    app = Starlette(routes=[Route("/_upload", upload, methods=["POST"]), Route("/api/other", upload, methods=["POST"])])
    yield TestClient(UploadSizeLimit(app)), finished
    reset_settings()


def multipart(size: int) -> tuple[bytes, str]:
    boundary = "kbportal-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + b"x" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_upload_under_the_limit_reaches_the_endpoint(endpoint):
    client, finished = endpoint
    body, content_type = multipart(MB // 2)

    answer = client.post("/_upload", content=body, headers={"content-type": content_type})

    assert answer.status_code == 200 and answer.json() == {"size": MB // 2} and finished == [MB // 2]


def test_a_declared_length_over_the_limit_is_refused_before_the_endpoint_reads_anything(endpoint):
    client, finished = endpoint
    body, content_type = multipart(3 * MB)

    answer = client.post("/_upload", content=body, headers={"content-type": content_type, "accept-language": "de"})

    assert answer.status_code == 413 and finished == []
    assert answer.json()["detail"] == "Die Datei ist zu groß: Die Grenze liegt bei 1 MB."


def test_a_body_growing_past_the_limit_without_a_length_is_cut_off_with_413(endpoint):
    client, finished = endpoint
    body, content_type = multipart(5 * MB)

    def chunks():  # no Content-Length: the body announces nothing
        for start in range(0, len(body), 256 * 1024):
            yield body[start:start + 256 * 1024]

    answer = client.post("/_upload", content=chunks(), headers={"content-type": content_type})

    assert answer.status_code == 413 and finished == []
    assert "1 MB" in answer.json()["detail"]


def test_other_routes_are_not_limited(endpoint):
    client, finished = endpoint
    body, content_type = multipart(2 * MB)

    assert client.post("/api/other", content=body, headers={"content-type": content_type}).status_code == 200
