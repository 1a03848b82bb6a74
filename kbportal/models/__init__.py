"""All tables; importing this package registers them on ``SQLModel.metadata``."""

from kbportal.models.audience import Audience, AudienceOrg, AudienceRegion, Status
from kbportal.models.audit import AuditEvent
from kbportal.models.cobrand import GeneratedPdf, OrgBranding
from kbportal.models.document import DocType, Document, DocumentTag, DocumentVersion, VersionState
from kbportal.models.job import Job, JobState
from kbportal.models.search import SearchIndexState, SearchLog, SearchOutbox
from kbportal.models.org import Organisation
from kbportal.models.reference import Region, Tier
from kbportal.models.translation import TranslationSegment
from kbportal.models.variant import DocumentVariant, VariantKind, VariantSegmentEdit, VariantState
from kbportal.models.user import LoginAttempt, LoginLock, LoginSession, Role, User

__all__ = [
    "Audience", "AudienceOrg", "AudienceRegion", "AuditEvent", "DocType", "Document", "DocumentTag", "DocumentVariant", "DocumentVersion", "GeneratedPdf", "Job", "JobState", "SearchIndexState", "SearchLog", "SearchOutbox", "TranslationSegment", "VersionState", "LoginAttempt", "LoginLock",
    "LoginSession", "OrgBranding", "Organisation", "Region", "Role", "Status", "Tier", "User", "VariantKind", "VariantSegmentEdit", "VariantState",
]
