"""Receivers and a seeded outbox for the delivery tests; this module has no tests of its own.

The receivers are real servers on free ports, each able to go down and come back on the same
port, and each keeps every copy it got and, beside it, the notices deduplicated by
idempotency key the way docs/alerts.md tells receivers to:

- :class:`WebhookReceiver`: a threaded ``http.server`` that checks the signature by the
  documented recipe (written here from the docs, not with the code under test);
- :class:`SmtpReceiver`: an aiosmtpd server, deduplicating by ``Message-ID``;
- :class:`MqttSubscriber`: a paho client subscribed QoS 1 on a real Mosquitto.
"""

import dataclasses
import email
import email.policy
import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paho.mqtt.client as mqtt
from aiosmtpd.controller import Controller
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine

from devstack.servers import MosquittoServer, free_port
from rules.delivery import ChannelWorker, RetryPolicy, Sender
from store.sql import AlertStore, Notification, Outbox, Registry, RuleResult

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
SECRET = "whsec-hengtong-0123456789"  # noqa: S105 - a test webhook secret
ENTERPRISES = ("ent-a", "ent-b")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def register_city(engine: Engine) -> None:
    """A county with enterprises ``ent-a`` and ``ent-b``."""
    registry = Registry(engine)
    registry.add_county("chiping", name="Chiping", name_zh="茌平区")
    for enterprise in ENTERPRISES:
        registry.add_enterprise(enterprise, name=enterprise, county_id="chiping")


def fire(engine: Engine, enterprise: str = "ent-a", *devices: str, now=T0) -> Notification:
    """Open and fire one PM2.5 alert per device at one site of ``enterprise``: one notice."""
    base = RuleResult(
        rule="pm25-spike",
        rule_version="2026.1",
        kind="threshold",
        subject="",
        window_start=now - timedelta(minutes=5),
        outcome="firing",
        severity="major",
        enterprise=enterprise,
        site=f"site-{enterprise}-east",
        value=182.5,
        limit=150.0,
        standard="GB 3095-2012",
    )
    with AlertStore(engine).transaction(now) as alerts:
        ids = [
            alerts.open(dataclasses.replace(base, subject=f"{base.site}/{d}", device=d)).id
            for d in devices or ("pm-1",)
        ]
        (notice,) = alerts.fire(ids)
        return notice


def worker(engine: Engine, sender: Sender, clock: Clock, **retry: Any) -> ChannelWorker:
    """A worker stepped by hand: no jitter, backoff 10 s doubling to 60 s, 3 attempts."""
    policy = {"backoff_base_s": 10.0, "backoff_max_s": 60.0, "jitter": 0.0, "max_attempts": 3}
    return ChannelWorker(
        Outbox(engine),
        sender,
        RetryPolicy(**(policy | retry)),
        lease_s=60.0,
        batch=10,
        poll_interval_s=0.05,
        clock=clock,
    )


# --- webhook ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One POST as the receiver saw it."""

    key: str
    timestamp: str
    signature: str
    body: bytes
    signed: bool  # the signature checked out


def signed_by(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """The receivers' recipe (docs/alerts.md): HMAC-SHA256 of ``{timestamp}.{body}``."""
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={expected.hexdigest()}", signature)


@dataclass
class WebhookReceiver:
    """An HTTP receiver on a fixed port; answers ``statuses`` in turn, then 200."""

    secret: str = SECRET
    port: int = field(default_factory=free_port)
    statuses: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/lantian/alerts"

    def unique(self) -> dict[str, bytes]:
        """The notices a receiver deduplicating by key accepted: key → first body."""
        seen: dict[str, bytes] = {}
        for request in self.requests:
            if request.signed:
                seen.setdefault(request.key, request.body)
        return seen

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-Lantian-Timestamp", "")
                signature = self.headers.get("X-Lantian-Signature", "")
                signed = signed_by(receiver.secret, timestamp, body, signature)
                key = self.headers.get("X-Lantian-Idempotency-Key", "")
                receiver.requests.append(Request(key, timestamp, signature, body, signed))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status if signed else 401)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- e-mail -----------------------------------------------------------------------------------


class _Mailbox:
    """aiosmtpd handler: keeps what it accepts; refuses the recipients in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # address → SMTP reply

    async def handle_RCPT(self, _server, _session, envelope, address, _options) -> str:  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on a fixed port, to stop and start again."""

    port: int = field(default_factory=free_port)
    mailbox: _Mailbox = field(default_factory=_Mailbox)
    options: dict[str, Any] = field(default_factory=dict)
    _controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages

    def unique(self) -> dict[str, EmailMessage]:
        """What a mail client that drops duplicate Message-IDs shows: id → first message."""
        seen: dict[str, EmailMessage] = {}
        for message in self.messages:
            seen.setdefault(str(message["Message-ID"]), message)
        return seen

    def start(self) -> None:
        self._controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **self.options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


# --- MQTT -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One message as a subscriber got it."""

    topic: str
    payload: dict[str, Any]
    qos: int
    user_properties: dict[str, str]
    content_type: str | None


class MqttSubscriber:
    """An enterprise's client: subscribed QoS 1 to ``topic_filter``, keeping what arrives."""

    def __init__(self, broker: MosquittoServer, topic_filter: str) -> None:
        self.messages: list[Published] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-subscriber-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(topic_filter, qos=1)
        assert subscribed.wait(10), f"no SUBACK from {broker.address}"

    def unique(self) -> dict[str, Published]:
        """What a receiver deduplicating by the ``idempotency-key`` property keeps."""
        seen: dict[str, Published] = {}
        for message in self.messages:
            seen.setdefault(message.user_properties["idempotency-key"], message)
        return seen

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        properties = message.properties
        user = dict(getattr(properties, "UserProperty", []))
        self.messages.append(
            Published(
                topic=message.topic,
                payload=json.loads(message.payload),
                qos=message.qos,
                user_properties=user,
                content_type=getattr(properties, "ContentType", None),
            )
        )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
