"""Accounts: people who log in, and what they may act as."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime
from ..extensions import db


class Role(enum.StrEnum):
    BUYER = "buyer"
    OFFICER = "officer"  # province officer (cán bộ tỉnh), bound to one province
    ADMIN = "admin"  # platform admin


class User(UserMixin, TimestampMixin, db.Model):
    """A person with a login. Cooperative staff are users linked to units (registry.UnitStaff)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("(role = 'officer') = (province_code IS NOT NULL)", name="officer_has_province"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), default=Role.BUYER)
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change: every other session and remember-cookie stops working.
    auth_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_officer(self) -> bool:
        return self.role is Role.OFFICER

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
