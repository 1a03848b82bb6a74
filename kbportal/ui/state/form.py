"""Form plumbing shared by the pages that edit things: inline errors and a busy flag."""

from __future__ import annotations

import reflex as rx

from kbportal.services.errors import KbError


class FormMixin(rx.State, mixin=True):
    errors: dict[str, str] = {}   # field -> message, shown under the field
    form_error: str = ""          # an error that belongs to no field, shown above the buttons
    saving: bool = False

    @rx.event
    def file_rejected(self, reasons: list[list[dict]]):
        """The browser refused the dropped file before sending anything (too large)."""
        from kbportal.services import uploads

        self.show_error(uploads.browser_refusal(reasons), inline=frozenset({"file"}))

    def clear_errors(self) -> None:
        self.errors, self.form_error = {}, ""

    def show_error(self, exc: KbError, inline: frozenset[str] | None = None) -> None:
        """Put a service error where the form shows it, in the user's language: under its
        field when the form has a slot for it (``inline``; None = every field), else on top."""
        text = exc.message(self.lang or "en")
        field = getattr(exc, "field", "")
        if field and (inline is None or field in inline):
            self.errors, self.form_error = {field: text}, ""
        else:
            self.errors, self.form_error = {}, text
        self.saving = False
