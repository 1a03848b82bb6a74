"""Errors a user can hit. Each carries a catalogue key (``locales/*.json``) and
parameters, so the UI and the CLI can say it in the user's language."""

from __future__ import annotations


class KbError(Exception):
    """Base: ``code`` is a catalogue key, ``params`` fill its placeholders."""

    code = "error.generic"
    # True when trying again later may succeed (an outage), not when the input is bad.
    transient = False

    def __init__(self, code: str | None = None, /, **params: object) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(self.code)

    def message(self, lang: str = "en") -> str:
        from kbportal.i18n import translate

        return translate(lang, self.code, **self.params)

    def __str__(self) -> str:
        return self.message("en")


class NotFound(KbError):
    """Missing or forbidden: forbidden objects answer exactly like missing ones."""

    code = "error.not_found"


class ValidationFailed(KbError):
    """Input rejected; ``field`` names the form field the message belongs to."""

    code = "error.invalid"

    def __init__(self, code: str, /, field: str = "", **params: object) -> None:
        super().__init__(code, **params)
        self.field = field


class AuthFailed(KbError):
    code = "auth.invalid_credentials"
