"""The e-mail channel: one message per delivery, handed to an SMTP relay with :mod:`smtplib`.

A delivery is delivered when the relay accepts the message for its one recipient (``250``
after ``DATA``); from there the mail system owns it. Each attempt opens its own connection —
notices are few, and a fresh session needs no keep-alive care — optionally upgraded with
STARTTLS and logged in.

==========================================  ====================================================
what happened                               the delivery
==========================================  ====================================================
accepted                                    delivered
the recipient or the message refused, 5xx   dead at once: no such mailbox, a message the relay
                                            will not take — the same answer would come again
the same refused with 4xx (greylisting,     tried again with backoff
a full mailbox)
no connection, a timeout, the relay         tried again with backoff: these are the relay's or
refusing STARTTLS, login or the sender      the platform's to fix, not the recipient's refusal
==========================================  ====================================================
"""

import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

from rules.delivery.errors import SendFailedError, SendRefusedError
from rules.delivery.mail_text import compose
from rules.delivery.settings import EmailDelivery
from store.sql import Channel, Delivery

_PERMANENT = 500  # SMTP reply codes from here on are permanent (RFC 5321, 4.2.1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SmtpSender:
    """Sends e-mail notices through the relay of :class:`EmailDelivery`."""

    channel = Channel.EMAIL

    def __init__(
        self, settings: EmailDelivery, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        if settings.host is None:
            raise ValueError("e-mail delivery needs an SMTP host")
        self._settings = settings
        self._host = settings.host
        self._clock = clock

    def close(self) -> None:
        """Nothing stays open between attempts."""

    def send(self, delivery: Delivery) -> None:
        """Hand ``delivery``'s message to the relay.

        Raises:
            SendRefusedError: the recipient or the message refused with a 5xx reply.
            SendFailedError: anything else that kept the relay from accepting it.
        """
        settings = self._settings
        message = compose(
            delivery, sender=settings.sender, domain=settings.domain, now=self._clock()
        )
        address = f"{self._host}:{settings.port}"

        def failed(reason: str) -> SendFailedError:
            return SendFailedError(delivery.id, self.channel, delivery.target, reason)

        def refused(reason: str) -> SendRefusedError:
            return SendRefusedError(delivery.id, self.channel, delivery.target, reason)

        try:
            with smtplib.SMTP(self._host, settings.port, timeout=settings.timeout_s) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username is not None and settings.password is not None:
                    smtp.login(settings.username, settings.password.get_secret_value())
                smtp.send_message(message, to_addrs=[delivery.target])
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients.get(delivery.target, (0, b""))
            reason = f"recipient refused: {code} {_text(text)}"
            raise (refused(reason) if code >= _PERMANENT else failed(reason)) from error
        except smtplib.SMTPDataError as error:
            reason = f"message refused: {error.smtp_code} {_text(error.smtp_error)}"
            permanent = error.smtp_code >= _PERMANENT
            raise (refused(reason) if permanent else failed(reason)) from error
        except smtplib.SMTPResponseException as error:
            reason = f"{address} answered {error.smtp_code} {_text(error.smtp_error)}"
            raise failed(reason) from error
        except (smtplib.SMTPException, OSError) as error:
            raise failed(f"{address}: {type(error).__name__}: {error}") from error


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
