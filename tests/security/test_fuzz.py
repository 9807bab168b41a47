"""Form inputs and query strings fuzzed with hypothesis: whatever a client sends, the answer is never a 5xx.

The forms are the ones the pages really show: every GET route is opened by each logged-in role (a buyer,
the owner of a unit with a product, its province's officer, an admin), and each <form> found is posted
with generated values in its own fields and the session's CSRF token.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security.conftest import build_url, forms_of, get_routes

pytestmark = pytest.mark.core

FUZZ_ROLES = ("buyer", "owner", "officer", "admin", "visitor")
# Posting these would end the session the rest of the run needs.
SKIP_ACTIONS = {"/account/logout"}
# Logging out ends the session; the webhook reads a signed JSON body, not a form (tests/payments).
SKIP_ENDPOINTS = {"accounts.logout", "payments_webhooks.stripe_webhook"}

FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a failure is reported with its payload, not shrunk
    suppress_health_check=list(HealthCheck),
)

VIETNAMESE = "aăâđeêioôơuưyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐƯƠ Nguyễn Trà Vinh"
CONTROL = st.text(st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=5)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["-1", "0", "1e309", "NaN", "-inf", "1,5", "1.000.000", " 7 ", "٣", "²", "0x10", "\x1d", "\u3000", "9" * 40]
    ),
)
DATES = st.sampled_from(
    ["2026-02-30", "0000-00-00", "31/12/2026", "9999-12-31", "10000-01-01", "2026-13-01", "-1-01-01", "2026-1-1"]
)
HUGE = st.sampled_from(["A" * 100_000, "ạ" * 30_000, "1" * 5_000, "<script>" * 2_000])
SCALAR_SMALL = st.one_of(
    st.text(st.sampled_from(VIETNAMESE), max_size=40),
    st.text(max_size=30),
    CONTROL,
    st.text(max_size=10).map(lambda s: s + "\x00" + s),
    NUMBERS,
    DATES,
)
SCALAR = st.one_of(SCALAR_SMALL, HUGE)
FILES = st.tuples(
    st.one_of(st.binary(max_size=2_000), st.sampled_from([b"PK\x03\x04" + b"\x00" * 64, b"\xef\xbb\xbfa,b\n1,2"])),
    st.sampled_from(["data.xlsx", "data.csv", "anh.jpg", "ảnh.png", "../../etc/passwd", "x" * 300, ""]),
)


def field_values(field: dict, multipart: bool) -> st.SearchStrategy:
    """Return what may be sent in one field: its own value, an option, garbage, or a list of them."""
    # A multipart body over 500 KB goes through a temporary file the test client never closes: no huge values there.
    garbage = SCALAR_SMALL if multipart else SCALAR
    if field["type"] == "file":
        return st.one_of(FILES, garbage)
    own = [field["value"], *field.get("options", [])]
    scalar = st.one_of(st.sampled_from(own), garbage)
    return st.one_of(scalar, st.lists(scalar, min_size=2, max_size=3))


OMIT = object()


def payload_strategy(fields: list[dict]) -> st.SearchStrategy:
    named = {f["name"]: f for f in fields if f["name"] != "csrf_token"}
    multipart = any(f["type"] == "file" for f in fields)
    # A prefixed form's own token (review-1-csrf_token) is sent as the page gave it: fuzzing it only meets the 400.
    return st.fixed_dictionaries(
        {
            name: st.just(f["value"])
            if name.endswith("csrf_token")
            else st.one_of(st.just(OMIT), field_values(f, multipart))
            for name, f in named.items()
        }
    )


def _materialise(payload: dict) -> dict:
    """Turn generated values into what the test client sends (fresh file objects every time)."""
    data = {}
    for name, value in payload.items():
        if value is OMIT:
            continue
        if isinstance(value, tuple):
            value = (io.BytesIO(value[0]), value[1])
        data[name] = value
    return data


def _collect_forms(app, clients, ids, method: str) -> dict[str, tuple[str, list[dict]]]:
    """Open every GET route as each role and keep, per form action, the first role that sees it and its fields."""
    found: dict[str, tuple[str, list[dict]]] = {}
    for rule in get_routes(app):
        url = build_url(rule, ids)
        for role in FUZZ_ROLES:
            response = clients[role].get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            for form in forms_of(response.get_data(as_text=True), url):
                action = urlsplit(form.action).path or url
                if form.method == method and action not in SKIP_ACTIONS and action not in found:
                    found[action] = (role, form.fields)
    return found


def _send(client, method: str, action: str, data: dict, token: str | None):
    if method == "post":
        return client.post(action, data={**data, "csrf_token": token})
    return client.get(action, query_string=data)


def _fallback_forms(app, clients, ids, forms: dict) -> dict[str, tuple[str, list[dict]]]:
    """Give each POST route no page showed a form (the state of the world hides its button): every field name
    seen anywhere, posted by the first role the route does not turn away."""
    from tests.conftest import csrf_token

    adapter = app.url_map.bind("ktt.test")
    shown = {adapter.match(action, method="POST")[0] for action in forms}
    seen = {f["name"]: f for _, fields in forms.values() for f in fields if f["type"] != "file"}
    # The names actions take (reason, note, quantity, ...) are short ones; a sample keeps the run fast.
    names = {name: seen[name] for name in sorted(seen, key=lambda n: (len(n), n))[:24]}
    extra = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in shown or rule.endpoint in SKIP_ENDPOINTS:
            continue
        url = build_url(rule, ids)
        for role in FUZZ_ROLES:
            response = clients[role].post(url, data={"csrf_token": csrf_token(clients[role])})
            if response.status_code not in {403, 404} and "/account/login" not in (response.location or ""):
                extra[url] = (role, list(names.values()))
                break
    return extra


def _fuzz_one(client, role: str, method: str, action: str, fields: list[dict], token, failures: list[str]) -> None:
    """Send one form `max_examples` times with generated values; note every 5xx or exception."""

    @FUZZ
    @given(payload=payload_strategy(fields))
    def run(payload):
        data = _materialise(payload)
        try:
            response = _send(client, method, action, data, token)
        except Exception as exc:  # TESTING propagates exceptions: each one is a 500 a user would see
            failures.append(f"{role} {method.upper()} {action} {exc!r:.300} with {_short(payload)}")
            return
        if response.status_code >= 500:
            failures.append(f"{role} {method.upper()} {action} -> {response.status_code} with {_short(payload)}")

    run()


def _fuzz(app, clients, world, method: str) -> tuple[int, list[str]]:
    from tests.conftest import csrf_token

    forms = _collect_forms(app, clients, world["ids"], method)
    if method == "post":
        forms |= _fallback_forms(app, clients, world["ids"], forms)
    failures: list[str] = []
    for action, (role, fields) in sorted(forms.items()):
        client = clients[role]
        token = csrf_token(client) if method == "post" else None
        extra = [{"name": "page", "type": "text", "value": "2"}] if method == "get" else []
        _fuzz_one(client, role, method, action, fields + extra, token, failures)
    return len(forms), failures


def _short(payload: dict) -> str:
    return repr({k: (v if len(repr(v)) < 80 else repr(v)[:80] + "…") for k, v in payload.items() if v is not OMIT})


@pytest.fixture
def busy_world(app, world, people, clients, make_order):
    """Unit A's world with work in progress: an order waiting for the cooperative, a filled cart."""
    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db
    from ktt_market.orders.models import OrderStatus
    from ktt_market.registry.models import Unit
    from tests.conftest import post_form

    with app.app_context():
        unit = db.session.get(Unit, world["ids"]["unit_id"])
        product = db.session.get(Product, world["ids"]["product_id"])
        db.session.expunge_all()
    make_order(unit, people["buyer"], [(product, 1)], status=OrderStatus.PLACED)
    for role in ("buyer", "visitor"):
        response = post_form(clients[role], "/cart/add", {"product_id": product.id, "quantity": 2})
        assert response.status_code == 302
    return world


def test_fuzzed_forms_never_answer_5xx(app, clients, busy_world):
    count, failures = _fuzz(app, clients, busy_world, "post")
    assert count >= 70, f"only {count} forms found: the crawl lost its way"
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])


def test_fuzzed_query_strings_never_answer_5xx(app, clients, world):
    count, failures = _fuzz(app, clients, world, "get")
    assert count >= 5, f"only {count} filter forms found"
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])
