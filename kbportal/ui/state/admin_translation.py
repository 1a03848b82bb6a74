"""Translation page (admins): installed Argos packages, the pairs they make reachable,
installing an uploaded .argosmodel and removing one (``services.language_packages``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import LANGUAGES, format_size
from kbportal.services import filenames, language_packages, uploads
from kbportal.services.errors import KbError, NotFound
from kbportal.ui.state.session import SessionState

def _name(code: str) -> str:
    return LANGUAGES.get(code, code)


class AdminTranslationState(SessionState):
    packages: list[dict] = []
    pair_rows: list[dict] = []
    install_open: bool = False
    installing: bool = False
    install_error: str = ""

    def _reload(self) -> None:
        """Read the listing (NotFound for anyone but admins: then nothing is shown)."""
        with session_scope() as session:
            installed, pairs = language_packages.listing(self.principal(session))
        lang = self.lang or "en"
        self.packages = [{"source": p.source, "target": p.target, "pair": f"{p.source} → {p.target}",
                          "names": f"{_name(p.source)} → {_name(p.target)}", "version": p.version,
                          "size": format_size(p.size_bytes, lang), "name": p.name}
                         for p in installed]
        self.pair_rows = [{"pair": f"{p.source} → {p.target}", "names": f"{_name(p.source)} → {_name(p.target)}",
                           "via": p.via or "", "key": p.key}
                          for p in pairs]

    @rx.event
    def load(self):
        try:
            self._reload()
        except NotFound:
            self.packages, self.pair_rows = [], []

    @rx.event
    def set_install_open(self, value: bool):
        self.install_open, self.install_error = value, ""

    @rx.event
    def file_rejected(self, reasons: list[list[dict]]):
        self.install_error = uploads.browser_refusal(reasons).message(self.lang or "en")

    @rx.event
    async def install(self, files: list[rx.UploadFile]):
        """Install the uploaded .argosmodel (it replaces the pair's package)."""
        self.install_error = ""
        if not files:
            self.install_error = self.tr("upload.choose_file")
            return
        self.installing = True
        yield
        try:
            path = await uploads.receive(files[0])
            with uploads.cleanup(path), tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                named = Path(tmp) / filenames.sanitize(files[0].name or "package.argosmodel")
                path.rename(named)  # errors name the file the admin chose
                with session_scope() as session:
                    info = language_packages.install(session, self.principal(session), self.actor(), named)
        except KbError as exc:
            self.install_error = self.error_text(exc)
            self.installing = False
            return
        self.installing, self.install_open = False, False
        self._reload()
        yield rx.toast.success(self.tr("translation_admin.installed_toast", pair=f"{info.source} → {info.target}"))

    @rx.event
    def remove(self, source: str, target: str):
        try:
            with session_scope() as session:
                language_packages.remove(session, self.principal(session), self.actor(), source, target)
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self._reload()
        return rx.toast.success(self.tr("translation_admin.removed_toast", pair=f"{source} → {target}"))
