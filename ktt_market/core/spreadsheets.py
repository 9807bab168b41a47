"""Reading and writing the spreadsheets people keep: CSV (UTF-8) and XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .text import nfc


class SpreadsheetError(ValueError):
    """The file cannot be read as a spreadsheet at all (not a row-level problem)."""


@dataclass(frozen=True)
class Sheet:
    """The header and data rows of a file; each row keeps its number as people see it (header = 1)."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value)) or ""


def _from_rows(raw: Iterable[Iterable]) -> Sheet:
    it = iter(raw)
    try:
        header = next(it)
    except StopIteration:
        raise SpreadsheetError("empty") from None
    columns = [(_cell_text(c)).strip().lower() for c in header]
    while columns and not columns[-1]:
        columns.pop()
    if not any(columns):
        raise SpreadsheetError("empty")
    rows: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(it, start=2):
        texts = [_cell_text(v) for v in values]
        if not any(texts):
            continue  # blank lines are not rows
        texts += [""] * (len(columns) - len(texts))
        rows.append((number, dict(zip(columns, texts, strict=False))))
    return Sheet(columns=columns, rows=rows)


def read_sheet(data: bytes) -> Sheet:
    """Read CSV or XLSX from its bytes, told apart by content, not by file name."""
    if data[:4] == b"PK\x03\x04":
        # openpyxl is imported when a spreadsheet is read or written: most processes never need it.
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise SpreadsheetError("unreadable xlsx") from exc
        try:
            return _from_rows(wb.worksheets[0].iter_rows(values_only=True))
        finally:
            wb.close()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError("not utf-8") from exc
    if "\x00" in text:
        raise SpreadsheetError("binary")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return _from_rows(csv.reader(io.StringIO(text), dialect))


def write_xlsx(sheets: dict[str, tuple[list[str], Iterable[Iterable]]]) -> bytes:
    """Write named sheets (header, rows) to XLSX bytes."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for title, (header, rows) in sheets.items():
        ws = wb.create_sheet(title=title[:31])
        ws.append(header)
        for row in rows:
            ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def iter_csv(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """Yield CSV text line by line, for streaming downloads."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()
