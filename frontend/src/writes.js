// The page's writes: a cell's status (optimistic, rolled back on refusal), its undo and
// the restore of an earlier version, kudos and comments. None goes out while the page is
// not live: what it shows may be out of date, and the server may be gone; the person is
// told why instead.

import { ApiError, api, errorSentence } from "./api.js";
import { STATUS_LABEL } from "./format.js";

const NOT_LIVE = "the page is not live right now (see the badge at the top). It reconnects by itself; try again once it says Live.";
/** How long a mentor's "Saved" notice offers "Undo". */
export const UNDO_MS = 10_000;

/** Return the PATCH body of a change: the score goes only with a mentor's "completed". */
export function changeBody(role, { status, score, version }) {
  const body = { status, version };
  if (role === "mentor" && status === "completed") body.score = score;
  return body;
}

/** Return the change that undoes a saved one: back to `before`, on the version it saved. */
export function undoOf(before, saved) {
  const status = before?.status ?? "not_started";
  return { status, score: status === "completed" ? (before.score ?? null) : null, version: saved.version };
}

/**
 * Return {openEditor, saveCell, giveKudos, addComment} for a page.
 *
 * page: {sync(), cohortId(), role(), canEdit(learnerId), matrix, feed, editor, notify,
 * live(), sessionCheck(error)}; sessionCheck is told of every refusal, to notice a
 * session that ended.
 */
export function createWrites(page) {
  const { matrix, feed, editor, notify } = page;

  /** Return the value a cell shows: a saved value awaiting its event, else the state's. */
  function shownValue(learnerId, slug) {
    const cell = matrix.pending.get(`${learnerId}:${slug}`) ?? page.state().learners[learnerId].progress[slug];
    return { status: cell?.status ?? "not_started", score: cell?.score ?? null };
  }

  /** Return the version of the value a cell shows: a saved value awaiting its event counts. */
  function shownVersion(learnerId, slug) {
    const confirmed = page.state().learners[learnerId].progress[slug];
    const awaited = matrix.pending.get(`${learnerId}:${slug}`)?.awaitVersion ?? 0;
    return Math.max(confirmed.version, awaited);
  }

  /** Return true (and say why) when the page is not live; `what` is "Not saved" or "Not sent". */
  function refuseWhenNotLive(what = "Not saved") {
    if (page.live()) return false;
    notify(`${what}: ${NOT_LIVE}`, "warn");
    return true;
  }

  const roleFor = (learnerId) => (page.canEdit(learnerId) === "mentor" ? "mentor" : "learner");
  // Mentors and staff read a cell's history from the editor (GET .../history/).
  const historyOf = (learnerId, slug) =>
    roleFor(learnerId) === "mentor"
      ? () => api.history(page.cohortId(), learnerId, slug).then((body) => body.results ?? [])
      : null;

  /** Open the cell's editor; `showHistory` opens its history too (from the learner panel). */
  function openEditor(learnerId, slug, anchor, { showHistory = false } = {}) {
    if (refuseWhenNotLive()) return;
    const state = page.state();
    const learner = state.learners[learnerId];
    const milestone = state.milestones.find((m) => m.slug === slug);
    const pending = matrix.pending.get(`${learnerId}:${slug}`);
    const cell = { ...(pending ?? learner.progress[slug]), version: shownVersion(learnerId, slug) };
    const role = roleFor(learnerId);
    if (role === "learner" && cell.status === "completed") {
      notify(`${milestone.title} is completed: only a mentor can reopen it.`);
      return;
    }
    editor.open({ learner, milestone, cell, role, anchor, history: historyOf(learnerId, slug), showHistory });
  }

  /**
   * Save a cell's status (and a mentor's score) on `version`. kind: "edit", "restore" (an
   * earlier version, `restored`) or "undo". A mentor's saved change offers "Undo" for
   * UNDO_MS: the change back to what the cell showed before, on the version just saved.
   */
  async function saveCell({ learnerId, slug, status, score, version = shownVersion(learnerId, slug), kind = "edit", restored = null }) {
    if (refuseWhenNotLive()) return;
    const state = page.state();
    const learner = state.learners[learnerId];
    const milestone = state.milestones.find((m) => m.slug === slug);
    const what = `${learner.name} · ${milestone.title}`;
    const role = roleFor(learnerId);
    const before = shownValue(learnerId, slug);
    const body = changeBody(role, { status, score, version });
    matrix.setPending(learnerId, slug, { status, score: status === "completed" ? score : null });
    try {
      const result = await api.progress(page.cohortId(), learnerId, slug, body);
      // Keep showing the saved value until its event lands in the state.
      matrix.setPending(learnerId, slug, { status: result.status, score: result.score, awaitVersion: result.version });
      const now = STATUS_LABEL[result.status];
      if (kind === "undo") {
        notify(`Undone: ${what} is back to ${now}.`, "ok", 4000);
      } else if (role === "mentor" && result.seq !== null && result.seq !== undefined) {
        const undo = undoOf(before, result);
        const until = Date.now() + UNDO_MS;
        const from = restored === null ? "" : ` (version ${restored} restored)`;
        notify(`Saved: ${what} is ${now}${from}.`, "ok", UNDO_MS, {
          label: "Undo",
          run: () => Date.now() <= until && saveCell({ learnerId, slug, ...undo, kind: "undo" }),
        });
      } else {
        notify(`Saved: ${what} is ${now}.`, "ok", 4000);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.body?.current) {
        const current = error.body.current;
        matrix.setPending(learnerId, slug, { status: current.status, score: current.score, awaitVersion: current.version });
        matrix.flash(learnerId, slug, "conflict");
        const scored = current.score != null ? ` (${current.score})` : "";
        const said = `${what} was changed meanwhile; it is now ${STATUS_LABEL[current.status]}${scored}.`;
        notify(`Not saved: ${said}`, "warn");
        // A mentor gets the editor back with what they chose, to apply it over the new value.
        if (role === "mentor" && !editor.isOpen) {
          editor.open({
            learner,
            milestone,
            cell: { status: current.status, score: current.score ?? null, version: current.version },
            role,
            anchor: matrix.cells.get(`${learnerId}:${slug}`),
            draft: { status, score },
            conflict: `Not saved: ${said} Your choice is kept below: save it to apply it over that.`,
            history: historyOf(learnerId, slug),
          });
        }
      } else {
        matrix.setPending(learnerId, slug, null);
        matrix.flash(learnerId, slug, "refused");
        notify(`Not saved: ${what}. ${errorSentence(error)}`, "warn");
        page.sessionCheck(error);
      }
    }
  }

  async function giveKudos(seq) {
    if (refuseWhenNotLive("Kudos not sent")) return;
    try {
      const result = await api.kudos(page.cohortId(), seq);
      feed.showKudos(seq, result.kudos);
    } catch (error) {
      notify(`Kudos not given. ${errorSentence(error)}`, "warn");
      page.sessionCheck(error);
    }
  }

  async function addComment(seq, text) {
    if (refuseWhenNotLive("Comment not sent")) throw new Error("not live");
    try {
      await api.comment(page.cohortId(), seq, text);
    } catch (error) {
      notify(`Comment not sent. ${errorSentence(error)}`, "warn");
      page.sessionCheck(error);
      throw error;
    }
  }

  return { openEditor, saveCell, giveKudos, addComment };
}
