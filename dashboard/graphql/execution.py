"""One way to run a document, for HTTP and WebSocket alike: parse, validate, check the
limits, coerce the variables, execute; what is refused before execution is a
``RequestError`` (HTTP 400), what execution meets is in the result's ``errors``."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.execution.is_awaitable import optimized_is_awaitable

from dashboard.graphql.errors import BAD_USER_INPUT, QUERY_TOO_COMPLEX, format_error
from dashboard.graphql.leaves import LeafExecutor
from dashboard.graphql.limits import LIMIT_RULES, MAX_LIST, MAX_TOKENS, oversized_list
from dashboard.graphql.schema import schema

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


class RequestError(Exception):
    """The request is refused before execution; ``errors`` are its wire errors."""

    def __init__(self, code: str, messages: list[str]) -> None:
        super().__init__(messages[0] if messages else code)
        self.errors = [{"message": m, "extensions": {"code": code}} for m in messages]


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    variables: dict[str, Any]  # as the client sent them (execution coerces them again)
    coerced: dict[str, Any]
    operation_name: str | None
    variable_values: VariableValues  # graphql-core's form, for reading arguments

    def root_field(self) -> tuple[str, dict[str, Any]] | None:
        """Return the root field's name and coerced arguments when the operation has one
        field at its root written out (a subscription's shape), else None."""
        selections = self.operation.selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode):
            return None
        node = selections[0]
        root = schema._schema.get_root_type(self.operation.operation)
        field = root.fields.get(node.name.value) if root is not None else None
        if field is None:
            return None
        return node.name.value, get_argument_values(field, node, self.variable_values)

    @property
    def kind(self) -> str:
        return self.operation.operation.value  # query, mutation, subscription

    @property
    def introspection_only(self) -> bool:
        """Whether every root field is introspection: the schema is public."""
        selections = self.operation.selection_set.selections
        return all(
            isinstance(s, FieldNode) and s.name.value in _INTROSPECTION_FIELDS for s in selections
        )


def _messages(errors: list[GraphQLError]) -> list[str]:
    return [e.message for e in errors]


@lru_cache(maxsize=256)
def _checked_document(query: str) -> DocumentNode | tuple[str, list[str]]:
    """Return the parsed document that passed validation and the limits, or the refusal
    (its code and messages: a new ``RequestError`` is raised each time).

    Kept per document text: clients send the same few documents again and again, and
    parsing and validating the dashboard's query costs more than the snapshot it reads.
    """
    try:
        document = parse(query, max_tokens=MAX_TOKENS, no_location=False)
    except GraphQLError as error:
        too_many = "Document contains more than" in error.message
        return (QUERY_TOO_COMPLEX if too_many else BAD_USER_INPUT), [error.message]
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        return QUERY_TOO_COMPLEX, ["The document is nested too deeply."]
    gql_schema = schema._schema
    errors = validate(gql_schema, document, specified_rules)
    if errors:
        return BAD_USER_INPUT, _messages(errors)
    errors = validate(gql_schema, document, LIMIT_RULES)
    if errors:
        return QUERY_TOO_COMPLEX, _messages(errors)
    return document


def prepare(query: Any, variables: Any = None, operation_name: Any = None) -> Prepared:
    """Return the operation ready to execute, or raise ``RequestError``."""
    if not isinstance(query, str) or not query.strip():
        raise RequestError(BAD_USER_INPUT, ["query must be a non-empty string."])
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(BAD_USER_INPUT, ["variables must be an object."])
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(BAD_USER_INPUT, ["operationName must be a string."])
    document = _checked_document(query)
    if isinstance(document, tuple):
        raise RequestError(*document)
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise RequestError(BAD_USER_INPUT, ["Name the operation to run (operationName)."])
    coerced = get_variable_values(
        schema._schema, operation.variable_definitions or (), variables or {}, max_errors=20
    )
    if isinstance(coerced, list):
        raise RequestError(BAD_USER_INPUT, _messages(coerced))
    values = coerced.coerced
    if oversized_list(values):
        raise RequestError(QUERY_TOO_COMPLEX, [f"At most {MAX_LIST} items per list argument."])
    return Prepared(document, operation, variables or {}, dict(values), operation_name, coerced)


def run(prepared: Prepared, context: Any, root_value: Any = None) -> dict[str, Any]:
    """Execute a prepared operation (synchronously) and return the response body."""
    result = execute(
        schema._schema,
        prepared.document,
        root_value=root_value,
        context_value=context,
        variable_values=prepared.variables,
        operation_name=prepared.operation_name,
        # Every resolver is synchronous: strawberry's cheaper check of each value.
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        # Objects of scalar fields only (each learner's progress cells) in one step.
        executor_class=LeafExecutor,
    )
    assert not isinstance(result, Awaitable)  # every resolver is synchronous
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
    return body
