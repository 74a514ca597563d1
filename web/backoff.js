// Waiting politely. When the server says "busy" (429, 503) or cannot be
// reached, every page that was knocked off at the same moment would come
// back at the same moment if they all waited the same time; a random share
// of an exponentially growing delay spreads them out.

export class Backoff {
  constructor({ baseMs = 1000, maxMs = 30000 } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  reset() {
    this.attempt = 0;
  }

  /**
   * The delay before the next try: between half and all of base·2^attempt
   * (capped), and never sooner than the server's Retry-After, which is a
   * promise that an earlier try would be refused anyway.
   */
  next(retryAfterSeconds = null) {
    const step = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    let delay = step / 2 + Math.random() * (step / 2);
    if (retryAfterSeconds) {
      delay = Math.max(delay, retryAfterSeconds * 1000 + Math.random() * 1000);
    }
    return Math.round(delay);
  }
}

/** Worth trying again unchanged: busy, down, or unreachable. */
export function isRetryable(err) {
  if (!err) return false;
  return err.code === 'NETWORK' || err.status === 429 || err.status >= 500;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal) signal.addEventListener('abort', done, { once: true });
  });
}
