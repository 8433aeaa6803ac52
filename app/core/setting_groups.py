"""The groups of settings each part of Rollcall is given: a part gets its group, never the whole ``Settings``.

Why groups instead of one object everywhere: least privilege and a readable dependency. A model replica
bound with ``ModelRuntime`` cannot read the JWT key; a check-in service built over ``CheckinPolicy`` shows in
its signature which rules it applies. ``Settings`` stays one flat object read from ``ROLLCALL_*`` (the
operators' names do not change) and builds each group (``settings.checkin``, ``settings.sign_in``, ...).
Every group is frozen: a running part cannot change another part's rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- what deployments are bound with -----------------------------------------------------------------------


class ModelRuntime(_Group):
    """What a model deployment needs to load its model: nothing secret."""

    model_cache: Path
    ort_threads: int


class LogOptions(_Group):
    """How a process logs. A model replica gets no pseudonym key: it never logs student ids (a value under
    ``student_id`` would be written ``[redacted]`` there)."""

    level: str
    json_lines: bool


class VectorStore(_Group):
    """Where the vectors are (Milvus Lite path or server URL), with the Milvus credentials only."""

    uri: str
    token: SecretStr
    timeout_s: float


# -- what the domain services are built over ---------------------------------------------------------------


class TokenSigning(_Group):
    """What issues and checks access tokens: the signing key and the claims every token must carry."""

    secret_key: SecretStr
    issuer: str
    audience: str
    access_ttl_s: int


class PasswordPolicy(_Group):
    """How passwords and kiosk keys are hashed (argon2id) and how short a password may be."""

    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int
    min_length: int


class ThrottlePolicy(_Group):
    """How failed sign-ins slow further tries (app/services/identity/throttle.py says why no lock)."""

    free_failures: int
    address_free_failures: int
    base_s: int
    max_s: int
    window_s: int
    alert_failures: int


class SignInPolicy(_Group):
    """Staff and student sign-in: tokens, passwords, MFA set-up, failures and the sign-in rate limit."""

    tokens: TokenSigning
    passwords: PasswordPolicy
    refresh_ttl_s: int
    mfa_setup_ttl_s: int
    throttle: ThrottlePolicy
    rate_limit: str


class EnrollmentPolicy(_Group):
    """How many photos an enrollment takes, how alike they must be, and the consent version it requires."""

    min_photos: int
    max_photos: int
    same_person_min: float
    duplicate_min: float
    consent_version: str


class CheckinPolicy(_Group):
    """When a lesson takes check-ins, and the liveness challenge a face check-in answers (its burst and
    colours); whether a failed check-in's frame is kept for review, and for how long."""

    liveness_mode: Literal["challenge", "off"]
    early_minutes: int
    lesson_cache_s: float
    challenge_ttl_s: int
    burst_min_frames: int
    burst_max_frames: int
    burst_default_frames: int
    burst_interval_ms: int
    colour_slots: int
    colour_slot_ms: int
    keep_failed_frames: bool
    review_frame_ttl_h: int

    def checks_liveness(self, school_switch: bool) -> bool:
        """Whether a school's check-ins pass liveness: its admin's switch (``School.liveness``), unless the
        installation runs with ``liveness_mode: off`` (a trial, the single-frame benchmarks), which
        overrides every school. The one place the two are combined."""
        return self.liveness_mode == "challenge" and school_switch


class FailedMatchPolicy(_Group):
    """How many failed face matches a kiosk may have in a window, and its cool-down past that."""

    limit: str
    cooldown_s: int


class RetentionPolicy(_Group):
    """The retention schedule (docs/PRIVACY.md) and how the job works through it."""

    archive_years: int
    delete_years: int
    batch_size: int
    compaction_wait_s: float
