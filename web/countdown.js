// A ticking countdown to a server time (a hold's or a token's expiresAt, an
// on-sale). It ticks on the second boundary of the time left, so the digits
// change together with the server's idea of the deadline, and it reads the
// server clock (api.serverNow) rather than the buyer's.

import { serverNow } from './api.js';

/**
 * startCountdown(iso, onTick(msLeft), onDone()) → stop()
 * onTick runs at once and then each second; onDone once, when it reaches 0.
 */
export function startCountdown(iso, onTick, onDone = () => {}) {
  const deadline = Date.parse(iso);
  if (Number.isNaN(deadline)) return () => {};
  let timer = null;
  let stopped = false;
  function tick() {
    if (stopped) return;
    const left = deadline - serverNow();
    onTick(Math.max(0, left));
    if (left <= 0) {
      stopped = true;
      onDone();
      return;
    }
    // Wake just after the next whole second of time left.
    timer = setTimeout(tick, (left % 1000) + 20);
  }
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
