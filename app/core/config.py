"""The one typed settings object (environment prefix ``ROLLCALL_``); URLs in it pick the mode.

``milvus_uri`` is a Milvus Lite path by default (embedded, one process) and a server when it is a URL such as
``http://127.0.0.1:19530``. Nothing else in the code branches on the mode: the gallery takes whichever URI.
Thresholds and batch sizes are not here: they are per-deployment ``user_config`` in ``serve_config.yaml`` so
they change live; these settings are what a process needs to start.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.registry import default_cache_dir

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLCALL_", env_file=".env", extra="ignore", frozen=True)

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
    database_url: str = Field("", description="PostgreSQL URL (SQLAlchemy form), the source of truth.")
    redis_url: str = Field("", description="Redis URL (rate limits, caches, events).")

    max_upload_bytes: int = Field(10 * MIB, gt=0, description="Largest accepted image file.")
    max_pixels: int = Field(40_000_000, gt=0, description="Largest image area (decompression bombs).")
    max_request_images: int = Field(2, ge=1, description="Images one request may carry (verify takes two).")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 when a dependency is down.")
    log_level: str = Field("INFO", description="Level of the app's own loggers (app, models, deployments).")

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

    @property
    def max_request_bytes(self) -> int:
        """Body limit for a whole request: its images plus multipart headers and form fields."""
        return self.max_upload_bytes * self.max_request_images + 64 * 1024


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
