"""The worker's cluster guard: what counts as another cluster, and that an outage does not."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import NoReturn

import pytest

from brandmon.broker import EmbeddedBroker
from brandmon.kafka import ClusterView
from brandmon.schemas import RAW_TOPIC, SCORED_TOPIC
from brandmon.settings import Settings
from streams import cluster_guard
from streams.cluster_guard import EXIT_CLUSTER_CHANGED, ClusterGuard, guard_cluster

CHANGELOG = "brandmon-brand-windows-changelog"


def view(cluster_id: str | None, *topics: str) -> ClusterView:
    return ClusterView(cluster_id, frozenset(topics))


def test_the_same_cluster_passes_and_a_new_cluster_id_is_named() -> None:
    guard = ClusterGuard()
    assert guard.check(view("A", RAW_TOPIC, SCORED_TOPIC)) is None
    assert guard.check(view("A", RAW_TOPIC, SCORED_TOPIC)) is None
    assert guard.check(view("B", RAW_TOPIC, SCORED_TOPIC)) == "its cluster id changed from A to B"


def test_a_topic_counts_once_seen_and_its_disappearance_is_named() -> None:
    guard = ClusterGuard()
    assert guard.check(view("A", RAW_TOPIC)) is None, "the changelog is created after the first look"
    assert guard.check(view("A", RAW_TOPIC, CHANGELOG)) is None
    assert guard.check(view("A", CHANGELOG)) == f"topics it had are gone: {RAW_TOPIC}"


def test_a_cluster_without_id_is_judged_by_its_topics_and_both_reasons_are_given() -> None:
    anonymous = ClusterGuard()
    assert anonymous.check(view(None, RAW_TOPIC)) is None
    assert anonymous.check(view(None)) == f"topics it had are gone: {RAW_TOPIC}"
    named = ClusterGuard()
    named.check(view("A", RAW_TOPIC, CHANGELOG))
    assert named.check(view("B")) == (
        f"its cluster id changed from A to B; topics it had are gone: {CHANGELOG}, {RAW_TOPIC}"
    )


class Exited(Exception):
    pass


@pytest.mark.broker
async def test_an_outage_is_not_a_new_cluster_but_the_broker_that_comes_back_empty_is(
    broker: EmbeddedBroker, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard against a real broker, with the process exit replaced by a recorded one."""
    monkeypatch.setattr(cluster_guard, "CHECK_INTERVAL_SECONDS", 0.2)
    exits: list[int] = []

    def exit_now(code: int) -> NoReturn:
        exits.append(code)
        raise Exited

    app = SimpleNamespace(tables={})
    task = asyncio.create_task(guard_cluster(app, settings, broker.bootstrap, exit_now))
    try:
        await asyncio.sleep(1)
        broker.kill()
        await asyncio.sleep(3)
        assert not task.done(), "no verdict while nothing answers"
        broker.start()
        with pytest.raises(Exited):
            await asyncio.wait_for(task, 15)
    finally:
        task.cancel()
    assert exits == [EXIT_CLUSTER_CHANGED]
