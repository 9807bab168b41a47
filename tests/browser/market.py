"""What the accessibility, Lighthouse and page-weight tests share: demo-like data, the main pages, the Node tools.

The data is made by the factories and, for photos and the cart, through the live server's own forms (the
photos must land in the live server's storage, the cart in a real session), so each page shows what a
visitor of the demo would see: products with photos, a buyer with a cart and an order, a cooperative's
back office, a province officer's dashboard.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.factories import PASSWORD
from tests.support.processes import ROOT
from tests.support.shopper import Shopper, hidden

NODE_TOOLS = ROOT / "tests" / "browser" / "node"
NODE_MODULES = NODE_TOOLS / "node_modules"


def node_tool(relative: str) -> Path:
    """Return the path of a file of the pinned Node tools, running `npm ci` first when they are not installed.

    The test skips (with the reason) only when they are absent and cannot be installed: no npm, or npm failed.
    """
    path = NODE_MODULES / relative
    if path.exists():
        return path
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(f"{relative} is missing and Node/npm are not installed (make install-test installs them)")
    done = subprocess.run(
        ["npm", "ci", "--prefix", str(NODE_TOOLS), "--no-audit", "--no-fund", "--loglevel=error"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode or not path.exists():
        pytest.skip(f"{relative} is missing and `npm ci` in {NODE_TOOLS} failed:\n{done.stderr[-2000:]}")
    return path


def picture(label: str, colour: tuple[int, int, int]) -> bytes:
    """Return a 900 px JPEG photo-like picture (a gradient and a label), as a phone camera would send."""
    from PIL import Image, ImageDraw

    img = Image.linear_gradient("L").resize((900, 900)).convert("RGB")
    img = Image.blend(img, Image.new("RGB", img.size, colour), 0.6)
    ImageDraw.Draw(img).text((60, 60), label, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Market:
    """The demo-like market on the live server: URLs of its pages, and the logged-in sessions that see them."""

    base_url: str
    sessions: dict[str, Shopper] = field(default_factory=dict)
    # name -> (who looks at it: None for a visitor, or a key of `sessions`; path)
    pages: dict[str, tuple[str | None, str]] = field(default_factory=dict)

    def cookies(self, who: str | None) -> list[dict]:
        """Return the cookies of `who`'s session in Playwright's form (none for a visitor)."""
        if who is None:
            return []
        jar = self.sessions[who].http.cookies
        return [{"name": c.name, "value": c.value, "url": self.base_url} for c in jar]

    def cookie_header(self, who: str | None) -> str:
        """Return `who`'s cookies as a Cookie header value."""
        return "; ".join(f"{c['name']}={c['value']}" for c in self.cookies(who))


def build_market(
    base_url: str, *, make_unit, make_staff, make_user, make_product, make_order, photos: bool = True
) -> Market:
    """Make two cooperatives with products and photos, a buyer with an order and a cart, an owner, an officer."""
    buoi_htx = make_unit(name="HTX Bưởi Trà Vinh", description="Bưởi da xanh và bưởi năm roi của Trà Vinh.")
    dua_htx = make_unit(name="HTX Dừa Bến Tre")
    owner = make_staff(buoi_htx, make_user(full_name="Trần Văn Bưởi", email="owner@htx-buoi.vn"))
    dua_owner = make_staff(dua_htx, make_user(full_name="Lê Thị Dừa", email="owner@htx-dua.vn"))
    officer = make_user("officer", full_name="Phạm Minh Quan", email="officer@vinhlong.gov.vn")
    buyer = make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn")
    products = [
        make_product(buoi_htx, name="Bưởi da xanh", price_vnd=60_000, stock=50, description="Bưởi ngọt, ít hạt."),
        make_product(buoi_htx, name="Bưởi năm roi", price_vnd=45_000, stock=40),
        make_product(buoi_htx, name="Cam sành", price_vnd=30_000, stock=80),
        make_product(dua_htx, name="Dừa xiêm", price_vnd=15_000, stock=200),
        make_product(dua_htx, name="Kẹo dừa", price_vnd=35_000, stock=80, category_id=2),
    ]
    make_order(buoi_htx, buyer, [(products[0], 2), (products[2], 1)], number="KTT-A11Y-0001")

    market = Market(base_url)
    colours = [(27, 107, 58), (180, 120, 20), (200, 90, 30), (90, 140, 60), (120, 80, 40)]
    for who, user in (("owner", owner), ("dua_owner", dua_owner), ("officer", officer), ("buyer", buyer)):
        market.sessions[who] = Shopper(base_url).login(user.email, PASSWORD)
    if photos:
        for product, colour in zip(products, colours, strict=True):
            seller = market.sessions["owner" if product.unit_id == buoi_htx.id else "dua_owner"]
            form = f"/manage/products/{product.id}/images"
            token = hidden(seller.get(form).text, "csrf_token")
            response = seller.http.post(
                base_url + form,
                data={"csrf_token": token, "alt": product.name},
                files={"file": ("anh.jpg", picture(product.name, colour), "image/jpeg")},
                timeout=60,
            )
            assert response.ok and "/images" in response.url, response.text[:500]
    market.sessions["buyer"].add(products[0].id, 2)
    market.sessions["buyer"].add(products[3].id, 3)

    unit, product = buoi_htx.id, products[0].id
    market.pages = {
        "home": (None, "/"),
        "search": (None, "/search?q=buoi"),
        "category": (None, "/c/trai-cay"),
        "storefront": (None, f"/store/{unit}"),
        "product": (None, f"/p/{product}"),
        "login": (None, "/account/login"),
        "register": (None, "/account/register"),
        "cart": ("buyer", "/cart"),
        "checkout": ("buyer", "/checkout?province=86"),
        "buyer orders": ("buyer", "/orders"),
        "order": ("buyer", "/orders/KTT-A11Y-0001"),
        "cooperative": ("owner", f"/registry/units/{unit}"),
        "cooperative products": ("owner", f"/manage/units/{unit}/products"),
        "cooperative orders": ("owner", f"/orders/units/{unit}/incoming"),
        "cooperative sales": ("owner", f"/sales/units/{unit}/"),
        "officer dashboard": ("officer", "/province/dashboard"),
        "officer registry": ("officer", "/registry/"),
        "annual report": ("officer", "/reports/annual"),
    }
    return market


@pytest.fixture(name="market")
def market_fixture(live_server, make_unit, make_staff, make_user, make_product, make_order) -> Market:
    """The demo-like market on the live server."""
    return build_market(
        live_server.url,
        make_unit=make_unit,
        make_staff=make_staff,
        make_user=make_user,
        make_product=make_product,
        make_order=make_order,
    )


def chromium_path() -> str:
    """Return Debian's Chromium (the browser fixture has installed it when missing)."""
    return shutil.which("chromium") or os.environ.get("CHROME_PATH", "/usr/bin/chromium")


ARTIFACTS = Path(os.environ.get("KTT_ARTIFACTS") or ROOT / "tests" / "browser" / "artifacts")
