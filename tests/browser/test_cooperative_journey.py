"""A cooperative's owner in real Chromium: finds a new order, confirms it and ships it; the buyer sees it coming."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD
from tests.support.shopper import Shopper

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def placed_order(live_server, make_unit, make_staff, make_user, make_product):
    """An approved cooperative with its owner, and a buyer's order for its pomelos placed over HTTP."""
    unit = make_unit(name="HTX Bưởi Trà Vinh")
    owner = make_staff(unit, make_user(full_name="Trần Văn Bưởi", email="owner@htx-buoi.vn"))
    product = make_product(unit, name="Bưởi da xanh", price_vnd=60_000, stock=50)
    buyer = make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn")
    shopper = Shopper(live_server.url).login(buyer.email, PASSWORD)
    shopper.add(product.id, 2)
    number = shopper.checkout()
    return {"unit": unit.name, "owner": owner, "buyer": buyer, "number": number}


def log_in(page: Page, email: str) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Đăng nhập").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("navigation", name="Menu chính").get_by_role("button", name="Đăng xuất")).to_be_visible()


def test_owner_confirms_and_ships_an_order(page: Page, new_page, placed_order):
    number, unit = placed_order["number"], placed_order["unit"]
    log_in(page, placed_order["owner"].email)

    # From the menu to the cooperative, its orders, and the new one.
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="HTX của tôi").click()
    page.get_by_role("link", name=unit, exact=True).click()
    page.get_by_role("link", name="Đơn hàng", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Đơn hàng của {unit}")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("main")).to_contain_text("Nguyễn Thị Lan")
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"120\.000\s₫"))

    # Confirm, then ship with a carrier and a tracking code.
    page.get_by_role("button", name="Xác nhận đơn hàng").click()
    expect(page.get_by_role("status")).to_contain_text("Đã xác nhận đơn hàng.")
    page.get_by_label("Đơn vị vận chuyển").fill("Viettel Post")
    page.get_by_label("Mã vận đơn").fill("VTP123456789")
    page.get_by_role("button", name="Xác nhận đã gửi hàng").click()
    expect(page.get_by_role("status")).to_contain_text("Đã chuyển đơn hàng sang trạng thái đang giao.")
    expect(page.get_by_role("main")).to_contain_text("VTP123456789")
    expect(page.get_by_role("button", name="Xác nhận đơn hàng")).to_have_count(0)

    # The buyer, in a browser of her own, sees the parcel on its way.
    buyer = new_page()
    log_in(buyer, placed_order["buyer"].email)
    buyer.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Đơn hàng của tôi").click()
    buyer.get_by_role("link", name=number).click()
    expect(buyer.get_by_role("heading", level=1)).to_contain_text(number)
    expect(buyer.get_by_role("main")).to_contain_text("Viettel Post")
    expect(buyer.get_by_role("main")).to_contain_text("VTP123456789")
