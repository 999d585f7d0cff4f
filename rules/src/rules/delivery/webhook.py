"""The webhook channel: each notice POSTed as JSON to the contact's URL, signed with its secret.

Headers of every attempt::

    Content-Type: application/json
    X-Lantian-Idempotency-Key: alert-17:firing
    X-Lantian-Timestamp: 1795658400                      (Unix seconds of this attempt)
    X-Lantian-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}" with the secret>

The timestamp is signed with the body, so a captured request cannot be replayed later under a
new timestamp; receivers reject one whose timestamp is too far from their clock (docs/alerts.md
gives the recipe). Every attempt signs anew, with the secret in force at that moment, so a
rotated secret applies from the next attempt on.

What the answer means:

=================================  ============================================================
answer                             the delivery
=================================  ============================================================
2xx                                delivered
408, 429                           tried again, after ``Retry-After`` if it asks for longer
other 4xx, 3xx                     dead at once: the receiver examined the notice and refused it
                                   (a bad signature, a URL that is gone); redirects are not
                                   followed, since a signed notice goes only where it was sent
5xx, no connection, a timeout      tried again with backoff
a URL httpx cannot use             dead at once
=================================  ============================================================
"""

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from rules.delivery.errors import SendFailedError, SendRefusedError
from rules.delivery.message import CONTENT_TYPE, notice_body
from rules.delivery.settings import WebhookDelivery
from store.sql import Channel, Delivery

SIGNATURE_HEADER: Final = "X-Lantian-Signature"
TIMESTAMP_HEADER: Final = "X-Lantian-Timestamp"
IDEMPOTENCY_HEADER: Final = "X-Lantian-Idempotency-Key"
USER_AGENT: Final = "lantian-delivery/1"

_TRANSIENT_4XX: Final = frozenset({408, 429})  # request timeout, too many requests


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Lantian-Signature`` value of ``body`` sent at ``timestamp``."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookSender:
    """POSTs signed notices; ``secret_of(contact_id)`` gives a contact's current secret."""

    channel = Channel.WEBHOOK

    def __init__(
        self,
        settings: WebhookDelivery,
        secret_of: Callable[[int], str | None],
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._secret_of = secret_of
        self._clock = clock
        self._client = httpx.Client(
            timeout=settings.timeout_s,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, delivery: Delivery) -> None:
        """POST ``delivery``'s notice and return when the receiver answered 2xx.

        Raises:
            SendRefusedError: a 3xx or 4xx other than 408 and 429, an unusable URL, or a
                contact without a secret.
            SendFailedError: 408, 429, 5xx, no connection, a timeout.
        """
        url = delivery.target
        secret = self._secret_of(delivery.contact_id)
        if not secret:
            why = f"contact {delivery.contact_id} has no secret to sign with"
            raise SendRefusedError(delivery.id, self.channel, url, why)
        body = notice_body(delivery)
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": CONTENT_TYPE,
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise SendRefusedError(delivery.id, self.channel, url, str(error)) from error
        except httpx.TimeoutException as error:
            why = f"no answer in time ({type(error).__name__})"
            raise SendFailedError(delivery.id, self.channel, url, why) from error
        except httpx.TransportError as error:
            why = f"{type(error).__name__}: {error}"
            raise SendFailedError(delivery.id, self.channel, url, why) from error
        _judge(delivery, response, self._clock())


def _judge(delivery: Delivery, response: httpx.Response, now: datetime) -> None:
    status = response.status_code
    if response.is_success:
        return
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status in _TRANSIENT_4XX or response.is_server_error:
        wait = _retry_after_s(response.headers.get("Retry-After"), now)
        raise SendFailedError(
            delivery.id, Channel.WEBHOOK, delivery.target, reason, retry_after_s=wait
        )
    raise SendRefusedError(delivery.id, Channel.WEBHOOK, delivery.target, reason)


def _retry_after_s(value: str | None, now: datetime) -> float:
    """Seconds asked for by a ``Retry-After`` header (seconds, or an HTTP date); 0 without."""
    if value is None:
        return 0.0
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
