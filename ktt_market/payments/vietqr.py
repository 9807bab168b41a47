"""VietQR (NAPAS 247) bank-transfer payload: build, parse and draw it as a QR code.

The payload is an EMVCo merchant-presented QR string: a run of ID(2) + LEN(2) + VALUE fields,
with the NAPAS merchant account template in field 38 and a CRC-16/CCITT-FALSE in field 63.
Error messages are plain English; callers translate them before showing them to a person.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

GUID = "A000000727"
SERVICE_TRANSFER_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
MAX_REFERENCE_LENGTH = 25
# EMVCo caps these two; longer names are shortened rather than refused, because a cooperative's
# legal name often runs past 25 letters and the payer's bank app shows the account holder anyway.
MAX_NAME_LENGTH = 25
MAX_CITY_LENGTH = 15

_ID_FORMAT = "00"
_ID_INITIATION = "01"
_ID_MERCHANT_ACCOUNT = "38"
_ID_CURRENCY = "53"
_ID_AMOUNT = "54"
_ID_COUNTRY = "58"
_ID_NAME = "59"
_ID_CITY = "60"
_ID_ADDITIONAL = "62"
_ID_CRC = "63"
_NESTED = {_ID_MERCHANT_ACCOUNT, _ID_ADDITIONAL}
_SUB_PURPOSE = "08"
_INITIATION_STATIC = "11"
_INITIATION_DYNAMIC = "12"

_BIN = re.compile(r"[0-9]{6}")
_ACCOUNT = re.compile(r"[A-Za-z0-9]{1,19}")
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,25}")
_PREFIX = re.compile(r"[A-Z]{1,10}")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"[0-9]+")
_MAX_AMOUNT = 10**13 - 1


@dataclass(frozen=True)
class Bank:
    """A bank that takes NAPAS 247 transfers, keyed by its 6-digit acquirer BIN."""

    bin: str
    short_name: str
    name: str


# The ten banks most buyers use, BINs as NAPAS publishes them (checked against several
# public NAPAS/VietQR bank lists; one widely copied list swaps Vietcombank and VietinBank).
BANKS: tuple[Bank, ...] = (
    Bank("970436", "Vietcombank", "Ngân hàng TMCP Ngoại thương Việt Nam"),
    Bank("970415", "VietinBank", "Ngân hàng TMCP Công thương Việt Nam"),
    Bank("970418", "BIDV", "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam"),
    Bank("970405", "Agribank", "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam"),
    Bank("970407", "Techcombank", "Ngân hàng TMCP Kỹ thương Việt Nam"),
    Bank("970422", "MB", "Ngân hàng TMCP Quân đội"),
    Bank("970416", "ACB", "Ngân hàng TMCP Á Châu"),
    Bank("970432", "VPBank", "Ngân hàng TMCP Việt Nam Thịnh Vượng"),
    Bank("970403", "Sacombank", "Ngân hàng TMCP Sài Gòn Thương Tín"),
    Bank("970423", "TPBank", "Ngân hàng TMCP Tiên Phong"),
)
BANKS_BY_BIN: dict[str, Bank] = {bank.bin: bank for bank in BANKS}


def bank_choices() -> list[tuple[str, str]]:
    """Return (BIN, "Short – full name") pairs for a bank select list."""
    return [(bank.bin, f"{bank.short_name} – {bank.name}") for bank in BANKS]


def crc16_ccitt(data: bytes) -> int:
    """Return the CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of `data`."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def build_payload(
    *,
    bin: str,
    account: str,
    amount: int,
    reference: str,
    merchant_name: str | None = None,
    city: str | None = None,
) -> str:
    """Return the VietQR string for a transfer of `amount` đồng to `account` at bank `bin`."""
    bank_bin = (bin or "").strip()
    account = (account or "").strip()
    reference = (reference or "").strip()
    if not _BIN.fullmatch(bank_bin):
        raise ValueError("Bank BIN must be exactly 6 digits.")
    if not _ACCOUNT.fullmatch(account):
        raise ValueError("Account number must be 1 to 19 letters or digits, without spaces or separators.")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError("Amount must be a whole number of đồng.")
    if amount <= 0:
        raise ValueError("Amount must be greater than zero.")
    if amount > _MAX_AMOUNT:
        raise ValueError("Amount must have at most 13 digits.")
    if not reference:
        raise ValueError("Transfer reference is required.")
    if not _REFERENCE.fullmatch(reference):
        raise ValueError(
            f"Transfer reference must be at most {MAX_REFERENCE_LENGTH} letters or digits (A–Z, 0–9), "
            "without spaces or accents."
        )

    beneficiary = _tlv("00", bank_bin) + _tlv("01", account)
    merchant_account = _tlv("00", GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE_TRANSFER_TO_ACCOUNT)
    parts = [
        _tlv(_ID_FORMAT, "01"),
        # Dynamic: the code carries an amount and is meant for this one transfer.
        _tlv(_ID_INITIATION, _INITIATION_DYNAMIC),
        _tlv(_ID_MERCHANT_ACCOUNT, merchant_account),
        _tlv(_ID_CURRENCY, CURRENCY_VND),
        _tlv(_ID_AMOUNT, str(amount)),
        _tlv(_ID_COUNTRY, COUNTRY_VN),
    ]
    if merchant_name is not None:
        parts.append(_tlv(_ID_NAME, _ascii_upper(merchant_name, MAX_NAME_LENGTH, "Merchant name")))
    if city is not None:
        parts.append(_tlv(_ID_CITY, _ascii_upper(city, MAX_CITY_LENGTH, "City")))
    parts.append(_tlv(_ID_ADDITIONAL, _tlv(_SUB_PURPOSE, reference)))
    body = "".join(parts) + _ID_CRC + "04"
    return body + f"{crc16_ccitt(body.encode('ascii')):04X}"


def parse_payload(s: str) -> dict[str, Any]:
    """Split a VietQR/EMVCo string into its fields after checking its CRC.

    Returns friendly keys (`bin`, `account`, `amount`, `reference`, ...; None when absent) and
    `fields`, the raw ID -> value map with fields 38 (and its 01) and 62 split into sub-fields.
    """
    if not isinstance(s, str) or len(s) < 8 or s[-8:-4] != _ID_CRC + "04":
        raise ValueError("Not a VietQR code: it must end with a CRC field (6304 and 4 hex digits).")
    expected = crc16_ccitt(s[:-4].encode("utf-8"))
    if not re.fullmatch(r"[0-9A-Fa-f]{4}", s[-4:]) or int(s[-4:], 16) != expected:
        raise ValueError("The QR code's checksum (CRC) does not match: the code is damaged or was altered.")

    fields: dict[str, Any] = _split(s, where="payload")
    if list(fields)[-1] != _ID_CRC:
        raise ValueError("Malformed payload: the CRC field must come last.")
    for field_id in _NESTED & fields.keys():
        fields[field_id] = _split(fields[field_id], where=f"field {field_id}")
    merchant = fields.get(_ID_MERCHANT_ACCOUNT, {})
    if "01" in merchant:
        merchant["01"] = _split(merchant["01"], where="field 38.01")
    beneficiary = merchant.get("01", {})
    additional = fields.get(_ID_ADDITIONAL, {})
    amount = fields.get(_ID_AMOUNT)
    return {
        "payload_format": fields.get(_ID_FORMAT),
        "initiation": fields.get(_ID_INITIATION),
        "dynamic": fields.get(_ID_INITIATION) == _INITIATION_DYNAMIC,
        "guid": merchant.get("00"),
        "bin": beneficiary.get("00"),
        "account": beneficiary.get("01"),
        "bank": BANKS_BY_BIN.get(beneficiary.get("00", "")),
        "service": merchant.get("02"),
        "currency": fields.get(_ID_CURRENCY),
        "amount": int(amount) if amount is not None and _DIGITS.fullmatch(amount) else None,
        "country": fields.get(_ID_COUNTRY),
        "merchant_name": fields.get(_ID_NAME),
        "city": fields.get(_ID_CITY),
        "reference": additional.get(_SUB_PURPOSE),
        "crc": s[-4:].upper(),
        "fields": fields,
    }


def make_reference(prefix: str, number: int | str) -> str:
    """Return the bank-safe transfer reference for an order: prefix + order number, A–Z and 0–9 only.

    "KTT" with "KTT-7QX4M2" gives "KTT7QX4M2": the prefix is not repeated when the number already
    starts with it, so order numbers of one scheme still map one-to-one onto references.
    """
    prefix = _fold_upper(prefix or "")
    if not _PREFIX.fullmatch(prefix):
        # Letters only: a trailing digit would let "KTT1" + "23" collide with "KTT" + "123".
        raise ValueError("Reference prefix must be 1 to 10 letters (A–Z).")
    if isinstance(number, bool) or (isinstance(number, int) and number < 0):
        raise ValueError("Order number must be a non-negative whole number or a code.")
    cleaned = _NOT_ALNUM.sub("", _fold_upper(str(number)))
    if not cleaned:
        raise ValueError("Order number must contain letters or digits.")
    reference = cleaned if cleaned.startswith(prefix) else prefix + cleaned
    if len(reference) > MAX_REFERENCE_LENGTH:
        # Cutting it short could make two orders share a reference, so refuse instead.
        raise ValueError(f"Transfer reference would be longer than {MAX_REFERENCE_LENGTH} characters.")
    return reference


def qr_svg(payload: str, *, scale: int = 6, title: str = "VietQR") -> str:
    """Return an inline SVG of `payload` (error correction M, white quiet zone, no scripts or styles).

    The SVG carries both a viewBox and a pixel size, so CSS such as `max-width: 100%; height: auto`
    can shrink it on a narrow phone while it stays about 300 px wide elsewhere.
    """
    qr = _qr(payload)
    size = qr.symbol_size(scale=scale)[0]
    buffer = io.BytesIO()
    qr.save(
        buffer,
        kind="svg",
        xmldecl=False,
        nl=False,
        omitsize=True,
        light="#fff",
        dark="#000",
        title=title,
        svgclass="vietqr",
    )
    svg = buffer.getvalue().decode("utf-8")
    return svg.replace("<svg ", f'<svg role="img" width="{size}" height="{size}" ', 1)


def qr_png(payload: str, *, scale: int = 6) -> bytes:
    """Return a PNG of `payload` (error correction M), e.g. for an e-mail attachment or a data: URI."""
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="png", scale=scale, light="#fff", dark="#000")
    return buffer.getvalue()


def _qr(payload: str):
    # A full QR code (never Micro QR, which bank apps do not read) at exactly level M. segno is imported on the
    # first QR drawn: pages without one never load it.
    import segno

    return segno.make_qr(payload, error="m", boost_error=False)


def _tlv(field_id: str, value: str) -> str:
    if not 1 <= len(value) <= 99:
        raise ValueError(f"Field {field_id} must be 1 to 99 characters long, not {len(value)}.")
    return f"{field_id}{len(value):02d}{value}"


def _split(data: str, *, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        head = data[pos : pos + 4]
        if len(head) < 4 or not _DIGITS.fullmatch(head):
            raise ValueError(f"Malformed {where}: expected a 2-digit ID and 2-digit length at position {pos}.")
        field_id, length = head[:2], int(head[2:])
        value = data[pos + 4 : pos + 4 + length]
        if length == 0 or len(value) != length:
            raise ValueError(f"Malformed {where}: field {field_id} at position {pos} has a bad length.")
        if field_id in fields:
            raise ValueError(f"Malformed {where}: field {field_id} appears twice.")
        fields[field_id] = value
        pos += 4 + length
    return fields


def _fold_upper(value: str) -> str:
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").upper()


def _ascii_upper(value: str, limit: int, label: str) -> str:
    # Bank apps expect plain ASCII here: drop accents, then anything still outside printable ASCII.
    text = "".join(ch for ch in _fold_upper(value) if " " <= ch <= "~")
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        cut = text[: limit + 1].rfind(" ")
        # Prefer ending on a whole word unless that would throw away most of the room.
        text = text[:cut] if cut > limit // 2 else text[:limit].rstrip()
    if not any(ch.isalnum() for ch in text):
        raise ValueError(f"{label} must contain letters or digits.")
    return text
