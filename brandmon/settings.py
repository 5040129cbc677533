"""Runtime settings, read once from `BRANDMON_*` environment variables.

Brands and sources live in the YAML config (`brandmon.config`); everything about *where* brandmon
runs lives here. Secrets are `SecretStr` (masked in repr and logs) and may come from a file
(`BRANDMON_KAFKA_SASL_PASSWORD_FILE`), as container secrets usually do. Validation errors never
echo an input (`hide_input_in_errors`): the input of a settings-wide check holds every value,
the password included. Files (password, CA, certificate) are read when a Kafka client is built,
not here, so that commands without Kafka run where the secrets are not mounted; a missing or
unreadable one is then a `KafkaSettingsError` naming the variable. See docs/security.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettingsError(ValueError):
    """Kafka security settings that cannot work (a missing file, a key without a certificate).

    The message names the `BRANDMON_*` variable and the fix, never a secret's value."""


def _settings_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("brandmon_settings", message)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BRANDMON_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

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
    spike_rebuild_seconds: int = Field(
        default=8 * 86400,
        ge=0,
        description="Scored history a worker re-reads to rebuild a partition's spike state after a "
        "restart or takeover (the baseline learns a day and a week).",
    )
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

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_without_credentials(cls, value: str | None) -> str | None:
        """host:port only: Faust prints the broker URL in its start-up banner, so a
        `user:password@host` in it would be printed too."""
        if value is not None and ("@" in value or "://" in value):
            raise _settings_error(
                "give host:port[,host:port] only, without a scheme or user:password@; credentials "
                "go in BRANDMON_KAFKA_SASL_USERNAME and BRANDMON_KAFKA_SASL_PASSWORD(_FILE)"
            )
        return value

    @model_validator(mode="after")
    def _security_settings_fit_the_protocol(self) -> Settings:
        protocol = self.kafka_security_protocol
        sasl = protocol.startswith("SASL")
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            raise _settings_error(
                "BRANDMON_KAFKA_SASL_PASSWORD and BRANDMON_KAFKA_SASL_PASSWORD_FILE are both set: "
                "keep one (the file, for mounted secrets)"
            )
        if sasl and not self.kafka_sasl_username:
            raise _settings_error(
                f"BRANDMON_KAFKA_SECURITY_PROTOCOL is {protocol} but BRANDMON_KAFKA_SASL_USERNAME "
                "is not set: set it to the Kafka user's name"
            )
        if sasl and self.kafka_sasl_password is None and self.kafka_sasl_password_file is None:
            raise _settings_error(
                f"BRANDMON_KAFKA_SECURITY_PROTOCOL is {protocol} but no password is set: set "
                "BRANDMON_KAFKA_SASL_PASSWORD_FILE (a mounted secret) or BRANDMON_KAFKA_SASL_PASSWORD"
            )
        given_sasl = [
            name
            for name, value in (
                ("BRANDMON_KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                ("BRANDMON_KAFKA_SASL_PASSWORD", self.kafka_sasl_password),
                ("BRANDMON_KAFKA_SASL_PASSWORD_FILE", self.kafka_sasl_password_file),
            )
            if value is not None
        ]
        if given_sasl and not sasl:
            raise _settings_error(
                f"{', '.join(given_sasl)} set but BRANDMON_KAFKA_SECURITY_PROTOCOL is {protocol}, "
                "which sends no credentials: set it to SASL_SSL (or SASL_PLAINTEXT), or unset them"
            )
        given_ssl = [
            name
            for name, value in (
                ("BRANDMON_KAFKA_SSL_CAFILE", self.kafka_ssl_cafile),
                ("BRANDMON_KAFKA_SSL_CERTFILE", self.kafka_ssl_certfile),
                ("BRANDMON_KAFKA_SSL_KEYFILE", self.kafka_ssl_keyfile),
            )
            if value is not None
        ]
        if given_ssl and not protocol.endswith("SSL"):
            raise _settings_error(
                f"{', '.join(given_ssl)} set but BRANDMON_KAFKA_SECURITY_PROTOCOL is {protocol}, "
                "which does not use TLS: set it to SSL or SASL_SSL, or unset them"
            )
        if self.kafka_ssl_keyfile is not None and self.kafka_ssl_certfile is None:
            raise _settings_error(
                "BRANDMON_KAFKA_SSL_KEYFILE is set without BRANDMON_KAFKA_SSL_CERTFILE: set the "
                "client certificate too (or unset the key)"
            )
        return self

    @property
    def embedded(self) -> bool:
        return not self.kafka_bootstrap

    def sasl_password(self) -> str | None:
        """The SASL password, from the variable or read from the file now (so a rotated secret is
        picked up by the next client). `KafkaSettingsError` if the file cannot be used."""
        if self.kafka_sasl_password is not None:
            return self.kafka_sasl_password.get_secret_value()
        path = self.kafka_sasl_password_file
        if path is None:
            return None
        try:
            password = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise KafkaSettingsError(
                f"BRANDMON_KAFKA_SASL_PASSWORD_FILE: cannot read {path} ({reason}); mount the "
                "secret there or point the variable at the file that holds the password"
            ) from None
        if not password:
            raise KafkaSettingsError(
                f"BRANDMON_KAFKA_SASL_PASSWORD_FILE: {path} is empty; it must hold the password"
            )
        return password
