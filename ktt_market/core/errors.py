"""Domain errors that services raise and views turn into messages."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses; `message` is already translated for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(ServiceError):
    """The actor may not do this (views answer 403 or 404)."""
