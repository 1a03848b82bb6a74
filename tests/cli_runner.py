"""Running `kbportal` commands in-process for the CLI tests: a data dir copied from a
migrated template database, fresh settings and engines around every command (as a
new process would have), and the JSON output parsed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from factories import DB_FILE, Template
from kbportal import db
from kbportal.cli import app
from kbportal.config import reset_settings
from kbportal.storage import reset_blob_store


def reset() -> None:
    """Forget cached settings, engines and the blob store (the next command starts afresh)."""
    db.get_engine().dispose()
    reset_settings()
    db.reset_engines()
    reset_blob_store()


def data_dir_from(template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """For an autouse fixture: only this test's settings (filesystem storage, the template's
    database copied into a fresh data dir), the working directory in the test's temp dir."""
    for name in list(os.environ):
        if name.startswith("KBPORTAL_"):
            monkeypatch.delenv(name)
    path = tmp_path / "data"
    path.mkdir()
    shutil.copyfile(template.path, path / DB_FILE)
    monkeypatch.setenv("KBPORTAL_DATA_DIR", str(path))
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    monkeypatch.chdir(tmp_path)
    reset()
    yield path
    reset()


def kb(*args: object) -> Result:
    """Run one command; exceptions other than its exit are the test's failure."""
    reset()
    result = CliRunner().invoke(app, [str(a) for a in args])
    reset()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def kb_json(*args: object):
    """Run one command with --json; it must succeed."""
    result = kb(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)
