"""The contract's limits: depth 10, 2,000 tokens, 20 aliases, 500 items per list argument.

The document-level checks are validation rules (strawberry's depth and alias limiters,
and one for list sizes here) run in a pass of their own, so that everything they refuse
is ``QUERY_TOO_COMPLEX`` before anything runs. Page sizes given by variables are checked
by the resolvers with ``check_first``.
"""

from __future__ import annotations

from typing import Any

from graphql import ArgumentNode, IntValueNode, ListValueNode, ValidationRule
from graphql.error import GraphQLError
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from dashboard.errors import InvalidInput
from dashboard.graphql.errors import QueryTooComplex

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 20
MAX_LIST = 500
EVENTS_PAGE_MAX = 500

# Arguments that size a returned list: their value counts as that many items.
_PAGE_ARGUMENTS = frozenset({"first"})


class ListSizeRule(ValidationRule):
    """Refuse a list literal over ``MAX_LIST`` items, or a page size over it."""

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        value = node.value
        if isinstance(value, ListValueNode) and len(value.values) > MAX_LIST:
            self.report_error(GraphQLError(f"At most {MAX_LIST} items per list argument.", node))
        elif (
            node.name.value in _PAGE_ARGUMENTS
            and isinstance(value, IntValueNode)
            and int(value.value) > MAX_LIST
        ):
            self.report_error(GraphQLError(f"At most {MAX_LIST} items per page.", node))


LIMIT_RULES = (
    depth_validator(MAX_DEPTH, None),
    alias_validator(MAX_ALIASES),
    ListSizeRule,
)


def oversized_list(value: Any) -> bool:
    """Whether coerced variable values hold a list over ``MAX_LIST`` items, at any depth."""
    if isinstance(value, list):
        return len(value) > MAX_LIST or any(oversized_list(v) for v in value)
    if isinstance(value, dict):
        return any(oversized_list(v) for v in value.values())
    return False


def check_first(first: int) -> None:
    """Refuse a page size below 1 (bad input) or over ``MAX_LIST`` (too complex)."""
    if first < 1:
        raise InvalidInput("first must be at least 1.", fields={"first": ["Must be >= 1."]})
    if first > MAX_LIST:
        raise QueryTooComplex(f"At most {MAX_LIST} items per page.")
