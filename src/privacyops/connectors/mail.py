"""Outgoing e-mail for connectors and notices (SMTP from the settings)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from privacyops.errors import DependencyUnavailable
from privacyops.settings import Settings

__all__ = ["send_mail"]


def send_mail(settings: Settings, to: str, subject: str, body: str) -> str:
    """Send a plain-text e-mail; return its Message-ID.

    Raises:
        DependencyUnavailable: the SMTP server refused or did not answer.
    """
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or "localhost")
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException):
        raise DependencyUnavailable("The SMTP server did not accept the e-mail.") from None
    return str(msg["Message-ID"])
