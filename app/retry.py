"""Retrying with exponential backoff (tenacity), for the writers that must
not give up: the spool drainer and the workflow audit writer."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

T = TypeVar("T")


async def until_success(call: Callable[[], Awaitable[T]], *, initial: float, maximum: float,
                        retry_on: Callable[[BaseException], bool] = lambda exc: True,
                        on_failure: Callable[[BaseException, float], None] | None = None) -> T:
    """Await `call()` until it returns. After a failure that `retry_on`
    accepts, wait initial, 2*initial, ... up to `maximum` seconds (plus up to
    `initial` of jitter, so that workers do not retry in step) and call
    `on_failure(exception, seconds)` first. Other failures, and
    cancellation, propagate at once."""
    def before_sleep(state) -> None:
        if on_failure is not None:
            on_failure(state.outcome.exception(), state.next_action.sleep)

    retrying = AsyncRetrying(
        wait=wait_exponential_jitter(initial=initial, max=maximum, jitter=initial),
        retry=retry_if_exception(lambda exc: not isinstance(exc, asyncio.CancelledError)
                                 and retry_on(exc)),
        before_sleep=before_sleep, reraise=True)
    async for attempt in retrying:
        with attempt:
            result = await call()
    return result
