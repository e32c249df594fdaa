"""The SMS gateway client (httpx): send a message, ask what became of it.

The gateway API
===============

A small JSON API over HTTPS. The base URL comes from the setting ``sms_gateway_url``
(``TUI_DESK_SMS_GATEWAY_URL``), the token from ``sms_gateway_token`` (the config file or
``TUI_DESK_SMS_GATEWAY_TOKEN``; never from the repository). Every request carries
``Authorization: Bearer TOKEN``.

``POST /v1/messages``
    Body ``{"to": "+8613812348000", "body": "...", "reference": "outbox-42"}``, header
    ``Idempotency-Key: <key>`` (one key per message, the same on every retry). The gateway
    sends a message at most once per key: a repeated POST with a key it already accepted
    answers with the first message's id and does not send again.

    ``202 {"id": "m-17", "status": "queued"}`` accepted (``200`` is taken the same way).
    ``400``/``422`` invalid message, ``401``/``403`` bad token: final, never retried.
    ``429`` or ``503`` with ``Retry-After: <seconds or HTTP date>``: try again after that.
    Other ``5xx``, a timeout, a refused connection or an answer that is not the JSON above:
    try again later (safe: the key makes a retry idempotent).

``GET /v1/messages/{id}``
    ``200 {"id": "m-17", "status": "queued" | "delivered" | "failed", "error": "..."}``
    (``error`` only when failed). ``404``: the gateway does not know the id.

The client never sleeps and never retries by itself: it classifies each answer into a
result or a :class:`GatewayError` (``retryable``, ``retry_after``), and the sender decides
when to try again, so one slow gateway never blocks the worker.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

DEFAULT_TIMEOUT = 10.0
_ERROR_TEXT = 200


class GatewayError(Exception):
    """The gateway did not take the request; ``retryable`` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.unreachable = unreachable
        """No answer at all (refused connection, timeout): the gateway is away."""


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    status: str


@dataclass(frozen=True)
class DeliveryReport:
    provider_id: str
    status: str
    """``queued``, ``delivered`` or ``failed``."""
    error: str | None = None


STATUSES = frozenset({"queued", "delivered", "failed"})


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    reference = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - reference).total_seconds())


def _short(text: str) -> str:
    return " ".join(text.split())[:_ERROR_TEXT]


class SmsGateway:
    """One client of the gateway; use as a context manager (it holds a connection pool)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SmsGateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the API ------------------------------------------------------------------------

    def send(self, *, to: str, body: str, reference: str, idempotency_key: str) -> Accepted:
        response = self._request(
            "POST",
            "/v1/messages",
            json={"to": to, "body": body, "reference": reference},
            headers={"Idempotency-Key": idempotency_key},
        )
        data = self._json(response)
        provider_id = data.get("id")
        if not isinstance(provider_id, (str, int)) or str(provider_id) == "":
            raise GatewayError(
                f"malformed answer: no message id ({response.status_code})", retryable=True
            )
        status = data.get("status")
        return Accepted(str(provider_id), str(status) if isinstance(status, str) else "queued")

    def status(self, provider_id: str) -> DeliveryReport:
        response = self._request("GET", f"/v1/messages/{provider_id}")
        data = self._json(response)
        status = data.get("status")
        if status not in STATUSES:
            raise GatewayError(f"malformed answer: unknown status {status!r}", retryable=True)
        error = data.get("error")
        return DeliveryReport(
            provider_id, str(status), _short(str(error)) if error is not None else None
        )

    # --- plumbing -----------------------------------------------------------------------

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise GatewayError(
                f"timeout: {type(exc).__name__}", retryable=True, unreachable=True
            ) from exc
        except httpx.TransportError as exc:
            raise GatewayError(
                f"gateway unreachable: {_short(str(exc)) or type(exc).__name__}",
                retryable=True,
                unreachable=True,
            ) from exc
        code = response.status_code
        if code in (200, 201, 202):
            return response
        detail = _short(response.text)
        if code in (429, 503):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise GatewayError(f"HTTP {code} {detail}".strip(), retryable=True, retry_after=wait)
        if code >= 500 or code == 408:
            raise GatewayError(f"HTTP {code} {detail}".strip(), retryable=True)
        raise GatewayError(f"HTTP {code} {detail}".strip(), retryable=False)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise GatewayError(
                f"malformed answer: not JSON ({response.status_code})", retryable=True
            ) from exc
        if not isinstance(data, dict):
            raise GatewayError("malformed answer: not a JSON object", retryable=True)
        return data
