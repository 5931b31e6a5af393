"""schema.graphql is the schema the code serves: regenerate it with ``make graphql-schema``."""

from __future__ import annotations

from pathlib import Path

from dashboard.management.commands.graphql_schema import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"

CONTRACT_NAMES = [
    "type Query",
    "me: Me!",
    "cohorts: [Cohort!]!",
    "cohort(id: ID!): Cohort",
    "cacheMetrics",
    "type Mutation",
    "updateProgress(",
    "giveKudos(",
    "addComment(",
    "type Subscription",
    "cohortEvents(cohort: ID!, afterSeq: Int",
    "cacheMetrics: CacheSample!",
    "learners(atRisk: Boolean",  # v1.1 added REST's other filters after it
    "[Learner!]!",
    "feed(first: Int = 50): [Event!]!",
    "events(after: Int = 0, first: Int = 100): [Event!]!",
    "seq: Int!",
    "enum ProgressStatus",
    "enum Role",
    "scalar DateTime",
    "scalar Date",
    "scalar JSON",
]


def test_schema_file_matches_the_code():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql is stale: run `make graphql-schema`"
    )


def test_schema_keeps_the_contract_names():
    sdl = schema_sdl()
    missing = [name for name in CONTRACT_NAMES if name not in sdl]
    assert missing == []
