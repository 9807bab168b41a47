"""Bank transfer by VietQR: the receiving account and reference, the QR on the order page, recording a
transfer by its reference (and every refusal), expiry, access, and a cooperative's own bank account."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import func, select

from ktt_market.core.errors import ServiceError
from ktt_market.core.models import utcnow
from ktt_market.extensions import db
from ktt_market.orders.models import OrderStatus, Purchase
from ktt_market.orders.payments import available_payment_options, payment_option
from ktt_market.orders.states import expire_unpaid_orders
from ktt_market.payments.models import Collector, EntryKind, Payment, PaymentStatus, Refund, RefundStatus
from ktt_market.payments.vietqr import parse_payload, qr_png
from ktt_market.registry.models import StaffRole, Unit
from tests.conftest import post_form

from .transfer_support import *  # noqa: F403  (fixtures)
from .transfer_support import (
    COOP_A,
    PLATFORM,
    ledger_rows,
    order_status,
    page,
    payments_of,
    qr_images,
    vietqr_payloads,
)

pytestmark = pytest.mark.core

NO_TRANSFER = "There is no pending transfer with this reference."


def _record(client, reference: str, amount: str):
    return post_form(client, "/payments/transfers", {"reference": reference, "amount_vnd": amount})


def _offered(app) -> set[str]:
    with app.test_request_context():
        codes = {option.code.value for option in available_payment_options(app)}
        db.session.remove()
    return codes


# ---------------------------------------------------------------- offering the method


def test_transfer_is_hidden_when_nobody_can_receive_it(app, coops):
    assert "bank_transfer" not in _offered(app)
    assert "cod" in _offered(app)


def test_transfer_is_offered_with_a_cooperative_account(app, coops, coop_a_account):
    assert "bank_transfer" in _offered(app)


def test_transfer_is_offered_with_a_platform_account(app, coops, platform_account):
    assert "bank_transfer" in _offered(app)


def test_checkout_refuses_a_cart_whose_cooperative_cannot_be_paid(
    app, buyer, products, place, coop_a_account, stock_of
):
    # Cooperative A has an account, B has none and there is no platform account.
    with pytest.raises(ServiceError) as refused:
        place(buyer, {products["pomelo"]: 1, products["coconut"]: 1}, payment_method="bank_transfer")
    assert refused.value.field == "payment_method"
    assert refused.value.message == (
        "HTX Dừa Bến Tre chưa thể nhận thanh toán chuyển khoản: vui lòng chọn phương thức thanh toán khác."
    )  # the default language: Vietnamese
    assert stock_of(products["coconut"]) == 3 and stock_of(products["pomelo"]) == 10
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 0


def test_checkout_page_shows_the_refusal_beside_the_payment_choice(
    app, client, login, buyer, products, fill_cart, coop_a_account
):
    from tests.orders.conftest import checkout_key, expected_total

    fill_cart(buyer, {products["coconut"]: 1})
    login(client, buyer)
    html = page(client.get("/checkout?province=86"))
    data = {
        "contact_name": "Nguyễn Thị Lan",
        "phone": "0912345678",
        "ward_code": "29242",
        "street": "12 Nguyễn Đáng",
        "payment_method": "bank_transfer",
        "idempotency_key": checkout_key(html),
        "expected_total": expected_total(html),
    }
    response = post_form(client, "/checkout?province=86", data)
    assert response.status_code == 422
    assert "HTX Dừa Bến Tre cannot receive bank transfers yet" in page(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 0


# ---------------------------------------------------------------- end to end


def test_transfer_to_the_cooperatives_own_account_end_to_end(
    app, client, login, buyer, staff_a, coops, products, place, coop_a_account
):
    number = place(buyer, {products["pomelo"]: 2}, payment_method="bank_transfer")
    [payment] = payments_of(app, number)
    assert payment["order_status"] is OrderStatus.PENDING_PAYMENT
    assert payment["status"] is PaymentStatus.PENDING
    assert payment["collector"] is Collector.COOPERATIVE
    assert (payment["bank_bin"], payment["bank_account"]) == (COOP_A["bin"], COOP_A["account"])
    assert payment["reference"] == "KTT" + number.removeprefix("KTT-") + "1"

    login(client, buyer)
    html = page(client.get(f"/orders/{number}"))
    [payload] = vietqr_payloads(html)
    qr = parse_payload(payload)
    assert (qr["bin"], qr["account"], qr["amount"], qr["reference"]) == (
        COOP_A["bin"],
        COOP_A["account"],
        120_000,
        payment["reference"],
    )
    assert qr["service"] == "QRIBFTTA" and qr["merchant_name"] == COOP_A["name"]
    # The image is that very payload drawn as a QR code.
    assert qr_images(html) == [base64.b64encode(qr_png(payload, scale=5)).decode("ascii")]
    assert "ACB" in html and COOP_A["account"] in html and COOP_A["name"] in html
    assert payment["reference"] in html and "Type exactly this in the transfer content" in html
    assert "Pay before" in html and "₫120,000" in html
    assert "style=" not in html.split('id="payment-')[1].split("</div>")[0]  # CSP: no inline styles

    # The cooperative sees it waiting, and records it by its reference (typed loosely) and the amount.
    client = login(app.test_client(), staff_a)
    listing = page(client.get("/payments/transfers"))
    assert payment["reference"] in listing and number in listing
    loose = payment["reference"].lower()[:5] + " - " + payment["reference"].lower()[5:]
    response = _record(client, loose, "120.000")
    assert response.status_code == 302
    assert f"order {number} is paid" in page(client.get("/payments/transfers"))
    after = payments_of(app, number)[0]
    assert after["status"] is PaymentStatus.SUCCEEDED and after["order_status"] is OrderStatus.PLACED
    assert after["recorded_by_id"] == staff_a.id
    assert ledger_rows(app) == []  # the money is in the cooperative's own account

    # Recording it again says so and changes nothing.
    response = _record(client, payment["reference"], "120000")
    assert response.status_code == 302
    assert "was already recorded" in page(client.get("/payments/transfers"))
    assert payments_of(app, number)[0]["paid_at"] == after["paid_at"]


def test_platform_collected_transfers_credit_the_cooperative_less_the_fee(
    app, client, login, buyer, admin, coops, products, place, platform_account
):
    number = place(buyer, {products["pomelo"]: 2, products["coconut"]: 1}, payment_method="bank_transfer")
    pomelo, coconut = payments_of(app, number)
    assert pomelo["collector"] is coconut["collector"] is Collector.PLATFORM
    assert pomelo["bank_account"] == PLATFORM["account"] and pomelo["bank_account_name"] == PLATFORM["name"]
    assert pomelo["reference"] != coconut["reference"]

    login(client, buyer)
    html = page(client.get(f"/orders/{number}"))
    payloads = sorted(parse_payload(p)["amount"] for p in vietqr_payloads(html))
    assert payloads == [80_000, 120_000]
    assert "This account belongs to KTT Market" in html

    client = login(app.test_client(), admin)
    assert _record(client, pomelo["reference"], "120000").status_code == 302
    assert order_status(app, pomelo["order_id"]) is OrderStatus.PLACED
    assert order_status(app, coconut["order_id"]) is OrderStatus.PENDING_PAYMENT
    fee = (120_000 * 300 + 5_000) // 10_000
    assert ledger_rows(app) == [
        (coops[0].id, EntryKind.SALE, 120_000),
        (coops[0].id, EntryKind.FEE, -fee),
    ]


def test_references_stay_unique_when_the_natural_one_is_taken(app, ctx, buyer, products, place, platform_account):
    from ktt_market.payments.transfers import new_reference

    number = place(buyer, {products["pomelo"]: 1}, payment_method="bank_transfer")
    purchase = db.session.scalar(select(Purchase).where(Purchase.number == number))
    taken = db.session.scalar(select(Payment.reference))
    assert new_reference(purchase, 1) != taken
    assert new_reference(purchase, 2) == taken[:-1] + "2"


# ---------------------------------------------------------------- refusals


@pytest.fixture
def waiting(app, buyer, products, place, coop_a_account):
    """A transfer of 120.000 ₫ owed to cooperative A's own account."""
    number = place(buyer, {products["pomelo"]: 2}, payment_method="bank_transfer")
    return payments_of(app, number)[0] | {"number": number}


def test_unknown_reference_is_refused_beside_the_field(app, client, login, staff_a, waiting):
    login(client, staff_a)
    response = _record(client, "KTTNOSUCHREF", "120000")
    assert response.status_code == 422 and NO_TRANSFER in page(response)
    assert payments_of(app, waiting["number"])[0]["status"] is PaymentStatus.PENDING


def test_a_different_amount_is_refused_and_changes_nothing(app, client, login, staff_a, waiting):
    login(client, staff_a)
    response = _record(client, waiting["reference"], "100.000")
    assert response.status_code == 422
    assert "The amount owed is ₫120,000, not ₫100,000." in page(response)
    after = payments_of(app, waiting["number"])[0]
    assert after["status"] is PaymentStatus.PENDING and after["order_status"] is OrderStatus.PENDING_PAYMENT


def test_empty_or_malformed_fields_are_refused(app, client, login, staff_a, waiting):
    login(client, staff_a)
    response = _record(client, "", "")
    assert response.status_code == 422
    html = page(response)
    assert "Enter the reference the buyer typed in the transfer." in html
    assert "Enter the amount received, in đồng." in html
    response = _record(client, waiting["reference"], "một trăm")
    assert response.status_code == 422 and "Enter a whole number" in page(response)
    assert payments_of(app, waiting["number"])[0]["status"] is PaymentStatus.PENDING


def test_an_expired_order_returns_its_stock_and_its_late_transfer_is_refused(
    app, client, login, staff_a, products, waiting, stock_of
):
    assert stock_of(products["pomelo"]) == 8
    with app.app_context():
        assert expire_unpaid_orders(utcnow() + dt.timedelta(hours=2)) == 1
        db.session.commit()
        db.session.remove()
    after = payments_of(app, waiting["number"])[0]
    assert after["order_status"] is OrderStatus.CANCELLED and after["status"] is PaymentStatus.EXPIRED
    assert stock_of(products["pomelo"]) == 10

    login(client, staff_a)
    assert waiting["reference"] not in page(client.get("/payments/transfers"))
    response = _record(client, waiting["reference"], "120000")
    assert response.status_code == 422
    assert "Refund the transfer to the buyer from the receiving bank account, outside the platform." in page(response)
    assert payments_of(app, waiting["number"])[0]["status"] is PaymentStatus.EXPIRED


def test_a_buyer_cancelling_an_unpaid_transfer_order_cancels_the_payment(app, client, login, buyer, waiting):
    login(client, buyer)
    assert post_form(client, f"/orders/{waiting['number']}/{waiting['order_id']}/cancel").status_code == 302
    assert payments_of(app, waiting["number"])[0]["status"] is PaymentStatus.CANCELLED


# ---------------------------------------------------------------- who may record


@pytest.mark.parametrize("who", ["staff_b", "officer_elsewhere", "admin"])
def test_outsiders_cannot_record_a_cooperative_collected_transfer(app, client, login, request, who, waiting):
    login(client, request.getfixturevalue(who))
    assert waiting["reference"] not in page(client.get("/payments/transfers"))
    response = _record(client, waiting["reference"], "120000")
    assert response.status_code == 422 and NO_TRANSFER in page(response)
    assert payments_of(app, waiting["number"])[0]["status"] is PaymentStatus.PENDING


def test_a_buyer_cannot_open_or_use_the_transfers_page(app, client, login, buyer, waiting):
    login(client, buyer)
    assert client.get("/payments/transfers").status_code == 403
    assert _record(client, waiting["reference"], "120000").status_code == 403
    assert payments_of(app, waiting["number"])[0]["status"] is PaymentStatus.PENDING


def test_an_officer_of_the_province_may_record_it(app, client, login, officer, waiting):
    login(client, officer)
    assert waiting["reference"] in page(client.get("/payments/transfers"))
    assert _record(client, waiting["reference"], "120000").status_code == 302
    after = payments_of(app, waiting["number"])[0]
    assert after["status"] is PaymentStatus.SUCCEEDED and after["recorded_by_id"] == officer.id


@pytest.mark.parametrize("who", ["staff_a", "officer_elsewhere"])
def test_platform_collected_transfers_are_for_admins_and_the_provinces_officers(
    app, client, login, request, who, buyer, products, place, platform_account
):
    number = place(buyer, {products["pomelo"]: 1}, payment_method="bank_transfer")
    [payment] = payments_of(app, number)
    login(client, request.getfixturevalue(who))
    response = _record(client, payment["reference"], "60000")
    assert response.status_code == 422 and NO_TRANSFER in page(response)
    assert payments_of(app, number)[0]["status"] is PaymentStatus.PENDING


def test_the_cooperative_order_page_shows_the_transfer_and_links_to_recording_it(
    app, client, login, staff_a, coops, waiting
):
    login(client, staff_a)
    html = page(client.get(f"/orders/units/{coops[0].id}/{waiting['order_id']}"))
    assert waiting["reference"] in html and "Record this transfer as received" in html
    assert f"/payments/transfers?reference={waiting['reference']}" in html
    prefilled = page(client.get(f"/payments/transfers?reference={waiting['reference']}"))
    assert f'value="{waiting["reference"]}"' in prefilled


# ---------------------------------------------------------------- the cooperative's bank account


def test_the_owner_sets_the_bank_account_and_transfers_then_go_there(
    app, client, login, staff_a, coops, buyer, products, place
):
    url = f"/payments/units/{coops[0].id}/bank-account"
    login(client, staff_a)
    assert url in page(client.get(f"/registry/units/{coops[0].id}"))  # the unit page links to it
    assert client.get(url).status_code == 200
    response = post_form(client, url, {"bank_bin": "970416", "account": "2576 788 59", "holder": "Htx Bưởi Trà Vinh"})
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.get(Unit, coops[0].id)
        assert (unit.bank_bin, unit.bank_account, unit.bank_account_name) == (
            "970416",
            "257678859",
            "HTX BUOI TRA VINH",
        )
    number = place(buyer, {products["pomelo"]: 1}, payment_method="bank_transfer")
    assert payments_of(app, number)[0]["bank_account"] == "257678859"


def test_bank_account_form_refuses_bad_input_beside_each_field(app, client, login, staff_a, coops):
    url = f"/payments/units/{coops[0].id}/bank-account"
    login(client, staff_a)
    response = post_form(client, url, {"bank_bin": "123456", "account": "257678859", "holder": "HTX A"})
    assert response.status_code == 422 and "Choose the bank from the list." in page(response)
    response = post_form(client, url, {"bank_bin": "970416", "account": "25-76/78", "holder": "HTX A"})
    assert response.status_code == 422 and "Enter the account number: 1 to 19 letters or digits." in page(response)
    response = post_form(client, url, {"bank_bin": "970416", "account": "257678859", "holder": "★"})
    assert response.status_code == 422 and "as the bank shows it" in page(response)
    with app.app_context():
        assert db.session.get(Unit, coops[0].id).bank_account is None


def test_only_the_owner_may_open_the_bank_account_page(app, client, login, coops, make_staff, make_user, staff_b):
    url = f"/payments/units/{coops[0].id}/bank-account"
    login(client, make_staff(coops[0], make_user(), role=StaffRole.STAFF))
    assert client.get(url).status_code == 404
    assert post_form(client, url, {"bank_bin": "970416", "account": "1", "holder": "X Y"}).status_code == 404
    client = login(app.test_client(), staff_b)
    assert client.get(url).status_code == 404
    with app.app_context():
        assert db.session.get(Unit, coops[0].id).bank_account is None


def test_the_cooperatives_own_account_wins_over_the_platforms(app, ctx, coops, coop_a_account, platform_account):
    from ktt_market.orders.models import Order
    from ktt_market.payments.transfers import receiving_account

    order = Order(unit_id=coops[0].id)
    order.unit = db.session.get(Unit, coops[0].id)
    collector, account = receiving_account(order, app.config)
    # The cooperative's own account wins over the platform's.
    assert collector is Collector.COOPERATIVE and account["bank_account"] == COOP_A["account"]
    order_b = Order(unit_id=coops[1].id)
    order_b.unit = db.session.get(Unit, coops[1].id)
    assert receiving_account(order_b, app.config)[0] is Collector.PLATFORM
    assert payment_option("bank_transfer").paid_on_delivery is False


# ---------------------------------------------------------------- a paid transfer whose order is cancelled


@pytest.fixture
def paid_then_cancelled(app, client, login, buyer, admin, products, place, platform_account):
    """A platform-collected transfer recorded by the admin, whose order the buyer then cancels."""
    number = place(buyer, {products["pomelo"]: 2}, payment_method="bank_transfer")
    [payment] = payments_of(app, number)
    assert _record(login(app.test_client(), admin), payment["reference"], "120000").status_code == 302
    login(client, buyer)
    assert post_form(client, f"/orders/{number}/{payment['order_id']}/cancel").status_code == 302
    return payment | {"number": number}


def test_a_cancelled_paid_transfer_is_owed_back_until_its_refund_is_recorded(
    app, client, login, buyer, admin, coops, paid_then_cancelled
):
    number = paid_then_cancelled["number"]
    assert "₫120,000 will be sent back to the account you paid from." in page(client.get(f"/orders/{number}"))
    with app.app_context():
        refund = db.session.scalar(select(Refund))
        assert refund.status is RefundStatus.PENDING and refund.amount_vnd == 120_000
        refund_id = refund.id

    desk = login(app.test_client(), admin)
    html = page(desk.get("/payments/transfers"))
    assert "Transfers to send back" in html and number in html
    response = post_form(desk, "/payments/transfers/refunds", {"refund_id": str(refund_id), "bank_reference": ""})
    assert response.status_code == 422
    assert "Enter the bank's reference of the transfer back to the buyer." in page(response)
    response = post_form(desk, "/payments/transfers/refunds", {"refund_id": "99999", "bank_reference": "FT123"})
    assert response.status_code == 422
    assert "This refund is no longer waiting to be sent." in page(response)

    response = post_form(
        desk, "/payments/transfers/refunds", {"refund_id": str(refund_id), "bank_reference": "FT26331"}
    )
    assert response.status_code == 302
    with app.app_context():
        refund = db.session.get(Refund, refund_id)
        assert refund.status is RefundStatus.SUCCEEDED and "FT26331" in refund.provider_ref
    after = payments_of(app, number)[0]
    assert after["order_status"] is OrderStatus.REFUNDED
    # The ledger: the sale and its fee, then the refund and the fee given back: nothing owed.
    assert sum(amount for _unit, _kind, amount in ledger_rows(app)) == 0
    assert "sent back to you on" in page(client.get(f"/orders/{number}"))


def test_outsiders_cannot_record_a_transfer_refund(app, login, staff_a, officer_elsewhere, paid_then_cancelled):
    with app.app_context():
        refund_id = db.session.scalar(select(Refund.id))
    for who in (staff_a, officer_elsewhere):
        desk = login(app.test_client(), who)
        assert paid_then_cancelled["number"] not in page(desk.get("/payments/transfers"))
        response = post_form(desk, "/payments/transfers/refunds", {"refund_id": str(refund_id), "bank_reference": "X"})
        assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Refund, refund_id).status is RefundStatus.PENDING


def test_an_account_the_qr_cannot_carry_still_shows_the_details(
    app, client, login, buyer, products, place, platform_account, monkeypatch
):
    monkeypatch.setitem(app.config, "PLATFORM_BANK_NAME", "★★★")  # no letter or digit: VietQR refuses the name
    number = place(buyer, {products["pomelo"]: 1}, payment_method="bank_transfer")
    login(client, buyer)
    response = client.get(f"/orders/{number}")
    assert response.status_code == 200
    html = page(response)
    assert vietqr_payloads(html) == [] and PLATFORM["account"] in html
    assert payments_of(app, number)[0]["reference"] in html
