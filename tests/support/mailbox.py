"""A real SMTP server for tests (aiosmtpd on a free local port) that keeps what it accepts.

`hold()` makes the next delivery stop in the middle of DATA, before the server answers: the
moment to kill a worker. A delivery whose client disappears while held is never accepted,
as with any real mail server.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from .services import free_port


@dataclass
class Received:
    rcpt: list[str]
    message: EmailMessage
    # time.monotonic() when the server had the whole message, before it answered: for latency figures.
    arrived_at: float = field(default_factory=time.monotonic)

    @property
    def to(self) -> str:
        return self.rcpt[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()


class _Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        box = self.box
        if box._holding.is_set():
            box._holding.clear()
            box.in_flight.set()
            try:
                while not box._release.is_set():
                    if server.transport is None or server.transport.is_closing():
                        box.abandoned += 1
                        return "451 Client went away"
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # aiosmtpd cancels the session when its client is gone
                box.abandoned += 1
                raise
        arrived_at = time.monotonic()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with box._cond:
            box.received.append(Received(list(envelope.rcpt_tos), message, arrived_at))
            box._cond.notify_all()
        return "250 Message accepted for delivery"


class Mailbox:
    def __init__(self):
        self.port = free_port()
        self.received: list[Received] = []
        self.abandoned = 0
        self.in_flight = threading.Event()
        self._holding = threading.Event()
        self._release = threading.Event()
        self._cond = threading.Condition()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> Mailbox:
        # aiosmtpd logs every SMTP command at INFO: noise in test output, and slow under load.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._controller.stop()

    def hold(self) -> None:
        """Stop the next delivery in the middle of DATA until `release()` or its client dies."""
        self._release.clear()
        self.in_flight.clear()
        self._holding.set()

    def release(self) -> None:
        self._release.set()

    def to(self, address: str) -> list[Received]:
        with self._cond:
            return [r for r in self.received if address in r.rcpt]

    def wait_for(self, count: int, *, to: str | None = None, timeout: float = 15) -> list[Received]:
        """Wait until `count` messages (to `to`, when given) arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.received if to is None or to in r.rcpt]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(r.rcpt, r.subject) for r in self.received]
                    raise AssertionError(f"expected {count} message(s) to {to or 'anyone'} in {timeout}s, got {got}")
                self._cond.wait(left)
