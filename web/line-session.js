// The tab's place in line: one token, for one user and one concert, watched
// for as long as the tab wants it. It outlives the views on purpose: going
// from the waiting room to the seat map (or back to the concert list for a
// moment) must not drop the watch, because a WAITING token nobody asks about
// leaves the line after two minutes, and an ACTIVE one's end must reach the
// seat map.
//
// A session is {userId, concertId, token, status, firstPosition, mode,
// trouble, ended}; `status` is the last token body, `ended` the ApiError
// that ended it (its `reason` is spent | expired | unknown when it came from
// the stream).

import { api, serverNow } from './api.js';
import { watchToken } from './line-watch.js';
import { loadFirstPosition, saveFirstPosition } from './storage.js';

let session = null;
let joining = null; // {key, promise}: two views asking at once share one POST
const listeners = new Set();

export function currentSession() {
  return session;
}

/** Calls fn(session) after every change; returns the unsubscribe function. */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  for (const fn of [...listeners]) fn(session);
}

function isLiveFor(s, userId, concertId) {
  return s && !s.ended && s.userId === userId && s.concertId === concertId;
}

/**
 * Joins (or re-joins) the line that books `concertId`. Asking again for a
 * live session returns it without a request; otherwise POST
 * /api/v1/queue/tokens, which gives back the same token to a user who
 * already holds a live one, so a reload never costs a place in line.
 */
export function joinLine(userId, concertId) {
  if (isLiveFor(session, userId, concertId)) return Promise.resolve(session);
  const key = `${userId}/${concertId}`;
  if (joining && joining.key === key) return joining.promise;
  const promise = api.joinLine(userId, concertId).then((body) => {
    endSession();
    session = {
      userId, concertId, token: body.token, status: body,
      firstPosition: loadFirstPosition(body.token), mode: null, trouble: null, ended: null, watch: null,
    };
    noteFirstPosition(session);
    if (body.status !== 'SOLD_OUT') startWatching(session);
    notify();
    return session;
  });
  joining = { key, promise };
  const clear = () => { if (joining && joining.promise === promise) joining = null; };
  promise.then(clear, clear);
  return promise;
}

/** Drops the current session, if any, and joins again. */
export function rejoinLine(userId, concertId) {
  endSession();
  notify();
  return joinLine(userId, concertId);
}

function startWatching(s) {
  s.watch = watchToken(s.token, {
    onStatus(body) {
      if (session !== s) return;
      s.status = body;
      noteFirstPosition(s);
      // SOLD_OUT is final: a concert line closes only when every seat is
      // sold, and nothing gives a sold seat back.
      if (body.status === 'SOLD_OUT') stopWatching(s);
      notify();
    },
    onMode(mode) {
      if (session !== s) return;
      s.mode = mode;
      notify();
    },
    onTrouble(err, delayMs) {
      if (session !== s) return;
      s.trouble = err ? { err, retryAt: Date.now() + delayMs } : null;
      notify();
    },
    onEnd(err) {
      if (session !== s) return;
      markEnded(err);
    },
  });
}

function stopWatching(s) {
  if (s.watch) s.watch.stop();
  s.watch = null;
}

// The progress bar measures from the first place seen in the ordered line.
// A pre-queue "position" is only the pre-queue's size, not a place, so the
// measuring starts after the draw.
function noteFirstPosition(s) {
  const b = s.status;
  if (s.firstPosition || b.status !== 'WAITING' || b.preQueue || !(b.position > 0)) return;
  s.firstPosition = b.position;
  saveFirstPosition(s.token, b.position);
}

/**
 * Ends the session with `err` (a booking call said TOKEN_INVALID, or the
 * watch ended). A poll cannot tell "spent" from "ran out"; an ACTIVE token
 * past its expiresAt ran out, which is what the buyer needs to hear.
 */
export function markEnded(err) {
  const s = session;
  if (!s || s.ended) return;
  stopWatching(s);
  if (!err.reason && s.status.status === 'ACTIVE' && s.status.expiresAt
      && Date.parse(s.status.expiresAt) <= serverNow() + 1000) {
    err.reason = 'expired';
  }
  s.ended = err;
  notify();
}

/** After this tab's own payment: the token is spent, and that is no news. */
export function markSpent() {
  const s = session;
  if (!s) return;
  stopWatching(s);
  s.ended = { code: 'TOKEN_INVALID', reason: 'spent' };
  notify();
}

/** Stops watching and forgets the session (switching user, leaving). */
export function endSession() {
  if (session) stopWatching(session);
  session = null;
}

/** 0..1: how far from the first place seen to the front. */
export function progressOf(s) {
  const b = s.status;
  if (b.status === 'ACTIVE') return 1;
  if (b.status !== 'WAITING' || b.preQueue || !s.firstPosition) return 0;
  return Math.min(1, Math.max(0, (s.firstPosition - b.position) / s.firstPosition));
}
