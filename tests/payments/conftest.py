"""Fixtures for the payments area."""

from __future__ import annotations

import pytest

from ktt_market.payments.vietqr import build_payload


@pytest.fixture
def transfer_payload() -> str:
    """A VietQR string for 150.000 ₫ to an ACB account, with a cooperative's name and city."""
    return build_payload(
        bin="970416",
        account="257678859",
        amount=150_000,
        reference="KTT7QX4M2",
        merchant_name="Hợp tác xã Bưởi Đoan Hùng",
        city="Phú Thọ",
    )
