"""A short-lived copy of public pages as anonymous visitors see them.

A listing page is the same for every visitor who is not logged in and has nothing of their own
in the session (no cart, no message waiting); rendering it costs several queries and a large
template. Each worker process keeps such pages for KTT_PAGE_CACHE_SECONDS, keyed by address and
language. Any database commit in the process empties its copies at once; the other workers'
copies age out within those seconds. The per-session CSRF token in a page (the footer's language
form) is put back for each visitor, so a cached page never carries somebody else's token.

Two layers share the pages:
- `anonymous_page_cache`, a view decorator, for visitors whose session holds nothing but their
  language and CSRF token;
- `FirstVisitLayer`, in front of the application, for requests that carry no cookie at all
  (first visits, crawlers, link previews): such a visitor is anonymous and sees the default
  language, so the page is answered without the request machinery of the application (session,
  login, locale, hooks), with a new session holding only the CSRF token the page shows, as the
  application itself would have set it.

Views behind this cache take no rate limit (none of them has one): checking an empty set of limits
cost more than serving the cached page itself.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from flask import Flask, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..extensions import limiter

MAX_ENTRIES = 256
# Session keys that do not change what a public page shows to a visitor who is not logged in
# (the language is part of the key; Flask-Login marks anonymous sessions "_fresh": False).
_NEUTRAL_SESSION_KEYS = frozenset({"csrf_token", "lang", "_fresh", "_id", "_permanent"})
# Set by the view decorator for FirstVisitLayer: the page of this cookie-less request may be kept.
_OFFER = "ktt.pagecache.offer"
# Headers made afresh for each visitor rather than copied from the kept response.
_PER_RESPONSE_HEADERS = frozenset({"set-cookie", "content-length"})


class _Store:
    """Pages by key, each with its expiry; the oldest go first beyond MAX_ENTRIES."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key, now: float):
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._items[key]
                return None
            return entry[1]

    def put(self, key, value, expires: float) -> None:
        with self._lock:
            self._items[key] = (expires, value)
            self._items.move_to_end(key)
            while len(self._items) > MAX_ENTRIES:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_pages = _Store()  # (language, url) -> body split around the CSRF token
_first_visits = _Store()  # environ key -> (headers, body split around the CSRF token)


def clear() -> None:
    """Forget every cached page of this process."""
    _pages.clear()
    _first_visits.clear()


def _on_commit(conn) -> None:
    # Whatever a commit wrote may show on a public page; cheaper to forget all than to work out which.
    if len(_pages) or len(_first_visits):
        clear()


def _is_cached_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "anonymous_page_cache", False)


def install(app: Flask) -> None:
    """Empty the cache on every database commit, skip the limiter for cached views, add the first-visit layer."""
    if not event.contains(Engine, "commit", _on_commit):
        event.listen(Engine, "commit", _on_commit)
    if _is_cached_view not in limiter._request_filters:
        limiter.request_filter(_is_cached_view)
    app.wsgi_app = FirstVisitLayer(app.wsgi_app, app)


def _session_is_neutral() -> bool:
    return session.keys() <= _NEUTRAL_SESSION_KEYS


def _visitor_is_anonymous() -> bool:
    """Whether this request sees the page everybody sees: a GET without a user or session state."""
    if request.method not in ("GET", "HEAD"):
        return False
    return _session_is_neutral() and not current_user.is_authenticated


def _split(body: bytes, token: str | None) -> tuple[bytes, ...]:
    return tuple(body.split(token.encode())) if token else (body,)


def anonymous_page_cache(view: Callable) -> Callable:
    """Serve `view` to anonymous visitors from a per-process copy a few seconds old at most."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        seconds = current_app.config.get("KTT_PAGE_CACHE_SECONDS", 0)
        if not seconds or not _visitor_is_anonymous():
            return view(*args, **kwargs)
        key = (str(get_locale()), request.url)
        now = time.monotonic()
        parts = _pages.get(key, now)
        if parts is not None:
            # The token belongs to the session: a new one is made (and stored) only if the page shows one.
            body = parts[0] if len(parts) == 1 else generate_csrf().encode().join(parts)
            return current_app.response_class(body, mimetype="text/html")
        response = make_response(view(*args, **kwargs))
        if (
            response.status_code == 200
            and response.mimetype == "text/html"
            and not response.direct_passthrough
            and _visitor_is_anonymous()  # the view itself may have flashed a message
        ):
            token = g.get(_csrf_field(current_app))
            parts = _split(response.get_data(), token)
            _pages.put(key, parts, now + seconds)
            if "HTTP_COOKIE" not in request.environ and session.keys() <= {_csrf_field(current_app)}:
                request.environ[_OFFER] = (parts, now + seconds)
        return response

    wrapper.anonymous_page_cache = True
    return wrapper


def _csrf_field(app: Flask) -> str:
    return app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"


def _environ_key(environ: dict) -> tuple:
    return (
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )


class FirstVisitLayer:
    """WSGI middleware: answer cookie-less GETs of cached pages without entering the application."""

    def __init__(self, wsgi_app: Callable, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (
            "HTTP_COOKIE" in environ
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or not self.app.config.get("KTT_PAGE_CACHE_SECONDS")
        ):
            return self.wsgi_app(environ, start_response)
        key = _environ_key(environ)
        now = time.monotonic()
        kept = _first_visits.get(key, now)
        if kept is not None:
            return self._answer(*kept)(environ, start_response)

        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        offer = environ.get(_OFFER)
        if offer is not None and captured.get("status", "").startswith("200 "):
            headers = [(k, v) for k, v in captured["headers"] if k.lower() not in _PER_RESPONSE_HEADERS]
            parts, expires = offer
            _first_visits.put(key, (headers, parts), expires)
        return result

    def _answer(self, headers: list[tuple[str, str]], parts: tuple[bytes, ...]):
        """Build the response the application would give a new visitor: a fresh session if the page has a token."""
        app = self.app
        if len(parts) == 1:
            return app.response_class(parts[0], headers=headers)
        # As flask_wtf.csrf.generate_csrf does for a session without a token.
        field = _csrf_field(app)
        raw = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 (random bytes, not a password)
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        token = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)
        response = app.response_class(token.encode().join(parts), headers=headers)
        new_session = app.session_interface.session_class()
        new_session[field] = raw
        app.session_interface.save_session(app, new_session, response)
        return response
