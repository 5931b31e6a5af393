"""The mentor's workflow on the page (issue 19, part B): a feed that holds still while read
and filters by kind and learner, the CSV download and the print stylesheet, and the staff's
program view.

Run with ``.venv/bin/pytest -q -m e2e tests/e2e/test_feed_export_program.py`` (axe-core
from ``make node_modules/axe-core/axe.min.js``).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Person, shoot, unexpected
from tests.e2e.test_trust import serious_axe_violations

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def snapshot(person: Person, cohort: int = 1) -> dict:
    status, body = person.api("GET", f"/api/cohorts/{cohort}/snapshot/", None)
    assert status == 200
    return body


def move_cells(person: Person, count: int, *, learner_index: int = 0) -> tuple[dict, list[str]]:
    """Move ``count`` cells of one learner of cohort 1 through the API; return the learner
    and the statuses set (each a change the page receives as an event)."""
    snap = snapshot(person)
    row = snap["learners"][learner_index]
    done = []
    for milestone in snap["milestones"][:count]:
        cell = row["progress"][milestone["slug"]]
        status = "in_progress" if cell["status"] != "in_progress" else "submitted"
        code, _ = person.api(
            "PATCH",
            f"/api/cohorts/1/progress/{row['id']}/{milestone['slug']}/",
            {"status": status, "version": cell["version"]},
        )
        assert code == 200
        done.append(status)
    return row, done


def newest_seq(page: Page) -> int:
    return int(page.locator("#feed li.feed-item").first.get_attribute("data-seq") or 0)


def seq_now(page: Page) -> int:
    return int((page.locator("#seq").text_content() or "seq 0").split()[-1])


# --------------------------------------------------------------------------------------
# A feed you can read
# --------------------------------------------------------------------------------------


def test_feed_holds_new_items_while_hovered_counts_them_then_shows_them(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    page.hover("#feed li.feed-item >> nth=2")
    expect(page.locator(".feed-paused")).to_be_visible()
    top = newest_seq(page)
    move_cells(mentor, 3)
    expect(page.locator("#feed-new")).to_have_text("3 new")
    expect(page.locator("#feed-new")).to_be_visible()
    expect(page.locator("#seq")).to_have_text(f"seq {top + 3}")
    assert newest_seq(page) == top  # nothing inserted under the pointer
    shoot(page, "feed-held.png")
    page.mouse.move(5, 5)  # the pointer leaves the feed
    expect(page.locator("#feed li.feed-item").first).to_have_attribute("data-seq", str(top + 3))
    expect(page.locator("#feed-new")).to_be_hidden()
    expect(page.locator(".feed-paused")).to_be_hidden()
    assert page.locator("#feed li.feed-item").count() <= 50
    assert unexpected(mentor.errors) == []


def test_feed_holds_while_keyboard_focus_is_in_it_and_the_count_shows_them(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    page.mouse.move(5, 5)
    page.locator("#feed-learner").focus()
    page.keyboard.press("Tab")  # into the list: the first kudos button, by keyboard
    assert page.evaluate("document.activeElement.closest('#feed') !== null")
    top = newest_seq(page)
    move_cells(mentor, 2)
    expect(page.locator("#feed-new")).to_have_text("2 new")
    assert newest_seq(page) == top
    # The count is in the feed: reaching it keeps the pause; pressing it shows them.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "feed-new"
    page.keyboard.press("Enter")
    expect(page.locator("#feed li.feed-item").first).to_have_attribute("data-seq", str(top + 2))
    # Still in the feed, so the next one is held again.
    move_cells(mentor, 1, learner_index=1)
    expect(page.locator("#feed-new")).to_have_text("1 new")
    assert newest_seq(page) == top + 2
    page.locator("#feed-kind").focus()  # focus leaves the feed: the held one shows
    expect(page.locator("#feed li.feed-item").first).to_have_attribute("data-seq", str(top + 3))
    assert unexpected(mentor.errors) == []


def test_feed_filters_by_kind_and_by_learner(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    items = page.locator("#feed li.feed-item")
    expect(items.first).to_be_visible()
    page.select_option("#feed-kind", "progress")
    expect(page.locator("#feed li.feed-item:not(.kind-progress-updated)")).to_have_count(0)
    assert items.count() > 0
    # Earlier tests on the shared server may have pushed every reaction out of the newest
    # 50: add one, so the "reactions" filter has something to show whatever ran before.
    code, _ = mentor.api(
        "POST", f"/api/cohorts/1/events/{newest_seq(page)}/comments/", {"text": "Nice one"}
    )
    assert code == 201
    page.select_option("#feed-kind", "reactions")
    expect(page.locator("#feed li.feed-item.kind-comment-added").first).to_be_visible()
    expect(
        page.locator("#feed li.feed-item:not(.kind-kudos-added):not(.kind-comment-added)")
    ).to_have_count(0)
    assert items.count() > 0
    # One learner's progress: a new event about them shows, one about another does not.
    page.select_option("#feed-kind", "progress")
    row, _ = move_cells(mentor, 1, learner_index=2)
    page.select_option("#feed-learner", str(row["id"]))
    expect(items.first).to_contain_text(row["name"])
    for text in items.all_text_contents():
        assert row["name"] in text
    before = items.count()
    other, _ = move_cells(mentor, 1, learner_index=3)
    page.wait_for_timeout(500)
    assert items.count() == before
    page.select_option("#feed-learner", "")
    page.select_option("#feed-kind", "all")
    expect(items.first).to_contain_text(other["name"])
    assert unexpected(mentor.errors) == []


# --------------------------------------------------------------------------------------
# Export and print
# --------------------------------------------------------------------------------------


def test_mentor_downloads_the_cohort_as_csv(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    link = page.get_by_role("link", name="Download CSV")
    expect(link).to_be_visible()
    assert link.get_attribute("href") == "/api/cohorts/1/export.csv"
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "cohort-1.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    names = {r["name"] for r in snapshot(mentor)["learners"]}
    assert {r["learner"] for r in rows} == names
    assert "completion" in rows[0]
    assert unexpected(mentor.errors) == []


def test_the_download_follows_the_cohort_shown(person) -> None:
    staff = person("admin")
    page = staff.page
    link = page.get_by_role("link", name="Download CSV")
    expect(link).to_have_attribute("href", "/api/cohorts/1/export.csv")
    page.select_option("#cohort-picker", "2")
    expect(page.locator("#cohort-title")).not_to_contain_text("Cohort 7")
    expect(link).to_have_attribute("href", "/api/cohorts/2/export.csv")


def test_a_learner_has_no_download_button(person) -> None:
    learner = person("learner")
    expect(learner.page.locator("#export-csv")).to_be_hidden()
    expect(learner.page.get_by_role("link", name="Download CSV")).to_have_count(0)


def test_print_shows_the_matrix_without_controls_with_cohort_and_time(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    page.emulate_media(media="print")
    for hidden in (
        "#cohort-picker",
        "#logout-form",
        "#export-csv",
        "#feed-tools",
        "#feed",
        "#connection",
        ".legend .hint",
    ):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#cohort-title")).to_be_visible()
    expect(page.locator("#print-stamp")).to_be_visible()
    expect(page.locator("#print-stamp")).to_contain_text("Printed")
    # Every row prints: no scroll box clips the matrix, and the headers are not sticky.
    box = page.evaluate(
        """() => {
            const wrap = document.querySelector('#matrix');
            const th = document.querySelector('#matrix thead th');
            return {overflow: getComputedStyle(wrap).overflowY,
                    clipped: wrap.scrollHeight > wrap.clientHeight + 1,
                    position: getComputedStyle(th).position};
        }"""
    )
    assert box == {"overflow": "visible", "clipped": False, "position": "static"}, box
    shoot(page, "print.png", full_page=True)
    page.emulate_media(media="screen")
    expect(page.locator("#cohort-picker")).to_be_visible()
    expect(page.locator("#print-stamp")).to_be_hidden()


# --------------------------------------------------------------------------------------
# The program view (staff)
# --------------------------------------------------------------------------------------


def test_staff_compare_cohorts_at_the_same_week(person) -> None:
    staff = person("admin", bypass_csp=True)  # to inject axe-core
    page = staff.page
    panel = page.locator("#program-panel")
    expect(panel).to_be_visible()
    status, overview = staff.api("GET", "/api/program/overview/", None)
    assert status == 200
    rows = panel.locator("tbody tr")
    expect(rows).to_have_count(len(overview["cohorts"]))
    for cohort in overview["cohorts"]:
        expect(panel.locator(f'tbody tr[data-cohort="{cohort["id"]}"] th')).to_have_text(
            cohort["name"]
        )
    chart = panel.get_by_role("img", name="Completion by program week")
    expect(chart).to_be_visible()
    assert chart.locator("path.cohort-line").count() == len(overview["cohorts"])
    # Another week: the table and the chart's words follow.
    week = page.locator("#program-week")
    weeks = week.locator("option").count()
    assert weeks >= 1
    week.select_option("1")
    expect(panel.locator("thead")).to_contain_text("At end of week 1")
    expect(chart).to_have_attribute("aria-label", re.compile("At the end of week 1: "))
    slow = overview["slowest_milestones"]
    if slow:
        expect(panel.locator(".slowest li").first).to_contain_text(slow[0]["title"])
    shoot(page, "program-staff.png", full_page=True)
    panel.scroll_into_view_if_needed()
    assert serious_axe_violations(page) == []
    assert unexpected(staff.errors) == []


def test_a_mentor_has_no_program_view_and_never_asks_for_it(person) -> None:
    asked: list[str] = []
    mentor = person(
        "mentor",
        before=lambda page: page.on(
            "request", lambda r: asked.append(r.url) if "/api/program/" in r.url else None
        ),
    )
    expect(mentor.page.locator("#program-panel")).to_be_hidden()
    mentor.page.wait_for_timeout(300)
    assert asked == []
    assert mentor.api("GET", "/api/program/overview/", None)[0] == 403
