"""Retry policy shared by the Postal clients: what may be re-sent, and when.

A request is only retried when doing it twice cannot do harm: always when the connection failed
before anything was sent (connect error, pool timeout), and additionally for reads and idempotent
"ensure" calls when the answer was lost or the server said 502/503/504. A send is never retried
once it may have reached Postal, because Postal has no idempotency key and would send twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from vibn_mail.postal.errors import PostalConnectionError

T = TypeVar("T")

_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange: the request to make, whether re-sending it is safe, how to read the answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    safe_to_resend: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.2

    def delay(self, attempt: int) -> float:
        return float(self.backoff_seconds * (2**attempt))


def _should_retry(call: Call[Any], policy: RetryPolicy, attempt: int, exc: Exception | None, status: int) -> bool:
    if attempt + 1 >= policy.attempts:
        return False
    if exc is not None:
        return isinstance(exc, _NOTHING_SENT) or (call.safe_to_resend and isinstance(exc, httpx.TransportError))
    return call.safe_to_resend and status in _RETRYABLE_STATUS


def _connection_error(call: Call[Any], exc: Exception) -> PostalConnectionError:
    return PostalConnectionError(
        f"{call.method} {call.path}: {type(exc).__name__}: {exc}",
        request_may_have_reached_postal=not isinstance(exc, _NOTHING_SENT),
    )


def run_sync(client: httpx.Client, call: Call[T], policy: RetryPolicy) -> T:
    attempt = 0
    while True:
        try:
            response = client.request(call.method, call.path, json=call.json, headers=call.headers)
        except httpx.TransportError as exc:
            if _should_retry(call, policy, attempt, exc, 0):
                time.sleep(policy.delay(attempt))
                attempt += 1
                continue
            raise _connection_error(call, exc) from exc
        if _should_retry(call, policy, attempt, None, response.status_code):
            time.sleep(policy.delay(attempt))
            attempt += 1
            continue
        return call.parse(response)


async def run_async(client: httpx.AsyncClient, call: Call[T], policy: RetryPolicy) -> T:
    attempt = 0
    while True:
        try:
            response = await client.request(call.method, call.path, json=call.json, headers=call.headers)
        except httpx.TransportError as exc:
            if _should_retry(call, policy, attempt, exc, 0):
                await asyncio.sleep(policy.delay(attempt))
                attempt += 1
                continue
            raise _connection_error(call, exc) from exc
        if _should_retry(call, policy, attempt, None, response.status_code):
            await asyncio.sleep(policy.delay(attempt))
            attempt += 1
            continue
        return call.parse(response)


class SyncTransport:
    """What the blocking Postal clients share: running calls under the retry policy, closing the pool."""

    def __init__(self, http: httpx.Client, attempts: int) -> None:
        self._policy = RetryPolicy(attempts=attempts)
        self._http = http

    def run(self, call: Call[T]) -> T:
        return run_sync(self._http, call, self._policy)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncTransport:
    """Non-blocking twin of :class:`SyncTransport`."""

    def __init__(self, http: httpx.AsyncClient, attempts: int) -> None:
        self._policy = RetryPolicy(attempts=attempts)
        self._http = http

    async def run(self, call: Call[T]) -> T:
        return await run_async(self._http, call, self._policy)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
