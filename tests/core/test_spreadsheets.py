"""Reading the spreadsheets people keep: CSV (with BOM, commas or semicolons) and XLSX."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile

import pytest
from openpyxl import Workbook

from ktt_market.core.spreadsheets import SpreadsheetError, read_sheet, write_xlsx

pytestmark = pytest.mark.core


def _zip_of_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    return out.getvalue()


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_csv_with_bom_and_commas():
    data = "\ufeffMã số,Tên,Thành viên\nHTX-001,HTX Bưởi Da Xanh,25\n".encode()

    sheet = read_sheet(data)

    assert sheet.columns == ["mã số", "tên", "thành viên"]
    assert sheet.rows == [(2, {"mã số": "HTX-001", "tên": "HTX Bưởi Da Xanh", "thành viên": "25"})]


def test_csv_with_semicolons_as_excel_writes_it_in_vietnamese():
    data = "code;name;charter_capital_vnd\r\nHTX-002;HTX Dừa Sáp Cầu Kè;1.500.000\r\n".encode("utf-8-sig")

    sheet = read_sheet(data)

    assert sheet.columns == ["code", "name", "charter_capital_vnd"]
    assert sheet.rows[0][1]["charter_capital_vnd"] == "1.500.000"
    assert sheet.rows[0][1]["name"] == "HTX Dừa Sáp Cầu Kè"


def test_semicolons_win_over_commas_inside_addresses():
    data = "code;name;address\nA;HTX Bưởi;Ấp 1, Xã Cầu Kè\nB;HTX Dừa;Ấp 2, Xã Tân Phú\n".encode()

    sheet = read_sheet(data)

    assert sheet.columns == ["code", "name", "address"]
    assert sheet.rows[1] == (3, {"code": "B", "name": "HTX Dừa", "address": "Ấp 2, Xã Tân Phú"})


def test_quoted_commas_and_a_single_column():
    assert read_sheet('code,address\nA,"Ấp 1, Xã Cầu Kè"\n'.encode()).rows == [
        (2, {"code": "A", "address": "Ấp 1, Xã Cầu Kè"})
    ]
    assert read_sheet(b"code\nA\nB\n").rows == [(2, {"code": "A"}), (3, {"code": "B"})]


def test_csv_text_is_nfc_and_blank_lines_are_skipped_with_numbers_kept():
    name = unicodedata.normalize("NFD", "Tổ hợp tác Mật ong")
    data = f"code,name\nA,{name}\n,\nB,Chiếu Định Yên\n".encode()

    sheet = read_sheet(data)

    assert [number for number, _ in sheet.rows] == [2, 4]
    assert sheet.rows[0][1]["name"] == "Tổ hợp tác Mật ong"


def test_short_rows_are_padded():
    sheet = read_sheet(b"a,b,c\n1\n")

    assert sheet.rows == [(2, {"a": "1", "b": "", "c": ""})]


def test_xlsx_with_numbers_and_dates():
    data = _xlsx(
        [
            ["Code", "Name", "Founded", "Members", None],
            ["THT-01", "Tổ hợp tác Đan lát", dt.datetime(2015, 3, 20), 12, None],
            [None, None, None, None, None],
            ["HTX-09", "HTX Thủy sản", dt.date(2025, 8, 1), 7.0, None],
        ]
    )

    sheet = read_sheet(data)

    assert sheet.columns == ["code", "name", "founded", "members"]
    assert sheet.rows == [
        (2, {"code": "THT-01", "name": "Tổ hợp tác Đan lát", "founded": "2015-03-20", "members": "12"}),
        (4, {"code": "HTX-09", "name": "HTX Thủy sản", "founded": "2025-08-01", "members": "7"}),
    ]


def test_write_xlsx_reads_back():
    data = write_xlsx({"Thành viên": (["code", "name"], [["TV-1", "Nguyễn Văn An"]])})

    assert read_sheet(data).rows == [(2, {"code": "TV-1", "name": "Nguyễn Văn An"})]


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",  # an image
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",  # an old .xls (binary)
        b"PK\x03\x04not really a zip file",  # a broken XLSX
        _zip_of_text(),  # a ZIP, but no workbook inside
        "Mã,Tên\n1,Bưởi\n".encode("utf-16"),  # not UTF-8
        b"ma,ten\n1,B\xfa\xf4i\n",  # Latin-1 bytes, not UTF-8
        b"code\x00name\n1\x002\n",  # NUL bytes: binary, even though it decodes
        b"",
        b"\n\n",
    ],
)
def test_files_that_are_not_spreadsheets_are_refused(data):
    with pytest.raises(SpreadsheetError):
        read_sheet(data)
