"""The mentor's workflow on the page (issue 19): find who needs help with filters kept in
the URL, read a learner's story in a side panel kept live, a cell's history with restore,
and undo of the mentor's own edit; a learner's drill-down shows no peer's score.

Run with ``make test-e2e`` (or ``-k mentor_workflow``).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, Person, open_big_cohort, unexpected
from tests.e2e.test_dashboard import cell, edit, learner_id, snapshot
from tests.e2e.test_trust import PHONE, serious_axe_violations
from tests.e2e.world import BIG_SIZE

pytestmark = pytest.mark.e2e

CONFLICT = "status of 409"  # the console line of a refused write the test provokes


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def shown_ids(page: Page) -> list[int]:
    """Return the learner ids of the matrix rows the filter shows, top to bottom."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#matrix tbody tr')]
            .filter((tr) => !tr.hidden).map((tr) => Number(tr.dataset.learner))"""
    )


def server_ids(person: Person, cohort: int = 1, **query: str) -> list[int]:
    """Return the ids the server's own filter (``GET .../learners/``) gives for ``query``."""
    status, body = person.api("GET", f"/api/cohorts/{cohort}/learners/?{urlencode(query)}", None)
    assert status == 200, body
    return [row["id"] for row in body["results"]]


def expect_hash(page: Page, value: str) -> None:
    """Wait for the URL's hash to be ``value``: the page writes it after the frame."""
    expect(page).to_have_url(re.compile(re.escape(value) + "$"))


def head(person: Person, cohort: int = 1) -> int:
    status, body = person.api("GET", f"/api/cohorts/{cohort}/events/?after=0&limit=1", None)
    assert status == 200
    return int(body["head"])


def events_after(person: Person, seq: int, cohort: int = 1) -> list[dict]:
    status, body = person.api("GET", f"/api/cohorts/{cohort}/events/?after={seq}&limit=100", None)
    assert status == 200
    return list(body["results"])


def patch(person: Person, learner: int, slug: str, **body) -> dict:
    row = next(r for r in snapshot(person)["learners"] if r["id"] == learner)
    version = row["progress"][slug]["version"]
    status, answer = person.api(
        "PATCH", f"/api/cohorts/1/progress/{learner}/{slug}/", {**body, "version": version}
    )
    assert status == 200, answer
    return answer


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def quiet_learners(person: Person, *others: Person) -> list[dict]:
    """Return cohort 1's learners no other test relies on (not the demo learner's rows)."""
    skip = {learner_id(p) for p in others}
    return [r for r in snapshot(person)["learners"] if r["id"] not in skip and r["name"][0] != "<"]


# --------------------------------------------------------------------------------------
# 1. Find who needs help
# --------------------------------------------------------------------------------------


def test_filters_live_in_the_url_and_the_back_button_restores_them(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    snap = snapshot(mentor)
    total = len(snap["learners"])
    expect(page.locator("#filter-count")).to_have_text(f"All {total} learners")
    expect_hash(page, "#cohort=1")

    # At risk only: the URL says so, and the rows are the server's own answer.
    page.get_by_label("At risk only", exact=True).check()
    expect_hash(page, "#cohort=1&risk=1")
    at_risk = server_ids(mentor, at_risk="true")
    assert 0 < len(at_risk) < total
    assert sorted(shown_ids(page)) == sorted(at_risk)
    expect(page.locator("#filter-count")).to_have_text(
        f"{len(at_risk)} of {total} learners: at risk"
    )

    # A name (case and accents ignored), then a milestone's status: each one more step.
    name = snap["learners"][3]["name"]
    part = name.split()[0][:3].upper()
    page.get_by_label("Find", exact=True).fill(part)
    page.get_by_label("Find", exact=True).blur()
    expect_hash(page, f"#cohort=1&risk=1&q={part}")
    assert sorted(shown_ids(page)) == sorted(server_ids(mentor, at_risk="true", search=part))
    page.get_by_label("At risk only", exact=True).uncheck()
    expect_hash(page, f"#cohort=1&q={part}")
    slug = snap["milestones"][-4]["slug"]
    page.get_by_label("Milestone", exact=True).select_option(slug)
    expect_hash(page, f"#cohort=1&m={slug}:&q={part}")
    page.get_by_label("Status", exact=True).select_option("in_progress")
    expect_hash(page, f"#cohort=1&m={slug}:in_progress&q={part}")
    assert sorted(shown_ids(page)) == sorted(
        server_ids(mentor, search=part, milestone=slug, status="in_progress")
    )
    page.get_by_label("Overdue", exact=True).check()
    expect_hash(page, f"#cohort=1&overdue=1&m={slug}:in_progress&q={part}")
    assert sorted(shown_ids(page)) == sorted(
        server_ids(mentor, search=part, milestone=slug, status="in_progress", overdue="true")
    )

    # Back, step by step: each filter comes off again, in the form and in the matrix.
    page.go_back()
    expect(page.get_by_label("Overdue", exact=True)).not_to_be_checked()
    expect_hash(page, f"#cohort=1&m={slug}:in_progress&q={part}")
    assert sorted(shown_ids(page)) == sorted(
        server_ids(mentor, search=part, milestone=slug, status="in_progress")
    )
    page.go_back()  # the status
    page.go_back()  # the milestone
    page.go_back()  # "at risk only" off
    expect(page.get_by_label("At risk only", exact=True)).to_be_checked()
    expect(page.get_by_label("Find", exact=True)).to_have_value(part)
    assert sorted(shown_ids(page)) == sorted(server_ids(mentor, at_risk="true", search=part))
    page.go_back()  # the name: typing it was one step
    expect(page.get_by_label("Find", exact=True)).to_have_value("")
    assert sorted(shown_ids(page)) == sorted(at_risk)
    page.go_back()
    expect_hash(page, "#cohort=1")
    assert len(shown_ids(page)) == total
    expect(page.get_by_label("At risk only", exact=True)).not_to_be_checked()

    # A shared link opens with its filters; "Clear filters" is one more step.
    link = "#cohort=1&overdue=1&m=:submitted"
    page.goto(f"{page.url.split('#')[0]}{link}")
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.get_by_label("Overdue", exact=True)).to_be_checked()
    expect(page.get_by_label("Status", exact=True)).to_have_value("submitted")
    expect_hash(page, link)
    expected = [
        r["id"]
        for r in snapshot(mentor)["learners"]
        if any(c["status"] == "submitted" for c in r["progress"].values())
        and r["id"] in server_ids(mentor, overdue="true")
    ]
    assert sorted(shown_ids(page)) == sorted(expected)
    page.get_by_role("button", name="Clear filters").click()
    expect_hash(page, "#cohort=1")
    assert len(shown_ids(page)) == total
    assert unexpected(mentor.errors) == []


def test_a_learner_who_becomes_at_risk_appears_under_at_risk_only_live(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    page.get_by_label("At risk only", exact=True).check()
    snap = snapshot(mentor)
    due = [m for m in snap["milestones"] if m["due_date"] < today()]
    # An on-track learner with a past-due milestone completed: reopening it is overdue.
    target, milestone = next(
        (r, m)
        for r in quiet_learners(mentor)
        for m in due
        if not r["at_risk"] and r["progress"][m["slug"]]["status"] == "completed"
    )
    row = page.locator(f'#matrix tr[data-learner="{target["id"]}"]')
    expect(row).to_be_hidden()
    count_before = page.locator("#filter-count").inner_text()
    score = target["progress"][milestone["slug"]]["score"]
    patch(mentor, target["id"], milestone["slug"], status="in_progress")
    expect(row).to_be_visible(timeout=2000)
    expect(row).to_have_class(re.compile(r"\bat-risk\b"))
    expect(page.locator("#filter-count")).not_to_have_text(count_before)
    expect_hash(page, "#cohort=1&risk=1")  # a live change is no history step
    # Back on track: the row leaves the filtered matrix again, live.
    patch(mentor, target["id"], milestone["slug"], status="completed", score=score)
    expect(row).to_be_hidden(timeout=2000)
    assert unexpected(mentor.errors) == []


def test_overdue_and_this_weeks_milestone_read_without_colour(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    snap = snapshot(mentor)
    day = today()
    overdue = not_due = None
    for row in snap["learners"]:
        for m in snap["milestones"]:
            status = row["progress"][m["slug"]]["status"]
            if status in ("not_started", "in_progress") and m["due_date"] < day:
                overdue = overdue or (row["id"], m)
            if status == "not_started" and m["due_date"] >= day:
                not_due = not_due or (row["id"], m)
    assert overdue and not_due
    late = cell(page, overdue[0], overdue[1]["slug"])
    expect(late).to_have_class(re.compile(r"\boverdue\b"))
    expect(late).to_have_attribute("aria-label", re.compile(r", overdue \(due .+\)$"))
    # The mark is a glyph ("!"), so it reads without colour.
    mark = late.evaluate("(b) => getComputedStyle(b, '::after').content")
    assert mark == '"!"'
    waiting = cell(page, not_due[0], not_due[1]["slug"])
    expect(waiting).to_have_text("○ —")
    expect(waiting).not_to_have_class(re.compile(r"\boverdue\b"))
    expect(waiting).not_to_have_attribute("aria-label", re.compile("overdue"))
    # This week's milestone: the first one due from today on; its header says so in words.
    upcoming = sorted(
        (m for m in snap["milestones"] if m["due_date"] >= day), key=lambda m: m["due_date"]
    )
    current = page.locator("#matrix thead th.current")
    if upcoming:
        expect(current).to_have_count(1)
        expect(current).to_have_attribute("data-milestone", upcoming[0]["slug"])
        expect(current).to_contain_text(
            re.compile(r"\((this week|due next \(this is week \d+\))\)")
        )
    else:
        expect(current).to_have_count(0)
    assert unexpected(mentor.errors) == []


def test_filtering_a_400_learner_matrix_redraws_within_a_frame(person) -> None:
    staff = person("mentor2")
    page = staff.page
    big = open_big_cohort(page)
    expect_hash(page, f"#cohort={big['id']}")
    page.wait_for_timeout(500)
    # Each change as a person makes it (an input or a click), then the style and layout it
    # causes, forced at once: the whole redraw but the paint, in one synchronous measure.
    timings = page.evaluate(
        """async () => {
            const q = document.getElementById('filter-q');
            const type = (v) => {
                q.value = v;
                q.dispatchEvent(new Event('input', {bubbles: true}));
            };
            const steps = [
                () => type('Learner 1'),
                () => type('Learner 12'),
                () => type(''),
                () => document.getElementById('filter-overdue').click(),
                () => { const s = document.getElementById('filter-status');
                        s.value = 'in_progress'; s.dispatchEvent(new Event('change')); },
                () => { const s = document.getElementById('filter-status');
                        s.value = ''; s.dispatchEvent(new Event('change')); },
                () => document.getElementById('filter-overdue').click(),
                () => document.getElementById('filter-risk').click(),
                () => document.getElementById('filter-risk').click(),
            ];
            const out = [];
            for (let round = 0; round < 3; round += 1) {
                for (const step of steps) {
                    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
                    const started = performance.now();
                    step();
                    document.querySelector('#matrix tbody').getBoundingClientRect();
                    document.body.offsetHeight;
                    out.push({ total: performance.now() - started,
                               rows: [...document.querySelectorAll('#matrix tbody tr')]
                                   .filter((tr) => !tr.hidden).length });
                }
            }
            return out;
        }"""
    )
    script = page.evaluate(
        "performance.getEntriesByName('dashboard.filter').map((m) => m.duration)"
    )
    totals = [t["total"] for t in timings]
    rows = {t["rows"] for t in timings}
    # The filters did filter: all, some, and (in progress: the 400-learner test's one) few.
    assert {10, 100, BIG_SIZE} <= rows and min(rows) <= 1, rows
    report = {
        "learners": BIG_SIZE,
        "changes": len(totals),
        "redraw_ms_median": round(statistics.median(totals), 2),
        "redraw_ms_max": round(max(totals), 2),
        "within_16_ms": f"{sum(t < 16 for t in totals)}/{len(totals)}",
        "script_ms_median": round(statistics.median(script), 2),
        "script_ms_max": round(max(script), 2),
    }
    print("\nfilter 400 learners:", json.dumps(report))
    Path(ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "filter-400.json").write_text(json.dumps(report, indent=1))
    # Within a frame as a rule (a slow one here and there is this shared 2-core machine:
    # GC, the server). Laid out as a CSS table, showing 400 rows again took 150-370 ms.
    assert statistics.median(totals) < 16, (report, totals)
    assert max(totals) < 150, (report, totals)
    assert unexpected(staff.errors) == []


# --------------------------------------------------------------------------------------
# 2. A learner's story
# --------------------------------------------------------------------------------------


def story(page: Page):
    return page.locator("#learner-panel")


def test_a_click_on_a_name_opens_the_story_and_new_events_about_them_are_prepended(
    person,
) -> None:
    mentor = person("mentor")
    page = mentor.page
    target, other = quiet_learners(mentor)[5:7]
    name = page.locator(f'#matrix tr[data-learner="{target["id"]}"] button.learner-name')
    name.click()
    panel = story(page)
    expect(panel).to_be_visible()
    expect(panel.locator("#learner-title")).to_have_text(target["name"])
    expect(panel.locator("#learner-title")).to_be_focused()
    expect_hash(page, f"#cohort=1&learner={target['id']}")
    done = sum(c["status"] == "completed" for c in target["progress"].values())
    expect(panel.locator(".story-figures")).to_contain_text(f"{done} of {len(target['progress'])}")
    expect(panel.locator(".story-milestones li")).to_have_count(len(target["progress"]))
    if target["at_risk"]:
        expect(panel).to_contain_text("At risk: " + target["risk_reasons"][0])
    else:
        expect(panel).to_contain_text("On track")
    # The timeline is the server's, newest first.
    status, timeline = mentor.api("GET", f"/api/cohorts/1/learners/{target['id']}/timeline/", None)
    assert status == 200
    items = panel.locator(".story-timeline li")
    expect(items).to_have_count(len(timeline["results"]))
    assert items.first.get_attribute("data-seq") == str(timeline["results"][0]["seq"])

    # Live: a change to this learner goes on top; one to another learner does not.
    slug = next(s for s, c in target["progress"].items() if c["status"] != "submitted")
    if other["progress"][slug]["status"] != "submitted":
        patch(mentor, other["id"], slug, status="submitted")
    changed = patch(mentor, target["id"], slug, status="submitted")
    expect(items.first).to_have_attribute("data-seq", str(changed["seq"]), timeout=2000)
    expect(items.first).to_contain_text("Submitted")
    expect(items).to_have_count(len(timeline["results"]) + 1)
    expect(panel.locator(f'.story-milestones li[data-milestone="{slug}"]')).to_contain_text("▲")
    # A comment on that change is about them too.
    status, _ = mentor.api(
        "POST", f"/api/cohorts/1/events/{changed['seq']}/comments/", {"text": "Nice work"}
    )
    assert status == 201
    expect(items.first).to_contain_text("Nice work", timeout=2000)

    # Escape closes it, focus goes back to the name, and the URL forgets the learner.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(name).to_be_focused()
    expect_hash(page, "#cohort=1")
    # The back button opens it again.
    page.go_back()
    expect(panel).to_be_visible()
    expect(panel.locator("#learner-title")).to_have_text(target["name"])
    assert unexpected(mentor.errors) == []


def test_a_deep_link_opens_the_story_and_close_returns_focus_to_the_row(person) -> None:
    mentor = person("mentor")
    target = quiet_learners(mentor)[8]
    # A fresh page on the link, as someone it was sent to opens it.
    page = mentor.context.new_page()
    page.goto(f"{mentor.page.url.split('#')[0]}#cohort=1&learner={target['id']}")
    panel = story(page)
    expect(panel).to_be_visible()
    expect(panel.locator("#learner-title")).to_have_text(target["name"])
    expect(panel.locator("#learner-title")).to_be_focused()
    expect(panel.locator(".story-timeline li").first).to_be_visible()
    panel.get_by_role("button", name="✕ Close").click()
    expect(panel).to_be_hidden()
    expect(
        page.locator(f'#matrix tr[data-learner="{target["id"]}"] button.learner-name')
    ).to_be_focused()
    expect_hash(page, "#cohort=1")
    # An edited URL naming a learner not in the cohort: said so, and taken out of the URL.
    page.goto(f"{page.url.split('#')[0]}#cohort=1&learner=999999")
    expect(page.locator("#notice")).to_contain_text("Learner 999999 is not in")
    expect(panel).to_be_hidden()
    expect_hash(page, "#cohort=1")
    assert unexpected(mentor.errors) == []


def test_a_learners_drill_down_never_shows_a_peers_score(person) -> None:
    mentor = person("mentor")
    learner = person("learner", **PHONE)
    own = learner_id(learner)
    full = snapshot(mentor)
    peer = next(
        r
        for r in full["learners"]
        if r["id"] != own
        and r["at_risk"]
        and any(c["score"] is not None for c in r["progress"].values())
    )
    requests: list[str] = []
    learner.page.on("request", lambda r: requests.append(r.url))
    page = learner.page
    page.locator(f'#matrix tr[data-learner="{peer["id"]}"] button.learner-name').click()
    panel = story(page)
    expect(panel.locator("#learner-title")).to_have_text(peer["name"])
    expect(panel).to_contain_text("private")
    expect(panel).not_to_contain_text("At risk")
    expect(panel).not_to_contain_text("On track")
    # The peer's completed milestones read "● Done": no score anywhere in the panel.
    for slug, c in peer["progress"].items():
        if c["score"] is not None:
            item = panel.locator(f'.story-milestones li[data-milestone="{slug}"]')
            expect(item).to_contain_text("● Done")
            assert str(c["score"]) not in item.inner_text()
    assert not re.search(r"score \d", panel.inner_text())
    assert not any("/timeline/" in url for url in requests)  # not asked for: theirs only
    expect(panel.locator(".story-timeline li")).to_have_count(0)
    expect(panel.get_by_role("button", name=re.compile("^History"))).to_have_count(0)  # mentors'
    # Live: the mentor scores the peer; the learner's panel still shows no number.
    slug = next(s for s, c in peer["progress"].items() if c["status"] != "completed")
    patch(mentor, peer["id"], slug, status="completed", score=64)
    item = panel.locator(f'.story-milestones li[data-milestone="{slug}"]')
    expect(item).to_contain_text("● Done", timeout=2000)
    assert "64" not in panel.inner_text()
    # Their own story: risk, scores and the timeline.
    page.keyboard.press("Escape")
    page.locator(f'#matrix tr[data-learner="{own}"] button.learner-name').click()
    expect(panel.locator(".story-timeline li").first).to_be_visible()
    expect(panel).to_contain_text(re.compile("On track|At risk"))
    assert unexpected(learner.errors) == []
    assert unexpected(mentor.errors) == []


# --------------------------------------------------------------------------------------
# 3. Cell history, restore, undo, conflicts
# --------------------------------------------------------------------------------------


def test_undo_within_10_s_makes_one_new_event_and_is_gone_after(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    target = quiet_learners(mentor)[10]
    slug, before = next(
        (s, c) for s, c in target["progress"].items() if c["status"] == "not_started"
    )
    edit(page, target["id"], slug, "in_progress")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Saved:")
    expect(cell(page, target["id"], slug)).to_have_text("◐ WIP", timeout=2000)
    saved_at = head(mentor)
    notice.get_by_role("button", name="Undo").click()
    expect(notice).to_contain_text("Undone:", timeout=2000)
    expect(cell(page, target["id"], slug)).to_have_text("○ —", timeout=2000)
    after = events_after(mentor, saved_at)
    assert len(after) == 1, after
    assert after[0]["kind"] == "progress.updated"
    assert after[0]["data"]["status"] == before["status"]
    assert after[0]["data"]["version"] == before["version"] + 2
    # Another edit: its Undo lasts 10 s and no longer.
    edit(page, target["id"], slug, "submitted")
    expect(notice.get_by_role("button", name="Undo")).to_be_visible()
    started = time.monotonic()
    expect(notice.get_by_role("button", name="Undo")).to_be_hidden(timeout=12_000)
    assert 9.0 <= time.monotonic() - started <= 11.5
    assert unexpected(mentor.errors) == []


def test_restore_brings_back_an_earlier_version_from_the_cells_history(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    target = quiet_learners(mentor)[12]
    slug = next(s for s, c in target["progress"].items() if c["status"] == "not_started")
    patch(mentor, target["id"], slug, status="in_progress")
    patch(mentor, target["id"], slug, status="completed", score=81)
    expect(cell(page, target["id"], slug)).to_have_text("● 81", timeout=2000)

    cell(page, target["id"], slug).click()
    dialog = page.locator("#editor")
    dialog.get_by_role("button", name="History").click()
    versions = dialog.locator(".versions li")
    status, history = mentor.api(
        "GET", f"/api/cohorts/1/progress/{target['id']}/{slug}/history/", None
    )
    assert status == 200
    expect(versions).to_have_count(len(history["results"]))
    newest = history["results"][0]
    expect(versions.first).to_contain_text(f"v{newest['version']} · ● Completed, score 81")
    expect(versions.first).to_contain_text("Nadia Bello")  # who
    expect(versions.first.locator("time")).to_have_attribute("datetime", newest["at"])  # when
    expect(versions.first.get_by_role("button")).to_have_count(0)  # the current one
    in_progress = next(v for v in history["results"] if v["status"] == "in_progress")
    seq = head(mentor)
    dialog.get_by_role("button", name=f"Restore version {in_progress['version']}").click()
    expect(cell(page, target["id"], slug)).to_have_text("◐ WIP", timeout=2000)
    expect(page.locator("#notice")).to_contain_text(f"(version {in_progress['version']} restored)")
    after = events_after(mentor, seq)
    assert [e["kind"] for e in after] == ["progress.updated"]
    assert after[0]["data"]["status"] == "in_progress"
    assert after[0]["data"]["version"] == newest["version"] + 1
    assert unexpected(mentor.errors) == []


def test_a_conflict_keeps_the_mentors_choice_to_apply_again(person) -> None:
    mentor = person("mentor")
    page = mentor.page
    target = quiet_learners(mentor)[14]
    slug = next(s for s, c in target["progress"].items() if c["status"] == "not_started")
    cell(page, target["id"], slug).click()
    page.locator("#editor-status").select_option("completed")
    page.locator("#editor-score").fill("73")
    patch(mentor, target["id"], slug, status="in_progress")  # someone else, meanwhile
    page.get_by_role("button", name="Save").click()
    dialog = page.locator("#editor")
    expect(dialog.locator(".conflict")).to_contain_text("changed meanwhile", timeout=3000)
    expect(dialog.locator(".conflict")).to_contain_text("In progress")
    expect(page.locator("#editor-status")).to_have_value("completed")
    expect(page.locator("#editor-score")).to_have_value("73")
    dialog.get_by_role("button", name="Save anyway").click()
    expect(cell(page, target["id"], slug)).to_have_text("● 73", timeout=2000)
    final = next(r for r in snapshot(mentor)["learners"] if r["id"] == target["id"])
    assert final["progress"][slug]["status"] == "completed"
    assert unexpected(mentor.errors, CONFLICT) == []


# --------------------------------------------------------------------------------------
# Accessibility
# --------------------------------------------------------------------------------------


def test_axe_finds_nothing_serious_with_the_story_panel_open(person) -> None:
    for who, size in (("mentor", {}), ("learner", PHONE)):
        page = person(who, bypass_csp=True, **size).page
        page.get_by_label("Overdue", exact=True).check()
        page.locator("#matrix tbody tr:not([hidden]) button.learner-name").first.click()
        panel = story(page)
        expect(panel).to_be_visible()
        expect(panel.locator(".story-status")).not_to_have_text("Loading activity…")
        assert serious_axe_violations(page) == [], who
        if who == "mentor":  # the cell's history, open in the editor above the panel
            panel.get_by_role("button", name=re.compile("^History")).first.click()
            expect(page.locator("#editor .versions li").first).to_be_visible()
            assert serious_axe_violations(page) == [], "history"
