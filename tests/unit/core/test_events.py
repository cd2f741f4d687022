from __future__ import annotations

import asyncio
import gc
import threading

from keiko_desktop.core.events import (
    Event,
    EventBus,
    MessageCompleted,
    MessageCreated,
    ModelStateChanged,
)
from tests.helpers.events import EventRecorder


def test_delivers_by_type_and_base_type() -> None:
    bus = EventBus()
    specific, general = EventRecorder(), EventRecorder()
    bus.subscribe(MessageCreated, specific.on_event)
    bus.subscribe(Event, general.on_event)
    created = MessageCreated(1, 2, "user")
    bus.publish(created)
    bus.publish(MessageCompleted(1, 2, "complete"))
    assert specific.events == [created]
    assert len(general.events) == 2


def test_subscribers_are_weak() -> None:
    bus = EventBus()
    listener = EventRecorder()
    bus.subscribe(MessageCreated, listener.on_event)
    assert bus.subscriber_count(MessageCreated) == 1
    del listener
    gc.collect()
    assert bus.subscriber_count(MessageCreated) == 0
    bus.publish(MessageCreated(1, 1, "user"))  # no error from the dead subscriber


def test_failing_subscriber_does_not_stop_others() -> None:
    bus = EventBus()
    good = EventRecorder()

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(ModelStateChanged, broken)
    bus.subscribe(ModelStateChanged, good.on_event)
    bus.publish(ModelStateChanged("m", "ready"))
    assert len(good.events) == 1


def test_unsubscribe() -> None:
    bus = EventBus()
    listener = EventRecorder()
    bus.subscribe(MessageCreated, listener.on_event)
    bus.unsubscribe(MessageCreated, listener.on_event)
    bus.publish(MessageCreated(1, 1, "user"))
    assert listener.events == []


async def test_publish_threadsafe_hops_to_the_loop() -> None:
    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    threads: list[str] = []
    done = asyncio.Event()

    def record(event: Event) -> None:
        threads.append(threading.current_thread().name)
        done.set()

    bus.subscribe(MessageCreated, record)
    worker = threading.Thread(target=bus.publish_threadsafe, args=(MessageCreated(1, 1, "a"),))
    worker.start()
    worker.join()
    await asyncio.wait_for(done.wait(), 2)
    assert threads == [threading.main_thread().name]


def test_plain_functions_and_lambdas_are_held_strongly() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(MessageCreated, lambda event: seen.append(event))

    def make_closure() -> None:
        def on_created(event: MessageCreated) -> None:
            seen.append(event)

        bus.subscribe(MessageCreated, on_created)  # no reference kept by the caller

    make_closure()
    gc.collect()
    assert bus.subscriber_count(MessageCreated) == 2
    bus.publish(MessageCreated(1, 1, "user"))
    assert len(seen) == 2


def test_a_strongly_held_function_can_be_unsubscribed() -> None:
    bus = EventBus()
    seen: list[Event] = []

    def on_created(event: MessageCreated) -> None:
        seen.append(event)

    bus.subscribe(MessageCreated, on_created)
    bus.unsubscribe(MessageCreated, on_created)
    bus.publish(MessageCreated(1, 1, "user"))
    assert seen == []
    assert bus.subscriber_count(MessageCreated) == 0
