"""E-mail: send a notification through an SMTP server, with STARTTLS by default."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from dagster_cfwb.notifications.http_post import NotificationError
from dagster_cfwb.notifications.message import Notification
from dagster_cfwb.transfer.secret_masking import redact

__all__ = ["build_email", "send_email"]


def build_email(notification: Notification, *, sender: str, to: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = notification.headline
    message["From"] = sender
    message["To"] = ", ".join(to)
    message.set_content(notification.as_text())
    return message


def send_email(
    notification: Notification,
    *,
    host: str,
    port: int = 587,
    sender: str,
    to: Sequence[str],
    user: str | None = None,
    password: str | None = None,
    starttls: bool = True,
    ca_file: str | None = None,
    timeout: float = 15.0,
) -> None:
    """Send `notification` by e-mail to `to`.

    With `starttls` (default) the connection is upgraded to TLS before signing in, and the server
    certificate is verified (against `ca_file` when given, e.g. the organisation's CA).

    Raises:
        NotificationError: the server could not be reached, refused TLS, the sign-in or a recipient
            (the message never contains the password).
    """
    message = build_email(notification, sender=sender, to=to)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=ca_file))
                smtp.ehlo()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
        raise NotificationError(
            f"e-mail: sending through `{host}:{port}` failed: {redact(str(e), [password])}"
        ) from None
