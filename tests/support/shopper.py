"""A buyer over real HTTP (requests): logs in, fills a cart and checks out through the forms, like a browser."""

from __future__ import annotations

import html as html_lib
import re

import requests

PROVINCE = 86  # Vĩnh Long
WARD = 29242  # Phường Trà Vinh, Vĩnh Long


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    assert match, f"no {name} on the page"
    return html_lib.unescape(match.group(1))


class Shopper:
    def __init__(self, base_url: str):
        self.base = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, data: dict, *, form_page: str = "/", **kwargs) -> requests.Response:
        """Submit a form the way a browser does: with the CSRF token of the page it came from."""
        token = hidden(self.get(form_page).text, "csrf_token")
        return self.http.post(self.base + path, data={"csrf_token": token, **data}, timeout=30, **kwargs)

    def login(self, email: str, password: str) -> Shopper:
        response = self.post("/account/login", {"email": email, "password": password}, form_page="/account/login")
        assert response.ok and "/account/login" not in response.url, response.text[:500]
        return self

    def add(self, product_id: int, quantity: int = 1) -> None:
        response = self.post("/cart/add", {"product_id": product_id, "quantity": quantity})
        assert response.ok, response.text[:500]

    def checkout(self, *, payment_method: str = "cod") -> str:
        """Place the cart's order with delivery in Vĩnh Long; return the purchase number."""
        path = f"/checkout?province={PROVINCE}"
        page = self.get(path).text
        response = self.http.post(
            self.base + path,
            data={
                "csrf_token": hidden(page, "csrf_token"),
                "contact_name": "Nguyễn Thị Lan",
                "phone": "0912 345 678",
                "ward_code": str(WARD),
                "street": "12 Nguyễn Đáng",
                "note": "",
                "payment_method": payment_method,
                "idempotency_key": hidden(page, "idempotency_key"),
                "expected_total": hidden(page, "expected_total"),
            },
            timeout=30,
        )
        assert response.ok, response.text[:1000]
        match = re.search(r"/orders/(KTT-[A-Z0-9-]+)$", response.url)
        assert match, f"checkout did not reach the order page: {response.url}\n{response.text[:1000]}"
        return match.group(1)
