"""A cooperative's side: open programs it is eligible for, applying with documents, withdrawing."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from sqlalchemy import func, select

from ktt_market.programs.models import ApplicationStatus, ProgramStatus
from ktt_market.registry.models import UnitKind
from tests.conftest import post_form

from .conftest import JPEG, PDF, PNG

pytestmark = pytest.mark.core


def count_applications(app):
    from ktt_market.extensions import db
    from ktt_market.programs.models import ProgramApplication

    with app.app_context():
        return db.session.scalar(select(func.count(ProgramApplication.id)))


def apply(client, unit, program, message="Xin tham gia", files=()):
    data = {"message": message, "documents": [(BytesIO(data), name) for name, data in files]}
    return post_form(client, f"/programs/unit/{unit.id}/{program.id}/apply", data, content_type="multipart/form-data")


def test_staff_see_eligible_open_programs_and_apply_with_documents(
    app, client, login, make_unit, make_staff, make_program, make_user
):
    from ktt_market.extensions import db
    from ktt_market.programs.models import ProgramApplication

    unit = make_unit(kind=UnitKind.COOPERATIVE)
    owner = make_staff(unit)
    mine = make_program(title="Cho HTX", eligibility={"kinds": ["HTX"]})
    make_program(title="Cho tổ hợp tác", eligibility={"kinds": ["THT"]})
    make_program(title="Bản nháp", status=ProgramStatus.DRAFT)
    make_program(title="Tỉnh khác", province_code=91)
    login(client, owner)
    assert f'href="/programs/unit/{unit.id}"' in client.get(f"/registry/units/{unit.id}").get_data(as_text=True)
    page = client.get(f"/programs/unit/{unit.id}").get_data(as_text=True)
    assert "Cho HTX" in page
    assert "Cho tổ hợp tác" not in page and "Bản nháp" not in page and "Tỉnh khác" not in page
    assert client.get(f"/programs/unit/{unit.id}/{mine.id}/apply").status_code == 200

    response = apply(client, unit, mine, files=[("giay-phep.pdf", PDF), ("anh.png", PNG), ("anh.jpg", JPEG)])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        application = db.session.scalars(select(ProgramApplication)).one()
        assert (application.unit_id, application.status, application.message) == (
            unit.id,
            ApplicationStatus.SUBMITTED,
            "Xin tham gia",
        )
        docs = [(d.filename, d.content_type) for d in application.documents]
        assert docs == [("giay-phep.pdf", "application/pdf"), ("anh.png", "image/png"), ("anh.jpg", "image/jpeg")]
        doc_id = application.documents[0].id

    download = client.get(f"/programs/documents/{doc_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"

    # Applying twice is refused, and shows why.
    again = apply(client, unit, mine)
    assert again.status_code == 422
    assert "already applied" in again.get_data(as_text=True)
    assert count_applications(app) == 1


def test_a_pdf_that_is_really_text_is_refused(app, client, login, make_unit, make_staff, make_program):
    unit = make_unit()
    login(client, make_staff(unit))
    program = make_program()
    response = apply(client, unit, program, files=[("ho-so.pdf", b"just some text, not a PDF")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "ho-so.pdf is not a PDF, JPEG or PNG file." in page and 'id="documents-errors"' in page
    assert count_applications(app) == 0


def test_too_large_a_document_is_refused(app, client, login, make_unit, make_staff, make_program):
    unit = make_unit()
    login(client, make_staff(unit))
    program = make_program()
    app.config["PROGRAM_DOCUMENT_MAX_BYTES"] = 1024
    try:
        response = apply(client, unit, program, files=[("lon.pdf", PDF + b"0" * 2048)])
    finally:
        del app.config["PROGRAM_DOCUMENT_MAX_BYTES"]
    assert response.status_code == 422
    assert "larger than" in response.get_data(as_text=True)
    assert count_applications(app) == 0


def test_application_window(app, ctx, make_unit, make_staff, make_program, today):
    from ktt_market.accounts.models import User
    from ktt_market.core.errors import ServiceError
    from ktt_market.extensions import db
    from ktt_market.programs import services
    from ktt_market.programs.models import SupportProgram
    from ktt_market.registry.models import Unit

    unit = make_unit()
    owner = make_staff(unit)
    opens, closes = today + dt.timedelta(days=2), today + dt.timedelta(days=5)
    program = db.session.get(SupportProgram, make_program(opens_on=opens, closes_on=closes).id)
    unit, owner = db.session.get(Unit, unit.id), db.session.get(User, owner.id)
    for day in (opens - dt.timedelta(days=1), closes + dt.timedelta(days=1)):
        with pytest.raises(ServiceError):
            services.apply(program, unit, actor=owner, message=None, documents=[], day=day)
    application = services.apply(program, unit, actor=owner, message=None, documents=[], day=closes)
    assert application.status is ApplicationStatus.SUBMITTED


def test_window_not_open_yet_hides_nothing_but_refuses(app, client, login, make_unit, make_staff, make_program):
    unit = make_unit()
    login(client, make_staff(unit))
    closed = make_program(status=ProgramStatus.CLOSED)
    assert client.get(f"/programs/unit/{unit.id}/{closed.id}/apply").status_code == 404
    assert apply(client, unit, closed).status_code == 404
    assert count_applications(app) == 0


def test_withdraw_before_a_decision_then_apply_again(
    app, client, login, make_unit, make_staff, make_program, make_application
):
    from ktt_market.programs.models import ProgramApplication

    unit = make_unit()
    login(client, make_staff(unit))
    program = make_program()
    application = make_application(program, unit)
    post_form(client, f"/programs/unit/{unit.id}/applications/{application.id}/withdraw")
    with app.app_context():
        from ktt_market.extensions import db

        assert db.session.get(ProgramApplication, application.id).status is ApplicationStatus.WITHDRAWN
    assert apply(client, unit, program, message="Lần hai").status_code == 302
    with app.app_context():
        again = db.session.get(ProgramApplication, application.id)
        assert (again.status, again.message) == (ApplicationStatus.SUBMITTED, "Lần hai")

    decided = make_application(make_program(), unit, status=ApplicationStatus.APPROVED)
    post_form(client, f"/programs/unit/{unit.id}/applications/{decided.id}/withdraw")
    with app.app_context():
        assert db.session.get(ProgramApplication, decided.id).status is ApplicationStatus.APPROVED
