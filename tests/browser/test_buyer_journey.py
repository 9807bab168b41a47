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
    keo_htx = make_unit(name="HTX Kẹo dừa Bến Tre", ward_code=29242)
    make_product(buoi_htx, name=BUOI, price_vnd=60_000, stock=50)
    make_product(keo_htx, name=KEO, price_vnd=35_000, stock=80)
    buyer = make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn", phone="0912345678")
    return {"buoi_htx": buoi_htx, "keo_htx": keo_htx, "buyer": buyer}


def add_to_cart(page: Page, name: str) -> None:
    """Open the product from the results and add one of it to the cart."""
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_role("button", name="Thêm vào giỏ hàng").click()
    expect(page.get_by_role("status").first).to_be_visible()


def test_buyer_buys_from_two_cooperatives(page: Page, market):
    # Home page; the search needs no diacritics.
    page.goto("/")
    page.get_by_label("Tìm sản phẩm hoặc hợp tác xã").fill("buoi da xanh")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.get_by_role("link", name=BUOI, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=KEO, exact=True)).to_have_count(0)
    add_to_cart(page, BUOI)

    # The other cooperative's product, from a new search.
    page.goto("/")
    page.get_by_label("Tìm sản phẩm hoặc hợp tác xã").fill("keo dua")
    page.get_by_role("button", name="Tìm kiếm").click()
    add_to_cart(page, KEO)

    # The cart: one group per cooperative; checking out asks for a login first.
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name=re.compile("^Giỏ hàng")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Giỏ hàng của bạn")
    expect(page.get_by_role("heading", level=2, name=market["buoi_htx"].name)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=market["keo_htx"].name)).to_be_visible()
    page.get_by_role("link", name="Tiến hành đặt hàng").click()

    expect(page).to_have_url(re.compile(r"/account/login"))
    page.get_by_label("E-mail").fill(market["buyer"].email)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Đăng nhập").click()

    # Checkout: the province first (the page reloads with its wards), then the address.
    expect(page.get_by_role("heading", level=1)).to_have_text("Thanh toán")
    page.get_by_label("Tỉnh", exact=True).select_option(label="Vĩnh Long")
    page.get_by_role("button", name="Tiếp tục").click()
    page.get_by_label("Xã/phường").select_option(label="Phường Trà Vinh")
    page.get_by_label("Số nhà, tên đường hoặc ấp/thôn").fill("12 Nguyễn Đáng")
    page.get_by_label("Điện thoại").fill("0912 345 678")
    page.get_by_label("Thanh toán khi nhận hàng (COD)").check()
    page.get_by_role("button", name="Đặt hàng").click()

    # The purchase: one order per cooperative.
    expect(page.get_by_role("status")).to_contain_text("Cảm ơn bạn!")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"KTT-"))
    number = re.search(r"KTT-[A-Z0-9-]+", heading.inner_text()).group(0)
    expect(page.get_by_role("heading", level=2, name=market["buoi_htx"].name)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=market["keo_htx"].name)).to_be_visible()

    # The receipt is in the inbox.
    # The receipt reaches the inbox through the worker, within seconds: reload as a person would.
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name=re.compile("^Thông báo")).click()
    receipt = page.get_by_text(f"Biên nhận đơn hàng {number}")
    deadline = time.monotonic() + 20
    while not receipt.is_visible() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(receipt).to_be_visible()
