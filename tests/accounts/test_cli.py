"""`flask accounts create-user`: operators create officers and admins from the shell."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form

pytestmark = pytest.mark.core

SECRET = "cán-bộ-tỉnh-2026"


def _user(app, email: str):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def _count(app) -> int:
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_create_officer_prompts_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=[
            "accounts",
            "create-user",
            "--email",
            "Officer@Vinhlong.gov.vn",
            "--name",
            "Phạm Văn Tâm",
            "--role",
            "officer",
            "--province",
            "86",
        ],
        input=f"{SECRET}\n{SECRET}\n",
    )

    assert result.exit_code == 0, result.output
    assert SECRET not in result.output  # the prompt hides what is typed
    assert "Vĩnh Long" in result.output
    user = _user(app, "officer@vinhlong.gov.vn")
    assert user.role.value == "officer"
    assert user.province_code == 86
    assert user.password_hash.startswith("$argon2id$")
    response = post_form(app.test_client(), "/account/login", {"email": user.email, "password": SECRET})
    assert response.status_code == 302


def test_create_admin(app, runner):
    result = runner.invoke(
        args=["accounts", "create-user", "--email", "root@ktt.vn", "--name", "Quản trị", "--role", "admin"],
        input=f"{SECRET}\n{SECRET}\n",
    )

    assert result.exit_code == 0, result.output
    user = _user(app, "root@ktt.vn")
    assert user.role.value == "admin"
    assert user.province_code is None


def test_mismatched_confirmation_asks_again(app, runner):
    result = runner.invoke(
        args=["accounts", "create-user", "--email", "b@ktt.vn", "--name", "Người mua"],
        input=f"{SECRET}\nsomething-else\n{SECRET}\n{SECRET}\n",
    )

    assert result.exit_code == 0, result.output
    assert _user(app, "b@ktt.vn").role.value == "buyer"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--role", "officer"], "--province"),
        (["--role", "officer", "--province", "99"], "99"),
        (["--role", "buyer", "--province", "86"], "--province"),
        (["--role", "king"], "king"),
    ],
)
def test_bad_options_create_nothing(app, runner, extra, message):
    result = runner.invoke(
        args=["accounts", "create-user", "--email", "x@ktt.vn", "--name", "X", *extra],
        input=f"{SECRET}\n{SECRET}\n",
    )

    assert result.exit_code != 0
    assert message in result.output
    assert _count(app) == 0


def test_short_password_and_taken_email_are_refused(app, runner, make_user):
    make_user(email="taken@ktt.vn")

    short = runner.invoke(
        args=["accounts", "create-user", "--email", "new@ktt.vn", "--name", "X"], input="ngan\nngan\n"
    )
    taken = runner.invoke(
        args=["accounts", "create-user", "--email", "TAKEN@ktt.vn", "--name", "X"], input=f"{SECRET}\n{SECRET}\n"
    )

    assert short.exit_code == 1
    assert "8" in short.output
    assert taken.exit_code == 1
    assert _count(app) == 1
