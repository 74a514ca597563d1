// #/confirmation : the purchase just made. It reads what the booking view
// saved at payment time (storage.js), so a reload still shows it: after
// paying, the token is spent and the booking calls would answer 401.

import { currentUser } from './account.js';
import { h } from './dom.js';
import { formatDateTime, formatWon } from './format.js';
import { loadConfirmation } from './storage.js';

export function mount(root) {
  const c = loadConfirmation();
  const user = currentUser();
  if (!c) {
    root.append(h('section', { class: 'view', 'data-testid': 'view-confirmation', 'aria-labelledby': 'confirm-title' },
      h('h1', { id: 'confirm-title', tabindex: '-1', text: 'No purchase yet' }),
      h('p', {}, 'There is no purchase to show in this tab. ', h('a', { href: '#/concerts', text: 'Choose a concert' }), '.')));
    return () => {};
  }
  const row = (label, value, testid) => h('div', { class: 'stat' }, h('dt', { text: label }), h('dd', { 'data-testid': testid }, value));
  root.append(h('section', { class: 'view', 'data-testid': 'view-confirmation', 'aria-labelledby': 'confirm-title' },
    h('h1', { id: 'confirm-title', tabindex: '-1', text: 'You’re going!' }),
    h('div', { class: 'card confirmation', 'data-testid': 'confirmation', 'data-reservation-id': c.reservationId },
      h('p', { class: 'lead', text: `Your payment is complete and seat ${c.seatNumber} is yours.` }),
      h('dl', { class: 'stats' },
        row('Concert', c.concertName, 'confirmation-concert'),
        c.startsAt ? row('Date', h('time', { datetime: c.startsAt, text: formatDateTime(c.startsAt) }), 'confirmation-date') : null,
        row('Seat', String(c.seatNumber), 'confirmation-seat'),
        row('Reservation', `#${c.reservationId}`, 'confirmation-reservation'),
        row('Amount paid', formatWon(c.amount), 'confirmation-amount'),
        row('Points balance after', formatWon(c.balance), 'confirmation-balance'),
        row('Payment', `#${c.paymentId}`, 'confirmation-payment'),
        user ? row('Buyer', user.name ? `${user.name} (#${user.userId})` : `#${user.userId}`, 'confirmation-buyer') : null)),
    h('p', {}, h('a', { href: '#/concerts', 'data-testid': 'book-another', text: 'Book another concert' }))));
  return () => {};
}
