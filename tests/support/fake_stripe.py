"""A local HTTP server standing in for Stripe's API, and webhook signing the way Stripe signs.

The app reaches it through STRIPE_API_BASE (the library's base address). It records every request
(method, path, form body, Idempotency-Key header) and answers with JSON shaped like Stripe's
objects. An idempotency key seen before gets the first answer again, as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str | None


@dataclass
class FakeStripe:
    """The server's state: sessions and refunds it made, requests it saw, and switches for tests."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_status: str = "pending"  # what a new refund answers with
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _by_key: dict[str, tuple[int, dict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # ------------------------------------------------------------ what Stripe would do

    def handle(self, method: str, path: str, form: dict[str, str], key: str | None) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Recorded(method, path, form, key))
            if method == "POST" and key and key in self._by_key:
                return self._by_key[key]
            answer = self._route(method, path, form)
            if method == "POST" and key:
                self._by_key[key] = answer
            return answer

    def _route(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._new_session(form)
        if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) >= 4:
            session = self.sessions.get(parts[3])
            if session is None:
                return 404, _error("No such checkout.session", "resource_missing")
            if method == "GET" and len(parts) == 4:
                return 200, session
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    return 400, _error("Only open sessions can be expired.", "checkout_session_not_open")
                session["status"] = "expired"
                return 200, session
        if method == "POST" and path == "/v1/refunds":
            return 200, self._new_refund(form)
        return 404, _error(f"Unrecognized request URL ({method}: {path})", None)

    def _new_session(self, form: dict[str, str]) -> dict:
        n = next(self._seq)
        session_id = f"cs_test_{n:04d}"
        amount = 0
        i = 0
        while f"line_items[{i}][price_data][unit_amount]" in form:
            amount += int(form[f"line_items[{i}][price_data][unit_amount]"]) * int(
                form.get(f"line_items[{i}][quantity]", "1")
            )
            i += 1
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "currency": form.get("currency"),
            "amount_total": amount,
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": _nested(form, "metadata"),
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "expires_at": int(form["expires_at"]) if form.get("expires_at") else int(time.time()) + 86400,
            "url": f"{self.url}/pay/{session_id}",
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
        }
        self.sessions[session_id] = session
        return session

    def _new_refund(self, form: dict[str, str]) -> dict:
        refund_id = f"re_test_{next(self._seq):04d}"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": int(form["amount"]),
            "currency": "vnd",
            "payment_intent": form.get("payment_intent"),
            "metadata": _nested(form, "metadata"),
            "status": self.refund_status,
            "failure_reason": None,
        }
        self.refunds[refund_id] = refund
        return refund

    def pay(self, session_id: str, payment_intent: str = "pi_test_1", payment_status: str = "paid") -> dict:
        """The buyer pays on Stripe's page: the session completes."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status=payment_status, payment_intent=payment_intent)
        return dict(session)


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {key[len(prefix) : -1]: value for key, value in form.items() if key.startswith(prefix) and "][" not in key}


def _error(message: str, code: str | None) -> dict:
    return {"error": {"type": "invalid_request_error", "message": message, "code": code}}


def start_fake_stripe() -> tuple[FakeStripe, ThreadingHTTPServer]:
    """Start the fake on a free local port, in a daemon thread."""
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            split = urlsplit(self.path)
            form = dict(parse_qsl(body or split.query, keep_blank_values=True))
            status, payload = fake.handle(self.command, split.path, form, self.headers.get("Idempotency-Key"))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_fake")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server


# ---------------------------------------------------------------- webhooks signed as Stripe signs them


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header: t=<timestamp>,v1=HMAC-SHA256(secret, f"{t}.{payload}")."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    """A Stripe event around `obj`, as the webhook receives it."""
    return {
        "id": event_id or f"evt_{event_type.replace('.', '_')}_{next(_event_seq)}",
        "object": "event",
        "type": event_type,
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


_event_seq = itertools.count(1)
