"""``user_time`` moves the limits of the calls that wait on the user: the one in this task
(``paused_while_answering``) and, through ``answering_for(session)``, those registered on a
session by a task the question did not come from (the 2025 handshake's receive loop). Real
asyncio timeouts and tasks; the session is any object (the SDK's session in the app)."""

from __future__ import annotations

import asyncio
import contextvars

from keiko_desktop.core.tools.elicitation import answering_for, paused_while_answering, user_time


class Session:
    """Stands in for the SDK session: only its identity matters here."""


async def test_a_question_from_another_task_moves_the_calls_limit_once() -> None:
    session = Session()
    async with asyncio.timeout(10.0) as scope, paused_while_answering(scope, session):
        before = scope.when()
        assert before is not None

        async def receive_loop() -> None:  # a fresh context: it cannot see this task's limit
            with answering_for(session):
                async with user_time(100.0):
                    assert scope.when() == before + 100.0
                    await asyncio.sleep(0.2)

        await asyncio.create_task(receive_loop(), context=contextvars.Context())
        moved = scope.when()
        assert moved is not None
        assert 0.15 < moved - before < 1.0  # by the time taken, not the budget

        with answering_for(session):  # the same limit, in the context and on the session
            async with user_time(50.0):
                assert scope.when() == moved + 50.0  # moved once, not twice


async def test_a_finished_call_is_no_longer_in_flight() -> None:
    session = Session()
    async with asyncio.timeout(10.0) as scope, paused_while_answering(scope, session):
        pass
    when = scope.when()

    async def receive_loop() -> None:
        with answering_for(session):
            async with user_time(100.0):
                assert scope.when() == when

    await asyncio.create_task(receive_loop(), context=contextvars.Context())
