"""Translated labels of the register's categories, roles and ledger kinds, and the words imports accept."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..core.text import fold
from .models import CapitalEntryKind, MemberCategory, MemberRole

CATEGORY_LABELS = {
    MemberCategory.OFFICIAL: _l("Official member"),
    MemberCategory.ASSOCIATE: _l("Associate member"),
}

ROLE_LABELS = {
    MemberRole.CHAIR: _l("Chair of the board"),
    MemberRole.DIRECTOR: _l("Director"),
    MemberRole.BOARD: _l("Board member"),
    MemberRole.SUPERVISORY: _l("Supervisor"),
    MemberRole.MEMBER: _l("Member"),
}

ENTRY_KIND_LABELS = {
    CapitalEntryKind.CONTRIBUTED: _l("Contribution"),
    CapitalEntryKind.RETURNED: _l("Return of capital"),
}

# The words people write in their own registers, folded (no diacritics, lower case). Their
# English forms and the current language's labels are accepted too (see `category_words`).
_CATEGORY_WORDS_VI = {
    "chinh thuc": MemberCategory.OFFICIAL,
    "thanh vien chinh thuc": MemberCategory.OFFICIAL,
    "tv chinh thuc": MemberCategory.OFFICIAL,
    "lien ket": MemberCategory.ASSOCIATE,
    "thanh vien lien ket": MemberCategory.ASSOCIATE,
    "tv lien ket": MemberCategory.ASSOCIATE,
    "lien ket gop von": MemberCategory.ASSOCIATE,
    "lien ket khong gop von": MemberCategory.ASSOCIATE,
    "thanh vien lien ket gop von": MemberCategory.ASSOCIATE,
    "thanh vien lien ket khong gop von": MemberCategory.ASSOCIATE,
}

_ROLE_WORDS_VI = {
    "chu tich": MemberRole.CHAIR,
    "chu tich hdqt": MemberRole.CHAIR,
    "chu tich hoi dong quan tri": MemberRole.CHAIR,
    "giam doc": MemberRole.DIRECTOR,
    "hdqt": MemberRole.BOARD,
    "thanh vien hdqt": MemberRole.BOARD,
    "hoi dong quan tri": MemberRole.BOARD,
    "thanh vien hoi dong quan tri": MemberRole.BOARD,
    "kiem soat": MemberRole.SUPERVISORY,
    "kiem soat vien": MemberRole.SUPERVISORY,
    "ban kiem soat": MemberRole.SUPERVISORY,
    "truong ban kiem soat": MemberRole.SUPERVISORY,
    "thanh vien ban kiem soat": MemberRole.SUPERVISORY,
    "thanh vien": MemberRole.MEMBER,
    "xa vien": MemberRole.MEMBER,
}


_ENGLISH_WORDS = {
    "official member": MemberCategory.OFFICIAL,
    "associate member": MemberCategory.ASSOCIATE,
    "chair of the board": MemberRole.CHAIR,
    "board member": MemberRole.BOARD,
    "supervisor": MemberRole.SUPERVISORY,
}


def _words(labels: dict, vietnamese: dict) -> dict:
    words = dict(vietnamese)
    for member, label in labels.items():
        words[member.value] = member
        words[fold(str(label))] = member  # the label in the current language, as the export writes it
    words.update({k: v for k, v in _ENGLISH_WORDS.items() if v in labels})
    return words


def category_words() -> dict[str, MemberCategory]:
    """Map every accepted (folded) spelling of a category to it."""
    return _words(CATEGORY_LABELS, _CATEGORY_WORDS_VI)


def role_words() -> dict[str, MemberRole]:
    """Map every accepted (folded) spelling of a role to it."""
    return _words(ROLE_LABELS, _ROLE_WORDS_VI)
