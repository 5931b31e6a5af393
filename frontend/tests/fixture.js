// The recorded cohort the tests replay: frontend/tests/fixtures/cohort.json, or the file
// STATE_FIXTURE names (tests/e2e/test_state_fixture.py records one from the server in its
// own test session and runs these tests on it, so server/client drift fails a test).

import { readFileSync } from "node:fs";

export function loadFixture() {
  const path = process.env.STATE_FIXTURE || new URL("./fixtures/cohort.json", import.meta.url);
  return JSON.parse(readFileSync(path, "utf8"));
}
