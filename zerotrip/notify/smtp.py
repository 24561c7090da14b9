"""E-mail over SMTP with aiosmtplib (asyncio-native, so sending never blocks the loop)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from zerotrip.config import Settings
from zerotrip.notify.interfaces import OutgoingMessage, Sent
from zerotrip.outbox.errors import Permanent, RetryLater


class SmtpNotifier:
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: OutgoingMessage) -> Sent:
        s = self.settings
        if not message.to:
            raise Permanent("The applicant gave no e-mail address.")
        mail = EmailMessage()
        mail["From"] = s.smtp_sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        domain = s.smtp_sender.rpartition("@")[2] or "localhost"
        # A stable Message-ID lets receiving systems drop a duplicate after a retry.
        mail["Message-ID"] = make_msgid(idstring=message.reference, domain=domain)
        mail.set_content(message.text)
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise Permanent(f"The mail server refused {message.to}: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise Permanent(f"SMTP {exc.code}: {exc.message}") from None
            raise RetryLater(f"SMTP {exc.code}: {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryLater(f"SMTP server unreachable: {exc}") from None
        return Sent("sent", mail["Message-ID"])
