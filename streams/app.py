"""The Faust app: raw mentions -> scored mentions (+ windowed counts) -> spike alerts.

The logic lives in `processor` and `spike_tracker`; the agent here and `spike_feed` (the scored
topic read in batches, which a Faust agent would cost ~110 us per record) only wire it to Kafka.

Settings come from `brandmon.settings` only (`env={}` stops Faust reading BROKER_URL, WEB_PORT...).
Faust's web server is off or on loopback: it would otherwise serve table contents on 0.0.0.0.
Faust's own producer writes only changelogs, one record per batch, because the embedded broker
reports end offsets from the last batch's base offset and table recovery would stop short.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import faust
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from brandmon.config import BrandmonConfig
from brandmon.kafka import client_kwargs, ssl_context
from brandmon.schemas import ALERTS_TOPIC, RAW_TOPIC, Alert, dumps
from brandmon.settings import Settings
from streams.cluster_guard import guard_task
from streams.metrics import StreamMetrics
from streams.output import OutputProducer
from streams.processor import MentionProcessor, RawMessage
from streams.scoring import MentionScorer
from streams.spike_feed import SpikeFeed
from streams.spike_tracker import SpikeTracker, monitor_settings
from streams.transport import transport_for
from streams.windows import WindowValue

log = logging.getLogger(__name__)
WINDOW_TABLE = "brand-windows"


class BrandmonWorker(faust.Worker):
    """Faust's worker without the terminal spinner, which turns on DEBUG logging for everything."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None


class BrandmonApp(faust.App):
    """A Faust app whose consumer never skips messages fetched during recovery (see transport)."""

    def _new_transport(self) -> Any:
        return transport_for(frozenset({RAW_TOPIC}))(self.conf.broker_consumer, self)


class FaustWindowStore:
    """`WindowStore` over a Faust tumbling table; must be used inside stream iteration."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, window_start: float) -> WindowValue | None:
        value: WindowValue | None = self._table.relative_to(window_start)[key].value()
        return value

    def set(self, key: str, window_start: float, value: WindowValue) -> None:
        self._table.relative_to(window_start)[key] = value


def _credentials(settings: Settings) -> Any:
    if settings.kafka_security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.sasl_password(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=ssl_context(settings),
        )
    context = ssl_context(settings)
    return faust.SSLCredentials(context) if context is not None else None


def create_app(
    settings: Settings, config: BrandmonConfig, bootstrap: str, registry: CollectorRegistry = REGISTRY
) -> faust.App:
    app = BrandmonApp(
        settings.group_id,
        broker=f"kafka://{bootstrap}",
        broker_credentials=_credentials(settings),
        env={},
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 5,
        producer_max_batch_size=1,
        web_enabled=settings.web_enabled,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        Worker=BrandmonWorker,
    )
    raw_topic = app.topic(RAW_TOPIC, key_serializer="raw", value_serializer="raw")
    windows = app.Table(WINDOW_TABLE, default=list, partitions=settings.topic_partitions).tumbling(
        settings.window_seconds, expires=timedelta(seconds=settings.window_expires_seconds)
    )
    store = FaustWindowStore(windows)
    metrics = StreamMetrics((b.id for b in config.brands), registry)
    output = OutputProducer(client_kwargs(settings, bootstrap))
    processor = MentionProcessor(
        MentionScorer(config.brands, config.languages),
        metrics,
        output.send,
        window_seconds=settings.window_seconds,
        dedup_ttl_seconds=settings.dedup_ttl_seconds,
        dedup_max_ids=settings.dedup_max_ids,
    )

    @app.agent(raw_topic, name="process-raw-mentions")
    async def process_raw_mentions(stream: faust.StreamT[bytes]) -> None:
        await output.start()
        try:
            async for event in stream.events():
                message = event.message
                await processor.handle(
                    RawMessage(message.topic, message.partition, message.offset, event.value), store
                )
        finally:
            await output.stop()

    tracker = SpikeTracker(
        {b.id: b.name for b in config.brands},
        monitor_settings(settings),
        metrics,
        raw_partitions=settings.topic_partitions,
    )
    alerts_out = OutputProducer(client_kwargs(settings, bootstrap))
    spike_state = asyncio.Lock()

    async def publish_alerts(alerts: list[Alert]) -> None:
        if not alerts:
            return
        if not alerts_out.running:
            await alerts_out.start()
        await alerts_out.send([(ALERTS_TOPIC, a.brand.encode(), dumps(a)) for a in alerts])
        for alert in alerts:
            log.warning("alert %s %s %s: %s", alert.state, alert.severity, alert.brand, alert.topic)

    feed = SpikeFeed(settings, bootstrap, tracker, publish_alerts, spike_state)
    app.task(feed.run_forever)

    async def close_spike_buckets() -> None:
        async with spike_state:
            await publish_alerts(tracker.advance())

    app.timer(interval=1.0)(close_spike_buckets)

    async def serve_metrics() -> None:
        server, _ = start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
        host, port = server.server_address[:2]
        log.warning("brandmon metrics on http://%s:%s/metrics", host, port)

    app.task(serve_metrics)
    app.task(guard_task(settings, bootstrap, metrics))
    return app
