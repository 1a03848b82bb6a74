"""Translation packages as the admin page manages them: the policy check and the audit
trail around ``services.translation``'s package store (which trusts its caller: the CLI
runs as the operator of the machine)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from kbportal.services import access, audit, translation
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound

PAGE = "admin_translation"


def _require_admin(principal: Principal) -> None:
    if not access.can_open_page(principal, PAGE):
        raise NotFound()


def listing(principal: Principal) -> tuple[list[translation.PackageInfo], list[translation.LanguagePair]]:
    """Installed packages, and every pair they make reachable (direct first)."""
    _require_admin(principal)
    pairs = sorted(translation.pairs(), key=lambda p: (p.via is not None, p.source, p.target))
    return translation.packages(), pairs


def install(session: Session, principal: Principal, actor: Actor, path: Path) -> translation.PackageInfo:
    """Install an uploaded .argosmodel (it replaces the pair's package); audited."""
    _require_admin(principal)
    info = translation.install_package(path)
    audit.record(session, actor, "translation.package_installed", "translation", info.name,
                 source=info.source, target=info.target, version=info.version)
    return info


def remove(session: Session, principal: Principal, actor: Actor, source: str, target: str) -> translation.PackageInfo:
    """Remove the package of one pair; audited."""
    _require_admin(principal)
    info = translation.remove_package(source, target)
    audit.record(session, actor, "translation.package_removed", "translation", info.name, source=source,
                 target=target)
    return info
