"""Settings from the environment (``KBPORTAL_*``), one typed object.

Every setting is documented in ``.env.example``; ``get_settings()`` is cached,
``reset_settings()`` exists for tests that change the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KBPORTAL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Where the SQLite DB, blobs and indexes live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in data_dir.")
    session_idle_hours: float = Field(default=12.0, gt=0, description="Idle time after which a login session ends.")
    login_max_failures: int = Field(default=5, ge=1, description="Failed logins per account before it is locked.")
    login_window_minutes: int = Field(default=10, ge=1, description="Window in which failures are counted.")
    login_lock_minutes: int = Field(default=10, ge=1, description="How long an account stays locked.")
    password_min_length: int = Field(default=10, ge=6, description="Minimum length of new passwords.")
    admin_email: str = Field(default="", description="First admin created by `kbportal init`.")
    admin_password: str = Field(default="", description="Password of the first admin.")
    default_language: str = Field(default="en", description="UI language for new users and the login page.")
    default_timezone: str = Field(default="UTC", description="Time zone for new users.")
    port: int = Field(default=3000, description="Port `kbportal run` serves on.")
    host: str = Field(default="0.0.0.0", description="Interface `kbportal run` binds.")
    secure_cookies: bool = Field(default=False, description="Mark the session cookie Secure (set behind HTTPS).")

    # Blob storage
    storage: str = Field(default="s3", pattern="^(s3|filesystem)$",
                         description="s3 (embedded SeaweedFS unless s3_endpoint is set) or filesystem.")
    s3_endpoint: str = Field(default="", description="host:port of an external S3 server; empty starts SeaweedFS.")
    s3_access_key: str = Field(default="", description="Access key for the external S3 server.")
    s3_secret_key: str = Field(default="", description="Secret key for the external S3 server.")
    s3_bucket: str = Field(default="kbportal", description="Bucket holding documents (versioning is enabled on it).")
    s3_secure: bool = Field(default=False, description="Use HTTPS to reach the S3 server.")
    s3_region: str = Field(default="us-east-1", description="Region name sent to the S3 server.")
    s3_public_endpoint: str = Field(
        default="", description="URL browsers can reach the S3 server at (e.g. https://s3.example.com). When set, "
                                "downloads are checked and audited by kbportal, then redirected to a signed link "
                                "valid for an hour, so the bytes skip kbportal. Empty: kbportal streams them.")
    max_upload_mb: int = Field(default=200, ge=1, description="Largest accepted upload, in MB.")
    blob_cache_mb: int = Field(
        default=1024, ge=0,
        description="Local read cache of stored versions (S3 storage only), in MB; 0 turns it off. "
                    "Downloads are served from it instead of streaming from S3 through Python.")

    # Background jobs
    jobs: str = Field(default="queue", pattern="^(queue|inline)$",
                      description="queue: huey queue in the data dir, run by `kbportal worker` (started by "
                                  "`kbportal run`); inline: run right after the request commits (tests, tiny installs).")
    job_workers: int = Field(default=1, ge=1, le=16, description="Threads `kbportal worker` runs jobs on.")

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'kbportal.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
