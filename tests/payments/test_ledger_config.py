"""PLATFORM_FEE_BPS: read from the environment, 0..10000 basis points, anything else stops the start."""

from __future__ import annotations

import pytest

from ktt_market.config import load_config

pytestmark = pytest.mark.core


@pytest.mark.parametrize(("raw", "bps"), [(None, 300), ("", 300), ("0", 0), ("250", 250), (" 10000 ", 10_000)])
def test_fee_from_the_environment(monkeypatch, tmp_path, raw, bps):
    if raw is None:
        monkeypatch.delenv("PLATFORM_FEE_BPS", raising=False)
    else:
        monkeypatch.setenv("PLATFORM_FEE_BPS", raw)
    assert load_config(tmp_path)["PLATFORM_FEE_BPS"] == bps


@pytest.mark.parametrize("raw", ["-1", "10001", "3%", "2.5", "abc", "٣٠٠"])
def test_a_bad_fee_refuses_to_start(monkeypatch, tmp_path, raw):
    monkeypatch.setenv("PLATFORM_FEE_BPS", raw)
    with pytest.raises(RuntimeError, match="PLATFORM_FEE_BPS must be a whole number of basis points from 0 to 10000"):
        load_config(tmp_path)


def test_sales_are_charged_the_configured_fee(app, monkeypatch, ledger_coop, ledger_sale):
    from ktt_market.payments import ledger

    monkeypatch.setitem(app.config, "PLATFORM_FEE_BPS", 250)
    ledger_sale(ledger_coop, 80_001)
    with app.app_context():
        assert ledger.balance(ledger_coop.id) == 80_001 - 2_000
