"""A cooperative's owner in real Chromium: finds a new order, confirms it and ships it; the buyer sees it coming."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.phone import assert_fits_phone
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


UNIT = "HTX Dừa sáp Cầu Kè"
PRODUCT = "Dừa sáp Cầu Kè"


def jpeg_file(folder) -> str:
    """Write a small real JPEG photo (a green coconut on yellow) and return its path."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (240, 200, 60))
    ImageDraw.Draw(image).ellipse((100, 60, 220, 180), fill=(60, 140, 60))
    path = folder / "dua-sap.jpg"
    image.save(path, "JPEG", quality=85)
    return str(path)


def open_unit(page: Page, name: str) -> None:
    """Go to the unit's page the way its owner does: from the menu, through their cooperatives."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="HTX của tôi").click()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def image_loaded(page: Page, name: str) -> bool:
    """Whether the product's photo was fetched and decoded (an <img> with a broken source has no natural width)."""
    image = page.get_by_role("img", name=name).first
    expect(image).to_be_visible()
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


@pytest.fixture
def delivered_review(app):
    """Return a function that makes a buyer's delivered order of `product_name` and her review of it."""
    from sqlalchemy import select

    from ktt_market.accounts.models import User
    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db
    from ktt_market.registry.models import Unit
    from ktt_market.reviews import services as reviews

    def make(product_name: str, buyer, make_order) -> None:
        with app.app_context():
            product = db.session.scalar(select(Product).where(Product.name == product_name))
            unit = db.session.get(Unit, product.unit_id)
            db.session.expunge_all()
        order = make_order(unit, buyer, [(product, 3)])
        with app.test_request_context():
            from ktt_market.orders.models import OrderLine

            line = db.session.get(OrderLine, order.line_ids[0])
            reviews.create_review(
                line,
                actor=db.session.get(User, buyer.id),
                product_rating=5,
                unit_rating=4,
                text="Dừa sáp dẻo, béo, giao nhanh.",
            )
            db.session.commit()
            db.session.remove()

    return make


def test_cooperative_registers_is_approved_lists_a_product_and_answers_a_review(
    page: Page, new_page, make_user, make_order, delivered_review, tmp_path
):
    officer = make_user("officer", province_code=86, full_name="Lê Thị Cán Bộ", email="canbo@vinhlong.gov.vn")
    menu = page.get_by_role("navigation", name="Menu chính")

    # A new account, made through the register page.
    page.goto("/")
    menu.get_by_role("link", name="Đăng ký").click()
    page.get_by_label("Họ và tên").fill("Thạch Thị Dừa")
    page.get_by_label("E-mail").fill("dua@htx-cauke.vn")
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Tạo tài khoản").click()
    expect(page.get_by_role("status")).to_contain_text("Chào mừng Thạch Thị Dừa đến với KTT Market!")

    # The cooperative, registered for the province's approval: first the province, then its wards. A buyer with no
    # unit yet finds the way in under "Sell on KTT Market".
    menu.get_by_role("link", name="Bán hàng trên KTT Market").click()
    page.get_by_role("link", name="Đăng ký đơn vị mới").click()
    page.get_by_label("Tỉnh", exact=True).select_option(label="Vĩnh Long")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_label("Mã số đăng ký")).to_be_visible()  # the form of the chosen province
    assert_fits_phone(page)
    page.get_by_label("Tên", exact=True).fill(UNIT)
    page.get_by_label("Mã số đăng ký").fill("5807000123")
    page.get_by_label("Loại", exact=True).select_option(label="Hợp tác xã (HTX)")
    page.get_by_label("Lĩnh vực").select_option(label="Nông nghiệp")
    page.get_by_label("Ngày thành lập").fill("2018-06-01")
    page.get_by_label("Xã/phường").select_option(label="Phường Trà Vinh")
    page.get_by_role("button", name="Gửi duyệt").click()
    expect(page.get_by_role("status")).to_contain_text("Hồ sơ đăng ký đã được gửi đến tỉnh.")
    expect(page.get_by_role("row").filter(has_text=UNIT)).to_contain_text("Chờ duyệt")

    # The province's officer, in a browser of her own, approves it.
    desk = new_page()
    log_in(desk, officer.email)
    desk.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Quản trị").click()
    desk.get_by_role("link", name="Hồ sơ", exact=True).click()
    desk.get_by_role("link", name=UNIT).click()
    expect(desk.get_by_role("main")).to_contain_text("Thạch Thị Dừa")
    assert_fits_phone(desk)
    desk.get_by_role("button", name="Duyệt", exact=True).click()
    expect(desk.get_by_role("status")).to_contain_text(f"Đã duyệt: {UNIT} đã tham gia nền tảng.")

    # The owner now runs the cooperative: a product, put on sale at once.
    page.reload()
    expect(page.get_by_role("row").filter(has_text=UNIT).first).to_contain_text("Đã duyệt")
    page.get_by_role("link", name=UNIT, exact=True).click()
    page.get_by_role("link", name="Sản phẩm", exact=True).click()
    page.get_by_role("link", name="Thêm sản phẩm").click()
    expect(page.get_by_label("Tên sản phẩm")).to_be_visible()
    assert_fits_phone(page)
    page.get_by_label("Tên sản phẩm").fill(PRODUCT)
    page.get_by_label("Danh mục sản phẩm").select_option(label="Trái cây")
    page.get_by_label("Giá mỗi đơn vị tính (đồng)").fill("120.000")
    page.get_by_label("Tồn kho hiện có").fill("40")
    page.get_by_label("Đăng bán ngay").check()
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã lưu sản phẩm {PRODUCT}.")

    # Its photo, a real JPEG from the phone's files.
    page.get_by_role("navigation", name="Các trang của sản phẩm").get_by_role("link", name="Hình ảnh").click()
    page.get_by_label("Ảnh (JPEG, PNG hoặc WebP)").set_input_files(jpeg_file(tmp_path))
    page.get_by_label("Mô tả ảnh (không bắt buộc)").fill("Trái dừa sáp")
    page.get_by_role("button", name="Tải lên").click()
    expect(page.get_by_role("status")).to_contain_text("Đã thêm ảnh.")
    assert image_loaded(page, "Trái dừa sáp")
    assert_fits_phone(page)

    # What buyers see: the storefront, the product page and its photo.
    open_unit(page, UNIT)
    page.get_by_role("link", name="Gian hàng").click()
    page.get_by_role("link", name=PRODUCT, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PRODUCT)
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"120\.000\s₫"))
    assert image_loaded(page, "Trái dừa sáp")
    assert_fits_phone(page)

    # A buyer received her coconuts and reviewed them; the cooperative answers.
    delivered_review(PRODUCT, make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn"), make_order)
    open_unit(page, UNIT)
    page.get_by_role("link", name="Đánh giá", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Đánh giá về {UNIT}")
    assert_fits_phone(page)
    review = page.get_by_role("article").filter(has_text="Dừa sáp dẻo, béo, giao nhanh.")
    review.get_by_label("Phản hồi của hợp tác xã").fill("Cảm ơn chị Lan, hẹn gặp lại mùa sau!")
    review.get_by_role("button", name="Gửi phản hồi").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đăng phản hồi của bạn.")

    # The answer shows under the review on the public product page.
    open_unit(page, UNIT)
    page.get_by_role("link", name="Gian hàng").click()
    page.get_by_role("link", name=PRODUCT, exact=True).click()
    answered = page.get_by_role("article").filter(has_text="Dừa sáp dẻo, béo, giao nhanh.")
    expect(answered).to_contain_text("Phản hồi của hợp tác xã")
    expect(answered).to_contain_text("Cảm ơn chị Lan, hẹn gặp lại mùa sau!")
    assert_fits_phone(page)
