"""A buyer in real Chromium: searches without diacritics, fills a cart from two cooperatives, pays on delivery."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.postgres_only

BUOI = "Bưởi da xanh"
KEO = "Kẹo dừa"


@pytest.fixture
def market(make_unit, make_product, make_user):
    """Two cooperatives of Vĩnh Long, each with one product, and a registered buyer."""
    buoi_htx = make_unit(name="HTX Bưởi Trà Vinh")
    keo_htx = make_unit(name="HTX Kẹo dừa Bến Tre")
    make_product(buoi_htx, name=BUOI, price_vnd=60_000, stock=50)
    make_product(keo_htx, name=KEO, price_vnd=35_000, stock=80)
    buyer = make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn")
    return {"buoi_htx": buoi_htx.name, "keo_htx": keo_htx.name, "buyer": buyer}


def menu(page: Page):
    return page.get_by_role("navigation", name="Menu chính")


def search(page: Page, words: str) -> None:
    """Search from the home page, reached through the site's name as a visitor would."""
    page.get_by_role("link", name="KTT Market", exact=True).click()
    page.get_by_label("Tìm sản phẩm hoặc hợp tác xã").fill(words)
    page.get_by_role("button", name="Tìm kiếm").click()


def add_to_cart(page: Page, name: str, cart_count: int) -> None:
    """Open the product from the results and add one of it; the cart page then says so."""
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_role("button", name="Thêm vào giỏ hàng").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã thêm {name} vào giỏ hàng.")
    expect(menu(page).get_by_role("link", name=re.compile("^Giỏ hàng"))).to_have_text(f"Giỏ hàng {cart_count}")


def test_buyer_buys_from_two_cooperatives(page: Page, market):
    page.goto("/")

    # The search needs no diacritics, and finds only what was asked for.
    search(page, "buoi da xanh")
    expect(page.get_by_role("link", name=BUOI, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=KEO, exact=True)).to_have_count(0)
    add_to_cart(page, BUOI, cart_count=1)

    search(page, "keo dua")
    add_to_cart(page, KEO, cart_count=2)

    # The cart: one group per cooperative.
    expect(page.get_by_role("heading", level=1)).to_have_text("Giỏ hàng của bạn")
    expect(page.get_by_role("heading", level=2, name=market["buoi_htx"])).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=market["keo_htx"])).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"95\.000\s₫"))

    # Checking out asks a visitor to log in, then comes back to the checkout.
    page.get_by_role("link", name="Tiến hành đặt hàng").click()
    expect(page).to_have_url(re.compile(r"/account/login"))
    page.get_by_label("E-mail").fill(market["buyer"].email)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thanh toán")

    # The province first: the page reloads with that province's wards; then the address.
    page.get_by_label("Tỉnh", exact=True).select_option(label="Vĩnh Long")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_label("Tên người nhận")).to_have_value("Nguyễn Thị Lan")
    page.get_by_label("Xã/phường").select_option(label="Phường Trà Vinh")
    page.get_by_label("Số nhà, tên đường hoặc ấp/thôn").fill("12 Nguyễn Đáng")
    page.get_by_label("Điện thoại").fill("0912 345 678")
    page.get_by_label("Thanh toán khi nhận hàng (COD)").check()
    page.get_by_role("button", name="Đặt hàng").click()

    # The purchase: two orders, one per cooperative, paid on delivery.
    expect(page.get_by_role("status")).to_contain_text("Cảm ơn bạn!")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"KTT-"))
    number = re.search(r"KTT-[A-Z0-9-]+", heading.inner_text()).group(0)
    expect(page.get_by_role("heading", level=2)).to_have_count(2)
    expect(page.get_by_role("heading", level=2, name=market["buoi_htx"])).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=market["keo_htx"])).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Thanh toán khi nhận hàng (COD)")
    expect(facts).to_contain_text("Phường Trà Vinh")
    expect(facts).to_contain_text(re.compile(r"95\.000\s₫"))

    # The receipt reaches the inbox through the worker within seconds: reload as a person would.
    menu(page).get_by_role("link", name=re.compile("^Thông báo")).click()
    receipt = page.get_by_role("article").filter(has_text=f"Biên nhận đơn hàng {number}")
    deadline = time.monotonic() + 20
    while not receipt.is_visible() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(receipt).to_be_visible()
    expect(menu(page).get_by_role("link", name=re.compile("^Thông báo"))).to_have_text(re.compile(r"Thông báo \d"))

    # Opening it leads back to the purchase.
    receipt.get_by_role("button", name="Mở").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
