"""Every row of api.md, over HTTP, against the real server started by `make run`."""

from __future__ import annotations

import os
import re

import pytest
import requests

from tests.dashboard.cache_helpers import API_SAMPLE_FIELDS

pytestmark = pytest.mark.slow
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Api:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            return self.session.request(method.upper(), self.base + path, timeout=15, **kwargs)

        return call


@pytest.fixture(scope="module")
def api(server, tokens):
    return {name: Api(server, token) for name, token in tokens.items()} | {"anon": Api(server)}


def test_health_and_readiness(api):
    assert api["anon"].get("/healthz").status_code == 200
    ready = api["anon"].get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


def test_token_pair_refresh_and_bad_credentials(server):
    pair = requests.post(
        f"{server}/api/auth/token/", json={"username": "mentor", "password": "mentor"}, timeout=10
    ).json()
    refreshed = requests.post(
        f"{server}/api/auth/token/refresh/", json={"refresh": pair["refresh"]}, timeout=10
    )
    assert refreshed.status_code == 200 and "access" in refreshed.json()
    bad = requests.post(
        f"{server}/api/auth/token/", json={"username": "mentor", "password": "wrong"}, timeout=10
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "authentication_failed"


def test_me_for_each_demo_login(api):
    me = {
        name: api[name].get("/api/me/").json() for name in ("admin", "mentor", "mentor2", "learner")
    }
    assert me["admin"]["is_staff"] is True
    assert me["mentor"]["memberships"] == [{"cohort": 1, "role": "mentor", "learner": None}]
    assert me["mentor2"]["memberships"] == [{"cohort": 2, "role": "mentor", "learner": None}]
    [membership] = me["learner"]["memberships"]
    assert membership["cohort"] == 1 and membership["role"] == "learner"
    assert isinstance(membership["learner"], int)
    assert api["anon"].get("/api/me/").status_code == 401


def test_cohort_list_is_filtered_by_visibility(api):
    assert [c["id"] for c in api["admin"].get("/api/cohorts/").json()] == [1, 2]
    [cohort] = api["mentor"].get("/api/cohorts/").json()
    assert cohort["id"] == 1 and cohort["learner_count"] == 40
    assert 0 < cohort["completion"] < 1
    assert [c["id"] for c in api["mentor2"].get("/api/cohorts/").json()] == [2]


def test_snapshot_of_the_demo_cohort(api):
    snapshot = api["mentor"].get("/api/cohorts/1/snapshot/").json()
    assert snapshot["cohort"]["id"] == 1
    assert len(snapshot["milestones"]) == 13
    assert len(snapshot["learners"]) == 40
    assert all(len(row["progress"]) == 13 for row in snapshot["learners"])
    assert 0 < len(snapshot["feed"]) <= 50
    assert snapshot["feed"][0]["seq"] == snapshot["seq"]
    assert ISO_MS.match(snapshot["feed"][0]["at"])
    assert isinstance(snapshot["presence"], list)


def test_other_cohorts_are_404_like_missing_ones(api):
    hidden = api["mentor2"].get("/api/cohorts/1/snapshot/")
    missing = api["mentor2"].get("/api/cohorts/424242/snapshot/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_events_paging(api):
    page = api["mentor"].get("/api/cohorts/1/events/?after=10&limit=5").json()
    assert [e["seq"] for e in page["results"]] == [11, 12, 13, 14, 15]
    assert page["head"] >= 15
    assert api["mentor"].get("/api/cohorts/1/events/?limit=501").status_code == 400


def _learner_cell(api):
    me = api["learner"].get("/api/me/").json()
    learner_id = me["memberships"][0]["learner"]
    snapshot = api["learner"].get("/api/cohorts/1/snapshot/").json()
    row = next(r for r in snapshot["learners"] if r["id"] == learner_id)
    slug, cell = next((s, c) for s, c in row["progress"].items() if c["status"] == "not_started")
    return learner_id, slug, cell


def test_progress_patch_roles_conflicts_and_events(api):
    learner_id, slug, cell = _learner_cell(api)
    path = f"/api/cohorts/1/progress/{learner_id}/{slug}/"
    moved = api["learner"].patch(path, json={"status": "in_progress", "version": cell["version"]})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["status"] == "in_progress" and body["version"] == cell["version"] + 1
    assert isinstance(body["seq"], int)

    stale = api["mentor"].patch(path, json={"status": "submitted", "version": cell["version"]})
    assert stale.status_code == 409
    assert stale.json()["current"]["version"] == body["version"]

    refused = api["learner"].patch(path, json={"status": "completed", "version": body["version"]})
    assert refused.status_code == 400

    done = api["mentor"].patch(
        path, json={"status": "completed", "score": 91, "version": body["version"]}
    )
    assert done.status_code == 200 and done.json()["score"] == 91

    events = api["mentor"].get(f"/api/cohorts/1/events/?after={body['seq'] - 1}").json()["results"]
    assert [e["kind"] for e in events[:2]] == ["progress.updated", "progress.updated"]
    assert events[1]["data"]["status"] == "completed"

    other = api["mentor2"].patch(path, json={"status": "submitted", "version": 1})
    assert other.status_code == 404


def test_kudos_and_comments(api):
    seq = api["mentor"].get("/api/cohorts/1/events/?after=0&limit=1").json()["results"][0]["seq"]
    first = api["mentor2"].post(f"/api/cohorts/1/events/{seq}/kudos/")
    assert first.status_code == 404  # not in mentor2's cohort
    learner_kudos = api["learner"].post(f"/api/cohorts/1/events/{seq}/kudos/")
    assert learner_kudos.status_code in (200, 201)
    again = api["learner"].post(f"/api/cohorts/1/events/{seq}/kudos/")
    assert again.status_code == 200
    assert again.json()["kudos"] == learner_kudos.json()["kudos"]
    comment = api["learner"].post(f"/api/cohorts/1/events/{seq}/comments/", json={"text": "Nice!"})
    assert comment.status_code == 201
    assert comment.json()["text"] == "Nice!" and ISO_MS.match(comment.json()["at"])
    assert (
        api["learner"].post(f"/api/cohorts/1/events/{seq}/comments/", json={"text": ""}).status_code
        == 400
    )


def test_bad_input_is_4xx_never_5xx(api):
    client = api["mentor"]
    cases = [
        client.patch(
            "/api/cohorts/1/progress/1/python/",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        client.patch(
            "/api/cohorts/1/progress/1/python/",
            data=b"x" * 70000,
            headers={"Content-Type": "application/json"},
        ),
        client.patch(
            "/api/cohorts/1/progress/1/no-such-milestone/", json={"status": "x", "version": 1}
        ),
        client.get("/api/cohorts/99999999999999999999999/snapshot/"),
        client.get("/api/cohorts/1/events/?after=banana"),
        client.post("/api/cohorts/1/events/999999999/kudos/"),
    ]
    assert [r.status_code for r in cases] == [400, 413, 400, 404, 400, 404]
    assert all("error" in r.json() for r in cases)


def test_schema_and_swagger_ui(api):
    schema = api["anon"].get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/cohorts/{cohort_id}/snapshot/" in schema.json()["paths"]
    docs = api["anon"].get("/api/docs/")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_browser_session_login_and_csrf_protected_write(server):
    browser = requests.Session()
    login_page = browser.get(f"{server}/login/", timeout=10)
    token = browser.cookies["csrftoken"]
    assert login_page.status_code == 200
    signed_in = browser.post(
        f"{server}/login/",
        data={"username": "mentor", "password": "mentor", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{server}/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert signed_in.status_code == 302
    assert browser.get(f"{server}/api/me/", timeout=10).json()["username"] == "mentor"
    seq = browser.get(f"{server}/api/cohorts/1/events/?limit=1", timeout=10).json()["results"][0][
        "seq"
    ]
    no_csrf = browser.post(
        f"{server}/api/cohorts/1/events/{seq}/comments/", json={"text": "hi"}, timeout=10
    )
    assert no_csrf.status_code == 403
    with_csrf = browser.post(
        f"{server}/api/cohorts/1/events/{seq}/comments/",
        json={"text": "hi"},
        headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{server}/"},
        timeout=10,
    )
    assert with_csrf.status_code == 201


def test_cache_metrics_for_mentors_and_staff_only(api):
    for name in ("mentor", "admin"):
        body = api[name].get("/api/metrics/cache/").json()
        assert set(body) >= {"current", "history"}
        sample = body["current"]
        if sample is not None:  # the in-process sampler's first tick may still be coming
            assert set(sample) >= API_SAMPLE_FIELDS
            if not os.environ.get("REDIS_URL"):  # the embedded default caches in local memory
                assert sample["redis"] is None
    assert api["learner"].get("/api/metrics/cache/").status_code == 403
    assert api["anon"].get("/api/metrics/cache/").status_code == 401
