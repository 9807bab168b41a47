"""Security suite fixtures: one unit's world seen by each role that belongs in it, and a page crawler."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

# The objects of the access matrix (unit A with its member, application, product, order, review, ...):
# built once there, so a new kind of object reaches this suite too.
from tests.test_access_matrix import world  # noqa: F401

ROLES = ("visitor", "buyer", "owner", "officer", "admin")


@pytest.fixture
def people(app, world, make_user):  # noqa: F811
    """The users who belong to unit A's world: its buyer, its owner, its province's officer, an admin."""
    from ktt_market.accounts.models import Role, User
    from ktt_market.extensions import db
    from ktt_market.orders.models import Order, Purchase
    from ktt_market.registry.models import Unit, UnitStaff

    ids = world["ids"]
    with app.app_context():
        owner = db.session.scalar(
            select(User).join(UnitStaff, UnitStaff.user_id == User.id).where(UnitStaff.unit_id == ids["unit_id"])
        )
        buyer = db.session.scalar(
            select(User).join(Purchase, Purchase.buyer_id == User.id).join(Order).where(Order.id == ids["order_id"])
        )
        province = db.session.get(Unit, ids["unit_id"]).province_code
        db.session.expunge_all()
        db.session.remove()
    return {
        "buyer": buyer,
        "owner": owner,
        "officer": make_user(role=Role.OFFICER, province_code=province),
        "admin": make_user(role=Role.ADMIN),
    }


@pytest.fixture
def clients(app, people, login):
    """A test client per role, logged in through the real form (the visitor stays anonymous)."""
    result = {"visitor": app.test_client()}
    for role, user in people.items():
        result[role] = login(app.test_client(), user)
    return result


def build_url(rule, ids: dict) -> str:
    """Return the rule's path with unit A's objects as its arguments."""
    return rule.build({k: ids[k] for k in rule.arguments}, append_unknown=False)[1]


@dataclass
class Form:
    """A <form> as a browser sees it: where it goes and the fields it sends."""

    method: str
    action: str
    fields: list[dict] = field(default_factory=list)


class FormParser(HTMLParser):
    """Collect the forms of a page with their named inputs, selects (and options) and textareas."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            action = a.get("action") or self.page_url
            self._form = Form((a.get("method") or "get").lower(), action)
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag in {"input", "textarea"}:
            kind = a.get("type", "text") if tag == "input" else "textarea"
            if kind not in {"submit", "button", "reset", "image"}:
                self._form.fields.append({"name": a["name"], "type": kind, "value": a.get("value", "")})
        elif tag == "select":
            self._select = {"name": a["name"], "type": "select", "value": "", "options": []}
            self._form.fields.append(self._select)
        if tag == "option" and self._select is not None and a.get("value") is not None:
            self._select["options"].append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_of(page: str, url: str) -> list[Form]:
    """Return the forms on an HTML page."""
    parser = FormParser(url)
    parser.feed(page)
    return parser.forms


def get_routes(app):
    """Yield every GET rule of the application except static files."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield rule
