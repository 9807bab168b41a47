"""Register pages: who may read, who may write, and what a form does with good and bad input."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from ktt_market.accounts.models import Role
from tests.conftest import post_form

from .conftest import JOINED

pytestmark = pytest.mark.core

OTHER_PROVINCE = 1  # Hà Nội; the test units are in Vĩnh Long (86)


def db_state(app):
    """What is stored: (member code, name, left_on) rows and ledger amounts."""
    from ktt_market.extensions import db
    from ktt_market.members.models import CapitalEntry, Member

    with app.app_context():
        members = sorted((m.code, m.full_name, m.left_on) for m in db.session.query(Member))
        entries = sorted((e.member_id, e.kind.value, e.amount_vnd) for e in db.session.query(CapitalEntry))
        db.session.remove()
    return members, entries


@pytest.fixture
def staff(make_user, make_staff, unit):
    return make_staff(unit, make_user(locale="en"))


@pytest.fixture
def member_id(seed, unit, staff):
    return seed(unit, staff, [{"full_name": "Nguyễn Văn An"}], capital={0: 2_000_000})[0]


def upload(client, unit_id, data: bytes, name="members.csv"):
    return post_form(
        client,
        f"/members/units/{unit_id}/import",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


# ------------------------------------------------------------------ access


@pytest.fixture
def unit_b(make_unit, make_staff, make_user, seed):
    """Another unit of the same province, with a member and an upload waiting for its owner."""
    unit = make_unit()
    owner = make_staff(unit, make_user(locale="en"))
    mid = seed(unit, owner, [{"full_name": "Trần Thị Bình"}], capital={0: 1_000_000})[0]
    return unit, owner, mid


def urls_of(unit_id: int, member_id: int, token: str) -> dict[str, list[str]]:
    base = f"/members/units/{unit_id}"
    reads = [f"{base}/", f"{base}/{member_id}", f"{base}/export"]
    writes_get = [
        f"{base}/new",
        f"{base}/{member_id}/edit",
        f"{base}/{member_id}/leave",
        f"{base}/import",
        f"{base}/import/{token}",
    ]
    posts = [
        f"{base}/new",
        f"{base}/{member_id}/edit",
        f"{base}/{member_id}/leave",
        f"{base}/{member_id}/capital",
        f"{base}/import",
        f"{base}/import/{token}",
    ]
    return {"reads": reads, "writes_get": writes_get, "posts": posts}


GOOD_POST = {
    "full_name": "Kẻ Lạ",
    "joined_on": "2021-01-01",
    "left_on": "2022-01-01",
    "kind": "returned",
    "amount_vnd": "1000000",
    "entry_date": "2022-01-01",
    "category": "official",
    "role": "member",
}


def pending_token(app, client, login, unit, owner) -> str:
    login(client, owner)
    response = upload(client, unit.id, "code,full_name,joined_on\nTV0099,Ai Đó,2021-01-01\n".encode())
    client.get("/")  # keep the session usable
    return response.headers["Location"].rsplit("/", 1)[1]


@pytest.mark.parametrize("who", ["staff_of_a", "officer_elsewhere", "buyer"])
def test_outsiders_get_404_on_every_url_of_unit_b(app, client, login, make_user, staff, unit_b, who):
    unit, owner, mid = unit_b
    token = pending_token(app, app.test_client(), login, unit, owner)
    user = {
        "staff_of_a": staff,
        "officer_elsewhere": make_user(Role.OFFICER, province_code=OTHER_PROVINCE),
        "buyer": make_user(),
    }[who]
    login(client, user)
    before = db_state(app)
    urls = urls_of(unit.id, mid, token)
    for url in urls["reads"] + urls["writes_get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["posts"]:
        assert post_form(client, url, GOOD_POST).status_code == 404, url
    assert db_state(app) == before


def test_officer_of_the_province_reads_but_cannot_write(app, client, login, make_user, unit_b):
    unit, owner, mid = unit_b
    token = pending_token(app, app.test_client(), login, unit, owner)
    login(client, make_user(Role.OFFICER, province_code=86, locale="en"))
    urls = urls_of(unit.id, mid, token)
    for url in urls["reads"]:
        assert client.get(url).status_code == 200, url
    register = client.get(f"/members/units/{unit.id}/").get_data(as_text=True)
    assert "Trần Thị Bình" in register
    assert "Add a member" not in register and "Import from a spreadsheet" not in register
    detail = client.get(f"/members/units/{unit.id}/{mid}").get_data(as_text=True)
    assert "Edit details" not in detail and "Record a contribution" not in detail
    before = db_state(app)
    for url in urls["writes_get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["posts"]:
        assert post_form(client, url, GOOD_POST).status_code == 404, url
    assert db_state(app) == before


def test_admin_reads_any_register(app, client, login, make_user, unit_b):
    unit, _owner, _mid = unit_b
    login(client, make_user(Role.ADMIN))
    assert client.get(f"/members/units/{unit.id}/").status_code == 200
    assert client.get(f"/members/units/{unit.id}/new").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, unit):
    response = client.get(f"/members/units/{unit.id}/")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_a_member_of_another_unit_is_404_even_for_staff(client, login, staff, unit, unit_b):
    _unit, _owner, mid_b = unit_b
    login(client, staff)
    assert client.get(f"/members/units/{unit.id}/{mid_b}").status_code == 404
    assert post_form(client, f"/members/units/{unit.id}/{mid_b}/leave", GOOD_POST).status_code == 404


def test_missing_csrf_token_is_400_and_changes_nothing(app, client, login, staff, unit, member_id):
    login(client, staff)
    before = db_state(app)
    base = f"/members/units/{unit.id}"
    for url in (f"{base}/new", f"{base}/{member_id}/edit", f"{base}/{member_id}/leave", f"{base}/{member_id}/capital"):
        assert client.post(url, data=GOOD_POST).status_code == 400, url
    assert db_state(app) == before


# ------------------------------------------------------------------ forms


def test_staff_adds_a_member_with_the_next_number(app, client, login, staff, unit):
    login(client, staff)
    page = client.get(f"/members/units/{unit.id}/new").get_data(as_text=True)
    assert "TV0001" in page  # the hint names the number a blank field gets
    response = post_form(
        client,
        f"/members/units/{unit.id}/new",
        {
            "full_name": "Nguyễn Văn An",
            "phone": "0912 345 678",
            "category": "associate",
            "role": "board",
            "joined_on": "2022-02-03",
        },
    )
    assert response.status_code == 302
    members, _ = db_state(app)
    assert members == [("TV0001", "Nguyễn Văn An", None)]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Associate member" in page and "Board member" in page and "03/02/2022" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"full_name": "", "joined_on": "2022-02-03"}, "This field is required."),
        ({"full_name": "An", "joined_on": ""}, "This field is required."),
        ({"full_name": "An", "joined_on": "2022-02-03", "phone": "123"}, "Enter a Vietnamese phone number"),
        ({"full_name": "An", "joined_on": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "future"),
        ({"full_name": "An", "joined_on": "2022-02-03", "code": "tv0001"}, "already has the number TV0001"),
    ],
)
def test_bad_member_form_is_422_with_the_message_and_stores_nothing(
    app, client, login, staff, unit, member_id, data, message
):
    login(client, staff)
    before = db_state(app)
    response = post_form(client, f"/members/units/{unit.id}/new", {"category": "official", "role": "member", **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db_state(app) == before


def test_staff_edits_and_marks_a_member_as_left(app, client, login, staff, unit, member_id):
    login(client, staff)
    base = f"/members/units/{unit.id}/{member_id}"
    response = post_form(
        client,
        f"{base}/edit",
        {"code": "", "full_name": "Nguyễn Văn Anh", "category": "official", "role": "chair", "joined_on": "2021-03-01"},
    )
    assert response.status_code == 302
    response = post_form(client, f"{base}/leave", {"left_on": "2021-02-01", "reason": ""})
    assert response.status_code == 422
    assert "cannot leave before" in response.get_data(as_text=True)
    response = post_form(client, f"{base}/leave", {"left_on": "2024-06-30", "reason": "Chuyển đi"})
    assert response.status_code == 302
    members, _ = db_state(app)
    assert members == [("TV0001", "Nguyễn Văn Anh", dt.date(2024, 6, 30))]
    assert client.get(f"{base}/leave").status_code == 302  # already left: back to the member
    client.get(base)  # where the flash messages are shown
    register = client.get(f"/members/units/{unit.id}/").get_data(as_text=True)
    assert "Nguyễn Văn Anh" not in register
    register = client.get(f"/members/units/{unit.id}/?status=left").get_data(as_text=True)
    assert "Nguyễn Văn Anh" in register


def test_contributions_and_returns_show_a_running_balance(app, client, login, staff, unit, member_id):
    login(client, staff)
    base = f"/members/units/{unit.id}/{member_id}"
    ok = post_form(
        client,
        f"{base}/capital",
        {"kind": "contributed", "amount_vnd": "1.500.000", "entry_date": "2022-01-01", "note": "đợt 2"},
    )
    assert ok.status_code == 302
    too_much = post_form(
        client, f"{base}/capital", {"kind": "returned", "amount_vnd": "4000000", "entry_date": "2022-06-01"}
    )
    assert too_much.status_code == 422
    assert "A return cannot exceed" in too_much.get_data(as_text=True)
    bad = post_form(client, f"{base}/capital", {"kind": "contributed", "amount_vnd": "0", "entry_date": "2022-06-01"})
    assert bad.status_code == 422
    assert (
        post_form(
            client, f"{base}/capital", {"kind": "returned", "amount_vnd": "500000", "entry_date": "2022-06-01"}
        ).status_code
        == 302
    )
    _, entries = db_state(app)
    assert [(k, a) for _m, k, a in entries] == [
        ("contributed", 1_500_000),
        ("contributed", 2_000_000),
        ("returned", 500_000),
    ]
    page = client.get(base).get_data(as_text=True)
    balances = re.findall(r'<td class="num">([^<]*)</td>\s*<td>', page)
    assert [re.sub(r"\D", "", b) for b in balances] == ["2000000", "3500000", "3000000"]


def test_register_totals_search_and_filters(app, client, login, seed, staff, unit):
    seed(
        unit,
        staff,
        [
            {"full_name": "Nguyễn Văn An"},
            {"full_name": "Trần Thị Bình", "category": "associate"},
            {"full_name": "Lê Chi", "role": "director"},
        ],
        capital={0: 1_000_000, 1: 2_000_000},
    )
    login(client, staff)
    page = client.get(f"/members/units/{unit.id}/").get_data(as_text=True)
    assert "2 official, 1 associate" in page
    assert "3,000,000" in page
    page = client.get(f"/members/units/{unit.id}/?q=tran+thi").get_data(as_text=True)
    assert "Trần Thị Bình" in page and "Nguyễn Văn An" not in page
    page = client.get(f"/members/units/{unit.id}/?role=director").get_data(as_text=True)
    assert "Lê Chi" in page and "Nguyễn Văn An" not in page
    assert client.get(f"/members/units/{unit.id}/?status=nonsense").status_code == 200


def test_a_unit_without_a_register_shows_its_declared_count(client, login, staff, unit):
    login(client, staff)
    page = client.get(f"/members/units/{unit.id}/").get_data(as_text=True)
    assert "No register kept here yet" in page and ">12<" in page


# ------------------------------------------------------------------ import and export


def test_import_upload_preview_confirm(app, client, login, make_user, make_staff, staff, unit):
    login(client, staff)
    data = b"code,full_name,joined_on,capital_vnd\nTV0001,Nguyen Van An,2021-03-01,1000000\nTV0002,Bich,2021-03-02,\n"
    response = upload(client, unit.id, data)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "Import these changes" in page
    assert db_state(app) == ([], [])  # the preview writes nothing

    colleague = make_staff(unit, make_user())
    other = app.test_client()
    login(other, colleague)
    assert other.get(preview_url).status_code == 404  # the upload is bound to the user who sent it

    assert post_form(client, preview_url).status_code == 302
    members, entries = db_state(app)
    assert [code for code, _n, _l in members] == ["TV0001", "TV0002"]
    assert [a for _m, _k, a in entries] == [1_000_000]
    assert client.get(preview_url).status_code == 404  # used up


def test_import_with_errors_shows_them_and_cannot_be_confirmed(app, client, login, staff, unit):
    login(client, staff)
    response = upload(client, unit.id, b"code,full_name,joined_on\nTV0001,,2021-03-01\nTV0002,Bich,hom qua\n")
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "row 2: the full name is missing" in page
    assert "row 3: “hom qua” is not a date" in page
    assert "Import these changes" not in page
    assert post_form(client, preview_url).status_code == 422
    assert db_state(app) == ([], [])


def test_import_without_a_file_is_422(client, login, staff, unit):
    login(client, staff)
    response = post_form(client, f"/members/units/{unit.id}/import", {}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV or XLSX file." in response.get_data(as_text=True)


def test_a_forged_token_is_404(client, login, staff, unit):
    login(client, staff)
    assert client.get(f"/members/units/{unit.id}/import/..%2F..%2Fsecret_key").status_code == 404
    assert client.get(f"/members/units/{unit.id}/import/{'a' * 32}").status_code == 404


def test_export_downloads_an_xlsx(client, login, staff, unit, member_id):
    login(client, staff)
    response = client.get(f"/members/units/{unit.id}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.search(
        r"attachment; filename=thanh-vien-REG-\d+-\d{4}-\d{2}-\d{2}\.xlsx", response.headers["Content-Disposition"]
    )
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(response.data))
    assert wb["Thành viên"]["B2"].value == "Nguyễn Văn An"
    assert wb["Vốn góp"]["E2"].value == 2_000_000
    assert JOINED == wb["Vốn góp"]["C2"].value.date()


def test_import_preview_shows_each_change_before_and_after(app, client, login, staff, unit, member_id):
    login(client, staff)
    data = "code,full_name,role,joined_on\nTV0001,Nguyễn Văn An,chủ tịch,01/03/2021\n".encode()
    page = client.get(upload(client, unit.id, data).headers["Location"]).get_data(as_text=True)
    assert "Role: Member → Chair of the board" in page
    assert "Full name:" not in page  # unchanged fields are not listed


def test_member_forms_render_for_staff(client, login, staff, unit, member_id):
    login(client, staff)
    page = client.get(f"/members/units/{unit.id}/{member_id}/edit").get_data(as_text=True)
    assert "Edit member TV0001" in page and 'value="Nguyễn Văn An"' in page
    assert 'option selected value="official"' in page
    page = client.get(f"/members/units/{unit.id}/{member_id}/leave").get_data(as_text=True)
    assert "Capital still held" in page
