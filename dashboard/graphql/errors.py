"""Every GraphQL error leaves with ``extensions.code``: the one mapping from domain errors.

Resolvers raise the domain errors of ``dashboard/errors.py`` (as the services do); this
module turns each into the contract's code (docs/graphql.md). Nothing else builds codes.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from dashboard.errors import DomainError, VersionConflict

logger = logging.getLogger(__name__)

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
THROTTLED = "THROTTLED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
RESYNC_REQUIRED = "RESYNC_REQUIRED"
UNAVAILABLE = "UNAVAILABLE"  # a subscription's events could not be read: subscribe again
INTERNAL = "INTERNAL_SERVER_ERROR"


class Throttled(DomainError):
    """The caller's writes are over REST's write throttle; ``wait``: seconds to retry."""

    code = "throttled"

    def __init__(self, wait: float | None) -> None:
        super().__init__("Too many writes; retry later.")
        self.wait = wait


class QueryTooComplex(DomainError):
    code = "query_too_complex"


class ResyncRequired(DomainError):
    code = "resync_required"


def code_of(exc: DomainError) -> str:
    """Return the contract code of a domain error: REST's code in upper case."""
    return BAD_USER_INPUT if exc.code == "invalid" else exc.code.upper()


def progress_current(current: dict[str, Any]) -> dict[str, Any]:
    """Return REST's 409 ``current`` in the GraphQL shape of ``Progress``."""
    return {
        "learner": str(current["learner"]),
        "milestone": current["milestone"],
        "status": str(current["status"]).upper(),
        "score": current["score"],
        "version": current["version"],
        "updatedAt": current["updated_at"],
    }


def extensions_for(exc: BaseException | None) -> dict[str, Any]:
    """Return the ``extensions`` of an error whose cause is ``exc``."""
    if isinstance(exc, DomainError):
        ext: dict[str, Any] = {"code": code_of(exc)}
        if exc.fields or ext["code"] == BAD_USER_INPUT:
            ext["fields"] = exc.fields
        if isinstance(exc, VersionConflict):
            ext["current"] = progress_current(exc.current)
        if isinstance(exc, Throttled) and exc.wait is not None:
            ext["retryAfter"] = int(exc.wait) + 1
        return ext
    return {"code": INTERNAL}


def format_error(error: GraphQLError, *, default_code: str = INTERNAL) -> dict[str, Any]:
    """Return the wire shape of ``error``: message, locations, path, extensions.code.

    An error caused by something other than a domain error is a bug: it is logged with
    its stack and the client gets a bare message, never the trace.
    """
    out: dict[str, Any] = dict(error.formatted)
    cause = error.original_error
    if cause is None:
        ext = dict(error.extensions or {})
        ext.setdefault("code", default_code)
    elif isinstance(cause, DomainError):
        ext = extensions_for(cause)
        out["message"] = cause.message
    else:
        logger.error("GraphQL resolver failed", exc_info=cause)
        ext = {"code": INTERNAL}
        out["message"] = "Something went wrong on our side."
    out["extensions"] = ext
    return out


def error_body(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    """Return a response body with one error and no data (refused before execution)."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
