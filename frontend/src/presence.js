// Who is viewing the cohort now: one entry per person, merged from `presence` frames.
// Pure: `node --test` runs it (through state.js, which re-exports it).

/** Return presence entries with one per person (the earliest `since` wins), oldest first. */
export function presenceFromList(entries) {
  const byUser = new Map();
  for (const entry of entries) {
    const id = entry?.user?.id;
    if (id === undefined) continue;
    const known = byUser.get(id);
    if (!known || String(entry.since) < String(known.since)) byUser.set(id, { ...entry });
  }
  return [...byUser.values()].sort((a, b) => String(a.since).localeCompare(String(b.since)));
}

/** Apply a `presence` frame's joins and leaves; return the new list. */
export function applyPresence(presence, joins = [], leaves = []) {
  const gone = new Set(leaves.map((e) => e?.user?.id));
  const kept = presence.filter((e) => !gone.has(e.user.id));
  return presenceFromList([...kept, ...joins]);
}
