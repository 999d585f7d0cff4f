"""The JSON a notice travels as over MQTT and webhooks.

It is the notice's payload as the outbox holds it (``key``, ``kind``, ``audience``,
``enterprise``, ``site``, ``created_at``, ``alerts``; docs/alerts.md) with its
``idempotency_key`` beside it, under the name receivers look for. The text is fixed by the
notice alone — sorted keys, compact, UTF-8 — so every attempt of every delivery of one
notice sends the same bytes, and a receiver may compare them, hash them or sign-check them
alike.
"""

import json

from store.sql import Delivery

CONTENT_TYPE = "application/json"


def notice_body(delivery: Delivery) -> bytes:
    """The body of ``delivery``'s notice: its payload and its idempotency key."""
    document = {**delivery.payload, "idempotency_key": delivery.idempotency_key}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
