"""The one settings object.

Values come, highest priority first, from: keyword arguments (tests), ``PRIVACYOPS_*``
environment variables, a TOML file named by ``PRIVACYOPS_CONFIG_FILE`` (or ``privacyops.toml``
in the working directory when present), then the defaults below. The embedded default needs
none of them: a SQLite file and a generated master key under ``data_dir``, and the seed policy
shipped inside the package.

Every field is documented in ``docs/settings.md``, generated from the fields' descriptions by
``scripts/reference_pages.py``; ``tests/test_docs.py`` fails when it drifts.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from privacyops.errors import SettingsInvalid

__all__ = ["Settings", "effective_settings", "get_settings", "load_settings", "reset_settings"]


#: The banner categories a setting may name ("necessary" is never refusable).
ConsentCategoryName = Literal["analytics", "advertising", "widgets"]

#: A list setting: a TOML array, or in the environment a JSON array or comma-separated values
#: (``a,b``), as docs/settings.md shows them.
StrList = Annotated[list[str], NoDecode]
CategoryList = Annotated[list[ConsentCategoryName], NoDecode]


def _split_list(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("expects comma-separated values or a JSON array") from None
    return [item.strip() for item in text.split(",") if item.strip()]


def _gpc_default() -> list[ConsentCategoryName]:
    return ["advertising"]


def _toml_file() -> Path | None:
    named = os.environ.get("PRIVACYOPS_CONFIG_FILE")
    if named:
        return Path(named)
    local = Path("privacyops.toml")
    return local if local.is_file() else None


class Settings(BaseSettings):
    """All configuration of privacyops. See ``docs/settings.md`` for each field."""

    model_config = SettingsConfigDict(
        env_prefix="PRIVACYOPS_", extra="forbid", validate_default=True
    )

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Field(
        default=Path("data"), description="Folder for the SQLite file, key file and exports."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/privacyops.sqlite. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes wrapping every data subject's key. When unset a key "
        "file is generated in data_dir (back it up: without it nothing decrypts).",
    )
    master_key_file: Path | None = Field(
        default=None, description="Path of the master key file; default <data_dir>/master.key."
    )
    key_store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store of subjects' data keys, kept apart from the "
        "registry so its backups hold no key; default <database>.keys.sqlite beside a SQLite "
        "file, else the database's own subject_keys table.",
    )

    # --- policy --------------------------------------------------------------------------
    policy_path: Path | None = Field(
        default=None,
        description="A manifest file or folder of versions; default the embedded seed policy.",
    )

    # --- web -----------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public URL used in e-mails and links."
    )
    site_origins: StrList = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Origins allowed to call the public consent API (CORS).",
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body accepted."
    )
    request_body_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A request's body must arrive within this many seconds of its headers; a "
        "slower client (slowloris) gets 408 and the connection is closed.",
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, ge=60, description="A staff login lasts at most this long."
    )
    session_idle_seconds: int = Field(
        default=3600, ge=60, description="A staff session ends after this long without use."
    )
    form_token_ttl_seconds: int = Field(
        default=2 * 3600, ge=60, description="Lifetime of a form's CSRF token."
    )
    login_attempts_per_minute: int = Field(
        default=10, ge=1, description="Login attempts allowed per client address per minute."
    )
    public_form_posts_per_minute: int = Field(
        default=20,
        ge=1,
        description="Privacy-center form submissions allowed per client address per minute.",
    )
    initial_admin_email: str = Field(
        default="admin@localhost",
        description="E-mail of the admin `serve` creates on first start (when no staff exist).",
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Serve Prometheus metrics at /metrics (to admins and metrics:read tokens).",
    )

    # --- mail ----------------------------------------------------------------------------
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for outgoing mail.")
    smtp_port: int = Field(default=8025, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if needed.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS.")
    mail_from: str = Field(default="privacy@localhost", description="Sender of outgoing mail.")
    mail_transport: Literal["smtp", "outbox"] | None = Field(
        default=None,
        description="Where mail goes: 'smtp' (the smtp_* server) or 'outbox' (kept, sealed, in "
        "the database; staff read it at /dashboard/outbox). Unset: smtp when smtp_host or "
        "smtp_port is set, else the outbox.",
    )

    # --- rights --------------------------------------------------------------------------
    clock_start: Literal["receipt", "verification"] = Field(
        default="receipt",
        description="When the one-month clock of GDPR Art. 12(3) starts.",
    )
    otp_ttl_seconds: int = Field(default=900, ge=60, description="Lifetime of one-time codes.")
    otp_max_attempts: int = Field(default=5, ge=1, description="Wrong codes before lock-out.")
    second_factor: Literal["none", "proportionate", "phone_code", "staff_review"] = Field(
        default="proportionate",
        description="The policy's second trusted ID, required before exports and erasures: "
        "proportionate (a phone code when the registry holds the person's phone, else a "
        "question about their own records, staff review only when neither exists), "
        "phone_code, staff_review (an ID document for every one) or none.",
    )
    identity_document_max_bytes: int = Field(
        default=5_000_000,
        ge=10_000,
        le=20_000_000,
        description="Largest identity document a person may upload for staff review (PDF, "
        "JPEG or PNG).",
    )
    export_link_ttl_seconds: int = Field(
        default=7 * 24 * 3600, ge=60, description="Lifetime of an export download link."
    )
    export_pdf: bool = Field(
        default=True,
        description="Access answers as an AES-256 password-protected PDF (JSON and CSV "
        "attached); false: a ZIP of JSON and CSV.",
    )
    otp_max_sends: int = Field(
        default=3, ge=1, description="One-time codes sent per request and factor, at most."
    )
    phone_sender: str = Field(
        default="file",
        description="How texts to phones are sent: 'file' (<data_dir>/phone-outbox.jsonl, for "
        "development) or 'package.module:ClassName' of a PhoneSender.",
    )
    rights_submit_per_hour: int = Field(
        default=20, ge=1, description="Requests one client address may submit per hour."
    )
    rights_failures_per_hour: int = Field(
        default=20,
        ge=1,
        description="Wrong codes or tokens one client address may send per hour.",
    )
    rights_lease_seconds: int = Field(
        default=300,
        ge=1,
        description="How long a worker holds a request between steps; after a crash another "
        "worker resumes it once this has passed.",
    )
    rights_repeat_threshold: int = Field(
        default=3,
        ge=2,
        description="Requests of one type by one person within a year that flag it as "
        "repeated (GDPR Art. 12(5)) for a staff decision on a fee or refusal.",
    )

    # --- consent -------------------------------------------------------------------------
    consent_lifetime_days: int = Field(
        default=182, ge=1, le=395, description="Age after which the banner asks again (≤13 m)."
    )
    gpc_refuses: CategoryList = Field(
        default_factory=_gpc_default,
        description="Consent categories a Global Privacy Control signal refuses.",
    )
    consent_policy_url: str | None = Field(
        default=None,
        description="Privacy-policy link shown in the consent banner; default <base_url>/privacy.",
    )
    consent_rate_limit: int = Field(
        default=30,
        ge=1,
        description="Consent choices accepted per client IP address per minute (then 429).",
    )
    consent_max_body_bytes: int = Field(
        default=8192,
        ge=512,
        le=1_000_000,
        description="Largest body the public consent endpoint accepts (then 413).",
    )

    # --- intake --------------------------------------------------------------------------
    intake_public_channels: StrList = Field(
        default_factory=lambda: ["web_form", "chatbot"],
        description="Channels anyone may submit to over HTTP without logging in; the others "
        "need a staff login.",
    )
    intake_max_payload_bytes: int = Field(
        default=65_536, ge=1024, description="Largest accepted intake submission (JSON bytes)."
    )
    intake_rate_limit_per_minute: int = Field(
        default=20, ge=1, description="Public intake submissions accepted per client IP a minute."
    )
    intake_phone_region: str | None = Field(
        default=None,
        description="ISO country whose national phone format intake accepts (e.g. NO); unset: "
        "numbers must be international (+...).",
    )
    intake_group_commit: bool = Field(
        default=True,
        description="Write concurrent HTTP submissions that wait for the database in one shared "
        "transaction (each still answered only after its transaction committed).",
    )
    intake_batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Rows per transaction of a bulk import."
    )

    # --- background work -----------------------------------------------------------------
    runner_enabled: bool = Field(
        default=True,
        description="Run the background jobs (request steps, the daily retention sweep, "
        "reminders, clean-ups) in privacyops serve's own scheduler; false when Celery workers "
        "run them.",
    )
    celery_broker_url: str | None = Field(
        default=None,
        description="Redis URL of the Celery app (privacyops.jobs.celery_app): its workers and "
        "beat run every background job of privacyops.jobs.registry; with the runner off, the web "
        "tier hands each verified request to a worker at once.",
    )
    celery_queue: str = Field(
        default="celery",
        min_length=1,
        max_length=100,
        description="The Celery queue the web tier and the beat send work to and the workers "
        "take it from; give each deployment sharing one Redis a queue of its own.",
    )
    retention_sweep_hour: int = Field(
        default=3, ge=0, le=23, description="UTC hour of the daily retention sweep."
    )

    # --- connectors ----------------------------------------------------------------------
    connectors_dir: Path | None = Field(
        default=None,
        description="Folder of dataset (SQL) and connector (HTTP, manual, e-mail) YAML files.",
    )
    connector_hash_salt: SecretStr | None = Field(
        default=None,
        description="Key of the 'hash' masking strategy of SQL datasets (keep it secret).",
    )
    connector_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of an HTTP connector call that failed."
    )
    notice_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 signature of Art. 19 notice webhooks.",
    )
    opendsr_secret: SecretStr | None = Field(
        default=None,
        description="When set, OpenDSR answers and callbacks are signed with HMAC-SHA256 under "
        "this shared key instead of the processor's RSA key and X.509 certificate.",
    )
    notice_reminder_days: int = Field(
        default=7,
        ge=1,
        description="Days before an unanswered notice or processor e-mail is sent again.",
    )
    connector_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time an HTTP connector call may take."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level."
    )

    @field_validator("site_origins", "gpc_refuses", "intake_public_channels", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _toml_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'privacyops.sqlite'}"

    @property
    def effective_mail_transport(self) -> Literal["smtp", "outbox"]:
        """Where mail goes: the configured transport, else SMTP when a server is named."""
        if self.mail_transport is not None:
            return self.mail_transport
        named = {"smtp_host", "smtp_port"} & self.model_fields_set
        return "smtp" if named else "outbox"

    @property
    def effective_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"


def _is_secret(name: str) -> bool:
    field = Settings.model_fields.get(name)
    return field is not None and "SecretStr" in repr(field.annotation)


def _shown(name: str, value: Any) -> str:
    if _is_secret(name):
        return "'********'"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _invalid(exc: ValidationError) -> SettingsInvalid:
    details: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = loc[0] if loc else "?"
        where = f"PRIVACYOPS_{name.upper()}" + "".join(f"[{part}]" for part in loc[1:])
        expects = error.get("msg", "").removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            got, expects = "", "no such setting (see docs/settings.md)"
        else:
            got = f"got {_shown(name, error.get('input'))}: "
        details.append({"where": where, "loc": loc, "msg": f"{got}{expects}"})
    names = ", ".join(sorted({str(item["where"]) for item in details}))
    return SettingsInvalid(f"invalid setting: {names}", details=details)


def load_settings() -> Settings:
    """Read the settings; a bad one raises :class:`SettingsInvalid` naming the setting, what it
    got and what it expects (the CLI prints it and exits 2)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise _invalid(exc) from None
    except SettingsError as exc:  # a value the source could not decode at all
        found = re.search(r'field "([^"]+)"', str(exc))
        name = found.group(1) if found else "?"
        where = f"PRIVACYOPS_{name.upper()}"
        raise SettingsInvalid(
            f"invalid setting: {where}",
            details=[{"where": where, "loc": [name], "msg": "cannot be read: " + str(exc)}],
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        named = _toml_file()
        raise SettingsInvalid(
            f"invalid settings file {named}: {exc}",
            details=[{"where": "PRIVACYOPS_CONFIG_FILE", "loc": [], "msg": str(exc)}],
        ) from None


def effective_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting in force as (environment variable, shown value); secrets masked."""
    rows: list[tuple[str, str]] = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            shown = "unset"
        elif isinstance(value, SecretStr):
            shown = "********"
        elif isinstance(value, list):
            shown = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = str(value)
        if "://" in shown:  # a password inside a URL
            shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1********@", shown)
        rows.append((f"PRIVACYOPS_{name.upper()}", shown))
    return rows


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (see :func:`load_settings` for errors)."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
