"""Translation page (admins): installed Argos packages, the pairs they make reachable,
installing an uploaded .argosmodel and removing one. The work is ``services.translation``;
this state checks the page rule, since those services trust their caller."""

from __future__ import annotations

import tempfile
from pathlib import Path

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import LANGUAGES, format_size
from kbportal.services import access, audit, filenames, translation, uploads
from kbportal.services.errors import KbError, NotFound
from kbportal.ui.state.session import SessionState

PAGE = "admin_translation"


def _name(code: str) -> str:
    return LANGUAGES.get(code, code)


class AdminTranslationState(SessionState):
    packages: list[dict] = []
    pair_rows: list[dict] = []
    install_open: bool = False
    installing: bool = False
    install_error: str = ""

    def _allowed(self) -> bool:
        with session_scope() as session:
            return access.can_open_page(self.principal(session), PAGE)

    def _reload(self) -> None:
        lang = self.lang or "en"
        self.packages = [{"source": p.source, "target": p.target, "pair": f"{p.source} → {p.target}",
                          "names": f"{_name(p.source)} → {_name(p.target)}", "version": p.version,
                          "size": format_size(p.size_bytes, lang), "name": p.name}
                         for p in translation.packages()]
        self.pair_rows = [{"pair": f"{p.source} → {p.target}", "names": f"{_name(p.source)} → {_name(p.target)}",
                           "via": p.via or "", "key": p.key}
                          for p in sorted(translation.pairs(), key=lambda p: (p.via is not None, p.source, p.target))]

    @rx.event
    def load(self):
        if self._allowed():
            self._reload()

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
        if not self._allowed():
            return
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
                info = translation.install_package(named)
            with session_scope() as session:
                audit.record(session, self.actor(), "translation.package_installed", "translation", info.name,
                             source=info.source, target=info.target, version=info.version)
        except KbError as exc:
            self.install_error = self.error_text(exc)
            self.installing = False
            return
        self.installing, self.install_open = False, False
        self._reload()
        yield rx.toast.success(self.tr("translation_admin.installed_toast", pair=f"{info.source} → {info.target}"))

    @rx.event
    def remove(self, source: str, target: str):
        if not self._allowed():
            return
        try:
            info = translation.remove_package(source, target)
            with session_scope() as session:
                audit.record(session, self.actor(), "translation.package_removed", "translation", info.name,
                             source=source, target=target)
        except (KbError, NotFound) as exc:
            return rx.toast.error(self.error_text(exc))
        self._reload()
        return rx.toast.success(self.tr("translation_admin.removed_toast", pair=f"{source} → {target}"))
