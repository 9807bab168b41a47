"""Who reaches what: officers of another province see nothing, buyers nothing, units only their own."""

from __future__ import annotations

import pytest

from ktt_market.accounts.models import Role
from ktt_market.programs.models import ApplicationStatus, ProgramStatus
from ktt_market.registry.models import UnitKind
from tests.conftest import post_form

from .conftest import PDF

pytestmark = pytest.mark.core


@pytest.fixture
def setup(app, make_unit, make_staff, make_program, make_application):
    from ktt_market.extensions import db
    from ktt_market.programs.models import ApplicationDocument, ProgramApplication
    from ktt_market.programs.services import _store

    unit = make_unit(kind=UnitKind.COOPERATIVE)
    owner = make_staff(unit)
    program = make_program(eligibility={"kinds": ["HTX"]})
    application = make_application(program, unit)
    with app.app_context():
        key = _store(PDF, "pdf")
        row = db.session.get(ProgramApplication, application.id)
        row.documents.append(
            ApplicationDocument(storage_key=key, filename="a.pdf", content_type="application/pdf", size_bytes=len(PDF))
        )
        db.session.commit()
        document_id = row.documents[0].id
    return {"unit": unit, "owner": owner, "program": program, "application": application, "document": document_id}


def officer_paths(s):
    p, a = s["program"].id, s["application"].id
    return [
        f"/programs/{p}",
        f"/programs/{p}/edit",
        f"/programs/applications/{a}",
        f"/programs/documents/{s['document']}",
    ]


def test_officer_of_another_province_gets_404_everywhere(app, client, login, make_user, setup):
    from ktt_market.extensions import db
    from ktt_market.programs.models import ProgramApplication, SupportProgram

    login(client, make_user(Role.OFFICER, province_code=91))
    for path in officer_paths(setup):
        assert client.get(path).status_code == 404, path
    p, a = setup["program"].id, setup["application"].id
    for path, data in (
        (f"/programs/{p}/close", {}),
        (f"/programs/applications/{a}/decide", {"decision": "approve"}),
        (f"/programs/applications/{a}/outcome", {"outcome": "x"}),
        (f"/programs/applications/{a}/disburse", {"amount_vnd": "1", "disbursed_on": "2024-01-01"}),
    ):
        assert post_form(client, path, data).status_code == 404, path
    assert "Đưa hợp tác xã lên sàn" not in client.get("/programs/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SupportProgram, p).status is ProgramStatus.OPEN
        assert db.session.get(ProgramApplication, a).status is ApplicationStatus.SUBMITTED


def test_officer_of_the_province_and_admin_see_it(client, login, make_user, setup):
    for user in (make_user(Role.OFFICER, province_code=86), make_user(Role.ADMIN)):
        login(client, user)
        for path in officer_paths(setup):
            expected = 302 if path.endswith("/edit") else 200  # an open program is not edited
            assert client.get(path).status_code == expected, path
        assert "Đưa hợp tác xã lên sàn" in client.get("/programs/").get_data(as_text=True)


def test_buyers_are_refused(client, login, make_user, setup):
    login(client, make_user())
    assert client.get("/programs/").status_code == 403
    assert client.get("/programs/new").status_code == 403
    assert client.get(f"/programs/{setup['program'].id}").status_code == 403
    assert client.get(f"/programs/unit/{setup['unit'].id}").status_code == 404
    assert client.get(f"/programs/documents/{setup['document']}").status_code == 404


def test_staff_of_another_unit_see_nothing_of_this_one(client, login, make_unit, make_staff, setup):
    other = make_unit()
    login(client, make_staff(other))
    assert client.get(f"/programs/unit/{setup['unit'].id}").status_code == 404
    assert client.get(f"/programs/documents/{setup['document']}").status_code == 404
    assert client.get(f"/programs/unit/{other.id}/{setup['program'].id}/apply").status_code == 200
    wd = post_form(client, f"/programs/unit/{other.id}/applications/{setup['application'].id}/withdraw")
    assert wd.status_code == 404


def test_unit_not_eligible_or_of_another_province_cannot_apply(client, login, make_unit, make_staff, setup):
    group = make_unit(kind=UnitKind.COOPERATIVE_GROUP)
    login(client, make_staff(group))
    assert client.get(f"/programs/unit/{group.id}/{setup['program'].id}/apply").status_code == 404
    far = make_unit(ward_code=30292)
    login(client, make_staff(far))
    assert client.get(f"/programs/unit/{far.id}/{setup['program'].id}/apply").status_code == 404


def test_anonymous_is_sent_to_log_in(client, setup):
    assert client.get("/programs/").status_code in (302, 401)
    assert client.get(f"/programs/documents/{setup['document']}").status_code in (302, 401)


def _my_routes(app, setup):
    ids = {
        "program_id": setup["program"].id,
        "application_id": setup["application"].id,
        "document_id": setup["document"],
        "unit_id": setup["unit"].id,
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("programs."):
            yield rule, rule.build({k: ids[k] for k in rule.arguments}, append_unknown=False)[1]


def test_every_programs_route_needs_a_login(app, client, setup):
    from tests.conftest import csrf_token

    failures = []
    for rule, url in _my_routes(app, setup):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": csrf_token(client)} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            if not (response.status_code == 302 and "/account/login" in response.location):
                failures.append(f"{method} {url} -> {response.status_code}")
    assert not failures


def test_every_programs_post_needs_the_csrf_token(app, client, login, make_user, setup):
    from ktt_market.extensions import db
    from ktt_market.programs.models import ProgramApplication, SupportProgram

    login(client, make_user(Role.ADMIN))
    posts = [url for rule, url in _my_routes(app, setup) if "POST" in rule.methods]
    assert len(posts) >= 8
    for url in posts:
        assert client.post(url, data={"decision": "approve", "outcome": "x"}).status_code == 400, url
    with app.app_context():
        assert db.session.get(SupportProgram, setup["program"].id).status is ProgramStatus.OPEN
        assert db.session.get(ProgramApplication, setup["application"].id).status is ApplicationStatus.SUBMITTED
