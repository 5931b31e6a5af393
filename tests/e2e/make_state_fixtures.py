"""Write frontend/tests/fixtures/cohort.json: a snapshot, the events after it, a fresh snapshot.

The node test ``frontend/tests/state.test.js`` applies the events to the first snapshot with
the page's own ``applyEvent`` and compares the result with the fresh snapshot (STYLE.md 6).
Every event kind is among the writes, made through the REST API and the services as the
product makes them, on the demo data in a throwaway SQLite file.

Run: ``.venv/bin/python tests/e2e/make_state_fixtures.py [output.json]``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "frontend" / "tests" / "fixtures" / "cohort.json"


def main(out: Path) -> None:
    """Record the fixture in a throwaway SQLite database and write it to ``out``."""
    workdir = tempfile.mkdtemp(prefix="fixtures-")
    os.environ["SQLITE_PATH"] = str(Path(workdir) / "db.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings.base")
    os.environ["WRITE_THROTTLE"] = "off"
    os.environ["SIMULATE"] = "0"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fixture = record()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    seqs = f"seq {fixture['before']['seq']} -> {fixture['after']['seq']}"
    print(f"wrote {out}: {len(fixture['events'])} events, {seqs}")


def record() -> dict:
    """Seed the demo data into the current database, make every kind of write, and return
    ``{"before", "events", "after"}`` as the mentor's REST answers give them.

    ``tests/e2e/test_state_fixture.py`` calls it inside the test session, so the page's
    ``applyEvent`` is checked against what the server sends today, not a recorded copy.
    """
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client

    from dashboard.models import Cohort, Membership
    from dashboard.services.cohorts import cohort_update, learner_add
    from dashboard.services.events import event_append

    call_command("seed_demo", verbosity=0, force=True)

    mentor = Client()
    mentor.force_login(User.objects.get(username="mentor"))
    learner = Client()
    learner_user = User.objects.get(username="learner")
    learner.force_login(learner_user)
    cohort = Cohort.objects.get(memberships__user__username="mentor")
    cid = cohort.pk

    def get(client: Client, path: str) -> dict:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content)
        return response.json()

    def send(client: Client, method: str, path: str, body: dict | None = None) -> dict:
        response = getattr(client, method)(
            path, data=json.dumps(body or {}), content_type="application/json"
        )
        assert response.status_code in (200, 201), (path, response.status_code, response.content)
        return response.json()

    before = get(mentor, f"/api/cohorts/{cid}/snapshot/")
    # Versions to send, kept apart from ``before`` (which is written out as it was read).
    cells = {
        row["id"]: {slug: {"version": cell["version"]} for slug, cell in row["progress"].items()}
        for row in before["learners"]
    }
    own = Membership.objects.get(user=learner_user, cohort_id=cid).pk
    others = [row["id"] for row in before["learners"] if row["id"] != own][:3]
    slugs = [m["slug"] for m in before["milestones"]]

    def patch(client: Client, learner_id: int, slug: str, **change: object) -> dict:
        version = cells[learner_id][slug]["version"]
        result = send(
            client,
            "patch",
            f"/api/cohorts/{cid}/progress/{learner_id}/{slug}/",
            {"version": version, **change},
        )
        cells[learner_id][slug] = {"version": result["version"]}
        return result

    # Mentor: complete, reopen, rescore; the learner moves their own cell forward and back.
    patch(mentor, others[0], slugs[-1], status="completed", score=77)
    patch(mentor, others[0], slugs[-1], score=91)
    patch(mentor, others[1], slugs[0], status="in_progress")
    patch(mentor, others[2], slugs[-2], status="submitted")
    own_row = next(row for row in before["learners"] if row["id"] == own)
    own_slug = next(s for s in slugs if own_row["progress"][s]["status"] != "completed")
    status_now = own_row["progress"][own_slug]
    path = {
        "not_started": ["in_progress", "submitted", "in_progress"],
        "in_progress": ["submitted", "in_progress"],
        "submitted": ["in_progress", "submitted"],
    }.get(status_now["status"], [])
    for status in path:
        patch(learner, own, own_slug, status=status)

    first = send(mentor, "post", f"/api/cohorts/{cid}/events/{before['seq'] + 1}/kudos/")
    send(learner, "post", f"/api/cohorts/{cid}/events/{first['event']}/kudos/")
    # The newest event in the snapshot's feed that takes kudos (not itself kudos or a comment).
    reactable = next(e for e in before["feed"] if e["kind"] not in ("kudos.added", "comment.added"))
    send(learner, "post", f"/api/cohorts/{cid}/events/{reactable['seq']}/kudos/")
    send(
        mentor,
        "post",
        f"/api/cohorts/{cid}/events/{before['seq'] + 1}/comments/",
        {"text": "Great work <script>alert(1)</script>"},
    )
    second = before["seq"] + 2
    send(learner, "post", f"/api/cohorts/{cid}/events/{second}/comments/", {"text": "ok"})

    newcomer = User.objects.create_user(
        "newcomer", password="newcomer", first_name='<img src=x onerror="alert(1)">', last_name="Q"
    )
    admin = User.objects.get(username="admin")
    learner_add(actor=admin, cohort=cohort, user=newcomer)
    cohort_update(actor=admin, cohort=cohort, name="Cohort 7 (renamed)")
    with transaction.atomic():
        event_append(cohort_id=cid, kind="report.daily", actor=None, data={"note": "unknown kind"})
    new_id = Membership.objects.get(user=newcomer, cohort_id=cid).pk
    cells[new_id] = {slugs[0]: {"version": 1}}
    patch(mentor, new_id, slugs[0], status="in_progress")

    page = get(mentor, f"/api/cohorts/{cid}/events/?after={before['seq']}&limit=500")
    after = get(mentor, f"/api/cohorts/{cid}/snapshot/")
    assert page["head"] == after["seq"], (page["head"], after["seq"])
    return {"before": before, "events": page["results"], "after": after}


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
