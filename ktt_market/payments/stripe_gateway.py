"""The one module that talks to Stripe: Checkout Sessions, refunds and webhook signatures.

Everything else in the code base sees plain dicts and our own errors, never the `stripe` library.
A client is built per call from the app's settings (STRIPE_SECRET_KEY, STRIPE_API_BASE), so tests
and configuration changes need no global state. VND is a zero-decimal currency in Stripe: amounts
are whole đồng, never multiplied by 100.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300
# A page waits for Stripe: connect fast or give up; a slow answer still gets a fair chance.
_TIMEOUT = (3.0, 20.0)


class GatewayError(Exception):
    """Stripe refused the request (bad parameters, a refund too large, an expired session)."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or failed on its side: the same call may be retried later."""


class InvalidWebhook(Exception):
    """A webhook call that is not signed by Stripe with our secret, or is stale or unreadable."""


def configured() -> bool:
    """Whether both Stripe keys are set (the card method exists only then)."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def _sdk() -> ModuleType:
    # The Stripe library (~5 MB resident) is imported on the first card operation: where card payments are off,
    # or in a process that never takes one, it is never loaded.
    import stripe

    return stripe


def _client():
    stripe = _sdk()
    config = current_app.config
    key = config.get("STRIPE_SECRET_KEY")
    if not key:
        raise GatewayUnavailable("STRIPE_SECRET_KEY is not set")
    base = config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        key,
        base_addresses={"api": base} if base else None,
        http_client=stripe.RequestsClient(timeout=_TIMEOUT),
        # One retry on a network error: the idempotency key makes it safe.
        max_network_retries=1,
    )


def _call(fn, *args, **kwargs) -> dict[str, Any]:
    """Run one Stripe call and return its object as a plain dict, mapping errors onto ours."""
    stripe = _sdk()
    try:
        result = fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise GatewayUnavailable(str(exc.user_message or exc)) from exc
    except stripe.APIError as exc:  # a 5xx at Stripe
        raise GatewayUnavailable(str(exc.user_message or exc)) from exc
    except stripe.StripeError as exc:
        raise GatewayError(str(exc.user_message or exc), code=exc.code) from exc
    return result.to_dict()


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Create a Checkout Session (POST /v1/checkout/sessions) under `idempotency_key`."""
    client = _client()
    return _call(client.v1.checkout.sessions.create, params, {"idempotency_key": idempotency_key})


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    """Fetch a Checkout Session as Stripe has it now."""
    client = _client()
    return _call(client.v1.checkout.sessions.retrieve, session_id)


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    """Expire an open Checkout Session, so that nobody can pay it any more."""
    client = _client()
    return _call(client.v1.checkout.sessions.expire, session_id, None, {"idempotency_key": f"expire-{session_id}"})


def create_refund(
    *, payment_intent: str, amount_vnd: int, metadata: dict[str, str], idempotency_key: str
) -> dict[str, Any]:
    """Refund `amount_vnd` whole đồng of a PaymentIntent (POST /v1/refunds)."""
    client = _client()
    params = {"payment_intent": payment_intent, "amount": int(amount_vnd), "metadata": metadata}
    return _call(client.v1.refunds.create, params, {"idempotency_key": idempotency_key})


def construct_event(payload: bytes, sig_header: str | None) -> dict[str, Any]:
    """Verify the Stripe-Signature of a webhook's raw body and return the event as a dict."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or not sig_header:
        raise InvalidWebhook("missing signature or secret")
    stripe = _sdk()
    try:
        event = stripe.Webhook.construct_event(payload, sig_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(str(exc)) from exc
    except ValueError as exc:  # not JSON
        raise InvalidWebhook("unreadable payload") from exc
    data = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise InvalidWebhook("not an event")
    return data
