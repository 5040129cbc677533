"""Drive the simulator in real time and publish through the same path as every connector."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from brandmon.config import BrandmonConfig
from brandmon.settings import Settings
from connectors.publisher import MentionPublisher, encode_mention
from connectors.simulator import RumourBurst, Simulator

TICK_SECONDS = 0.25


@dataclass(frozen=True)
class SimulationPlan:
    seed: int = 7
    rate: float = 8.0
    burst_after: float | None = 45.0
    burst_brand: str | None = None
    burst_claim: str = "recall"
    burst_ramp_seconds: float = 120.0
    burst_seconds: float = 480.0
    burst_peak_per_second: float = 6.0
    history_seconds: float = 0.0
    """Publish this much simulated past at once before going live, so baselines have history."""


def build_simulator(config: BrandmonConfig, plan: SimulationPlan, start: datetime) -> Simulator:
    """A simulator whose mentions begin `history_seconds` before `start` (the live start)."""
    burst = None
    if plan.burst_after is not None:
        brand = plan.burst_brand or config.brands[0].id
        if brand not in {b.id for b in config.brands}:
            raise ValueError(f"--burst-brand {brand!r} is not a configured brand id")
        burst = RumourBurst(
            brand_id=brand,
            claim=plan.burst_claim,
            start=start + timedelta(seconds=plan.burst_after),
            ramp_seconds=plan.burst_ramp_seconds,
            duration_seconds=plan.burst_seconds,
            peak_per_second=plan.burst_peak_per_second,
        )
    past = start - timedelta(seconds=plan.history_seconds)
    return Simulator(config.brands, seed=plan.seed, base_rate_per_second=plan.rate, burst=burst, start=past)


async def run_simulation(
    settings: Settings,
    config: BrandmonConfig,
    plan: SimulationPlan,
    *,
    duration: float | None = None,
    dry_run: bool = False,
    bootstrap: str | None = None,
    stop: asyncio.Event | None = None,
    on_published: Callable[[int], None] | None = None,
) -> int:
    """Publish simulated mentions as they 'happen' until `duration` passes or `stop` is set.

    Returns the number of mentions published.
    """
    stop = stop or asyncio.Event()
    start = datetime.now(UTC)
    simulator = build_simulator(config, plan, start)
    publisher = None if dry_run else MentionPublisher(settings, bootstrap or settings.kafka_bootstrap or "")
    if publisher is not None:
        await publisher.start()
    published = 0
    last = start - timedelta(seconds=plan.history_seconds)
    try:
        while not stop.is_set():
            await asyncio.sleep(TICK_SECONDS)
            now = datetime.now(UTC)
            if duration is not None and (now - start).total_seconds() >= duration:
                now = start + timedelta(seconds=duration)
                stop.set()
            mentions = simulator.between(last, now)
            last = now
            if publisher is None:
                for mention in mentions:
                    sys.stdout.buffer.write(encode_mention(mention) + b"\n")
                sys.stdout.buffer.flush()
            else:
                await publisher.publish(mentions)
            published += len(mentions)
            if on_published is not None:
                on_published(published)
    finally:
        if publisher is not None:
            await publisher.stop()
    return published
