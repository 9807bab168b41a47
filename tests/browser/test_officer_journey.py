"""A province officer in real Chromium: approves a cooperative, imports the registry, reads the dashboard and the
annual report, and opens a support program."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, expect

from tests.browser.phone import assert_fits_phone
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.postgres_only

PENDING = "HTX Thanh long Chợ Gạo"
IMPORTED = ["HTX Rau an toàn Càng Long", "THT Nuôi tôm Duyên Hải", "HTX Lúa gạo Tiểu Cần"]
HEADER = [
    "registration_code",
    "name",
    "kind",
    "sector",
    "founded_on",
    "stopped_on",
    "dissolved_on",
    "ward_code",
    "members",
    "charter_capital_vnd",
]


@pytest.fixture
def today(app) -> dt.date:
    """Today where the province is (the report and the programs count in Vietnam's days)."""
    from ktt_market.core.i18n import local_today

    with app.app_context():
        return local_today()


@pytest.fixture
def open_status(app) -> str:
    """The words the programs list uses for an open program, in Vietnamese (their wording is the translators')."""
    from flask_babel import force_locale

    from ktt_market.programs.models import ProgramStatus
    from ktt_market.programs.views import _labels

    with app.test_request_context(), force_locale("vi"):
        return str(_labels()["PROGRAM_STATUS_LABELS"][ProgramStatus.OPEN])


@pytest.fixture
def officer(make_user):
    return make_user("officer", province_code=86, full_name="Lê Thị Cán Bộ", email="canbo@vinhlong.gov.vn")


@pytest.fixture
def pending_application(app, make_user):
    """A cooperative of Vĩnh Long registered by its director, waiting for the province."""
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.registry import services

    applicant = make_user(full_name="Võ Văn Thanh", email="thanh@htx-thanhlong.vn")
    with app.test_request_context():
        services.register_unit(
            actor=db.session.get(User, applicant.id),
            data={
                "kind": "HTX",
                "registration_code": "5807000456",
                "name": PENDING,
                "sector": "agriculture",
                "founded_on": dt.date(2017, 4, 10),
                "ward_code": 29242,
                "declared_members": 15,
                "province_code": 86,
                "message": "Xin tham gia sàn để bán thanh long.",
            },
        )
        db.session.commit()
        db.session.remove()
    return applicant


def registry_xlsx(folder, last_year: int) -> str:
    """Write the province's registry file as the import page asks for it (one unit founded last year)."""
    rows = [
        ["5807100001", IMPORTED[0], "HTX", "agriculture", "2019-03-01", "", "", "29242", "12", "250000000"],
        ["5807100002", IMPORTED[1], "THT", "non_agriculture", "2021-07-15", "", "", "29242", "8", ""],
        ["5807100003", IMPORTED[2], "HTX", "agriculture", f"{last_year}-05-20", "", "", "29242", "20", "500000000"],
    ]
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    path = folder / "so-dang-ky-vinh-long.xlsx"
    book.save(path)
    return str(path)


def log_in(page: Page, email: str) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Đăng nhập").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("navigation", name="Menu chính").get_by_role("button", name="Đăng xuất")).to_be_visible()


def administration(page: Page, link: str) -> None:
    """Open one of the officer's pages from the administration hub in the menu."""
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Quản trị").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quản trị")
    page.get_by_role("main").get_by_role("link", name=link, exact=True).click()


def test_officer_approves_imports_reports_and_opens_a_program(
    page: Page, officer, pending_application, today, open_status, tmp_path
):
    last_year = today.year - 1
    log_in(page, officer.email)

    # The waiting application, read and approved.
    administration(page, "Hồ sơ")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ · Vĩnh Long")
    page.get_by_role("link", name=PENDING).click()
    expect(page.get_by_role("main")).to_contain_text("Võ Văn Thanh")
    expect(page.get_by_role("main")).to_contain_text("Xin tham gia sàn để bán thanh long.")
    assert_fits_phone(page)
    page.get_by_role("button", name="Duyệt", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã duyệt: {PENDING} đã tham gia nền tảng.")

    # The registry file: checked first, shown as a preview, then confirmed.
    administration(page, "Sổ đăng ký")
    page.get_by_role("link", name="Nhập dữ liệu sổ đăng ký").click()
    page.get_by_label("Tệp sổ đăng ký (CSV hoặc XLSX)").set_input_files(registry_xlsx(tmp_path, last_year))
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Xem trước dữ liệu nhập")
    expect(page.get_by_role("main")).to_contain_text("so-dang-ky-vinh-long.xlsx")
    changes = page.get_by_role("region", name="Thay đổi")
    expect(changes.get_by_role("row")).to_have_count(4)  # the header and three new units
    expect(changes.get_by_role("row").filter(has_text="5807100003")).to_contain_text(IMPORTED[2])
    expect(page.get_by_role("heading", name="Lỗi")).to_have_count(0)
    assert_fits_phone(page)
    page.get_by_role("button", name="Xác nhận nhập dữ liệu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã nhập dữ liệu:")

    # Back on the registry list, an imported unit is found by words of its name, typed without diacritics.
    expect(page.get_by_role("heading", level=1)).to_have_text("Sổ đăng ký · Vĩnh Long")
    page.get_by_label("Tên hoặc mã số").fill("nuoi tom")
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_role("main")).to_contain_text("Tìm thấy 1 đơn vị")
    expect(page.get_by_role("row").filter(has_text=IMPORTED[1])).to_contain_text("5807100002")

    # The dashboard counts the province's four units: the approved one and the three imported.
    administration(page, "Bảng điều khiển")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bảng điều khiển · Vĩnh Long"))
    summary = page.get_by_role("region", name="Tóm tắt")
    expect(summary.locator(".card").filter(has_text="Số đơn vị").get_by_role("link")).to_have_text("4")
    assert_fits_phone(page)

    # Last year's report: on the page, and as a workbook to send on.
    administration(page, "Báo cáo hằng năm")
    expect(page.get_by_label("Năm", exact=True)).to_have_value(str(last_year))
    page.get_by_role("button", name="Hiển thị").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Kinh tế tập thể năm {last_year}: Vĩnh Long")
    table = page.get_by_role("table", name="Đơn vị theo loại hình và lĩnh vực")
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).not_to_have_count(0)
    assert_fits_phone(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải xuống (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename == f"bao-cao-ktt-{last_year}-86.xlsx"
    report = tmp_path / download.suggested_filename
    download.save_as(report)
    assert report.stat().st_size > 0
    cells = [str(v) for sheet in load_workbook(report).worksheets for row in sheet.values for v in row]
    assert any(f"{last_year}" in c and "Vĩnh Long" in c for c in cells)

    # A support program: filled in, saved as a draft, opened, and listed as open.
    administration(page, "Chương trình hỗ trợ")
    page.get_by_role("link", name="Chương trình mới").click()
    page.get_by_label("Tên chương trình").fill("Tập huấn bán hàng trực tuyến")
    page.get_by_label("Nội dung hỗ trợ").select_option(label="Đào tạo")
    page.get_by_label("Kinh phí (đồng)").fill("500.000.000")
    page.get_by_label("Nguồn kinh phí").select_option(label="Ngân sách địa phương")
    page.get_by_label("Ngày bắt đầu nhận hồ sơ").fill(today.isoformat())
    page.get_by_label("Ngày kết thúc nhận hồ sơ").fill((today + dt.timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Lưu nháp").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu chương trình dưới dạng bản nháp.")
    page.get_by_role("button", name="Mở chương trình và thông báo cho các hợp tác xã thuộc đối tượng").click()
    expect(page.get_by_role("status")).to_contain_text("Đã mở chương trình")
    expect(page.get_by_role("button", name="Đóng chương trình")).to_be_visible()
    assert_fits_phone(page)
    page.get_by_role("link", name="Tất cả chương trình").click()
    listed = page.get_by_role("row").filter(has_text="Tập huấn bán hàng trực tuyến")
    expect(listed.get_by_role("cell").last).to_have_text(open_status)
    expect(listed).to_contain_text(re.compile(r"500\.000\.000\s₫"))
