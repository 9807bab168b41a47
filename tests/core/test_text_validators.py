"""Vietnamese text normalisation and the field checks shared by forms and imports."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from ktt_market.core.text import fold, nfc
from ktt_market.core.validators import normalize_vn_phone, parse_iso_date, parse_whole_number

pytestmark = pytest.mark.core


def test_nfc_composes_and_collapses_blanks():
    decomposed = unicodedata.normalize("NFD", "  Hợp tác xã\t Bưởi   Da Xanh \n")

    result = nfc(decomposed)

    assert result == "Hợp tác xã Bưởi Da Xanh"
    assert unicodedata.is_normalized("NFC", result)


def test_nfc_keeps_none():
    assert nfc(None) is None
    assert nfc("   ") == ""


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Bưởi Đà", "buoi da"),
        ("Dừa sáp Cầu Kè", "dua sap cau ke"),
        ("ĐỒNG KHỞI", "dong khoi"),
        (unicodedata.normalize("NFD", "Mật ong  Hương Mỹ"), "mat ong huong my"),
    ],
)
def test_fold_removes_diacritics_and_case(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("0912345678", "0912345678"),
        ("091 234 5678", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("(0294) 385 5246", "02943855246"),  # a landline of Trà Vinh
        ("0389-123-456", "0389123456"),
    ],
)
def test_vietnamese_phones_are_normalised(raw, phone):
    assert normalize_vn_phone(raw) == phone


@pytest.mark.parametrize("raw", ["", None, "12345", "0123456789", "091234567", "09123456789", "+1 212 555 0100", "abc"])
def test_other_phones_are_refused(raw):
    assert normalize_vn_phone(raw) is None


def test_parse_iso_date():
    assert parse_iso_date("2025-07-01") == dt.date(2025, 7, 1)
    assert parse_iso_date(" 2010-01-31 ") == dt.date(2010, 1, 31)
    assert parse_iso_date("") is None
    assert parse_iso_date(None) is None


@pytest.mark.parametrize("raw", ["01/07/2025", "2025-7-1", "2025-02-30", "20250701", "hôm nay"])
def test_parse_iso_date_refuses_other_forms(raw):
    with pytest.raises(ValueError):
        parse_iso_date(raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("150000", 150000),
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        (" 2 000 ", 2000),
        ("0", 0),
        ("-5", -5),  # kept, so the caller can say "cannot be negative"
        ("", None),
        (None, None),
    ],
)
def test_parse_whole_number(raw, value):
    assert parse_whole_number(raw) == value


@pytest.mark.parametrize("raw", ["1.5", "12,5", "1.50.000", "mười", "1e6", "1.500,50"])
def test_parse_whole_number_refuses_fractions_and_words(raw):
    with pytest.raises(ValueError):
        parse_whole_number(raw)
