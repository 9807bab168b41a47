"""Vietnamese first: every string a user can see has its Vietnamese translation."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parent.parent


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def test_every_string_is_translated_to_vietnamese(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            # Babel skips folders starting with "_" by default; templates/_macros and _layouts hold strings too.
            "--ignore-dirs",
            ".* node_modules",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    source = _read(pot)
    vi = _read(ROOT / "ktt_market/translations/vi/LC_MESSAGES/messages.po")
    missing = []
    for message in source:
        if not message.id:
            continue
        translated = vi.get(message.id, message.context)
        if (
            translated is None
            or translated.fuzzy
            or not (all(translated.string) if isinstance(translated.string, tuple) else translated.string)
        ):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    assert not missing, f"{len(missing)} strings lack a Vietnamese translation (run `make messages`): {missing[:20]}"
