"""The page's own ``applyEvent`` (frontend/src/state.js) on what the server sends today.

The node tests replay a recorded fixture; this records a fresh one from the server inside
the test session (every event kind, through the REST API and the services) and runs the
node tests that use it on that, so a server change the client does not follow fails here.
It is not a browser test: it runs in the ordinary pytest run (not marked e2e).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.make_state_fixtures import record

pytestmark = pytest.mark.django_db(transaction=True)

NODE_TESTS = ["state.test.js", "risk.test.js", "views.test.js", "sync.test.js"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_applies_todays_server_events_to_a_fresh_snapshot(tmp_path, settings) -> None:
    settings.WRITE_THROTTLE = "off"
    fixture = record()
    kinds = {event["kind"] for event in fixture["events"]}
    assert {"progress.updated", "kudos.added", "comment.added", "learner.added"} <= kinds
    path = tmp_path / "cohort.json"
    path.write_text(json.dumps(fixture))
    done = subprocess.run(
        ["node", "--test", *(str(ROOT / "frontend" / "tests" / name) for name in NODE_TESTS)],
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "STATE_FIXTURE": str(path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
