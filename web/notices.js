// The page's two live regions (index.html and operator.html both have them):
// errors in a role="alert" region, announced at once, and progress news in a
// role="status" region, announced politely. Each shows the latest message
// only: a stack of stale errors helps nobody. The error region carries the
// code in data-code, which is what the end-to-end tests look at.

import { describe } from './messages.js';

function region(id) {
  return document.getElementById(id);
}

function setBox(boxId, regionId, text, code) {
  const box = region(boxId);
  const live = region(regionId);
  if (!box || !live) return;
  live.textContent = text || '';
  if (code) live.dataset.code = code;
  else delete live.dataset.code;
  // The live region itself must stay rendered (a region that appears with
  // its text is often not announced); only the frame and the dismiss button
  // come and go.
  box.classList.toggle('is-shown', Boolean(text));
  const dismiss = box.querySelector('button');
  if (dismiss) dismiss.hidden = !text;
  // The message bar is sticky; keep a focused control from scrolling under it.
  document.documentElement.classList.toggle('has-message', Boolean(region('error-region')?.textContent));
}

/** Shows an error (ApiError or {code}) in plain words; see messages.js. */
export function showError(err, overrides) {
  setBox('error-box', 'error-region', describe(err, overrides), (err && err.code) || 'INTERNAL');
}

/** Shows an error sentence that is not about an API answer (form checks). */
export function showErrorText(text, code = 'CLIENT') {
  setBox('error-box', 'error-region', text, code);
}

export function clearError() {
  setBox('error-box', 'error-region', '', null);
}

export function showNotice(text) {
  setBox('notice-box', 'notice-region', text, null);
}

export function clearNotice() {
  setBox('notice-box', 'notice-region', '', null);
}

/** Wires the dismiss buttons next to the regions (once per page). */
export function initNotices() {
  region('error-dismiss')?.addEventListener('click', clearError);
  region('notice-dismiss')?.addEventListener('click', clearNotice);
}

/** Clears the error region only if it still shows one of `codes`. */
export function clearErrorIf(codes) {
  const live = region('error-region');
  if (live && codes.includes(live.dataset.code)) clearError();
}
