"""The admin's payout runs: who can be paid, amounts checked against the balance, once per form, batch pages."""

from __future__ import annotations

import io
import re
import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from ktt_market.accounts.models import Role
from ktt_market.extensions import db
from ktt_market.payments.models import EntryKind, LedgerEntry, Payout, PayoutBatch
from tests.conftest import post_form

from .conftest import LEDGER_BANK_ACCOUNT, read_balance

pytestmark = pytest.mark.core


def page(response) -> str:
    return response.get_data(as_text=True)


def run_form(html: str) -> tuple[str, dict[int, int]]:
    """Return the form's one-time key and {unit id: row index} from the payout run page."""
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', html
    )
    assert key, "no one-time key on the payout page"
    rows = {}
    for match in re.finditer(r'<input[^>]*name="rows-(\d+)-unit_id"[^>]*>', html):
        value = re.search(r'value="(\d+)"', match.group(0))
        rows[int(value.group(1))] = int(match.group(1))
    return key.group(1), rows


def pay(rows: dict[int, int], key: str, lines: dict[int, tuple[str, str]], note: str = "") -> dict:
    """POST data paying {unit id: (amount, reference)}; other rows are left unticked."""
    data = {"idempotency_key": key, "note": note}
    for unit_id, index in rows.items():
        data[f"rows-{index}-unit_id"] = str(unit_id)
        if unit_id in lines:
            amount, reference = lines[unit_id]
            data[f"rows-{index}-selected"] = "y"
            data[f"rows-{index}-amount"] = amount
            data[f"rows-{index}-bank_reference"] = reference
    return data


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        got = (
            db.session.scalar(select(func.count()).select_from(PayoutBatch)),
            db.session.scalar(select(func.count()).select_from(Payout)),
            db.session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.PAYOUT)),
        )
        db.session.remove()
    return got


@pytest.fixture
def admin(make_user):
    return make_user(role=Role.ADMIN, full_name="Quản trị viên", locale="en")


@pytest.fixture
def owed(ledger_coop, make_unit, ledger_sale):
    """Three units: A (with an account) owed 358.900, B (with an account) owed 77.601, C (no account) owed 48.500."""
    unit_b = make_unit(name="HTX Dừa Bến Tre", **{**LEDGER_BANK_ACCOUNT, "bank_account": "1903555666777"})
    unit_c = make_unit(name="HTX Cam Sành")
    ledger_sale(ledger_coop, 370_000)
    ledger_sale(unit_b, 80_001)
    ledger_sale(unit_c, 50_000)
    return ledger_coop, unit_b, unit_c


def test_run_page_lists_units_owed_money(client, login, admin, owed, make_unit):
    a, b, c = owed
    make_unit(name="HTX Không Nợ")  # owed nothing: not listed
    login(client, admin)
    response = client.get("/ledger/payouts")
    assert response.status_code == 200
    html = page(response)
    assert "HTX Bưởi Trà Vinh" in html and "HTX Dừa Bến Tre" in html and "HTX Cam Sành" in html
    assert "HTX Không Nợ" not in html
    assert "Vietcombank · 0071000123456 · HTX BUOI TRA VINH" in html
    assert "No bank account" in html
    _key, rows = run_form(html)
    assert set(rows) == {a.id, b.id, c.id}
    # The whole balance is proposed; a unit without an account has nothing to tick.
    assert f'name="rows-{rows[a.id]}-amount" type="text" value="358900"' in html
    assert f'name="rows-{rows[c.id]}-selected"' not in html
    assert 'for="rows-0-amount"' in html and "Amount for " in html


def test_record_a_run(app, client, login, admin, owed):
    a, b, _c = owed
    login(client, admin)
    key, rows = run_form(page(client.get("/ledger/payouts")))
    data = pay(rows, key, {a.id: ("358.900", "FT26331000001"), b.id: ("50000", " FT26331000002 ")}, "Đợt tháng 11")
    response = post_form(client, "/ledger/payouts", data)
    assert response.status_code == 302
    html = page(client.get(response.location))
    assert "Payouts recorded: 2 cooperatives, ₫408,900." in html
    assert "Đợt tháng 11" in html and "FT26331000002" in html and "Quản trị viên" in html
    assert counts(app) == (1, 2, 2)
    assert read_balance(app, a) == (0, 0)
    assert read_balance(app, b) == (27_601, 27_601)
    with app.app_context():
        entry = db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.unit_id == b.id, LedgerEntry.payout_id.isnot(None))
        ).one()
        payout = db.session.get(Payout, entry.payout_id)
        assert (entry.key, entry.amount_vnd, payout.bank_reference) == (f"payout:{payout.id}", -50_000, "FT26331000002")
        db.session.remove()
    # The cooperative sees it on its statement, with the bank's reference.
    statement = page(client.get(f"/ledger/units/{b.id}"))
    assert "Paid out" in statement and "Bank reference: FT26331000002" in statement


def test_a_double_submit_records_once(app, client, login, admin, owed):
    a, _b, _c = owed
    login(client, admin)
    key, rows = run_form(page(client.get("/ledger/payouts")))
    data = pay(rows, key, {a.id: ("100000", "FT1")})
    first = post_form(client, "/ledger/payouts", data)
    second = post_form(client, "/ledger/payouts", data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert "already recorded" in page(client.get(second.location))
    assert counts(app) == (1, 1, 1)
    assert read_balance(app, a) == (258_900, 258_900)


def test_the_service_records_a_key_once(app, admin, owed):
    from ktt_market.accounts.models import User
    from ktt_market.payments.payouts import PayoutLine, new_run_key, record_payouts

    a, _b, _c = owed
    key = new_run_key()
    with app.app_context(), app.test_request_context():
        actor = db.session.get(User, admin.id)
        batch, created = record_payouts([PayoutLine(a.id, 1_000, "R1")], actor=actor, key=key)
        db.session.commit()
        again, created_again = record_payouts([PayoutLine(a.id, 1_000, "R1")], actor=actor, key=key)
        assert (created, created_again, again.id) == (True, False, batch.id)
        db.session.remove()
    assert counts(app) == (1, 1, 1)


@pytest.mark.parametrize(
    ("amount", "reference", "message"),
    [
        ("358901", "FT1", "At most ₫358,900 is owed to this cooperative now."),
        ("0", "FT1", "Enter an amount above 0 đồng."),
        ("-5", "FT1", "Enter a whole number of đồng"),
        ("mười nghìn", "FT1", "Enter a whole number of đồng"),
        ("", "FT1", "Enter the amount to pay."),
        ("1000", "   ", "reference for this transfer."),
    ],
)
def test_bad_lines_are_refused_beside_their_field(app, client, login, admin, owed, amount, reference, message):
    a, b, _c = owed
    login(client, admin)
    key, rows = run_form(page(client.get("/ledger/payouts")))
    # B is fine, A is not: nothing at all is recorded.
    response = post_form(client, "/ledger/payouts", pay(rows, key, {a.id: (amount, reference), b.id: ("1000", "FT2")}))
    assert response.status_code == 422
    html = page(response)
    assert message in html
    field = "amount" if "reference" not in message else "bank_reference"
    assert f'id="rows-{rows[a.id]}-{field}-errors"' in html
    assert counts(app) == (0, 0, 0)
    assert read_balance(app, a) == (358_900, 358_900)


def test_nothing_ticked_is_refused(app, client, login, admin, owed):
    login(client, admin)
    key, rows = run_form(page(client.get("/ledger/payouts")))
    response = post_form(client, "/ledger/payouts", pay(rows, key, {}))
    assert response.status_code == 422
    assert "Choose at least one cooperative to pay." in page(response)
    assert counts(app) == (0, 0, 0)


def test_a_unit_without_a_bank_account_cannot_be_paid(app, client, login, admin, owed):
    _a, _b, c = owed
    login(client, admin)
    key, rows = run_form(page(client.get("/ledger/payouts")))
    response = post_form(client, "/ledger/payouts", pay(rows, key, {c.id: ("48500", "FT3")}))
    assert response.status_code == 422
    assert "HTX Cam Sành has no bank account to pay into." in page(response)
    assert counts(app) == (0, 0, 0)


def test_a_stale_form_cannot_pay_what_was_already_paid(app, client, login, admin, owed):
    a, _b, _c = owed
    login(client, admin)
    html = page(client.get("/ledger/payouts"))
    key1, rows = run_form(html)
    key2, _ = run_form(page(client.get("/ledger/payouts")))  # a second tab, opened before the first was sent
    assert post_form(client, "/ledger/payouts", pay(rows, key1, {a.id: ("358900", "FT1")})).status_code == 302
    response = post_form(client, "/ledger/payouts", pay(rows, key2, {a.id: ("358900", "FT1")}))
    assert response.status_code == 422
    assert "Nothing is owed to this cooperative now." in page(response)
    assert counts(app) == (1, 1, 1)
    assert read_balance(app, a) == (0, 0)


def test_a_form_without_its_key_is_refused(app, client, login, admin, owed):
    a, _b, _c = owed
    login(client, admin)
    _key, rows = run_form(page(client.get("/ledger/payouts")))
    response = post_form(client, "/ledger/payouts", pay(rows, "", {a.id: ("1000", "FT1")}))
    assert response.status_code == 422
    assert "This payout form has expired" in page(response)
    assert counts(app) == (0, 0, 0)


def test_batch_history_detail_and_bank_export(app, client, login, admin, owed):
    a, b, _c = owed
    login(client, admin)
    key, rows = run_form(page(client.get("/ledger/payouts")))
    response = post_form(client, "/ledger/payouts", pay(rows, key, {a.id: ("300000", "FT-A"), b.id: ("77601", "FT-B")}))
    batch_url = response.location
    history = page(client.get("/ledger/payouts/batches"))
    assert "₫377,601" in history and "Quản trị viên" in history
    detail = page(client.get(batch_url))
    assert "FT-A" in detail and "1903555666777" in detail
    export = client.get(f"{batch_url}/export")
    assert export.status_code == 200 and export.headers["Content-Disposition"].startswith("attachment;")
    rows_out = list(load_workbook(io.BytesIO(export.data)).worksheets[0].iter_rows(values_only=True))
    assert rows_out[0] == (
        "Cooperative",
        "Registration code",
        "Bank",
        "Bank BIN",
        "Account number",
        "Account name",
        "Amount (VND)",
        "Bank reference",
    )
    assert rows_out[1][0] == "HTX Bưởi Trà Vinh" and rows_out[1][2:] == (
        "Vietcombank",
        "970436",
        "0071000123456",
        "HTX BUOI TRA VINH",
        300_000,
        "FT-A",
    )
    assert rows_out[2][6:] == (77_601, "FT-B")
    assert client.get("/ledger/payouts/batches/999999").status_code == 404

    # The cooperative moves to another bank: the batch still shows the account it was paid into.
    from ktt_market.registry.models import Unit

    with app.app_context():
        unit = db.session.get(Unit, a.id)
        unit.bank_bin, unit.bank_account, unit.bank_account_name = "970422", "999888777", "HTX MOI"
        db.session.commit()
    assert "0071000123456" in page(client.get(batch_url)) and "999888777" not in page(client.get(batch_url))
    rows_out = list(
        load_workbook(io.BytesIO(client.get(f"{batch_url}/export").data)).worksheets[0].iter_rows(values_only=True)
    )
    assert rows_out[1][3:5] == ("970436", "0071000123456")


@pytest.mark.parametrize(
    "path",
    [
        "/ledger/payouts",
        "/ledger/payouts/batches",
        "/ledger/payouts/batches/{id}",
        "/ledger/payouts/batches/{id}/export",
    ],
)
def test_payout_pages_are_for_admins_only(app, client, login, make_user, make_staff, owed, admin, path):
    from ktt_market.accounts.models import User
    from ktt_market.payments.payouts import PayoutLine, new_run_key, record_payouts

    a, _b, _c = owed
    with app.app_context(), app.test_request_context():
        batch, _ = record_payouts(
            [PayoutLine(a.id, 1_000, "R1")], actor=db.session.get(User, admin.id), key=new_run_key()
        )
        db.session.commit()
        url = path.format(id=batch.id)
        db.session.remove()
    for user in (
        make_user(locale="en"),
        make_staff(a, make_user(locale="en")),
        make_user(role=Role.OFFICER, province_code=86, locale="en"),
    ):
        fresh = app.test_client()
        login(fresh, user)
        assert fresh.get(url).status_code == 403, user.email
    key = "k" * 40
    response = post_form(
        fresh,
        "/ledger/payouts",
        {
            "idempotency_key": key,
            "rows-0-unit_id": str(a.id),
            "rows-0-selected": "y",
            "rows-0-amount": "1000",
            "rows-0-bank_reference": "X",
        },
    )
    assert response.status_code == 403
    assert counts(app) == (1, 1, 1)
    assert client.get(url).status_code == 302  # a visitor: log in first


@pytest.mark.postgres_only
def test_concurrent_runs_cannot_overdraw_a_unit(app, admin, owed):
    """Two admins pay the whole balance of the same cooperative at the same moment: one payout goes through."""
    from flask_babel import force_locale

    from ktt_market.accounts.models import User
    from ktt_market.core.errors import ServiceError
    from ktt_market.payments.payouts import PayoutLine, new_run_key, record_payouts

    a, _b, _c = owed
    count = 6
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count

    def work(i: int) -> None:
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                actor = db.session.get(User, admin.id)
                db.session.commit()
                barrier.wait()
                record_payouts([PayoutLine(a.id, 358_900, f"FT{i}")], actor=actor, key=new_run_key())
                db.session.commit()
                results[i] = "paid"
            except ServiceError as exc:
                db.session.rollback()
                results[i] = exc.message
            except BaseException as exc:
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count("paid") == 1, results
    assert all(r == "paid" or r == "Nothing is owed to this cooperative now." for r in results), results
    assert read_balance(app, a) == (0, 0)
    assert counts(app) == (1, 1, 1)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1 500 000 ₫", 1_500_000),
        ("1500000đ", 1_500_000),
        (" 358900 ", 358_900),
        ("1,5", None),
        ("1.500,000", None),
        ("-5", None),
        ("٣٠٠.٠٠٠", None),
        ("", None),
    ],
)
def test_amounts_are_read_as_people_type_them(typed, amount):
    from ktt_market.payments.ledger_forms import parse_amount

    assert parse_amount(typed) == amount
