"""One shortcut in graphql-core's executor: an object whose selected fields are all
scalars or enums read straight off it is completed in one step.

graphql-core executes every field on its own (resolve info, arguments, resolver,
completion, path), which is most of a full cohort query's cost: 400 learners x 3 cells
x 5 fields of ``Progress``. When every field a selection asks of an object is a
strawberry basic field (no resolver, no extension, no arguments) of a scalar or enum
type, its value is the attribute, coerced as ``complete_leaf_value`` coerces it. The
shortcut does exactly that for the whole object; anything else (a null in a non-null
field, a value the scalar refuses, ``@defer``) goes the ordinary way, so errors and
their paths are graphql-core's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, is_leaf_type
from graphql.execution.incremental.incremental_executor import IncrementalExecutor
from graphql.pyutils import Path, Undefined

# (response key, resolver, leaf type, non-null), or a type name for __typename
Plan = list[tuple[str, Any, Any, bool]]
_NO_PLAN: Plan = []


class LeafExecutor(IncrementalExecutor):
    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        grouped_field_set: Any,
        new_defer_usages: Sequence[Any],
        delivery_group_map: Any,
    ) -> Any:
        if delivery_group_map is None and not new_defer_usages:
            plan = self._plan(parent_type, grouped_field_set)
            if plan:
                data = _complete(plan, source_value)
                if data is not None:
                    return data
        return super().execute_collected_subfields(
            parent_type, source_value, path, grouped_field_set, new_defer_usages, delivery_group_map
        )

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        """Return the object's plan, or an empty one when a field needs the ordinary way.

        Memoised per selection for this execution (graphql-core memoises the selection
        itself, per object type and field group, so its identity is stable here).
        """
        plans: dict[int, tuple[Any, Plan]] = self.__dict__.setdefault("_leaf_plans", {})
        known = plans.get(id(grouped_field_set))
        if known is not None:
            return known[1]
        plan = _plan_for(parent_type, grouped_field_set)
        plans[id(grouped_field_set)] = (grouped_field_set, plan)  # keeps the id alive
        return plan


def _plan_for(parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
    plan: Plan = []
    for key, details in grouped_field_set.items():
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            plan.append((key, None, parent_type.name, True))
            continue
        field = parent_type.fields.get(name)
        if field is None or field.args or any(d.node.arguments for d in details):
            return _NO_PLAN
        if not getattr(field.resolve, "_is_default", False):  # strawberry's basic field
            return _NO_PLAN
        non_null = isinstance(field.type, GraphQLNonNull)
        leaf = field.type.of_type if non_null else field.type
        if not is_leaf_type(leaf):
            return _NO_PLAN
        plan.append((key, field.resolve, leaf, non_null))
    return plan


def _complete(plan: Plan, source: Any) -> dict[str, Any] | None:
    """Return the object's data, or None when a field must take the ordinary way."""
    data: dict[str, Any] = {}
    try:
        for key, resolve, leaf, non_null in plan:
            if resolve is None:  # __typename
                data[key] = leaf
                continue
            value = resolve(source, None)
            if value is None:
                if non_null:
                    return None
                data[key] = None
                continue
            coerced = leaf.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                return None
            data[key] = coerced
    except Exception:
        return None
    return data
