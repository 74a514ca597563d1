// The buyer's point balance and the form to charge it. Points are the only
// way to pay, so the panel sits next to the Pay button; a payment refused
// for INSUFFICIENT_BALANCE fills in the shortfall here (suggest()).

import { api } from './api.js';
import { Backoff, isRetryable, sleep } from './backoff.js';
import { h, field, busy } from './dom.js';
import { formatWon } from './format.js';
import { newKey } from './idempotency.js';
import { showError, showNotice, clearError } from './notices.js';

const MAX_CHARGE = 100000000;

export function createPointsPanel(userId, { signal }) {
  const balance = h('output', { 'data-testid': 'balance', 'aria-live': 'off', text: '…' });
  const amount = field({
    id: 'charge-amount',
    label: 'Amount to charge (₩)',
    hint: 'A whole number from 1 to 100,000,000.',
    input: h('input', {
      type: 'text', inputmode: 'numeric', autocomplete: 'off', value: '100000', 'data-testid': 'charge-amount',
    }),
  });
  const chargeButton = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'charge-button', text: 'Charge points' });
  const form = h('form', { class: 'charge-form', novalidate: true }, amount.el, chargeButton);
  const el = h('section', { class: 'card points', 'data-testid': 'points-panel', 'aria-labelledby': 'points-title' },
    h('h2', { id: 'points-title', text: 'Your points' }),
    h('p', { class: 'balance-line' }, 'Balance: ', balance),
    form);

  let current = null;

  function setBalance(value) {
    current = value;
    balance.textContent = formatWon(value);
    balance.dataset.balance = String(value);
  }

  async function refresh() {
    try {
      const b = await api.balance(userId, { signal });
      setBalance(b.balance);
    } catch (err) {
      if (err.name !== 'AbortError') balance.textContent = 'unknown right now';
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = amount.input.value.replace(/[\s,]/g, '');
    const value = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : NaN;
    if (!(value >= 1 && value <= MAX_CHARGE)) {
      amount.setError('Enter a whole number of won from 1 to 100,000,000.');
      amount.input.focus();
      return;
    }
    amount.setError('');
    busy(chargeButton, () => charge(value));
  });

  // One key per press of the button, reused for the automatic retries of
  // that press: a charge whose answer was lost is then not made twice.
  async function charge(value) {
    const key = newKey();
    const backoff = new Backoff({ baseMs: 500, maxMs: 4000 });
    for (let attempt = 1; ; attempt += 1) {
      try {
        const b = await api.charge(userId, value, key);
        setBalance(b.balance);
        clearError();
        showNotice(`Charged ${formatWon(value)}. Your balance is now ${formatWon(b.balance)}.`);
        return;
      } catch (err) {
        if (isRetryable(err) && attempt < 4 && !signal.aborted) {
          await sleep(backoff.next(err.retryAfter), signal);
          continue;
        }
        showError(err);
        return;
      }
    }
  }

  return {
    el,
    refresh,
    setBalance,
    balance: () => current,
    /** Puts a suggested amount in the form and focuses it (after a refused payment). */
    suggest(value) {
      amount.input.value = String(Math.min(MAX_CHARGE, Math.max(1, value)));
      amount.input.focus();
      amount.input.select();
    },
  };
}
