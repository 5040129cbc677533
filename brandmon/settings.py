"""Runtime settings, read once from `BRANDMON_*` environment variables.

Brands and sources live in the YAML config (`brandmon.config`); everything about *where* brandmon
runs lives here. Secrets are `SecretStr` (masked in repr and logs) and may come from a file
(`BRANDMON_KAFKA_SASL_PASSWORD_FILE`), as container secrets usually do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRANDMON_", frozen=True, extra="ignore")

    config: Path = Field(default=Path("brandmon.yaml"), description="Brand and source YAML file.")

    kafka_bootstrap: str | None = Field(
        default=None,
        description="host:port[,host:port]. Unset: brandmon starts its embedded broker on loopback.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None

    topic_partitions: int = Field(default=4, ge=1, le=1024, description="Partitions of brandmon's topics.")
    topic_replication: int = Field(default=1, ge=1, le=16, description="Replication of created topics.")
    group_id: str = Field(default="brandmon", description="Faust app id and consumer group.")
    data_dir: Path = Field(default=Path(".brandmon-data"), description="Faust's local data directory.")

    metrics_host: str = Field(default="127.0.0.1", description="Bind address of the /metrics server.")
    metrics_port: int = Field(default=9466, ge=0, le=65535, description="0 picks a free port.")
    connector_metrics_port: int = Field(
        default=9467, ge=0, le=65535, description="`/metrics` of `brandmon run`'s connectors."
    )
    web_enabled: bool = Field(default=False, description="Faust's own web server (exposes tables).")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)

    batch_max_mentions: int = Field(default=500, ge=1, le=10_000, description="Mentions per raw message.")
    batch_linger_ms: int = Field(default=200, ge=0, le=60_000, description="Max wait to fill a batch.")
    window_seconds: int = Field(default=60, ge=1, description="Tumbling window size for counts.")
    window_expires_seconds: int = Field(default=7200, ge=60, description="How long windows stay open.")
    dedup_ttl_seconds: int = Field(default=3600, ge=1)
    dedup_max_ids: int = Field(default=1_000_000, ge=1_000)
    session_timeout_seconds: float = Field(
        default=10.0, ge=6.0, description="Consumer group session; joins take about half of it."
    )

    spike_bucket_seconds: int = Field(default=60, ge=1, description="Bucket size of spike detection.")
    spike_lateness_seconds: int = Field(
        default=120, ge=0, description="How long after its end a bucket still takes late mentions."
    )
    spike_sensitivity: Literal["fewer", "balanced", "more"] = "balanced"
    spike_warmup_seconds: int | None = Field(
        default=None, ge=0, description="No alerts while the baseline learns (default: one day)."
    )
    spike_resolve_seconds: int | None = Field(
        default=None, ge=1, description="Calm time before an alert resolves (default: 30 minutes)."
    )
    spike_cooldown_seconds: int | None = Field(
        default=None, ge=0, description="Quiet time after a resolved alert (default: 2 hours)."
    )
    dashboard_url: str | None = Field(
        default=None,
        description="Link put in alerts; `{brand}`, `{from_ms}` and `{to_ms}` are filled in.",
    )

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and (self.kafka_sasl_password or self.kafka_sasl_password_file)
        ):
            raise ValueError(
                "BRANDMON_KAFKA_SECURITY_PROTOCOL is SASL_* but credentials are missing: set "
                "BRANDMON_KAFKA_SASL_USERNAME and BRANDMON_KAFKA_SASL_PASSWORD (or _PASSWORD_FILE)"
            )
        return self

    @property
    def embedded(self) -> bool:
        return not self.kafka_bootstrap

    def sasl_password(self) -> str | None:
        if self.kafka_sasl_password is not None:
            return self.kafka_sasl_password.get_secret_value()
        if self.kafka_sasl_password_file is not None:
            return self.kafka_sasl_password_file.read_text().strip()
        return None
