"""Raw messages are acked to Faust (so their offsets can be committed) only once Kafka has what
was derived from them, oldest first; one message's publishing overlaps the next one's work."""

from __future__ import annotations

import asyncio

import pytest

from streams.acks import AckWhenPublished


class RecordingStream:
    def __init__(self) -> None:
        self.acked: list[str] = []

    async def ack(self, event: str) -> bool:
        self.acked.append(event)
        return True


def publishing() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


async def test_events_are_acked_in_order_once_published_with_one_in_flight() -> None:
    stream, acks = RecordingStream(), AckWhenPublished()
    acks.start(stream)
    first, second = publishing(), publishing()
    await acks.add("m1", asyncio.ensure_future(first))  # returns at once: m2 is derived meanwhile
    adding = asyncio.ensure_future(acks.add("m2", asyncio.ensure_future(second)))
    second.set_result(None)
    await asyncio.sleep(0.01)
    assert not adding.done(), "with m2 submitted, m1 must be published before a third is derived"
    assert stream.acked == [], "m2 is not acked before m1: a commit would skip m1"
    first.set_result(None)
    await asyncio.wait_for(adding, 1)
    await asyncio.sleep(0.01)
    assert stream.acked == ["m1", "m2"], "acked as soon as published, without waiting for a next message"


async def test_the_last_message_is_acked_once_published_though_no_other_comes() -> None:
    stream, acks = RecordingStream(), AckWhenPublished()
    acks.start(stream)
    last = publishing()
    await acks.add("m1", asyncio.ensure_future(last))
    assert stream.acked == []
    last.set_result(None)
    await asyncio.sleep(0.01)
    assert stream.acked == ["m1"], "Faust waits for every ack before it rebalances or stops"


async def test_a_failed_publish_raises_and_leaves_it_and_later_messages_unacked() -> None:
    stream, acks = RecordingStream(), AckWhenPublished()
    acks.start(stream)
    failing, later = publishing(), publishing()
    await acks.add("m1", asyncio.ensure_future(failing))
    failing.set_exception(ConnectionError("broker unavailable"))
    with pytest.raises(ConnectionError):
        await acks.add("m2", asyncio.ensure_future(later))
    later.set_result(None)
    await asyncio.sleep(0.01)
    assert stream.acked == []
    await acks.settle_quietly()
    assert stream.acked == []
