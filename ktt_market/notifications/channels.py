"""Delivery channels: e-mail over SMTP, the in-app inbox, and SMS/Zalo providers (default: a log line).

A channel's `send` raises TransientError for a failure worth retrying (the server is away) and
PermanentError for one no retry will cure (a template too long for an SMS); anything else is
treated as transient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale

from ..accounts.models import User
from ..extensions import db
from .models import Channel, Notification, OutboxMessage
from .services import title

log = logging.getLogger(__name__)

SMS_MAX_CHARS = 400


class TransientError(Exception):
    """A failure that may pass: try again later."""


class PermanentError(Exception):
    """A failure no retry will cure: mark the message failed."""


class BaseChannel:
    """One way of reaching a person; subclasses implement `send`."""

    name = ""

    def __init__(self, name: str | None = None):
        if name:
            self.name = name

    def send(self, message: OutboxMessage) -> None:
        raise NotImplementedError


def _base_url() -> str:
    cfg = current_app.config
    if cfg.get("KTT_BASE_URL"):
        return cfg["KTT_BASE_URL"].rstrip("/")
    server = cfg.get("SERVER_NAME") or "localhost:5000"
    return f"{cfg.get('PREFERRED_URL_SCHEME', 'http')}://{server}"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _context(message: OutboxMessage) -> dict:
    payload = message.payload or {}
    link = payload.get("link")
    expires_at = payload.get("expires_at")
    user = db.session.get(User, message.user_id)
    return {
        "name": user.full_name if user else "",
        "payload": payload,
        "expires_at": dt.datetime.fromisoformat(expires_at) if expires_at else None,
        # Dates in a payload are ISO text (JSON): templates get them back as dates for date_vn.
        "day": _date(payload.get("day")),
        "waiting_since": _date(payload.get("waiting_since")),
        "base_url": _base_url(),
        "title": title(message.kind, payload),
        "link": f"{_base_url()}{link}" if link else None,
        "message": message,
    }


def message_id(key: str, sender: str) -> str:
    """Return the Message-ID of the e-mail for outbox `key`: the same key, the same id, always."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "ktt.example"
    # Keys are ASCII of our own making; the digest keeps the id valid whatever they contain.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    readable = "".join(ch if ch.isalnum() or ch in "-_" else "." for ch in key)[:120]
    return f"<{readable}.{digest}@{domain}>"


class EmailChannel(BaseChannel):
    """E-mail in the recipient's language, plain text and HTML, over SMTP (or the console).

    Exactly once is impossible across SMTP: a worker killed after the server accepted the message
    but before the outbox row was marked sent will, once the lease lapses, send it again. The
    Message-ID is therefore derived from the outbox key alone, so a repeat carries the same id and
    the receiving side (a mail server's duplicate filter, a mail client, or a test's SMTP sink)
    can drop it: at-least-once delivery, de-duplicated by the receiver.
    """

    name = Channel.EMAIL

    def build(self, message: OutboxMessage) -> EmailMessage:
        """Render the message for `message.recipient` in `message.locale`."""
        cfg = current_app.config
        with force_locale(message.locale):
            ctx = _context(message)
            text = render_template(f"email/notifications/{message.kind}.txt", **ctx)
            html = render_template(f"email/notifications/{message.kind}.html", **ctx)
        mail = EmailMessage()
        mail["From"] = cfg["MAIL_DEFAULT_SENDER"]
        mail["To"] = message.recipient
        mail["Subject"] = ctx["title"]
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(message.key, cfg["MAIL_DEFAULT_SENDER"])
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return mail

    def send(self, message: OutboxMessage) -> None:
        mail = self.build(message)
        cfg = current_app.config
        if not cfg.get("MAIL_SERVER"):
            # Development default: the console, never the log files.
            text = mail.get_body(("plain",)).get_content()
            print(
                f"\n----- e-mail to {message.recipient} -----\nSubject: {mail['Subject']}\n"
                f"Message-ID: {mail['Message-ID']}\n\n{text}-----",
                file=sys.stderr,
                flush=True,
            )
            return
        try:
            with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
                if cfg.get("MAIL_USE_TLS"):
                    smtp.starttls()
                if cfg.get("MAIL_USERNAME"):
                    smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError("recipient refused") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(f"SMTP {exc.smtp_code}") from exc
            raise TransientError(f"SMTP {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(type(exc).__name__) from exc


class InAppChannel(BaseChannel):
    """The inbox: a Notification row, committed together with the outbox row marked sent."""

    name = Channel.INAPP

    def send(self, message: OutboxMessage) -> None:
        payload = message.payload or {}
        with force_locale(message.locale):
            ctx = _context(message)
            body = render_template(f"notifications/short/{message.kind}.txt", **ctx).strip()
        db.session.add(
            Notification(
                user_id=message.user_id,
                kind=message.kind,
                title=ctx["title"][:200],
                body=body,
                link=payload.get("link"),
            )
        )


def short_text(message: OutboxMessage) -> str:
    """Render the SMS/Zalo text of a message; PermanentError when it is over 400 characters."""
    with force_locale(message.locale):
        text = render_template(f"notifications/short/{message.kind}.txt", **_context(message)).strip()
    if len(text) > SMS_MAX_CHARS:
        raise PermanentError(f"text of {len(text)} characters, over {SMS_MAX_CHARS}")
    return text


class LogChannel(BaseChannel):
    """SMS or Zalo ZNS stand-in: renders the text, checks its length and logs that it would send."""

    def send(self, message: OutboxMessage) -> None:
        text = short_text(message)
        # The kind and the number's last three digits: enough to trace, nothing to leak.
        log.info("%s %s to ...%s (%d chars)", self.name, message.kind, message.recipient[-3:], len(text))


# SMS/Zalo providers by name; NOTIFY_SMS_PROVIDER / NOTIFY_ZALO_PROVIDER choose one ("log" by default).
# A provider is a BaseChannel subclass built with the channel's name; it sends `short_text(message)`.
PROVIDERS: dict[str, type[BaseChannel]] = {"log": LogChannel}


def register_provider(name: str, cls: type[BaseChannel]) -> None:
    """Make an SMS or Zalo provider class available under `name`."""
    PROVIDERS[name] = cls


def channel_for(channel: str) -> BaseChannel:
    """Return the channel object that delivers on `channel`."""
    channel = Channel(channel)
    if channel is Channel.EMAIL:
        return EmailChannel()
    if channel is Channel.INAPP:
        return InAppChannel()
    provider = current_app.config.get(f"NOTIFY_{channel.upper()}_PROVIDER", "log")
    cls = PROVIDERS.get(provider)
    if cls is None:
        raise PermanentError(f"unknown {channel} provider {provider!r}")
    return cls(str(channel))
