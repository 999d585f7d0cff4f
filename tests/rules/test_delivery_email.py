"""The e-mail channel against a real SMTP server (aiosmtpd): the message, its Message-ID from
the idempotency key, retries while the server is down, refusals."""

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from tests.rules.test_delivery_support import Clock, SmtpReceiver, fire, register_city, worker

from rules.delivery import EmailDelivery, SmtpSender, message_id
from store.sql import Channel, Contacts, DeliveryState, Outbox, create_engine_for

ADDRESS = "ehs@ent-a.example.cn"
RELAY_WORD = "relay-password"


@pytest.fixture
def engine(sqlite_url):
    engine = create_engine_for(sqlite_url)
    register_city(engine)
    Contacts(engine).add("ent-a", name="EHS manager", channel=Channel.EMAIL, target=ADDRESS)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp():
    receiver = SmtpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def clock():
    return Clock()


def mail_worker(engine, smtp, clock, *, retry=None, **settings):
    values = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": smtp.port,
        "sender": "Lantian 蓝天 <alerts@hbj.liaocheng.example>",
        "timeout_s": 2.0,
    } | settings
    return worker(engine, SmtpSender(EmailDelivery(**values), clock=clock), clock, **retry or {})


def only_delivery(engine):
    (delivery,) = Outbox(engine).deliveries()
    return delivery


def test_a_notice_is_mailed_in_chinese_and_english_with_its_key_as_message_id(engine, smtp, clock):
    fire(engine, "ent-a", "pm-1", "pm-2")

    assert mail_worker(engine, smtp, clock).run_once().delivered == 1

    (message,) = smtp.messages
    assert message["To"] == ADDRESS
    assert message["Message-ID"] == message_id("alert-1:firing", "hbj.liaocheng.example")
    assert message["Message-ID"].startswith("<alert-1.firing.")
    assert message["X-Lantian-Idempotency-Key"] == "alert-1:firing"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == (
        "【蓝天 Lantian】超标告警 Alert: pm25-spike 等2项 (+1) @ site-ent-a-east"
    )
    text = message.get_content()
    assert "站点 Site: site-ent-a-east" in text
    assert "设备 Device: pm-1" in text
    assert "设备 Device: pm-2" in text
    assert "测量值 Value: 182.5   限值 Limit: 150" in text
    assert "标准 Standard: GB 3095-2012   规则版本 Rule version: 2026.1" in text
    # 01:55 and 02:00 UTC are 09:55 and 10:00 in Beijing.
    assert "时段起 Window start: 2026-11-26 09:55:00 北京时间 (UTC+8)" in text
    assert "告警 Fired: 2026-11-26 10:00:00 北京时间 (UTC+8)" in text
    assert "Please acknowledge on the Lantian platform" in text
    assert only_delivery(engine).state is DeliveryState.DELIVERED


def test_message_ids_are_valid_and_one_per_key():
    ids = {key: message_id(key, "x.example") for key in ("a-1:firing", "a-1.firing", "a-1:x:y")}

    assert len(set(ids.values())) == 3
    assert all(":" not in value for value in ids.values())
    assert message_id("a-1:firing", "x.example") == ids["a-1:firing"]


def test_a_server_that_is_down_gets_the_mail_when_it_returns(engine, smtp, clock):
    channel = mail_worker(engine, smtp, clock, retry={"max_attempts": 5})
    fire(engine)
    smtp.stop()

    assert channel.run_once().retried == 1
    assert channel.run_once().claimed == 0
    clock.advance(10)
    assert channel.run_once().retried == 1
    failed = only_delivery(engine)
    assert "ConnectionRefusedError" in (failed.last_error or "")

    smtp.start()
    clock.advance(20)
    assert channel.run_once().delivered == 1
    assert (only_delivery(engine).attempts, len(smtp.messages)) == (3, 1)


def test_an_unknown_mailbox_is_dead_at_once(engine, smtp, clock):
    smtp.mailbox.refuse[ADDRESS] = "550 5.1.1 no such mailbox"
    fire(engine)

    assert mail_worker(engine, smtp, clock).run_once().dead == 1
    dead = only_delivery(engine)
    assert (dead.state, dead.attempts) == (DeliveryState.DEAD, 1)
    assert "recipient refused: 550 5.1.1 no such mailbox" in (dead.last_error or "")


def test_a_greylisted_recipient_is_tried_again(engine, smtp, clock):
    smtp.mailbox.refuse[ADDRESS] = "450 4.2.0 greylisted, come back later"
    fire(engine)
    channel = mail_worker(engine, smtp, clock)

    assert channel.run_once().retried == 1
    del smtp.mailbox.refuse[ADDRESS]
    clock.advance(10)
    assert channel.run_once().delivered == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_sender_logs_in_when_told_to(engine, clock):
    logins = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((mechanism, auth_data.login, auth_data.password))
        # handled=False: aiosmtpd answers 535 itself.
        return AuthResult(success=auth_data.password == RELAY_WORD.encode(), handled=False)

    options = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticate}
    smtp = SmtpReceiver(options=options)
    smtp.start()
    try:
        fire(engine)
        wrong = mail_worker(engine, smtp, clock, username="lantian", password=RELAY_WORD[::-1])
        assert wrong.run_once().retried == 1  # our credentials are ours to fix: not dead
        assert "535" in (only_delivery(engine).last_error or "")

        clock.advance(10)
        right = mail_worker(engine, smtp, clock, username="lantian", password=RELAY_WORD)
        assert right.run_once().delivered == 1
    finally:
        smtp.stop()
    assert {login for _, login, _ in logins} == {b"lantian"}
    assert logins[-1] == ("PLAIN", b"lantian", RELAY_WORD.encode())
    assert len(smtp.messages) == 1
