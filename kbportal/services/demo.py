"""Demo data: partner organisations across every region and tier, and a user of every role;
each organisation with a complete branding profile and logo (``demo_branding``) and the
demo collateral and co-brand templates (``demo_documents``).

``kbportal seed --demo`` calls :func:`seed_demo`. Seeding is idempotent: organisations
are matched by name and users by email, existing rows are left exactly as they are,
so running it again changes nothing. Every demo account shares :data:`DEMO_PASSWORD`
(the README and the tests use it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from kbportal.models import Organisation, Role, User
from kbportal.services import orgs, users
from kbportal.services.access import Principal
from kbportal.services.audit import Actor

# The operator acting from the command line: an admin that is no user row.
SYSTEM = Principal(user_id=None, role=Role.ADMIN)
CLI_ACTOR = Actor(email="cli", ip="cli")

DEMO_PASSWORD = "demo-password-1"


@dataclass(frozen=True)
class DemoOrg:
    name: str
    region: str
    tier: str


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    org: str | None  # organisation name; None for vendor staff
    ui_language: str = "en"
    time_zone: str = "UTC"


# Every region (APAC, EMEA, NA, LATAM) and every tier (registered < silver < gold < platinum).
DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("PT Nusantara Solusi Digital", "APAC", "gold"),       # Indonesian reseller
    DemoOrg("Sakura Systems K.K.", "APAC", "platinum"),           # Japanese partner
    DemoOrg("Dragon Gate Technology Ltd", "APAC", "silver"),      # Chinese integrator
    DemoOrg("Rheinland Distribution GmbH", "EMEA", "platinum"),   # German distributor
    DemoOrg("Lumière Conseil SAS", "EMEA", "registered"),         # French consultancy
    DemoOrg("Nordic Channel AB", "EMEA", "silver"),               # Swedish reseller
    DemoOrg("Great Lakes IT Solutions Inc.", "NA", "gold"),       # US reseller
    DemoOrg("Horizonte Tecnologia Ltda.", "LATAM", "silver"),     # Brazilian partner
    DemoOrg("Andes Integradores S.A.", "LATAM", "registered"),    # Chilean integrator
)

DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin@example.com", "Alex Admin", Role.ADMIN, None, "en", "UTC"),
    DemoUser("marketing@example.com", "Morgan Marketing", Role.MARKETING, None, "en", "Europe/London"),
    DemoUser("budi@nusantara.example.com", "Budi Santoso", Role.PARTNER_ADMIN, "PT Nusantara Solusi Digital",
             "id", "Asia/Jakarta"),
    DemoUser("siti@nusantara.example.com", "Siti Rahayu", Role.PARTNER_USER, "PT Nusantara Solusi Digital",
             "id", "Asia/Jakarta"),
    DemoUser("yuki@sakura.example.com", "Yuki Tanaka", Role.PARTNER_ADMIN, "Sakura Systems K.K.",
             "ja", "Asia/Tokyo"),
    DemoUser("wei@dragongate.example.com", "Wang Wei", Role.PARTNER_USER, "Dragon Gate Technology Ltd",
             "zh", "Asia/Shanghai"),
    DemoUser("klaus@rheinland.example.com", "Klaus Becker", Role.PARTNER_ADMIN, "Rheinland Distribution GmbH",
             "de", "Europe/Berlin"),
    DemoUser("anna@rheinland.example.com", "Anna Schmidt", Role.PARTNER_USER, "Rheinland Distribution GmbH",
             "de", "Europe/Berlin"),
    DemoUser("camille@lumiere.example.com", "Camille Dubois", Role.PARTNER_USER, "Lumière Conseil SAS",
             "fr", "Europe/Paris"),
    DemoUser("lars@nordic.example.com", "Lars Nilsson", Role.PARTNER_USER, "Nordic Channel AB",
             "en", "Europe/Stockholm"),
    DemoUser("mike@greatlakes.example.com", "Mike Johnson", Role.PARTNER_ADMIN, "Great Lakes IT Solutions Inc.",
             "en", "America/Chicago"),
    DemoUser("joao@horizonte.example.com", "João Silva", Role.PARTNER_ADMIN, "Horizonte Tecnologia Ltda.",
             "pt", "America/Sao_Paulo"),
    DemoUser("sofia@andes.example.com", "Sofía Rojas", Role.PARTNER_USER, "Andes Integradores S.A.",
             "es", "America/Santiago"),
)


@dataclass(frozen=True)
class Credential:
    """One demo login as the seeder reports it."""

    email: str
    password: str
    name: str
    role: str
    org: str
    ui_language: str
    time_zone: str


@dataclass(frozen=True)
class SeedResult:
    orgs_created: int
    users_created: int
    credentials: list[Credential]
    documents_created: int = 0
    profiles_created: int = 0  # branding profiles (with a logo) saved for demo organisations


def _org_by_name(session: Session, name: str) -> Organisation | None:
    return session.exec(select(Organisation).where(func.lower(Organisation.name) == name.lower())).first()


def seed_demo(session: Session, principal: Principal = SYSTEM, actor: Actor = CLI_ACTOR,
              with_documents: bool = True, with_branding: bool = True) -> SeedResult:
    """Create whatever demo organisations and users are missing (through the services,
    so validation and audit apply); return the demo credentials either way.

    ``with_branding``: give every demo organisation without a branding profile its demo
    profile and logo (``demo_branding``); ``with_documents``: upload the demo collateral
    and the co-brand templates (``demo_documents``)."""
    orgs_created = users_created = 0
    org_ids: dict[str, int] = {}
    for spec in DEMO_ORGS:
        org = _org_by_name(session, spec.name)
        if org is None:
            org = orgs.create_org(session, principal, actor, spec.name, spec.region, spec.tier)
            orgs_created += 1
        assert org.id is not None
        org_ids[spec.name] = org.id

    credentials: list[Credential] = []
    for spec in DEMO_USERS:
        user = session.exec(select(User).where(User.email == spec.email)).first()
        if user is None:
            user = users.create_user(
                session, principal, actor, email=spec.email, name=spec.name, role=spec.role.value,
                password=DEMO_PASSWORD, org_id=org_ids[spec.org] if spec.org else None,
                ui_language=spec.ui_language, time_zone=spec.time_zone,
            )
            users_created += 1
        credentials.append(Credential(email=user.email, password=DEMO_PASSWORD, name=user.name, role=user.role,
                                      org=spec.org or "", ui_language=user.ui_language, time_zone=user.time_zone))
    from kbportal.services.demo_branding import seed_branding
    from kbportal.services.demo_documents import seed_documents

    session.flush()
    profiles_created = seed_branding(session, principal, actor, org_ids) if with_branding else 0
    documents_created = seed_documents(session, org_ids) if with_documents else 0
    return SeedResult(orgs_created=orgs_created, users_created=users_created, credentials=credentials,
                      documents_created=documents_created, profiles_created=profiles_created)
