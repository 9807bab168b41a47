"""The migrations build exactly the schema the models describe, and they run both ways."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parents[2]
ENV_PY = ROOT / "migrations" / "env.py"


def _env_function(name: str):
    """Load one function from migrations/env.py (the module itself runs Alembic when imported)."""
    tree = ast.parse(ENV_PY.read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    namespace: dict = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(ENV_PY), "exec"), namespace)  # noqa: S102
    return namespace[name]


def _context_options(app) -> dict:
    """The options env.py gives Alembic, so "no diff" means what `flask db migrate` would see."""
    options = dict(app.extensions["migrate"].configure_args)
    options.pop("process_revision_directives", None)
    options.setdefault("render_item", _env_function("render_item"))
    options.setdefault("include_object", _env_function("include_object"))
    options.setdefault("compare_type", True)
    return options


def _schema_diff(app) -> list:
    from ktt_market.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=_context_options(app))
        return compare_metadata(context, db.metadata)


def test_context_options_follow_env_py(app):
    options = _context_options(app)

    assert options["compare_type"] is True
    assert options["render_as_batch"] is True


def test_migrated_database_matches_the_models(app):
    assert _schema_diff(app) == []


@pytest.mark.postgres_only
def test_timestamps_are_timestamptz_on_postgresql(app):
    from ktt_market.extensions import db

    with app.app_context():
        columns = {c["name"]: c for c in inspect(db.engine).get_columns("users")}
    assert columns["created_at"]["type"].timezone is True
    assert columns["last_login_at"]["type"].timezone is True


def _flask(*args: str, database_url: str) -> str:
    """Run a `flask` command in its own process, as an operator would, against `database_url`."""
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app.py"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_downgrade_to_base_and_upgrade_again_on_a_fresh_database(app, tmp_path):
    # A throwaway SQLite file in separate processes: the session database and app stay untouched.
    url = f"sqlite:///{tmp_path / 'scratch.db'}"
    engine = create_engine(url)
    try:
        _flask("db", "upgrade", database_url=url)
        assert {"users", "units", "members", "capital_entries"} <= set(inspect(engine).get_table_names())

        _flask("db", "downgrade", "base", database_url=url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        _flask("db", "upgrade", database_url=url)
        from ktt_market.extensions import db

        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=_context_options(app))
            assert compare_metadata(context, db.metadata) == []
    finally:
        engine.dispose()
