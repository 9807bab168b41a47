"""Access decorators shared by every area; object checks live in each area's `access.py`."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from ..accounts.models import Role


def roles_required(*roles: Role):
    """Allow only logged-in users with one of `roles` (others get 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


officer_required = roles_required(Role.OFFICER, Role.ADMIN)
admin_required = roles_required(Role.ADMIN)
