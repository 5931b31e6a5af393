// The page's writes: a cell's status (optimistic, rolled back on refusal), kudos and
// comments. None goes out while the page is not live: what it shows may be out of date,
// and the server may be gone; the person is told why instead.

import { ApiError, api, errorSentence } from "./api.js";
import { STATUS_LABEL } from "./format.js";

const NOT_LIVE = "the page is not live right now (see the badge at the top). It reconnects by itself; try again once it says Live.";

/**
 * Return {openEditor, saveCell, giveKudos, addComment} for a page.
 *
 * page: {sync(), cohortId(), role(), canEdit(learnerId), matrix, feed, editor, notify,
 * live(), sessionCheck(error)}; sessionCheck is told of every refusal, to notice a
 * session that ended.
 */
export function createWrites(page) {
  const { matrix, feed, editor, notify } = page;

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

  function openEditor(learnerId, slug, anchor) {
    if (refuseWhenNotLive()) return;
    const state = page.state();
    const learner = state.learners[learnerId];
    const milestone = state.milestones.find((m) => m.slug === slug);
    const pending = matrix.pending.get(`${learnerId}:${slug}`);
    const cell = { ...(pending ?? learner.progress[slug]), version: shownVersion(learnerId, slug) };
    const role = page.canEdit(learnerId) === "mentor" ? "mentor" : "learner";
    if (role === "learner" && cell.status === "completed") {
      notify(`${milestone.title} is completed: only a mentor can reopen it.`);
      return;
    }
    editor.open({ learner, milestone, cell, role, anchor });
  }

  async function saveCell({ learnerId, slug, status, score, version = shownVersion(learnerId, slug) }) {
    if (refuseWhenNotLive()) return;
    const state = page.state();
    const learner = state.learners[learnerId];
    const milestone = state.milestones.find((m) => m.slug === slug);
    const what = `${learner.name} · ${milestone.title}`;
    const body = { status, version };
    if (page.canEdit(learnerId) === "mentor" && status === "completed") body.score = score;
    matrix.setPending(learnerId, slug, { status, score: status === "completed" ? score : null });
    try {
      const result = await api.progress(page.cohortId(), learnerId, slug, body);
      // Keep showing the saved value until its event lands in the state.
      matrix.setPending(learnerId, slug, { status: result.status, score: result.score, awaitVersion: result.version });
      notify(`Saved: ${what} is ${STATUS_LABEL[result.status]}.`, "ok", 4000);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.body?.current) {
        const current = error.body.current;
        matrix.setPending(learnerId, slug, { status: current.status, score: current.score, awaitVersion: current.version });
        matrix.flash(learnerId, slug, "conflict");
        const scored = current.score != null ? ` (${current.score})` : "";
        notify(`Not saved: ${what} was changed meanwhile; it is now ${STATUS_LABEL[current.status]}${scored}.`, "warn");
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
