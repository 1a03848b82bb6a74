"""``tr(key)``: a UI string of the current language, as a reactive Var.

Keys are checked against the English catalogue when the page is compiled, so a
typo fails the build instead of showing a raw key.
"""

from __future__ import annotations

from kbportal.i18n import REFERENCE, catalogue
from kbportal.ui.state.session import SessionState

_REFERENCE_KEYS = frozenset(catalogue(REFERENCE))


def tr(key: str):
    if key not in _REFERENCE_KEYS:
        raise KeyError(f"UI string {key!r} is missing from locales/en.json")
    return SessionState.t[key]
