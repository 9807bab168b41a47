"""Member register services: numbers, leaving, the capital ledger, balances and head counts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from ktt_market.core.errors import ServiceError
from ktt_market.core.i18n import local_today
from ktt_market.extensions import db
from ktt_market.members import services
from ktt_market.members.models import CapitalEntry, Member, MemberCategory, MemberRole

from .conftest import JOINED

pytestmark = pytest.mark.core

TOMORROW = local_today() + dt.timedelta(days=1)


def contribute(svc, member, amount, day, kind="contributed"):
    return services.record_contribution(member, actor=svc.actor, kind=kind, amount_vnd=amount, entry_date=day)


class CountQueries:
    """Count the SELECTs the session sends inside the block."""

    def __enter__(self):
        self.count = 0
        self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            self.count += 1

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


# ------------------------------------------------------------------ members and numbers


def test_blank_numbers_are_assigned_in_sequence(new_member):
    first, second = new_member("An"), new_member("Bình")
    assert (first.code, second.code) == ("TV0001", "TV0002")


def test_number_is_kept_upper_case_and_the_next_free_one_follows_it(new_member):
    assert new_member("An", code=" tv0100 ").code == "TV0100"
    assert new_member("Bình", code="A-7").code == "A-7"
    assert new_member("Chi").code == "TV0101"


def test_number_is_unique_within_the_unit_only(svc, new_member, make_unit):
    other = db.session.merge(make_unit())  # before this session starts writing (SQLite has one writer)
    new_member("An", code="TV0001")
    with pytest.raises(ServiceError) as err:
        new_member("Bình", code="tv0001")
    assert err.value.field == "code"
    assert new_member("Bình", code="TV0001", unit=other).code == "TV0001"


def test_member_fields_are_cleaned(new_member):
    m = new_member("  Nguyễn   Thị  Hoa ", phone="+84 912 345 678", address=" Ấp 3 ")
    assert (m.full_name, m.phone, m.address) == ("Nguyễn Thị Hoa", "0912345678", "Ấp 3")
    assert (m.category, m.role) == (MemberCategory.OFFICIAL, MemberRole.MEMBER)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"full_name": "  "}, "full_name"),
        ({"phone": "12345"}, "phone"),
        ({"joined_on": TOMORROW}, "joined_on"),
        ({"code": "X" * 41}, "code"),
    ],
)
def test_bad_member_data_is_refused_and_nothing_is_added(svc, new_member, fields, field):
    with pytest.raises(ServiceError) as err:
        new_member(**fields)
    assert err.value.field == field
    assert db.session.query(Member).count() == 0


def test_update_member_changes_details_and_keeps_the_number_when_blank(svc, new_member):
    m = new_member("An")
    data = services.MemberData(full_name="An Mới", joined_on=JOINED, role=MemberRole.CHAIR)
    services.update_member(m, actor=svc.actor, data=data)
    assert (m.code, m.full_name, m.role) == ("TV0001", "An Mới", MemberRole.CHAIR)


def test_update_cannot_move_joining_after_the_first_capital_entry(svc, new_member):
    m = new_member("An")
    contribute(svc, m, 1_000_000, dt.date(2021, 6, 1))
    data = services.MemberData(full_name="An", joined_on=dt.date(2021, 7, 1))
    with pytest.raises(ServiceError) as err:
        services.update_member(m, actor=svc.actor, data=data)
    assert err.value.field == "joined_on"
    assert "01/06/2021" in err.value.message


# ------------------------------------------------------------------ leaving


def test_mark_left_records_date_and_reason(svc, new_member):
    m = new_member("An")
    services.mark_left(m, actor=svc.actor, left_on=dt.date(2023, 5, 2), reason=" chuyển nơi ở ")
    assert (m.left_on, m.left_reason) == (dt.date(2023, 5, 2), "chuyển nơi ở")


@pytest.mark.parametrize("left_on", [JOINED - dt.timedelta(days=1), TOMORROW])
def test_leaving_before_joining_or_in_the_future_is_refused(svc, new_member, left_on):
    m = new_member("An")
    with pytest.raises(ServiceError) as err:
        services.mark_left(m, actor=svc.actor, left_on=left_on, reason=None)
    assert err.value.field == "left_on"
    assert m.left_on is None


def test_leaving_on_the_joining_day_is_allowed_but_only_once(svc, new_member):
    m = new_member("An")
    services.mark_left(m, actor=svc.actor, left_on=JOINED, reason=None)
    with pytest.raises(ServiceError):
        services.mark_left(m, actor=svc.actor, left_on=JOINED, reason=None)


def test_cannot_leave_before_a_recorded_contribution(svc, new_member):
    m = new_member("An")
    contribute(svc, m, 1_000_000, dt.date(2022, 1, 10))
    with pytest.raises(ServiceError):
        services.mark_left(m, actor=svc.actor, left_on=dt.date(2022, 1, 9), reason=None)


# ------------------------------------------------------------------ the ledger


@pytest.mark.parametrize(
    ("amount", "day", "field"),
    [
        (0, JOINED, "amount_vnd"),
        (-5, JOINED, "amount_vnd"),
        (1000, TOMORROW, "entry_date"),
        (1000, JOINED - dt.timedelta(days=1), "entry_date"),
    ],
)
def test_bad_entries_are_refused(svc, new_member, amount, day, field):
    m = new_member("An")
    with pytest.raises(ServiceError) as err:
        contribute(svc, m, amount, day)
    assert err.value.field == field
    assert db.session.query(CapitalEntry).count() == 0


def test_a_return_may_not_exceed_the_balance(svc, new_member):
    m = new_member("An")
    contribute(svc, m, 5_000_000, dt.date(2021, 4, 1))
    with pytest.raises(ServiceError) as err:
        contribute(svc, m, 5_000_001, dt.date(2022, 1, 1), kind="returned")
    assert err.value.field == "amount_vnd"
    contribute(svc, m, 5_000_000, dt.date(2022, 1, 1), kind="returned")
    assert services.member_balance(m) == 0


def test_a_backdated_return_may_not_drive_a_later_balance_below_zero(svc, new_member):
    m = new_member("An")
    contribute(svc, m, 3_000_000, dt.date(2021, 4, 1))
    contribute(svc, m, 2_000_000, dt.date(2022, 4, 1), kind="returned")  # 1.000.000 left from then on
    contribute(svc, m, 4_000_000, dt.date(2023, 4, 1))
    # On 2021-12-01 the member held 3.000.000, but 2.000.000 of it went back in April 2022.
    with pytest.raises(ServiceError):
        contribute(svc, m, 1_500_000, dt.date(2021, 12, 1), kind="returned")
    contribute(svc, m, 1_000_000, dt.date(2021, 12, 1), kind="returned")
    assert [line.balance_vnd for line in services.ledger(m)] == [3_000_000, 2_000_000, 0, 4_000_000]


def test_no_contribution_after_leaving_but_capital_can_be_returned(svc, new_member):
    m = new_member("An")
    contribute(svc, m, 2_000_000, dt.date(2021, 4, 1))
    services.mark_left(m, actor=svc.actor, left_on=dt.date(2022, 1, 1), reason=None)
    with pytest.raises(ServiceError):
        contribute(svc, m, 1_000, dt.date(2022, 2, 1))
    entry = contribute(svc, m, 2_000_000, dt.date(2022, 2, 1), kind="returned")
    assert entry.recorded_by_id == svc.actor.id
    assert services.member_balance(m) == 0


def test_balances_and_running_totals(svc, new_member):
    a, b, c = new_member("An"), new_member("Bình"), new_member("Chi")
    contribute(svc, a, 10_000_000, dt.date(2021, 5, 1))
    contribute(svc, a, 2_500_000, dt.date(2021, 9, 1), kind="returned")
    contribute(svc, a, 1_000_000, dt.date(2021, 7, 1))  # recorded late, dated earlier
    contribute(svc, b, 4_000_000, dt.date(2021, 3, 1))
    assert services.member_balance(a) == 8_500_000
    assert services.member_balance(c) == 0
    assert services.unit_capital(svc.unit) == 12_500_000
    with CountQueries() as q:
        balances = services.member_balances(svc.unit)
    assert q.count == 1
    assert balances == {a.id: 8_500_000, b.id: 4_000_000}
    lines = services.ledger(a)
    assert [line.entry.entry_date for line in lines] == [dt.date(2021, 5, 1), dt.date(2021, 7, 1), dt.date(2021, 9, 1)]
    assert [line.balance_vnd for line in lines] == [10_000_000, 11_000_000, 8_500_000]


# ------------------------------------------------------------------ head counts


def test_member_count_without_a_register_is_the_declared_count(svc):
    assert services.member_count(svc.unit) == 12


def test_member_count_follows_the_register_on_a_day(svc, new_member):
    new_member("An", joined_on=dt.date(2021, 1, 1))
    b = new_member("Bình", joined_on=dt.date(2021, 1, 1))
    new_member("Chi", joined_on=dt.date(2022, 6, 1))
    services.mark_left(b, actor=svc.actor, left_on=dt.date(2022, 3, 1), reason=None)
    assert services.member_count(svc.unit) == 2  # today: An and Chi
    assert services.member_count(svc.unit, on=dt.date(2020, 12, 31)) == 0  # a register, nobody yet
    assert services.member_count(svc.unit, on=dt.date(2022, 2, 28)) == 2  # An, Bình
    assert services.member_count(svc.unit, on=dt.date(2022, 3, 1)) == 1  # Bình left that day
    assert services.member_count(svc.unit, on=dt.date(2022, 6, 1)) == 2  # Chi joined


def test_active_member_counts_for_many_units_in_one_query(svc, new_member, make_unit):
    kept = svc.unit
    declared = db.session.merge(make_unit(declared_members=7))
    new_member("An")
    new_member("Bình")
    with CountQueries() as q:
        counts = services.active_member_counts([kept.id, declared.id, 999_999])
    assert q.count == 1
    assert counts == {kept.id: 2, declared.id: 7}
    assert services.active_member_counts([]) == {}


def test_register_totals(svc, new_member):
    new_member("An")
    new_member("Bình", category=MemberCategory.ASSOCIATE)
    c = new_member("Chi")
    contribute(svc, c, 3_000_000, JOINED)
    services.mark_left(c, actor=svc.actor, left_on=dt.date(2023, 1, 1), reason=None)
    totals = services.register_totals(svc.unit)
    assert (totals.active, totals.official, totals.associate, totals.left) == (2, 1, 1, 1)
    assert totals.capital_vnd == 3_000_000


def test_list_members_filters_and_searches_without_diacritics(svc, new_member):
    new_member("Nguyễn Văn An")
    new_member("Trần Thị Bình", role=MemberRole.DIRECTOR)
    c = new_member("Lê Văn Chi", category=MemberCategory.ASSOCIATE)
    services.mark_left(c, actor=svc.actor, left_on=dt.date(2023, 1, 1), reason=None)

    def names(**kw):
        return [m.full_name for m in services.list_members(svc.unit, **kw)]

    assert names() == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert names(status="left") == ["Lê Văn Chi"]
    assert len(names(status="all")) == 3
    assert names(status="all", q="van") == ["Nguyễn Văn An", "Lê Văn Chi"]
    assert names(q="tv0002") == ["Trần Thị Bình"]
    assert names(role=MemberRole.DIRECTOR) == ["Trần Thị Bình"]
    assert names(status="all", category=MemberCategory.ASSOCIATE) == ["Lê Văn Chi"]
