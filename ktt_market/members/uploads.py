"""Import files kept on the server between the preview and the confirmation.

Each upload is a file named by a random token, with a small JSON note binding it to one unit and
one user, so a token alone lets nobody else apply (or even see) someone's file.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _folder(base: str | Path) -> Path:
    folder = Path(base) / "member-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _purge_stale(folder: Path) -> None:
    # Abandoned previews must not pile up: anything older than a day goes.
    limit = time.time() - MAX_AGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            pass


def save_upload(base: str | Path, *, unit_id: int, user_id: int, data: bytes) -> str:
    """Keep `data` for `unit_id` and `user_id`; return its token."""
    folder = _folder(base)
    _purge_stale(folder)
    token = secrets.token_urlsafe(24)
    (folder / token).write_bytes(data)
    (folder / f"{token}.json").write_text(json.dumps({"unit_id": unit_id, "user_id": user_id, "at": time.time()}))
    return token


def load_upload(base: str | Path, token: str, *, unit_id: int, user_id: int) -> bytes | None:
    """The bytes behind `token` if it belongs to this unit and user and is fresh; else None."""
    if not _TOKEN.match(token):
        return None
    folder = _folder(base)
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / token).read_bytes()
    except (FileNotFoundError, ValueError):
        return None
    if meta.get("unit_id") != unit_id or meta.get("user_id") != user_id:
        return None
    if time.time() - float(meta.get("at", 0)) > MAX_AGE_SECONDS:
        return None
    return data


def discard_upload(base: str | Path, token: str) -> None:
    """Forget the upload behind `token` (after it was applied or cancelled)."""
    if not _TOKEN.match(token):
        return
    folder = _folder(base)
    for path in (folder / token, folder / f"{token}.json"):
        path.unlink(missing_ok=True)
