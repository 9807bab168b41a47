"""Who may see and act on which unit: the one place these rules live.

Views load a unit through these functions; anything a user may not reach is a 404, so that
staff of one unit cannot even learn which ids belong to another, and an officer of one province
sees nothing of another.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from ..accounts.models import Role, User
from ..extensions import db
from .models import StaffRole, Unit, UnitStaff


def province_scope(user: User) -> int | None:
    """The province an officer is bound to; None for a platform admin (every province)."""
    if user.role is Role.ADMIN:
        return None
    if user.role is Role.OFFICER:
        return user.province_code
    abort(403)


def officer_covers(user: User, unit: Unit) -> bool:
    """Whether `user` is an admin, or an officer of the unit's province."""
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.OFFICER and user.province_code == unit.province_code


def staff_role(user: User, unit_id: int) -> StaffRole | None:
    return db.session.scalar(select(UnitStaff.role).where(UnitStaff.unit_id == unit_id, UnitStaff.user_id == user.id))


def units_of(user: User) -> list[Unit]:
    """The units `user` works for, by name."""
    return list(
        db.session.scalars(select(Unit).join(UnitStaff).where(UnitStaff.user_id == user.id).order_by(Unit.name))
    )


def staff_unit_or_404(unit_id: int, user: User, *, owner: bool = False) -> Unit:
    """The unit, if `user` is its staff (its owner when `owner`); else 404."""
    unit = db.session.get(Unit, unit_id)
    role = staff_role(user, unit_id) if unit is not None else None
    if role is None or (owner and role is not StaffRole.OWNER):
        abort(404)
    return unit


def officer_unit_or_404(unit_id: int, user: User) -> Unit:
    """The unit, if `user` is an officer of its province or an admin; else 404."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not officer_covers(user, unit):
        abort(404)
    return unit


def visible_unit_or_404(unit_id: int, user: User) -> Unit:
    """The unit, for its staff, an officer of its province or an admin; else 404."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not (officer_covers(user, unit) or staff_role(user, unit_id) is not None):
        abort(404)
    return unit
