"""Sending e-mail: SMTP when configured, else the console (the embedded default)."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage

from flask import current_app


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send one message now (callers send only after their transaction committed)."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    if not cfg.get("MAIL_SERVER"):
        # Development default: the message goes to the console, never to the log files.
        print(f"\n----- e-mail to {to} -----\nSubject: {subject}\n\n{text}\n-----", file=sys.stderr, flush=True)
        return
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(msg)
