"""Vietnamese text: NFC normalisation and diacritic folding."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(value: str | None) -> str | None:
    """Return `value` NFC-normalised with surrounding and repeated blanks collapsed."""
    if value is None:
        return None
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def escape_like(value: str) -> str:
    """Return `value` with LIKE's wildcards and escape character taken literally (use with escape="\\")."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(value: str) -> str:
    """Return a LIKE pattern matching `value` anywhere, its wildcards taken literally."""
    return f"%{escape_like(value)}%"


def fold(value: str) -> str:
    """Return `value` lower-cased without diacritics ("Bưởi Đà" -> "buoi da")."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped.lower()).strip()
