// Following one queue token: Server-Sent Events first, polling when that
// fails. Either way the caller gets the same token bodies (onStatus) and one
// final onEnd(ApiError) when the token stops being live.
//
// Why both: the stream is cheaper for the server and quicker for the buyer
// (a change arrives within a second, no request per check), but an
// EventSource can be missing (old browsers, some embedded views), refused
// (429/503 when opening it: the browser then gives up for good, without
// telling us the status) or cut by a proxy that buffers or times out
// long responses. A place in line must not be lost to any of that: a
// WAITING token that nobody asks about for BOXOFFICE_IDLE_SECONDS (120 s by
// default) leaves the line, so something must keep asking.

import { api, problemToError, serverNow } from './api.js';
import { Backoff, isRetryable } from './backoff.js';

// Drops of a stream that had delivered nothing since the last drop; past
// this many the connection is judged unusable and polling takes over.
const STREAM_FAILURES_BEFORE_POLLING = 3;

// Poll pacing, the same shape as the server's own stream pacing
// (src/api/queue_stream.c): every second near the front, further back a
// tenth of the estimated wait (at most every 5 s), so that an admission is
// noticed quickly without thousands of far-back buyers polling every second.
export function pollDelayMs(body) {
  if (!body) return 1000;
  if (body.status === 'ACTIVE') {
    // Nothing changes until the active time ends; ask just after it does
    // (expiresAt is whole seconds, the real end up to a second later).
    const end = Date.parse(body.expiresAt) - serverNow() + 1100;
    return Number.isNaN(end) ? 5000 : Math.min(5000, Math.max(1000, end));
  }
  if (body.preQueue) return 5000;
  if (body.position <= 10 || body.estimatedWaitSeconds <= 10) return 1000;
  return Math.min(5000, Math.max(1000, body.estimatedWaitSeconds * 100));
}

/**
 * watchToken(token, {onStatus, onEnd, onMode, onTrouble}) → {stop()}
 *  onStatus(body)        a token body (WAITING, ACTIVE or SOLD_OUT)
 *  onEnd(apiError)       the token is no longer live; nothing follows
 *  onMode('stream'|'poll')
 *  onTrouble(err, delayMs)  a poll failed and will be retried in delayMs
 *                          (null err: the trouble is over)
 */
export function watchToken(token, handlers, { preferStream = true } = {}) {
  const on = {
    onStatus: () => {}, onEnd: () => {}, onMode: () => {}, onTrouble: () => {}, ...handlers,
  };
  let stopped = false;
  let source = null;
  let timer = null;
  let failures = 0;
  let pollAbort = null;
  const backoff = new Backoff({ baseMs: 1000, maxMs: 30000 });

  function finish(err) {
    if (stopped) return;
    stop();
    on.onEnd(err);
  }

  function deliver(text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return; // a malformed event tells nothing; the next one will
    }
    if (body && typeof body.status === 'string') on.onStatus(body);
  }

  function openStream() {
    on.onMode('stream');
    source = new EventSource(api.streamUrl(token));
    // Events without an `event:` name are status updates.
    source.onmessage = (event) => {
      failures = 0;
      deliver(event.data);
    };
    source.addEventListener('end', (event) => {
      let problem = null;
      try {
        problem = JSON.parse(event.data);
      } catch {
        /* an end without a readable body still ends the token */
      }
      closeStream(); // else the browser would reconnect and get a 401
      finish(problemToError(problem));
    });
    source.onerror = () => {
      if (stopped || !source) return;
      failures += 1;
      // CLOSED: the browser gave up (an answer that was not a stream: 401,
      // 429, 503 ...). CONNECTING: it will retry by itself after the
      // server's `retry:` delay; give it a few tries before polling.
      if (source.readyState === EventSource.CLOSED || failures >= STREAM_FAILURES_BEFORE_POLLING) {
        closeStream();
        startPolling();
      }
    };
  }

  function closeStream() {
    if (source) {
      source.onmessage = null;
      source.onerror = null;
      source.close();
      source = null;
    }
  }

  function startPolling() {
    on.onMode('poll');
    // The first poll runs at once: it either continues the line's news or,
    // when the stream was refused because the token is gone, says so (401).
    schedulePoll(0);
  }

  function schedulePoll(ms) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(poll, ms);
  }

  async function poll() {
    pollAbort = new AbortController();
    try {
      const body = await api.queueStatus(token, { signal: pollAbort.signal });
      if (stopped) return;
      if (backoff.attempt > 0) on.onTrouble(null, 0);
      backoff.reset();
      on.onStatus(body);
      schedulePoll(pollDelayMs(body));
    } catch (err) {
      if (stopped || (err && err.name === 'AbortError')) return;
      if (isRetryable(err)) {
        const delay = backoff.next(err.retryAfter);
        on.onTrouble(err, delay);
        schedulePoll(delay);
      } else {
        finish(err); // TOKEN_INVALID: spent, run out, or dropped from the line
      }
    } finally {
      pollAbort = null;
    }
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    closeStream();
    if (pollAbort) pollAbort.abort();
  }

  if (preferStream && typeof EventSource === 'function') openStream();
  else startPolling();

  return { stop };
}
