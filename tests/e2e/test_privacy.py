"""Privacy by role on the page: a learner sees classmates' statuses, never their score or
risk (matrix, presence, feed), live updates included; a mentor sees it all.

Run with ``make test-e2e`` (or ``-k privacy``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import unexpected
from tests.e2e.test_dashboard import cell, edit, learner_id, me, snapshot

pytestmark = pytest.mark.e2e


def test_a_learners_page_shows_no_peer_score_or_risk(person) -> None:
    mentor = person("mentor")
    learner = person("learner")
    late = person("hostile")  # a learner of cohort 1 at risk (joined late), online now
    own = learner_id(learner)
    full = snapshot(mentor)
    # The mentor marks a peer's milestone completed with a score, live.
    peer = next(r for r in full["learners"] if r["id"] not in (own, learner_id(late)))
    slug = next(
        m["slug"]
        for m in full["milestones"]
        if peer["progress"][m["slug"]]["status"] != "completed"
    )
    edit(mentor.page, peer["id"], slug, "completed", score=77)
    expect(cell(mentor.page, peer["id"], slug)).to_have_text("● 77", timeout=2000)
    expect(cell(learner.page, peer["id"], slug)).to_have_text(re.compile(r"^●\D*$"), timeout=2000)

    # No peer is flagged at risk in the matrix or in presence, though some are.
    assert sum(r["at_risk"] for r in full["learners"] if r["id"] != own) > 0
    flagged = learner.page.locator("#matrix tr.at-risk")
    for index in range(flagged.count()):
        assert flagged.nth(index).get_attribute("data-learner") == str(own)
    avatar = learner.page.locator(f'#presence li.avatar[data-user="{me(late)["id"]}"]')
    expect(avatar).to_have_count(1)
    expect(avatar).not_to_have_class(re.compile(r"\bat-risk\b"))
    expect(avatar).not_to_contain_text("at risk")
    # No score of a peer anywhere in the matrix: completed peer cells read without one.
    for row in full["learners"]:
        if row["id"] == own:
            continue
        for m in full["milestones"]:
            if row["progress"][m["slug"]]["status"] == "completed":
                assert not re.search(r"\d", cell(learner.page, row["id"], m["slug"]).inner_text())
    expect(learner.page.locator("#feed")).not_to_contain_text("is at risk")
    expect(learner.page.locator("#feed")).not_to_contain_text("(77)")
    # The summary's cohort counts are the mentor's.
    expect(learner.page.locator("#summary")).to_contain_text(str(full["stats"]["at_risk"]))
    assert unexpected(learner.errors) == []
    assert unexpected(mentor.errors) == []
