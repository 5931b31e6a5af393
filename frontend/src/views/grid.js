// Arrow-key movement in the matrix (a grid of buttons): which button a key moves to.
// Rows the filter hides are skipped, and so is the completion column (nothing to press).

const CONTROLS = "button.cell, button.learner-name";

function sibling(el, step) {
  return step > 0 ? el.nextElementSibling : el.previousElementSibling;
}

/** Return the visible row after (step 1) or before (step -1) `tr`, or null. */
function rowFrom(tr, step) {
  let row = sibling(tr, step);
  while (row?.hidden) row = sibling(row, step);
  return row;
}

/** Return the next cell of the row, in direction `step`, that holds a control, or null. */
function cellFrom(cell, step) {
  let next = sibling(cell, step);
  while (next && !next.querySelector(CONTROLS)) next = sibling(next, step);
  return next;
}

/**
 * Return the control that `key` moves to from `from` (a matrix button or inside one), or
 * null when the key is not a move or there is nowhere to go. Home and End go to the row's
 * first and last milestone cells; ArrowLeft from the first cell reaches the learner's name.
 */
export function gridTarget(from, key) {
  const button = from?.closest?.(CONTROLS);
  if (!button) return null;
  const tr = button.closest("tr");
  const cell = button.closest("td, th");
  const column = [...tr.children].indexOf(cell);
  const moves = {
    ArrowRight: () => cellFrom(cell, 1),
    ArrowLeft: () => cellFrom(cell, -1),
    ArrowDown: () => rowFrom(tr, 1)?.children[column],
    ArrowUp: () => rowFrom(tr, -1)?.children[column],
    Home: () => tr.children[2],
    End: () => tr.lastElementChild,
  };
  const target = moves[key]?.();
  return target?.querySelector?.(CONTROLS) ?? null;
}
