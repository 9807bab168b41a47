"""Files kept on the server between an import's preview and its confirmation.

Each upload is stored under a random token with a small JSON note that binds it to its owner (a user,
and a unit where there is one), so a token alone lets nobody else see or apply someone's file.
Abandoned uploads are removed after a day.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from flask import current_app

MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class PendingUploads:
    """The pending uploads of one area, in `<UPLOAD_FOLDER>/<area>/`."""

    def __init__(self, area: str, base: str | Path | None = None):
        self.area = area
        self._base = base

    @property
    def folder(self) -> Path:
        base = self._base if self._base is not None else current_app.config["UPLOAD_FOLDER"]
        folder = Path(base) / self.area
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save(self, data: bytes, *, filename: str = "", **owner: int) -> str:
        """Keep `data` for `owner`; return its token."""
        folder = self.folder
        self._purge_stale(folder)
        token = secrets.token_hex(16)
        (folder / f"{token}.bin").write_bytes(data)
        note = {"owner": owner, "filename": filename[:120], "at": time.time()}
        (folder / f"{token}.json").write_text(json.dumps(note))
        return token

    def load(self, token: str, **owner: int) -> tuple[bytes, str] | None:
        """The bytes and file name behind `token` if it is fresh and belongs to `owner`; else None."""
        if not _TOKEN.match(token):
            return None
        folder = self.folder
        try:
            note = json.loads((folder / f"{token}.json").read_text())
            data = (folder / f"{token}.bin").read_bytes()
        except (FileNotFoundError, ValueError):
            return None
        if note.get("owner") != owner or time.time() - float(note.get("at", 0)) > MAX_AGE_SECONDS:
            return None
        return data, note.get("filename", "")

    def discard(self, token: str) -> None:
        """Forget the upload behind `token` (once applied or cancelled)."""
        if _TOKEN.match(token):
            for suffix in (".bin", ".json"):
                (self.folder / f"{token}{suffix}").unlink(missing_ok=True)

    @staticmethod
    def _purge_stale(folder: Path) -> None:
        limit = time.time() - MAX_AGE_SECONDS
        for path in folder.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except FileNotFoundError:
                pass
