"""The VietQR (NAPAS 247) payload: building, parsing, CRC, references and the QR image."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ktt_market.payments.vietqr import (
    BANKS,
    BANKS_BY_BIN,
    bank_choices,
    build_payload,
    crc16_ccitt,
    make_reference,
    parse_payload,
    qr_png,
    qr_svg,
)

pytestmark = pytest.mark.core

# Strings published by other VietQR implementations (READMEs of napas-qr, subiz/vietqr,
# vietnam-qr-pay, vietqr_generator and vietqr-parser); their CRCs were made by other code than ours.
PUBLISHED = {
    "napas-qr": (
        "00020101021238530010A0000007270123000697041601092245284790208QRIBFTTA53037045405100005802VN"
        "62340107NPS68690819TRANSFER TO SOMEONE6304AC13"
    ),
    "subiz": (
        "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
        "62170813ung ho lu lut6304C15C"
    ),
    "vietnam-qr-pay": (
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA53037045405100005802VN"
        "62150811Chuyen tien630453E6"
    ),
    "vietqr_generator": (
        "00020101021138540010A00000072701240006970407011003865776720208QRIBFTTA5303704540710000005802VN"
        "62160812henry an cut6304A322"
    ),
    "vietqr-parser-static": (
        "00020001021238570010A00000072701270006970436011308810004580860208QRIBFTTA53037045802VN6304CD60"
    ),
}


def _valid(**overrides):
    kwargs = {"bin": "970436", "account": "0011001932418", "amount": 150_000, "reference": "KTT123"}
    kwargs.update(overrides)
    return build_payload(**kwargs)


# --- CRC ---------------------------------------------------------------------------------------


def test_crc_matches_the_ccitt_false_check_value():
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_crc_of_empty_input_is_the_initial_value():
    assert crc16_ccitt(b"") == 0xFFFF


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_samples_pass_the_crc_check(name):
    payload = PUBLISHED[name]

    assert f"{crc16_ccitt(payload[:-4].encode()):04X}" == payload[-4:]
    assert parse_payload(payload)["service"] == "QRIBFTTA"


def test_published_sample_reads_back_field_by_field():
    parsed = parse_payload(PUBLISHED["napas-qr"])

    assert parsed["bin"] == "970416"
    assert parsed["bank"].short_name == "ACB"
    assert parsed["account"] == "224528479"
    assert parsed["amount"] == 10_000
    assert parsed["reference"] == "TRANSFER TO SOMEONE"
    assert parsed["fields"]["62"] == {"01": "NPS6869", "08": "TRANSFER TO SOMEONE"}


def test_sample_without_amount_reads_back_as_no_amount():
    parsed = parse_payload(PUBLISHED["vietqr-parser-static"])

    assert parsed["amount"] is None
    assert parsed["reference"] is None
    assert parsed["bank"].short_name == "Vietcombank"
    assert parsed["account"] == "0881000458086"


# --- Building ----------------------------------------------------------------------------------


def test_built_payload_reads_back_field_by_field(transfer_payload):
    parsed = parse_payload(transfer_payload)

    assert parsed["fields"] == {
        "00": "01",
        "01": "12",
        "38": {"00": "A000000727", "01": {"00": "970416", "01": "257678859"}, "02": "QRIBFTTA"},
        "53": "704",
        "54": "150000",
        "58": "VN",
        "59": "HOP TAC XA BUOI DOAN HUNG",
        "60": "PHU THO",
        "62": {"08": "KTT7QX4M2"},
        "63": transfer_payload[-4:],
    }
    assert parsed["amount"] == 150_000
    assert parsed["reference"] == "KTT7QX4M2"
    assert parsed["dynamic"] is True


def test_built_payload_is_laid_out_as_id_length_value(transfer_payload):
    assert transfer_payload.startswith("000201010212")
    assert "38530010A0000007270123000697041601092576788590208QRIBFTTA" in transfer_payload
    assert "5303704" + "5406150000" + "5802VN" in transfer_payload
    assert "62130809KTT7QX4M2" in transfer_payload
    assert transfer_payload[-8:-4] == "6304"
    assert transfer_payload[-4:] == f"{crc16_ccitt(transfer_payload[:-4].encode()):04X}"
    assert transfer_payload.isascii()


def test_built_payload_matches_a_published_one_up_to_the_reference():
    # Same bank, account and amount as the vietnam-qr-pay sample; only the reference differs.
    payload = build_payload(bin="970416", account="257678859", amount=10_000, reference="ChuyenTien")
    published = PUBLISHED["vietnam-qr-pay"]

    assert payload.split("5802VN")[0] == published.split("5802VN")[0]


def test_name_and_city_are_left_out_unless_given():
    parsed = parse_payload(_valid())

    assert "59" not in parsed["fields"]
    assert "60" not in parsed["fields"]
    assert parsed["merchant_name"] is None


def test_name_loses_diacritics_and_goes_upper_case():
    payload = _valid(merchant_name="  Hợp tác xã  Đồng Tâm – Bưởi  ", city="Đà Lạt")

    parsed = parse_payload(payload)

    assert parsed["merchant_name"] == "HOP TAC XA DONG TAM BUOI"
    assert parsed["city"] == "DA LAT"


def test_decomposed_input_is_folded_the_same_way():
    import unicodedata

    payload = _valid(merchant_name=unicodedata.normalize("NFD", "Hợp tác xã Ủng"))

    assert parse_payload(payload)["merchant_name"] == "HOP TAC XA UNG"


def test_long_name_and_city_are_shortened_on_a_word_boundary():
    payload = _valid(
        merchant_name="Hợp tác xã Nông nghiệp Dịch vụ Tổng hợp Đoan Hùng",
        city="Thành phố Hồ Chí Minh",
    )

    parsed = parse_payload(payload)

    assert parsed["merchant_name"] == "HOP TAC XA NONG NGHIEP"
    assert parsed["city"] == "THANH PHO HO"


def test_surrounding_blanks_in_bank_details_are_ignored():
    assert _valid(bin=" 970436 ", account=" 0011001932418 ", reference=" KTT123 ") == _valid()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bin": "97043"}, "BIN must be exactly 6 digits"),
        ({"bin": "97043A"}, "BIN must be exactly 6 digits"),
        ({"bin": ""}, "BIN must be exactly 6 digits"),
        ({"account": ""}, "Account number must be 1 to 19"),
        ({"account": "0011-0019"}, "Account number must be 1 to 19"),
        ({"account": "1" * 20}, "Account number must be 1 to 19"),
        ({"account": "Tài1"}, "Account number must be 1 to 19"),
        ({"amount": 0}, "greater than zero"),
        ({"amount": -5}, "greater than zero"),
        ({"amount": 10**13}, "at most 13 digits"),
        ({"amount": 1500.0}, "whole number of đồng"),
        ({"amount": "150000"}, "whole number of đồng"),
        ({"amount": True}, "whole number of đồng"),
        ({"reference": ""}, "reference is required"),
        ({"reference": "KTT 123"}, "at most 25 letters or digits"),
        ({"reference": "KTT-123"}, "at most 25 letters or digits"),
        ({"reference": "Đơn123"}, "at most 25 letters or digits"),
        ({"reference": "K" * 26}, "at most 25 letters or digits"),
        ({"merchant_name": "  "}, "Merchant name must contain"),
        ({"merchant_name": "合作社"}, "Merchant name must contain"),
        ({"merchant_name": "– & –"}, "Merchant name must contain"),
        ({"city": ""}, "City must contain"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(overrides, message):
    with pytest.raises(ValueError, match=message):
        _valid(**overrides)


def test_largest_amounts_and_longest_fields_still_fit():
    payload = _valid(amount=10**13 - 1, account="A" * 19, reference="Z" * 25)

    parsed = parse_payload(payload)

    assert parsed["amount"] == 9_999_999_999_999
    assert parsed["account"] == "A" * 19
    assert parsed["reference"] == "Z" * 25


# --- Parsing -----------------------------------------------------------------------------------


def test_tampered_amount_is_rejected(transfer_payload):
    tampered = transfer_payload.replace("5406150000", "5406950000")

    with pytest.raises(ValueError, match="checksum"):
        parse_payload(tampered)


def test_tampered_account_is_rejected(transfer_payload):
    with pytest.raises(ValueError, match="checksum"):
        parse_payload(transfer_payload.replace("257678859", "257678850"))


def test_wrong_crc_is_rejected(transfer_payload):
    bad = transfer_payload[:-4] + ("0000" if transfer_payload[-4:] != "0000" else "FFFF")

    with pytest.raises(ValueError, match="checksum"):
        parse_payload(bad)


def test_lower_case_crc_is_accepted(transfer_payload):
    lowered = transfer_payload[:-4] + transfer_payload[-4:].lower()

    assert parse_payload(lowered)["reference"] == "KTT7QX4M2"


@pytest.mark.parametrize("text", ["", "hello", "000201", "0002016304"])
def test_text_without_a_crc_field_is_rejected(text):
    with pytest.raises(ValueError, match="Not a VietQR code"):
        parse_payload(text)


def _with_crc(body: str) -> str:
    body += "6304"
    return body + f"{crc16_ccitt(body.encode()):04X}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("000201" + "5499" + "123", "bad length"),
        ("0002010002" + "01", "appears twice"),
        ("00020138" + "05" + "0010A", "field 38"),
        ("0002016200", "bad length"),
        ("00x201", "2-digit ID"),
        ("000201" + "5408", "CRC field must come last"),  # field 54 swallows the CRC field
    ],
)
def test_malformed_structure_is_rejected_even_with_a_good_crc(body, message):
    with pytest.raises(ValueError, match=message):
        parse_payload(_with_crc(body))


# --- References --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "number", "expected"),
    [
        ("KTT", 123, "KTT123"),
        ("KTT", "KTT-7QX4M2", "KTT7QX4M2"),
        ("KTT", "DH-2026/000123", "KTTDH2026000123"),
        ("ktt", "ab-12", "KTTAB12"),
        ("KTT", "Đơn 5", "KTTDON5"),
        ("HTX", 0, "HTX0"),
    ],
)
def test_reference_is_prefix_and_number_without_separators(prefix, number, expected):
    reference = make_reference(prefix, number)

    assert reference == expected
    assert parse_payload(_valid(reference=reference))["reference"] == expected


def test_references_of_different_orders_differ():
    references = {make_reference("KTT", n) for n in range(1, 1001)}

    assert len(references) == 1000


@pytest.mark.parametrize(
    ("prefix", "number", "message"),
    [
        ("", 1, "prefix must be 1 to 10 letters"),
        ("KTT1", 1, "prefix must be 1 to 10 letters"),
        ("K-T", 1, "prefix must be 1 to 10 letters"),
        ("KTT", -1, "non-negative"),
        ("KTT", True, "non-negative"),
        ("KTT", "--", "must contain letters or digits"),
        ("KTT", "9" * 23, "longer than 25"),
    ],
)
def test_bad_reference_parts_are_refused(prefix, number, message):
    with pytest.raises(ValueError, match=message):
        make_reference(prefix, number)


def test_longest_reference_that_fits():
    assert make_reference("KTT", "9" * 22) == "KTT" + "9" * 22


# --- Banks -------------------------------------------------------------------------------------


def test_bank_table_has_the_common_banks_with_their_napas_bins():
    assert {bank.short_name: bank.bin for bank in BANKS} == {
        "Vietcombank": "970436",
        "VietinBank": "970415",
        "BIDV": "970418",
        "Agribank": "970405",
        "Techcombank": "970407",
        "MB": "970422",
        "ACB": "970416",
        "VPBank": "970432",
        "Sacombank": "970403",
        "TPBank": "970423",
    }
    assert len(BANKS_BY_BIN) == len(BANKS)


def test_bank_choices_suit_a_select_list():
    choices = bank_choices()

    assert choices[0] == ("970436", "Vietcombank – Ngân hàng TMCP Ngoại thương Việt Nam")
    assert all(_valid(bin=value) for value, _label in choices)


# --- QR image ----------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _svg_root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own generated SVG, not untrusted input


def test_svg_is_well_formed_and_safe_to_inline(transfer_payload):
    svg = qr_svg(transfer_payload)

    root = _svg_root(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "VietQR"
    assert not svg.startswith("<?xml")
    assert "<script" not in svg
    assert "style" not in svg
    assert " on" not in svg  # no event-handler attributes


def test_svg_is_phone_sized_and_scales_down(transfer_payload):
    root = _svg_root(qr_svg(transfer_payload))

    width, height = int(root.get("width")), int(root.get("height"))
    _x, _y, box_w, box_h = (int(v) for v in root.get("viewBox").split())
    assert width == height
    assert 240 <= width <= 400
    assert box_w == box_h
    assert width == box_w * 6  # six pixels a module, quiet zone included


def test_svg_has_a_white_background_for_dark_mode(transfer_payload):
    root = _svg_root(qr_svg(transfer_payload))

    assert any(path.get("fill") == "#fff" for path in root.iter(f"{SVG}path"))


def test_svg_escapes_its_title(transfer_payload):
    svg = qr_svg(transfer_payload, title='Pay <HTX> & "co"')

    assert _svg_root(svg).find(f"{SVG}title").text == 'Pay <HTX> & "co"'


def test_svg_uses_error_correction_m_and_a_full_size_code():
    # 70 alphanumerics fit version 3 at level L, 4 at M and 5 at Q; each side adds a 4-module quiet zone.
    assert _svg_root(qr_svg("A" * 70, scale=1)).get("viewBox") == "0 0 41 41"
    # A short text would fit a Micro QR, which bank apps cannot read; it must still be a full version 1.
    assert _svg_root(qr_svg("A" * 5, scale=1)).get("viewBox") == "0 0 29 29"


def test_png_is_a_png(transfer_payload):
    png = qr_png(transfer_payload)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 100
