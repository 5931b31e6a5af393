"""The executor's shortcut for objects of scalar fields (dashboard/graphql/leaves.py):
the same answers, errors included, as graphql-core's own executor."""

from __future__ import annotations

import pytest
from graphql import execute

from dashboard.graphql import leaves
from dashboard.graphql.context import Context
from dashboard.graphql.execution import prepare, run
from dashboard.graphql.schema import schema
from dashboard.graphql.types import Progress
from tests.graphql.conftest import grade
from tests.graphql.test_queries import COHORT

SHAPES = """
query($id: ID!, $no: Boolean!) { cohort(id: $id) {
  milestones { __typename s: slug ...M title @include(if: $no) week @skip(if: $no) }
  learners { id progress { __typename milestone ... on Progress { st: status score }
                           version @include(if: $no) updatedAt } }
  stats { byMilestone { milestone completed c2: completed } }
} }
fragment M on Milestone { order dueDate }
"""


def _both(user, query: str, variables: dict) -> tuple[dict, dict]:
    prepared = prepare(query, variables)
    fast = run(prepared, Context(user=user))
    plain = execute(
        schema._schema,
        prepared.document,
        context_value=Context(user=user),
        variable_values=prepared.variables,
    )
    body: dict = {"data": plain.data}  # type: ignore[union-attr]
    if plain.errors:  # type: ignore[union-attr]
        body["errors"] = plain.errors  # type: ignore[union-attr]
    return fast, body


@pytest.fixture
def graded(world):
    grade(world, 64)
    return world


@pytest.mark.parametrize("who", ["mentor", "learner"])
def test_the_full_query_equals_graphql_cores_answer(graded, who, monkeypatch):
    user = graded.mentor if who == "mentor" else graded.learners[1].user
    taken = []
    original = leaves._complete
    monkeypatch.setattr(leaves, "_complete", lambda p, s: taken.append(1) or original(p, s))
    fast, plain = _both(user, COHORT, {"id": graded.cohort.pk})
    assert "errors" not in fast
    assert fast == plain
    assert len(taken) >= 9  # 3 learners x 3 cells went the short way


@pytest.mark.parametrize("no", [True, False])
def test_aliases_fragments_typename_and_directives(graded, no):
    fast, plain = _both(graded.mentor, SHAPES, {"id": graded.cohort.pk, "no": no})
    assert "errors" not in fast
    assert fast == plain
    cell = fast["data"]["cohort"]["learners"][0]["progress"][0]
    assert cell["__typename"] == "Progress" and cell["st"] == "COMPLETED"
    assert ("version" in cell) is no


def test_a_null_in_a_non_null_field_goes_the_ordinary_way():
    plan = leaves._plan_for(
        schema._schema.type_map["Progress"],  # type: ignore[arg-type]
        {"status": [type("D", (), {"node": _field_node("status")})()]},
    )
    assert plan
    broken = Progress(milestone="x", status=None, score=None, version=1, updated_at=None)  # type: ignore[arg-type]
    assert leaves._complete(plan, broken) is None


def _field_node(name: str):
    from graphql import FieldNode, NameNode

    return FieldNode(name=NameNode(value=name), arguments=(), directives=())


def test_fields_with_resolvers_or_arguments_have_no_plan():
    learner = schema._schema.type_map["Learner"]
    detail = type("D", (), {"node": _field_node("completion")})()
    assert leaves._plan_for(learner, {"completion": [detail]}) == []  # type: ignore[arg-type]
