"""A web or worker process loads only what it needs: spreadsheet, QR, Stripe and migration libraries on first use.

Every gunicorn worker and Celery process pays for what `create_app()` imports (see the memory rows of the
benchmark report): measured after start, 86 MB resident without these libraries, 105 MB with them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, app_env

pytestmark = pytest.mark.core

LAZY = ("openpyxl", "segno", "stripe", "alembic", "flask_migrate")


def _loaded_after(code: str, tmp_path) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {LAZY!r} if m in sys.modules))"
    env = app_env(SECRET_KEY="probe", KTT_INSTANCE_PATH=str(tmp_path / "instance"))
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_web_app_as_gunicorn_loads_it_leaves_them_out(tmp_path):
    assert _loaded_after("import app", tmp_path) == set()


def test_the_celery_app_leaves_them_out(tmp_path):
    assert _loaded_after("import workers.celery_app", tmp_path) == set()


def test_each_is_loaded_when_used(tmp_path):
    code = (
        "import app\n"
        "from ktt_market.core.spreadsheets import write_xlsx\n"
        "from ktt_market.payments.vietqr import qr_png\n"
        "write_xlsx({'s': (['a'], [[1]])}); qr_png('x')\n"
    )
    assert _loaded_after(code, tmp_path) == {"openpyxl", "segno"}
