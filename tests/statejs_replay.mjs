// Replay server frames with the page's own state.js: the Python tests' one applyEvent.
//
// Usage: node tests/statejs_replay.mjs INPUT.json
// INPUT: {"snapshot": <a REST snapshot>, "frames": [[event, ...], ...]} (one list per
// `event` / `events` frame, in arrival order). Each frame goes through applyEvents as
// frontend/src/sync.js applies it. Prints one JSON object: the final state in the
// snapshot's shape ({seq, cohort, milestones, learners (in order), feed, stats}) and
// each frame's {applied, duplicates, gap}. Driven by tests/statejs.py.

import { readFileSync } from "node:fs";

import { applyEvents, stateFromSnapshot } from "../frontend/src/state.js";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
let state = stateFromSnapshot(input.snapshot);
const frames = [];
for (const events of input.frames) {
  const result = applyEvents(state, events);
  frames.push({ applied: result.applied, duplicates: result.duplicates, gap: result.gap });
  state = result.state;
}
const out = {
  state: {
    seq: state.seq,
    cohort: state.cohort,
    milestones: state.milestones,
    learners: state.order.map((id) => state.learners[id]),
    feed: state.feed,
    stats: state.stats,
  },
  frames,
};
process.stdout.write(JSON.stringify(out));
