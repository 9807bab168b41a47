"""The official administrative units in force since 1 July 2025, from `vietnam-provinces`.

Codes are never typed by hand: every province and ward code in the database is checked here.
"""

from __future__ import annotations

from functools import cache

from vietnam_provinces import Province, Ward


@cache
def provinces() -> dict[int, str]:
    """Map province code to name, sorted by name."""
    items = sorted(Province.iter_all(), key=lambda p: p.name)
    return {int(p.code): p.name for p in items}


@cache
def _wards() -> dict[int, Ward]:
    return {int(w.code): w for w in Ward.iter_all()}


@cache
def wards_of(province_code: int) -> dict[int, str]:
    """Map ward code to name for one province, sorted by name."""
    items = sorted((w for w in _wards().values() if int(w.province_code) == province_code), key=lambda w: w.name)
    return {int(w.code): w.name for w in items}


def province_name(code: int | None) -> str:
    return provinces().get(code, "") if code is not None else ""


def ward_name(code: int | None) -> str:
    ward = _wards().get(code) if code is not None else None
    return ward.name if ward else ""


def ward_province(code: int) -> int | None:
    """Return the province code of a ward, or None when the ward code does not exist."""
    ward = _wards().get(code)
    return int(ward.province_code) if ward else None


def is_ward(code: int) -> bool:
    return code in _wards()


def is_province(code: int) -> bool:
    return code in provinces()
