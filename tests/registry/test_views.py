"""Registry pages through the test client: who sees what, the application flow, the web import, CSRF."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ktt_market.extensions import db
from ktt_market.registry.models import (
    ApplicationStatus,
    PlatformStatus,
    StaffRole,
    Unit,
    UnitApplication,
    UnitStaff,
)
from tests.conftest import post_form

from .conftest import OTHER_WARD, PROVINCE, WARD, csv_bytes, row

pytestmark = pytest.mark.core


def page(response) -> str:
    return response.get_data(as_text=True)


def fetch(app, model, **where):
    with app.app_context():
        obj = db.session.scalar(select(model).filter_by(**where))
        if obj is not None:
            db.session.expunge(obj)
        return obj


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def units(make_unit):
    """One unit in the officer's province, one elsewhere."""
    return (
        make_unit(name="HTX Bưởi Trà Vinh", registration_code="VL-1"),
        make_unit(name="HTX Sài Gòn Xanh", registration_code="SG-1", ward_code=OTHER_WARD),
    )


# ---------------------------------------------------------------- access


def test_officer_sees_only_own_province(client, login, officer, units):
    ours, theirs = units
    login(client, officer)
    listing = page(client.get("/registry/"))
    assert "HTX Bưởi Trà Vinh" in listing
    assert "HTX Sài Gòn Xanh" not in listing
    assert client.get(f"/registry/units/{ours.id}").status_code == 200
    assert client.get(f"/registry/units/{theirs.id}").status_code == 404
    assert client.get(f"/registry/units/{theirs.id}/edit").status_code == 404
    response = post_form(client, f"/registry/units/{theirs.id}/edit", {"name": "Bị đổi"})
    assert response.status_code == 404
    assert fetch(client.application, Unit, id=theirs.id).name == "HTX Sài Gòn Xanh"


def test_admin_sees_every_province_and_filters_by_one(client, login, admin, units):
    login(client, admin)
    listing = page(client.get("/registry/"))
    assert "HTX Bưởi Trà Vinh" in listing and "HTX Sài Gòn Xanh" in listing
    listing = page(client.get(f"/registry/?province={PROVINCE}"))
    assert "HTX Bưởi Trà Vinh" in listing and "HTX Sài Gòn Xanh" not in listing


def test_staff_of_one_unit_gets_404_on_another(client, login, make_staff, units):
    ours, theirs = units
    member = make_staff(ours, role=StaffRole.STAFF)
    login(client, member)
    assert client.get(f"/registry/units/{ours.id}").status_code == 200
    assert client.get(f"/registry/units/{theirs.id}").status_code == 404
    # Plain staff may look but not edit or manage.
    assert client.get(f"/registry/units/{ours.id}/edit").status_code == 403
    assert client.get(f"/registry/units/{ours.id}/staff").status_code == 404


@pytest.mark.parametrize(
    "path", ["/registry/", "/registry/applications", "/registry/import", "/registry/applications/1"]
)
def test_buyer_gets_403_on_officer_pages(client, login, buyer, path):
    login(client, buyer)
    assert client.get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    for path in ("/registry/", "/registry/mine", "/registry/register", "/registry/units/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/account/login" in response.headers["Location"]


# ---------------------------------------------------------------- list filters


def test_list_filters_and_pages(client, login, officer, make_unit):
    for n in range(55):
        make_unit(name=f"HTX Số {n:02d}", registration_code=f"N-{n:02d}")
    make_unit(name="Tổ hợp tác Rau sạch", registration_code="T-1", kind="THT", platform_status="not_joined")
    login(client, officer)
    first = page(client.get("/registry/"))
    assert "56 units found" in first
    assert "HTX Số 00" in first and "HTX Số 54" not in first
    second = page(client.get("/registry/?page=2"))
    assert "HTX Số 54" in second
    only_tht = page(client.get("/registry/?kind=THT"))
    assert "Tổ hợp tác Rau sạch" in only_tht and "HTX Số 00" not in only_tht
    by_text = page(client.get("/registry/?q=rau"))
    assert "Tổ hợp tác Rau sạch" in by_text and "HTX Số 00" not in by_text
    by_code = page(client.get("/registry/?q=N-07"))
    assert "HTX Số 07" in by_code and "1 units found" in by_code
    not_joined = page(client.get("/registry/?status=not_joined"))
    assert "Tổ hợp tác Rau sạch" in not_joined and "HTX Số 01" not in not_joined
    by_ward = page(client.get(f"/registry/?ward={WARD}"))
    assert "56 units found" in by_ward
    stopped = page(client.get("/registry/?state=stopped"))
    assert "0 units found" in stopped


def test_search_finds_a_unit_with_or_without_diacritics(client, login, officer, make_unit):
    unit = make_unit(name="HTX Nuôi tôm Đông Hải", registration_code="NT-1")
    make_unit(name="HTX Nuôi cá", registration_code="NC-1")
    login(client, officer)
    for query in ("nuoi tom", "Nuôi Tôm", "dong hai", "ĐÔNG HẢI", "nt-1"):
        found = page(client.get("/registry/", query_string={"q": query}))
        assert "HTX Nuôi tôm Đông Hải" in found and "HTX Nuôi cá" not in found, query
    renamed = page(client.get("/registry/?q=nuoi ca"))
    assert "HTX Nuôi cá" in renamed
    from ktt_market.extensions import db
    from ktt_market.registry.models import Unit

    with client.application.app_context():
        db.session.get(Unit, unit.id).name = "HTX Thủy sản Long Phú"
        db.session.commit()
    assert "HTX Thủy sản Long Phú" in page(client.get("/registry/?q=thuy san"))
    assert "0 units found" in page(client.get("/registry/?q=tom dong"))  # the old name is forgotten
    assert "0 units found" in page(client.get("/registry/", query_string={"q": "%"}))  # a wildcard is literal
    # Nonsense filters are ignored rather than failing.
    assert client.get("/registry/?kind=NOPE&ward=abc&page=x").status_code == 200


def test_unit_page_shows_address_state_and_staff(client, login, officer, make_unit, make_staff, make_user):
    unit = make_unit(street="12 Nguyễn Đáng", stopped_on=dt.date(2023, 1, 1), charter_capital_vnd=150_000)
    make_staff(unit, make_user(full_name="Nguyễn Văn Chủ"))
    login(client, officer)
    html = page(client.get(f"/registry/units/{unit.id}"))
    assert "12 Nguyễn Đáng, Phường Trà Vinh, Vĩnh Long" in html
    assert "Stopped" in html
    assert "Nguyễn Văn Chủ" in html
    assert "01/01/2023" in html
    assert "150,000" in html  # English formatting


# ---------------------------------------------------------------- register, claim, decide


def register_form(**overrides):
    data = {
        "name": "HTX Dừa Sáp",
        "registration_code": "dua-01",
        "kind": "HTX",
        "sector": "agriculture",
        "founded_on": "2021-04-05",
        "ward_code": str(WARD),
        "declared_members": "30",
        "charter_capital_vnd": "1.500.000.000",
        "contact_phone": "0912 345 678",
        "message": "Mong được duyệt",
    }
    data.update(overrides)
    return data


def test_register_asks_for_the_province_first(client, login, buyer):
    login(client, buyer)
    html = page(client.get("/registry/register"))
    assert 'name="province"' in html and 'name="ward_code"' not in html
    html = page(client.get(f"/registry/register?province={PROVINCE}"))
    assert "Phường Trà Vinh" in html
    assert str(OTHER_WARD) not in html


def test_register_refuses_a_ward_of_another_province(app, client, login, buyer):
    login(client, buyer)
    response = post_form(client, f"/registry/register?province={PROVINCE}", register_form(ward_code=str(OTHER_WARD)))
    assert response.status_code == 422
    assert count(app, Unit) == 0


def test_register_shows_errors_beside_fields(app, client, login, buyer, make_unit):
    make_unit(registration_code="DUA-01")
    login(client, buyer)
    response = post_form(
        client, f"/registry/register?province={PROVINCE}", register_form(declared_members="-4", founded_on="")
    )
    assert response.status_code == 422
    html = page(response)
    assert 'id="declared_members-errors"' in html and 'id="founded_on-errors"' in html
    response = post_form(client, f"/registry/register?province={PROVINCE}", register_form())
    assert response.status_code == 422
    assert 'id="registration_code-errors"' in page(response)
    assert count(app, UnitApplication) == 0


def test_registration_approved_by_the_officer(app, client, login, buyer, officer):
    login(client, buyer)
    response = post_form(client, f"/registry/register?province={PROVINCE}", register_form())
    assert response.status_code == 302
    unit = fetch(app, Unit, registration_code="DUA-01")
    assert unit.platform_status is PlatformStatus.PENDING
    assert unit.charter_capital_vnd == 1_500_000_000
    assert "HTX Dừa Sáp" in page(client.get("/registry/mine"))
    application = fetch(app, UnitApplication, unit_id=unit.id)

    officer_client = client.application.test_client()
    login(officer_client, officer)
    queue = page(officer_client.get("/registry/applications"))
    assert "HTX Dừa Sáp" in queue
    assert "Mong được duyệt" in page(officer_client.get(f"/registry/applications/{application.id}"))
    response = post_form(officer_client, f"/registry/applications/{application.id}/approve")
    assert response.status_code == 302
    assert fetch(app, Unit, id=unit.id).platform_status is PlatformStatus.APPROVED
    link = fetch(app, UnitStaff, unit_id=unit.id)
    assert (link.user_id, link.role) == (buyer.id, StaffRole.OWNER)
    # The new owner can now manage the unit; deciding again is refused.
    assert client.get(f"/registry/units/{unit.id}/staff").status_code == 200
    response = post_form(officer_client, f"/registry/applications/{application.id}/approve")
    assert response.status_code == 422


def test_claim_rejected_with_a_reason_the_applicant_reads(app, client, login, buyer, officer, make_unit):
    unit = make_unit(registration_code="CL-1", platform_status=PlatformStatus.NOT_JOINED)
    login(client, buyer)
    response = post_form(client, "/registry/claim", {"registration_code": "cl-1", "message": "Tôi là chủ nhiệm"})
    assert response.status_code == 302
    application = fetch(app, UnitApplication, unit_id=unit.id)

    officer_client = client.application.test_client()
    login(officer_client, officer)
    response = post_form(officer_client, f"/registry/applications/{application.id}/reject", {"reason": " "})
    assert response.status_code == 422
    assert 'id="reason-errors"' in page(response)
    assert fetch(app, UnitApplication, id=application.id).status is ApplicationStatus.PENDING
    response = post_form(
        officer_client, f"/registry/applications/{application.id}/reject", {"reason": "Thiếu giấy ủy quyền"}
    )
    assert response.status_code == 302
    assert fetch(app, Unit, id=unit.id).platform_status is PlatformStatus.NOT_JOINED
    assert "Thiếu giấy ủy quyền" in page(client.get("/registry/mine"))


def test_claim_of_an_unknown_code_is_refused(app, client, login, buyer):
    login(client, buyer)
    response = post_form(client, "/registry/claim", {"registration_code": "NOPE"})
    assert response.status_code == 422
    assert 'id="registration_code-errors"' in page(response)
    assert count(app, UnitApplication) == 0


def test_officer_of_another_province_cannot_see_or_decide(app, client, login, other_officer, buyer, make_unit):
    unit = make_unit(registration_code="CL-2", platform_status=PlatformStatus.NOT_JOINED)
    login(client, buyer)
    post_form(client, "/registry/claim", {"registration_code": "CL-2"})
    application = fetch(app, UnitApplication, unit_id=unit.id)
    stranger = client.application.test_client()
    login(stranger, other_officer)
    assert "CL-2" not in page(stranger.get("/registry/applications"))
    assert stranger.get(f"/registry/applications/{application.id}").status_code == 404
    assert post_form(stranger, f"/registry/applications/{application.id}/approve").status_code == 404
    assert post_form(stranger, f"/registry/applications/{application.id}/reject", {"reason": "x"}).status_code == 404
    assert fetch(app, UnitApplication, id=application.id).status is ApplicationStatus.PENDING


# ---------------------------------------------------------------- editing and staff


def test_owner_edits_contact_fields_only(app, client, login, make_unit, make_staff):
    unit = make_unit(name="HTX Gốc")
    owner = make_staff(unit)
    login(client, owner)
    html = page(client.get(f"/registry/units/{unit.id}/edit"))
    assert 'name="contact_name"' in html and 'name="registration_code"' not in html
    response = post_form(
        client,
        f"/registry/units/{unit.id}/edit",
        {"contact_name": "Chị Ba", "contact_phone": "0987654321", "name": "X"},
    )
    assert response.status_code == 302
    stored = fetch(app, Unit, id=unit.id)
    assert (stored.contact_name, stored.contact_phone, stored.name) == ("Chị Ba", "0987654321", "HTX Gốc")
    response = post_form(client, f"/registry/units/{unit.id}/edit", {"contact_phone": "12345"})
    assert response.status_code == 422
    assert fetch(app, Unit, id=unit.id).contact_phone == "0987654321"


def test_officer_edits_registry_fields(app, client, login, officer, make_unit):
    unit = make_unit(name="HTX Cũ", founded_on=dt.date(2020, 1, 1))
    login(client, officer)
    data = {
        "name": "HTX Mới",
        "registration_code": unit.registration_code,
        "kind": "HTX",
        "sector": "non_agriculture",
        "founded_on": "2020-01-01",
        "dissolved_on": "2019-01-01",
        "ward_code": str(WARD),
        "declared_members": "9",
        "charter_capital_vnd": "0",
    }
    response = post_form(client, f"/registry/units/{unit.id}/edit", data)
    assert response.status_code == 422
    assert 'id="dissolved_on-errors"' in page(response)
    data["dissolved_on"] = ""
    response = post_form(client, f"/registry/units/{unit.id}/edit", data)
    assert response.status_code == 302
    stored = fetch(app, Unit, id=unit.id)
    assert (stored.name, stored.sector.value, stored.declared_members) == ("HTX Mới", "non_agriculture", 9)


def test_owner_manages_staff(app, client, login, make_unit, make_staff, make_user):
    unit = make_unit()
    owner = make_staff(unit)
    helper = make_user(email="giup@example.vn")
    login(client, owner)
    response = post_form(client, f"/registry/units/{unit.id}/staff", {"email": "nobody@example.vn", "role": "staff"})
    assert response.status_code == 422
    response = post_form(client, f"/registry/units/{unit.id}/staff", {"email": "giup@example.vn", "role": "staff"})
    assert response.status_code == 302
    assert fetch(app, UnitStaff, unit_id=unit.id, user_id=helper.id).role is StaffRole.STAFF
    response = post_form(client, f"/registry/units/{unit.id}/staff/{owner.id}/remove")
    assert response.status_code == 422  # the last owner stays
    response = post_form(client, f"/registry/units/{unit.id}/staff/{helper.id}/remove")
    assert response.status_code == 302
    assert fetch(app, UnitStaff, unit_id=unit.id, user_id=helper.id) is None


# ---------------------------------------------------------------- web import


def upload(client, data: bytes, name: str = "so-dang-ky.csv"):
    return post_form(client, "/registry/import", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def import_files(app) -> list[Path]:
    return list((Path(app.config["UPLOAD_FOLDER"]) / "imports").glob("*.bin"))


def test_web_import_preview_then_confirm(app, client, login, officer, make_unit):
    make_unit(registration_code="OLD-1", name="Tên cũ", founded_on=dt.date(2019, 3, 1))
    login(client, officer)
    response = upload(client, csv_bytes([row("OLD-1", name="Tên mới"), row("NEW-1"), row("NEW-2")]))
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    token = re.search(r"/import/([0-9a-f]{32})", preview_url).group(1)
    assert (Path(app.config["UPLOAD_FOLDER"]) / "imports" / f"{token}.bin").exists()

    html = page(client.get(preview_url))
    assert "Tên cũ → Tên mới" in html
    assert "NEW-1" in html and "NEW-2" in html
    assert count(app, Unit) == 1  # a preview writes nothing

    response = post_form(client, f"/registry/import/{token}/confirm")
    assert response.status_code == 302
    assert count(app, Unit) == 3
    assert fetch(app, Unit, registration_code="OLD-1").name == "Tên mới"
    assert not (Path(app.config["UPLOAD_FOLDER"]) / "imports" / f"{token}.bin").exists()
    assert client.get(preview_url).status_code == 404


def test_web_import_with_errors_cannot_be_confirmed(app, client, login, officer):
    login(client, officer)
    response = upload(client, csv_bytes([row("A-1"), row("A-2", ward_code=OTHER_WARD), row("A-3", kind="XYZ")]))
    preview_url = response.headers["Location"]
    token = preview_url.rstrip("/").rsplit("/", 1)[-1]
    html = page(client.get(preview_url))
    assert "outside the province" in html and "unknown kind XYZ" in html
    assert f"/registry/import/{token}/confirm" not in html
    response = post_form(client, f"/registry/import/{token}/confirm")
    assert response.status_code == 422
    assert count(app, Unit) == 0


def test_web_import_refuses_an_unreadable_file(app, client, login, officer):
    login(client, officer)
    response = upload(client, b"\x00\x01\x02")
    assert response.status_code == 422
    assert 'id="file-errors"' in page(response)
    response = post_form(client, "/registry/import", {})
    assert response.status_code == 422


def test_another_officer_cannot_use_an_upload(app, client, login, officer, make_user):
    login(client, officer)
    token = upload(client, csv_bytes([row("A-1")])).headers["Location"].rsplit("/", 1)[-1]
    colleague = client.application.test_client()
    login(colleague, make_user("officer", province_code=PROVINCE))
    assert colleague.get(f"/registry/import/{token}").status_code == 404
    assert post_form(colleague, f"/registry/import/{token}/confirm").status_code == 404
    assert count(app, Unit) == 0
    assert post_form(client, f"/registry/import/{token}/cancel").status_code == 302
    assert not any(p.name == f"{token}.bin" for p in import_files(app))


# ---------------------------------------------------------------- CSRF


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, login, buyer, officer, make_unit):
    unit = make_unit(registration_code="CS-1", platform_status=PlatformStatus.NOT_JOINED)
    login(client, buyer)
    response = client.post("/registry/claim", data={"registration_code": "CS-1"})
    assert response.status_code == 400
    assert fetch(app, Unit, id=unit.id).platform_status is PlatformStatus.NOT_JOINED
    post_form(client, "/registry/claim", {"registration_code": "CS-1"})
    application = fetch(app, UnitApplication, unit_id=unit.id)

    officer_client = client.application.test_client()
    login(officer_client, officer)
    assert officer_client.post(f"/registry/applications/{application.id}/approve").status_code == 400
    assert fetch(app, UnitApplication, id=application.id).status is ApplicationStatus.PENDING
    before = set(import_files(app))
    response = officer_client.post("/registry/import", data={"file": (io.BytesIO(csv_bytes([row("Z")])), "a.csv")})
    assert response.status_code == 400
    assert set(import_files(app)) == before


def test_web_import_refuses_a_file_over_the_size_limit(app, client, login, officer, monkeypatch):
    login(client, officer)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)
    before = set(import_files(app))
    response = upload(client, csv_bytes([row(f"BIG-{n}") for n in range(100)]))
    assert response.status_code == 413
    assert set(import_files(app)) == before
