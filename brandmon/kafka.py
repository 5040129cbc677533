"""Kafka client configuration shared by the Faust app, producers and admin calls.

One place turns `Settings` into aiokafka keyword arguments (SASL/TLS included) and creates
brandmon's topics explicitly before anything consumes them (auto-created topics get whatever
partition count the broker defaults to, and a mismatch breaks co-partitioned tables).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

from brandmon.schemas import ALERTS_TOPIC, DLQ_TOPIC, RAW_TOPIC, SCORED_TOPIC
from brandmon.settings import KafkaSettingsError, Settings

REQUEST_TIMEOUT_SECONDS = 5.0
"""How long `read_cluster` waits for a broker to answer."""


def _readable(path: Path, variable: str, what: str) -> str:
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise KafkaSettingsError(
            f"{variable}: cannot read {path} ({error.strerror}); point it at {what}"
        ) from None
    return str(path)


def _reason(error: ssl.SSLError) -> str:
    return str(error.reason or error.strerror or type(error).__name__)


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of every Kafka client, or None for PLAINTEXT and SASL_PLAINTEXT.

    Verifies the brokers' certificates and host names against BRANDMON_KAFKA_SSL_CAFILE (else the
    system's CAs) and presents BRANDMON_KAFKA_SSL_CERTFILE/_KEYFILE when set (mutual TLS).
    `KafkaSettingsError`, naming the variable, when a file cannot be read or loaded."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    cafile = settings.kafka_ssl_cafile
    ca = "the PEM file of the CA that signed the brokers' certificates"
    try:
        context = ssl.create_default_context(
            cafile=_readable(cafile, "BRANDMON_KAFKA_SSL_CAFILE", ca) if cafile else None
        )
    except ssl.SSLError as error:
        raise KafkaSettingsError(
            f"BRANDMON_KAFKA_SSL_CAFILE: {cafile} holds no usable certificate ({_reason(error)}); "
            f"point it at {ca}"
        ) from None
    if settings.kafka_ssl_certfile:
        pem = "the client certificate (PEM)"
        certfile = _readable(settings.kafka_ssl_certfile, "BRANDMON_KAFKA_SSL_CERTFILE", pem)
        keyfile = settings.kafka_ssl_keyfile
        key = "the client certificate's private key (PEM, unencrypted)"
        try:
            context.load_cert_chain(
                certfile, _readable(keyfile, "BRANDMON_KAFKA_SSL_KEYFILE", key) if keyfile else None
            )
        except ssl.SSLError as error:
            raise KafkaSettingsError(
                "BRANDMON_KAFKA_SSL_CERTFILE/BRANDMON_KAFKA_SSL_KEYFILE: cannot load the client "
                f"certificate and key ({_reason(error)}); give {pem} and {key}, which must match"
            ) from None
    return context


def client_kwargs(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin).

    Every client brandmon builds itself goes through here (the Faust app gets the same settings
    as `broker_credentials`, see `streams.app`); tests/test_kafka_security.py checks both."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password()
    return kwargs


def topic_partitions(settings: Settings) -> dict[str, int]:
    return {
        RAW_TOPIC: settings.topic_partitions,
        SCORED_TOPIC: settings.topic_partitions,
        DLQ_TOPIC: 1,
        ALERTS_TOPIC: 1,
    }


async def ensure_topics(settings: Settings, bootstrap: str) -> None:
    """Create brandmon's topics with their partition counts; existing topics are left alone."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings, bootstrap))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=settings.topic_replication)
            for name, count in topic_partitions(settings).items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What the cluster answered: its id (None if it has none) and which asked-for topics it has."""

    cluster_id: str | None
    topics: frozenset[str]


async def read_cluster(client: AIOKafkaClient, topics: Iterable[str]) -> ClusterView:
    """One metadata request (never auto-creating a topic). Raises a `KafkaError` or `TimeoutError`
    when no broker answers within `REQUEST_TIMEOUT_SECONDS`."""
    node = client.get_random_node()
    if node is None:
        raise KafkaConnectionError("no broker known")
    request = MetadataRequest(list(topics), allow_auto_topic_creation=False)
    response = await asyncio.wait_for(client.send(node, request), REQUEST_TIMEOUT_SECONDS)
    answer: dict[str, Any] = response.to_object()
    present = frozenset(t["topic"] for t in answer["topics"] if t["error_code"] == 0)
    return ClusterView(answer.get("cluster_id"), present)
