"""Kafka client configuration shared by the Faust app, producers and admin calls.

One place turns `Settings` into aiokafka keyword arguments (SASL/TLS included) and creates
brandmon's topics explicitly before anything consumes them (auto-created topics get whatever
partition count the broker defaults to, and a mismatch breaks co-partitioned tables).
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from brandmon.schemas import ALERTS_TOPIC, DLQ_TOPIC, RAW_TOPIC, SCORED_TOPIC
from brandmon.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
        )
    return context


def client_kwargs(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
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
