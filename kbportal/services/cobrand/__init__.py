"""Co-branding engine: partner data + template (DOCX or PDF) -> co-branded PDF.

Pure services (no database, no UI). The pieces:

* :func:`detect_fields` - which fields a template has (in a limited child process).
* :func:`validate_branding` / :func:`validate_logo` - a partner's branding profile.
* :func:`generate` - fill, convert (DOCX via a LibreOffice listener pool), stamp,
  sanitise and write the PDF; :func:`cache_key` names its result.
* :class:`ConverterPool` / :class:`OneShotConverter` - DOCX -> PDF converters.

Importing this package is cheap: the heavy modules (lxml, pypdf, Pillow) load when used.
"""

from kbportal.services.cobrand.branding import BrandingProfile, LogoFile, validate_branding, validate_logo
from kbportal.services.cobrand.converter import ConverterPool, OneShotConverter, default_pool
from kbportal.services.cobrand.engine import (
    ENGINE_VERSION,
    GeneratedInfo,
    cache_key,
    clean_values,
    default_title,
    generate,
)
from kbportal.services.cobrand.fields import (
    DEFAULT_LIMITS,
    STANDARD_FIELDS,
    Limits,
    TemplateFields,
    detect_fields,
)

__all__ = [
    "BrandingProfile", "ConverterPool", "DEFAULT_LIMITS", "ENGINE_VERSION", "GeneratedInfo", "Limits", "LogoFile",
    "OneShotConverter", "STANDARD_FIELDS", "TemplateFields", "cache_key", "clean_values", "default_pool",
    "default_title", "detect_fields", "generate", "validate_branding", "validate_logo",
]
