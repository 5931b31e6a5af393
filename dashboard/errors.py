"""Domain errors raised by services and selectors; the API maps each to its status code."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    """400: the request is well-formed but not allowed (a transition, a score, a target)."""


class Forbidden(DomainError):
    """403: the caller sees the object but may not do this to it."""

    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    """404: missing, or not visible to the caller (the two are never told apart)."""

    status_code = 404
    code = "not_found"


class VersionConflict(DomainError):
    """409: the client's ``version`` is not the current one; ``current`` is the state now."""

    status_code = 409
    code = "version_conflict"

    def __init__(self, message: str, *, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current
