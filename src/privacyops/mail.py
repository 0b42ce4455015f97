"""Outgoing e-mail: the one SMTP sender every part uses (identity codes and answers, Art. 19
notices, manual-connector tasks, marketing opt-in links).

The server is the settings' (``smtp_host``, ``smtp_port``, ``smtp_starttls``, ``smtp_username``
/ ``smtp_password``, ``mail_from``). Every message gets a ``Message-ID``, which
:func:`send_mail` returns so a caller can match replies. A server that cannot be reached, does
not answer within :data:`SMTP_TIMEOUT` seconds, or refuses the message raises
:class:`~privacyops.errors.DependencyUnavailable`: the caller decides (and stores nothing it
promised to send). The log names the server's host, port and error once per outage (and says
when it answers again), not once per message.

With no SMTP server configured (``Settings.effective_mail_transport == "outbox"``, the
embedded default) nothing is sent: each message is kept, sealed, in the database's local
outbox (:mod:`privacyops.store.mailbox`, registered by ``open_database``), which staff read
at ``/dashboard/outbox``.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from privacyops.errors import DependencyUnavailable
from privacyops.settings import Settings

__all__ = ["SMTP_TIMEOUT", "Message", "SmtpEmailSender", "register_local_outbox", "send_mail"]

#: Seconds to wait for the SMTP server at each step (connect, each command).
SMTP_TIMEOUT = 15.0

log = logging.getLogger(__name__)

#: ``keep(to, subject, body, message_id) -> stored?`` of the local outbox, per database URL.
LocalOutbox = Callable[[str, str, str, str], bool]
_local_outboxes: dict[str, LocalOutbox] = {}
_down: set[tuple[str, int]] = set()
_lock = threading.Lock()


def register_local_outbox(database_url: str, keep: LocalOutbox) -> None:
    """Where mail for settings naming ``database_url`` goes while no SMTP server is set."""
    with _lock:
        _local_outboxes[database_url] = keep


def _server_failed(host: str, port: int, exc: BaseException) -> None:
    with _lock:
        first = (host, port) not in _down
        _down.add((host, port))
    if first:
        log.warning(
            "mail server %s:%s cannot be reached: %s: %s; mail waits and is tried again "
            "(logged once until the server answers)",
            host,
            port,
            type(exc).__name__,
            exc,
        )


def _server_answered(host: str, port: int) -> None:
    with _lock:
        was_down = (host, port) in _down
        _down.discard((host, port))
    if was_down:
        log.warning("mail server %s:%s answers again", host, port)


@dataclass(frozen=True, slots=True)
class Message:
    """A message to a person: to whom, subject line (e-mail only) and text."""

    to: str
    subject: str
    body: str


def send_mail(settings: Settings, to: str, subject: str, body: str) -> str:
    """Send one plain-text e-mail; return its Message-ID.

    Raises:
        DependencyUnavailable: the SMTP server cannot be reached, timed out, or refused it.
    """
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or "localhost")
    mail.set_content(body)
    if settings.effective_mail_transport == "outbox":
        with _lock:
            keep = _local_outboxes.get(settings.effective_database_url)
        if keep is None or not keep(to, subject, body, str(mail["Message-ID"])):
            raise DependencyUnavailable(
                "No SMTP server is configured and the local outbox is not open; try again later."
            )
        return str(mail["Message-ID"])
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password is not None:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        _server_failed(settings.smtp_host, settings.smtp_port, exc)
        raise DependencyUnavailable(
            f"The mail server did not accept the message ({type(exc).__name__}); try again later."
        ) from None
    _server_answered(settings.smtp_host, settings.smtp_port)
    return str(mail["Message-ID"])


class SmtpEmailSender:
    """:func:`send_mail` as an object with ``send(message)`` (what the rights service holds,
    so tests and deployments can hand it another sender)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"SmtpEmailSender({self.settings.smtp_host}:{self.settings.smtp_port})"

    def send(self, message: Message) -> None:
        send_mail(self.settings, message.to, message.subject, message.body)
