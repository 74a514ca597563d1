// The chosen seat, its hold and the way out of it: Hold, then a countdown
// to the hold's expiresAt with Cancel and Pay. The countdown is the server's
// deadline (see countdown.js); when it reaches zero the seat is already
// AVAILABLE to everyone (API.md: "at once"), so the panel says so itself
// instead of waiting for a failed payment to tell.

import { h } from './dom.js';
import { startCountdown } from './countdown.js';
import { formatCountdown, formatWon, formatClockTime } from './format.js';

export function createHoldPanel({ onHold, onCancel, onPay, onExpired }) {
  const choice = h('p', { class: 'lead', 'data-testid': 'hold-choice', text: 'Choose a free seat on the map.' });
  const holdButton = h('button', { type: 'button', class: 'primary', 'data-testid': 'hold-button', hidden: true, text: 'Hold this seat' });

  const heldText = h('p', { class: 'lead', 'data-testid': 'hold-summary' });
  const countdown = h('span', { class: 'countdown', role: 'timer', 'aria-live': 'off', 'data-testid': 'hold-countdown' });
  const until = h('span', { class: 'hint' });
  const payButton = h('button', { type: 'button', class: 'primary', 'data-testid': 'pay-button', text: 'Pay' });
  const cancelButton = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel-button', text: 'Cancel hold' });
  const held = h('div', { class: 'held', hidden: true, 'data-testid': 'hold' },
    heldText,
    h('p', { class: 'countdown-line' }, 'Time left to pay: ', countdown, ' ', until),
    h('div', { class: 'actions' }, payButton, cancelButton));

  // Why there is no hold any more: it ran out (data-reason="expired"), or
  // the buyer let it go ("cancelled").
  const expired = h('p', { class: 'hold-note', 'data-testid': 'hold-expired', hidden: true });

  const el = h('section', { class: 'card hold-panel', 'data-testid': 'hold-panel', 'aria-labelledby': 'hold-title' },
    h('h2', { id: 'hold-title', text: 'Your seat' }),
    expired, choice, holdButton, held);

  let stopCountdown = null;
  let hold = null;
  let warned = false;

  holdButton.addEventListener('click', () => onHold(holdButton));
  cancelButton.addEventListener('click', () => hold && onCancel(hold, cancelButton));
  payButton.addEventListener('click', () => hold && onPay(hold, payButton));

  function stop() {
    if (stopCountdown) stopCountdown();
    stopCountdown = null;
  }

  return {
    el,
    payButton,
    /** A seat chosen on the map (not held yet), or null. */
    showChoice(seat, dateLabel) {
      if (hold) return;
      if (!seat) {
        choice.textContent = 'Choose a free seat on the map.';
        holdButton.hidden = true;
        return;
      }
      expired.hidden = true;
      choice.textContent = `Seat ${seat.seatNumber}${dateLabel ? `, ${dateLabel}` : ''}: ${formatWon(seat.price)}.`;
      holdButton.textContent = `Hold seat ${seat.seatNumber}`;
      holdButton.hidden = false;
    },
    /** A HELD reservation: count down to its expiresAt. */
    showHold(reservation, dateLabel, { onWarn } = {}) {
      stop();
      hold = reservation;
      warned = false;
      // The Hold button goes away; if it had the focus, the focus moves to
      // Pay, the next step, instead of dropping to <body> (where a screen
      // reader loses its place and some browsers go back to the top).
      const hadFocus = holdButton.contains(document.activeElement);
      expired.hidden = true;
      choice.hidden = true;
      holdButton.hidden = true;
      held.hidden = false;
      heldText.textContent = `Seat ${reservation.seatNumber}${dateLabel ? `, ${dateLabel}` : ''} is held for you: ${formatWon(reservation.price)}.`;
      payButton.textContent = `Pay ${formatWon(reservation.price)}`;
      until.textContent = `(until ${formatClockTime(reservation.expiresAt)})`;
      held.dataset.reservationId = String(reservation.reservationId);
      if (hadFocus) payButton.focus();
      stopCountdown = startCountdown(reservation.expiresAt, (ms) => {
        countdown.textContent = formatCountdown(ms);
        countdown.dataset.msLeft = String(ms);
        const urgent = ms <= 60000;
        held.classList.toggle('is-urgent', urgent);
        if (urgent && !warned && ms > 0) {
          warned = true;
          if (onWarn) onWarn(ms); // said once, in the polite region: a ticking timer is not read out
        }
      }, () => {
        const gone = hold;
        this.clearHold(`Your hold on seat ${gone.seatNumber} ran out, and the seat was released.`, 'expired');
        onExpired(gone);
      });
    },
    /** Back to choosing; `note` says why, `reason` is expired | cancelled | other. */
    clearHold(note = null, reason = 'other') {
      stop();
      hold = null;
      held.hidden = true;
      choice.hidden = false;
      choice.textContent = 'Choose a free seat on the map.';
      holdButton.hidden = true;
      expired.hidden = !note;
      expired.textContent = note || '';
      expired.dataset.reason = reason;
      expired.classList.toggle('is-expired', reason === 'expired');
    },
    currentHold: () => hold,
    destroy: stop,
  };
}
