"""A believable demo of Vĩnh Long (province 86): units of every kind, a few registers, four logins.

Everything is keyed (users by e-mail, units by registration code, members by their unit's member
code), so loading twice adds nothing. Functions add and flush; the command commits once.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from ..accounts.models import Role, User
from ..accounts.passwords import hash_password
from ..core.places import wards_of
from ..extensions import db
from ..members.models import CapitalEntry, CapitalEntryKind, Member, MemberCategory, MemberRole
from ..registry.models import (
    ApplicationKind,
    ApplicationStatus,
    PlatformStatus,
    Sector,
    StaffRole,
    Unit,
    UnitApplication,
    UnitKind,
    UnitStaff,
)
from .products import load_products
from .province import load_province_demo

DEMO_PASSWORD = "ktt-demo-2026"  # noqa: S105 (a published demo password, printed by the command)
PROVINCE = 86  # Vĩnh Long, which took in Trà Vinh and Bến Tre on 1 July 2025

AGRI, NON_AGRI = Sector.AGRICULTURE, Sector.NON_AGRICULTURE
THT, HTX, LHHTX, QTDND = UnitKind.COOPERATIVE_GROUP, UnitKind.COOPERATIVE, UnitKind.UNION, UnitKind.CREDIT_FUND


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: Role = Role.BUYER
    province_code: int | None = None
    phone: str | None = None
    title: str = ""  # what the printed login list says this account is for


@dataclass(frozen=True)
class DemoUnit:
    code: str
    kind: UnitKind
    name: str
    sector: Sector
    trade: str
    ward_code: int
    street: str
    founded_on: dt.date
    declared_members: int
    charter_capital_vnd: int = 0
    stopped_on: dt.date | None = None
    dissolved_on: dt.date | None = None
    description: str | None = None
    # On the platform: approved units have an owner; pending ones an applicant and a message.
    status: PlatformStatus = PlatformStatus.NOT_JOINED
    owner: str | None = None
    applicant: str | None = None
    application_kind: ApplicationKind | None = None
    message: str | None = None
    approved_at: dt.datetime | None = None
    register_size: int = 0  # members written into the demo register
    # (VietQR bank BIN, account number, holder): bank transfers for its orders go straight there.
    bank: tuple[str, str, str] | None = None


LOGINS = (
    DemoUser("buyer@ktt.vn", "Lê Minh Khoa", phone="0913456721", title="buyer"),
    DemoUser("manager@ktt.vn", "Huỳnh Văn Tài", phone="0918234567", title="cooperative manager"),
    DemoUser("officer@ktt.vn", "Phạm Thị Thu Trang", Role.OFFICER, PROVINCE, "02943855246", "province officer"),
    DemoUser("admin@ktt.vn", "Nguyễn Quốc Huy", Role.ADMIN, title="platform admin"),
)
# The people behind the other approved units and the open applications.
OTHER_USERS = (
    DemoUser("htx.longhuu@ktt.vn", "Thạch Thị Sa Ri", phone="0987612345"),
    DemoUser("htx.buoinamroi@ktt.vn", "Trần Văn Lợi", phone="0939123876"),
    DemoUser("htx.keodua@ktt.vn", "Võ Thị Kim Ngân", phone="0978456123"),
    DemoUser("htx.caygiong@ktt.vn", "Nguyễn Văn Dũng", phone="0909345612"),
    DemoUser("thanh.chieucoi@ktt.vn", "Kim Văn Thanh", phone="0967234189"),
    DemoUser("phuc.chomchom@ktt.vn", "Đặng Văn Phúc", phone="0945612378"),
    DemoUser("tien.thuycanh@ktt.vn", "Bùi Thị Tiên", phone="0356781234"),
)


def _at(year: int, month: int, day: int) -> dt.datetime:
    # 09:30 in Vietnam, stored in UTC.
    return dt.datetime(year, month, day, 2, 30, tzinfo=dt.UTC)


D = dt.date
# The columns: code, kind, name, sector, trade, ward; street, founded, declared members, charter capital.
# fmt: off
UNITS = (
    # ---- the former Trà Vinh
    DemoUnit(
        "2100512345", HTX, "Hợp tác xã Nông nghiệp Dừa sáp Cầu Kè", AGRI, "dừa sáp Cầu Kè", 29308,
        "Ấp Ô Tre Lớn", D(2012, 5, 10), 48, 1_250_000_000,
        description="Trồng và tiêu thụ dừa sáp đặc sản Cầu Kè; cung cấp dừa sáp trái và cơm dừa sáp đông lạnh.",
        status=PlatformStatus.APPROVED, owner="manager@ktt.vn", application_kind=ApplicationKind.CLAIM,
        approved_at=_at(2025, 8, 14), register_size=12,
        bank=("970405", "7302205123456", "HTX NONG NGHIEP DUA SAP CAU KE"),
    ),
    DemoUnit(
        "2100634781", HTX, "Hợp tác xã Thủy sản Long Hữu", AGRI, "tôm thẻ chân trắng, cua biển", 29518,
        "Ấp Cây Da", D(2015, 8, 20), 32, 2_400_000_000,
        description="Nuôi tôm thẻ chân trắng và cua biển theo hướng VietGAP ven biển Duyên Hải.",
        status=PlatformStatus.APPROVED, owner="htx.longhuu@ktt.vn", application_kind=ApplicationKind.CLAIM,
        approved_at=_at(2025, 10, 2),
    ),
    DemoUnit(
        "2100718246", HTX, "Hợp tác xã Chiếu cói Trà Cú", NON_AGRI, "chiếu cói", 29461,
        "Ấp Chợ", D(2014, 3, 3), 25, 300_000_000,
        status=PlatformStatus.PENDING, applicant="thanh.chieucoi@ktt.vn", application_kind=ApplicationKind.CLAIM,
        message="Tôi là giám đốc hợp tác xã, xin được quản lý trang của hợp tác xã trên sàn để bán chiếu.",
    ),
    DemoUnit(
        "THT-29341-01", THT, "Tổ hợp tác Đan lát lục bình Tiểu Cần", NON_AGRI, "đan lát lục bình", 29341,
        "Ấp Cây Hẹ", D(2018, 6, 15), 14,
    ),
    DemoUnit(
        "2100231577", QTDND, "Quỹ tín dụng nhân dân Trà Vinh", NON_AGRI, "tín dụng", 29242,
        "Số 12 đường Lê Lợi", D(2010, 3, 1), 1450, 6_500_000_000,
    ),
    DemoUnit(
        "2100845512", HTX, "Hợp tác xã Gạo sạch Càng Long", AGRI, "gạo", 29266,
        "Ấp Long Trị", D(2013, 9, 9), 40, 800_000_000,
        stopped_on=D(2023, 6, 30),
    ),
    DemoUnit(
        "THT-29416-02", THT, "Tổ hợp tác Nuôi tôm càng xanh Cầu Ngang", AGRI, "tôm càng xanh", 29416,
        "Ấp Mỹ Cẩm", D(2016, 2, 20), 9,
        dissolved_on=D(2021, 4, 30),
    ),
    # ---- Vĩnh Long before the merger
    DemoUnit(
        "1500432198", HTX, "Hợp tác xã Bưởi Năm Roi Bình Minh", AGRI, "bưởi Năm Roi", 29771,
        "Khóm Đông Thuận", D(2011, 11, 11), 36, 950_000_000,
        description="Bưởi Năm Roi đạt chứng nhận VietGAP, giao hàng quanh năm.", status=PlatformStatus.APPROVED,
        owner="htx.buoinamroi@ktt.vn", application_kind=ApplicationKind.CLAIM, approved_at=_at(2025, 7, 21),
        register_size=10,
    ),
    DemoUnit(
        "1500587340", HTX, "Hợp tác xã Khoai lang tím Tân Quới", AGRI, "khoai lang tím", 29800,
        "Ấp Tân Thuận", D(2017, 4, 12), 28, 600_000_000,
    ),
    DemoUnit(
        "1500661927", HTX, "Hợp tác xã Gốm đỏ Nhơn Phú", NON_AGRI, "gốm đỏ", 29623,
        "Ấp Phú Thạnh", D(2014, 8, 25), 19, 1_100_000_000,
    ),
    DemoUnit(
        "1500773310", LHHTX, "Liên hiệp Hợp tác xã Nông nghiệp Vĩnh Long", AGRI, "tiêu thụ nông sản", 29551,
        "Số 45 đường Phạm Thái Bường", D(2019, 10, 10), 7, 3_000_000_000,
    ),
    DemoUnit(
        "1500124908", QTDND, "Quỹ tín dụng nhân dân Tam Bình", NON_AGRI, "tín dụng", 29719,
        "Khóm 2", D(2011, 5, 20), 2100, 4_200_000_000,
    ),
    DemoUnit(
        "1500890065", HTX, "Hợp tác xã Chôm chôm Long Hồ", AGRI, "chôm chôm", 29602,
        "Ấp Phước Yên", D(2025, 3, 15), 12, 250_000_000,
        status=PlatformStatus.PENDING, applicant="phuc.chomchom@ktt.vn", application_kind=ApplicationKind.REGISTER,
        message="Hợp tác xã mới thành lập năm 2025, xin tham gia sàn để bán chôm chôm Java.",
    ),
    DemoUnit(
        "THT-29821-01", THT, "Tổ hợp tác Rau màu Trà Ôn", AGRI, "rau màu", 29821,
        "Ấp Mỹ Hòa", D(2016, 1, 5), 11,
        stopped_on=D(2024, 9, 1),
    ),
    DemoUnit(
        "1500301457", HTX, "Hợp tác xã Cam sành Tam Bình", AGRI, "cam sành", 29719,
        "Ấp Phú Hữu", D(2010, 6, 18), 21, 400_000_000,
        dissolved_on=D(2020, 12, 31),
    ),
    # ---- the former Bến Tre
    DemoUnit(
        "1300456218", HTX, "Hợp tác xã Kẹo dừa Mỏ Cày", NON_AGRI, "kẹo dừa", 28903,
        "Khu phố 3", D(2013, 12, 2), 30, 1_500_000_000,
        description="Kẹo dừa truyền thống Mỏ Cày: kẹo dừa sữa, dừa lá dứa, dừa sầu riêng. Sản phẩm OCOP 4 sao.",
        status=PlatformStatus.APPROVED, owner="htx.keodua@ktt.vn", application_kind=ApplicationKind.REGISTER,
        approved_at=_at(2025, 9, 5), register_size=11,
    ),
    DemoUnit(
        "1300512873", HTX, "Hợp tác xã Bưởi da xanh Giồng Trôm", AGRI, "bưởi da xanh", 28984,
        "Ấp 4", D(2012, 7, 7), 52, 1_800_000_000,
    ),
    DemoUnit(
        "1300278164", HTX, "Hợp tác xã Cây giống Chợ Lách", AGRI, "cây giống, hoa kiểng", 28870,
        "Ấp Phú Hòa", D(2011, 2, 14), 44, 2_000_000_000,
        status=PlatformStatus.APPROVED, owner="htx.caygiong@ktt.vn", application_kind=ApplicationKind.CLAIM,
        approved_at=_at(2025, 11, 18),
    ),
    DemoUnit(
        "THT-29050-03", THT, "Tổ hợp tác Nuôi ong mật Bình Đại", AGRI, "mật ong", 29050,
        "Ấp Bình Chiến", D(2020, 5, 19), 8,
    ),
    DemoUnit(
        "1300660419", HTX, "Hợp tác xã Nghêu Thạnh Phước", AGRI, "nghêu, thủy sản", 29104,
        "Ấp Thạnh Hải", D(2010, 7, 1), 260, 5_000_000_000,
    ),
    DemoUnit(
        "1300199357", QTDND, "Quỹ tín dụng nhân dân Phú Khương", NON_AGRI, "tín dụng", 28756,
        "Số 8 đường Đồng Khởi", D(2012, 4, 1), 1800, 5_500_000_000,
    ),
    DemoUnit(
        "1300801146", LHHTX, "Liên hiệp Hợp tác xã Dừa Bến Tre", AGRI, "dừa, sản phẩm từ dừa", 28789,
        "Số 120 đường Nguyễn Thị Định", D(2021, 11, 20), 6, 2_500_000_000,
    ),
    DemoUnit(
        "1300347720", HTX, "Hợp tác xã Thủ công mỹ nghệ Ba Tri", NON_AGRI, "đan lát, thủ công mỹ nghệ", 29110,
        "Ấp Phú Lợi", D(2016, 9, 9), 15, 200_000_000,
        dissolved_on=D(2022, 6, 30),
    ),
    DemoUnit(
        "THT-28810-01", THT, "Tổ hợp tác Thạch dừa Phú Túc", NON_AGRI, "thạch dừa", 28810,
        "Ấp Phú Khương", D(2025, 8, 5), 7,
    ),
    DemoUnit(
        "1300912658", HTX, "Hợp tác xã Nông nghiệp Công nghệ cao Tiên Thủy", AGRI, "rau thủy canh, dưa lưới", 28861,
        "Ấp Tiên Tây", D(2025, 5, 20), 10, 700_000_000,
        status=PlatformStatus.PENDING, applicant="tien.thuycanh@ktt.vn", application_kind=ApplicationKind.REGISTER,
        message="Xin đăng ký hợp tác xã lên sàn; hồ sơ thành lập đã nộp tại xã Tiên Thủy.",
    ),
    DemoUnit(
        "1300725591", HTX, "Hợp tác xã Tôm lúa Thạnh Phú", AGRI, "tôm - lúa", 29182,
        "Ấp Giao Thạnh", D(2014, 10, 15), 35, 900_000_000,
        stopped_on=D(2024, 3, 31),
    ),
)
# fmt: on

# Names for the generated member registers: mostly Kinh, some Khmer (many Khmer families live here).
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Dương", "Lâm", "Ngô", "Trương")
_MIDDLE_M = ("Văn", "Minh", "Hữu", "Quốc", "Thanh", "Công")
_MIDDLE_F = ("Thị", "Thị Kim", "Thị Ngọc", "Thị Thanh", "Ngọc")
_GIVEN_M = ("Hùng", "Phước", "Tâm", "Nghĩa", "Thành", "Sang", "Lộc", "Hải", "Bảo", "Khánh")
_GIVEN_F = ("Lan", "Hồng", "Mai", "Thảo", "Nhung", "Hạnh", "Diễm", "Yến", "Phương", "Trinh")
_KHMER = ("Thạch Sa Rết", "Kim Sô Phol", "Sơn Thị Sa Ri", "Thạch Thị Sô Phia", "Kim Văn Sóc", "Sơn Minh Tha")
_HAMLETS = ("Ấp 1", "Ấp 2", "Ấp Phú Hòa", "Ấp Long Bình", "Ấp Tân Qui", "Ấp Mỹ Văn", "Ấp Thạnh Lợi")
_REGISTER_END = dt.date(2025, 12, 31)  # the registers run to the end of the last full year
_LEAVE_REASONS = ("Chuyển nơi ở", "Nghỉ vì tuổi cao", "Xin ra khỏi hợp tác xã")


@dataclass
class LoadReport:
    """What one `load` call added, and the accounts to print."""

    created: Counter = field(default_factory=Counter)

    @property
    def nothing_new(self) -> bool:
        return not any(self.created.values())


def load_demo() -> LoadReport:
    """Add whatever part of the demo is missing; flush, never commit."""
    wards = wards_of(PROVINCE)
    unknown = [u.code for u in UNITS if u.ward_code not in wards]
    if unknown:
        raise ValueError(f"demo units with a ward outside province {PROVINCE}: {unknown}")
    report = LoadReport()
    users = _ensure_users(report)
    officer = users["officer@ktt.vn"]
    for spec in UNITS:
        unit = _ensure_unit(spec, report)
        _ensure_platform_side(spec, unit, users, officer, report)
        if spec.register_size:
            _ensure_register(spec, unit, users.get(spec.owner or ""), report)
    db.session.flush()
    # The approved cooperatives' catalogue, added by each one's owner.
    owners = {spec.code: users[spec.owner] for spec in UNITS if spec.status is PlatformStatus.APPROVED and spec.owner}
    load_products(owners, report.created)
    load_province_demo(PROVINCE, officer, report.created)
    db.session.flush()
    return report


def _ensure_users(report: LoadReport) -> dict[str, User]:
    users: dict[str, User] = {}
    for spec in (*LOGINS, *OTHER_USERS):
        user = db.session.scalar(select(User).where(User.email == spec.email))
        if user is None:
            user = User(
                email=spec.email,
                password_hash=hash_password(DEMO_PASSWORD),
                full_name=spec.full_name,
                phone=spec.phone,
                role=spec.role,
                province_code=spec.province_code,
                locale="vi",
            )
            db.session.add(user)
            report.created["users"] += 1
        users[spec.email] = user
    db.session.flush()
    return users


def _ensure_unit(spec: DemoUnit, report: LoadReport) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.registration_code == spec.code))
    if unit is not None:
        return unit
    owner = next((u for u in (*LOGINS, *OTHER_USERS) if u.email == spec.owner), None)
    unit = Unit(
        kind=spec.kind,
        registration_code=spec.code,
        name=spec.name,
        sector=spec.sector,
        trade=spec.trade,
        founded_on=spec.founded_on,
        stopped_on=spec.stopped_on,
        dissolved_on=spec.dissolved_on,
        province_code=PROVINCE,
        ward_code=spec.ward_code,
        street=spec.street,
        declared_members=spec.declared_members,
        charter_capital_vnd=spec.charter_capital_vnd,
        contact_name=owner.full_name if owner else None,
        contact_phone=owner.phone if owner else None,
        contact_email=owner.email if owner else None,
        description=spec.description,
        platform_status=spec.status,
        approved_at=spec.approved_at,
    )
    if spec.bank:
        unit.bank_bin, unit.bank_account, unit.bank_account_name = spec.bank
    db.session.add(unit)
    db.session.flush()
    report.created["units"] += 1
    return unit


def _ensure_platform_side(
    spec: DemoUnit, unit: Unit, users: dict[str, User], officer: User, report: LoadReport
) -> None:
    """Give an approved unit its owner and decided application, a pending one its open application."""
    person = users.get(spec.owner or spec.applicant or "")
    if person is None or spec.application_kind is None:
        return
    has_application = db.session.scalar(
        select(UnitApplication.id).where(UnitApplication.unit_id == unit.id, UnitApplication.applicant_id == person.id)
    )
    if has_application is None:
        approved = spec.status is PlatformStatus.APPROVED
        submitted = (spec.approved_at - dt.timedelta(days=3)) if approved and spec.approved_at else None
        application = UnitApplication(
            unit_id=unit.id,
            applicant_id=person.id,
            kind=spec.application_kind,
            status=ApplicationStatus.APPROVED if approved else ApplicationStatus.PENDING,
            message=spec.message,
            decided_by_id=officer.id if approved else None,
            decided_at=spec.approved_at if approved else None,
        )
        if submitted:
            application.created_at = application.updated_at = submitted
        db.session.add(application)
        report.created["applications"] += 1
    if spec.owner:
        link = db.session.scalar(
            select(UnitStaff.id).where(UnitStaff.unit_id == unit.id, UnitStaff.user_id == person.id)
        )
        if link is None:
            db.session.add(UnitStaff(unit_id=unit.id, user_id=person.id, role=StaffRole.OWNER))
            report.created["staff"] += 1


def _person(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(_KHMER)
    if rng.random() < 0.5:
        return f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE_M)} {rng.choice(_GIVEN_M)}"
    return f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE_F)} {rng.choice(_GIVEN_F)}"


def _day_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))


def _ensure_register(spec: DemoUnit, unit: Unit, owner: User | None, report: LoadReport) -> None:
    """Write a member register with capital movements; the same seed gives the same people."""
    rng = random.Random(spec.code)  # deterministic: the demo looks the same on every laptop
    roles = [MemberRole.CHAIR, MemberRole.DIRECTOR, MemberRole.BOARD, MemberRole.BOARD, MemberRole.SUPERVISORY]
    roles += [MemberRole.MEMBER] * (spec.register_size - len(roles))
    ward = wards_of(PROVINCE)[spec.ward_code]
    for n, role in enumerate(roles, start=1):
        code = f"TV-{n:03d}"
        name = _person(rng)
        if role is MemberRole.DIRECTOR and owner is not None:
            name = owner.full_name
        phone = f"09{rng.randint(10_000_000, 99_999_999)}"
        founding = n <= 5 or rng.random() < 0.4
        joined = spec.founded_on if founding else _day_between(rng, spec.founded_on, dt.date(2025, 6, 30))
        associate = role is MemberRole.MEMBER and rng.random() < 0.25
        leaves = role is MemberRole.MEMBER and not associate and rng.random() < 0.2
        earliest_leave = joined + dt.timedelta(days=365)
        left = _day_between(rng, earliest_leave, _REGISTER_END) if leaves and earliest_leave < _REGISTER_END else None
        if db.session.scalar(select(Member.id).where(Member.unit_id == unit.id, Member.code == code)):
            continue
        member = Member(
            unit_id=unit.id,
            code=code,
            full_name=name,
            phone=phone,
            address=f"{rng.choice(_HAMLETS)}, {ward}",
            category=MemberCategory.ASSOCIATE if associate else MemberCategory.OFFICIAL,
            role=role,
            joined_on=joined,
            left_on=left,
            left_reason=rng.choice(_LEAVE_REASONS) if left else None,
        )
        db.session.add(member)
        db.session.flush()
        report.created["members"] += 1
        _add_capital(rng, unit, member, owner, associate, report)


def _add_capital(
    rng: random.Random, unit: Unit, member: Member, owner: User | None, associate: bool, report: LoadReport
) -> None:
    if associate and rng.random() < 0.5:
        return  # an associate member without capital (liên kết không góp vốn)
    recorded_by = owner.id if owner else None
    first = rng.choice((5, 10, 15, 20, 30, 50)) * 1_000_000
    entries = [(CapitalEntryKind.CONTRIBUTED, first, member.joined_on, "Góp vốn khi gia nhập")]
    top_up_from, top_up_until = member.joined_on + dt.timedelta(days=180), member.left_on or _REGISTER_END
    if rng.random() < 0.4 and top_up_from < top_up_until:
        later = _day_between(rng, top_up_from, top_up_until)
        entries.append((CapitalEntryKind.CONTRIBUTED, rng.choice((5, 10)) * 1_000_000, later, "Góp thêm vốn"))
    if member.left_on:
        total = sum(amount for _kind, amount, _day, _note in entries)
        entries.append((CapitalEntryKind.RETURNED, total, member.left_on, "Trả lại vốn góp khi ra khỏi hợp tác xã"))
    for kind, amount, day, note in entries:
        db.session.add(
            CapitalEntry(
                unit_id=unit.id,
                member_id=member.id,
                kind=kind,
                amount_vnd=amount,
                entry_date=day,
                note=note,
                recorded_by_id=recorded_by,
            )
        )
        report.created["capital_entries"] += 1
