// The seat map of one schedule: a grid of real <button>s, one per seat,
// made once per schedule and then only updated, so a refresh every two
// seconds never moves keyboard focus or the screen reader's place.
//
// A seat's state shows three ways, never by colour alone: its pattern and
// mark (held: stripes; sold: dark and struck through; yours: a tick), its
// data-status, and its accessible name ("Seat 7, available"). aria-pressed
// says which seat is chosen. Seats that cannot be taken stay focusable
// (aria-disabled, not disabled) so that keyboard users can still find out
// what they are.
//
// Keyboard: the grid is one Tab stop (a "roving" tabindex); the arrow keys
// move between seats (up/down by a row), Home/End to the first/last seat.

import { h, setChildren } from './dom.js';

const COLUMNS = 10; // style.css lays the grid out in the same 10 columns

const STATUS_WORDS = { AVAILABLE: 'available', HELD: 'held', SOLD: 'sold', MINE: 'held by you' };

export function createSeatMap({ onPick }) {
  const grid = h('div', { class: 'seat-grid', role: 'group', 'aria-label': 'Seats', 'data-testid': 'seat-map' });
  const empty = h('p', { class: 'muted', 'data-testid': 'seat-map-empty', text: 'Choose a date to see its seats.' });
  const el = h('div', { class: 'seat-map' }, empty, grid);
  let buttons = new Map(); // seatNumber -> button
  let order = []; // seat numbers in grid order
  let selected = null;
  let focusable = null; // the seat that holds the grid's one tab stop

  function build(items) {
    buttons = new Map();
    order = items.map((s) => s.seatNumber);
    setChildren(grid, items.map((seat) => {
      const button = h('button', {
        type: 'button',
        class: 'seat',
        'data-testid': `seat-${seat.seatNumber}`,
        'data-seat-number': seat.seatNumber,
        tabindex: '-1',
        'aria-pressed': 'false',
        on: { click: () => onPick(seat.seatNumber, button.dataset.status) },
      }, h('span', { class: 'seat-number', text: String(seat.seatNumber) }));
      buttons.set(seat.seatNumber, button);
      return button;
    }));
    focusable = null;
  }

  function paint(button, status) {
    if (button.dataset.status === status) return;
    button.dataset.status = status;
    button.className = `seat seat--${status.toLowerCase()}`;
    button.setAttribute('aria-label', `Seat ${button.dataset.seatNumber}, ${STATUS_WORDS[status]}`);
    if (status === 'AVAILABLE') button.removeAttribute('aria-disabled');
    else button.setAttribute('aria-disabled', 'true');
  }

  function setTabStop(seatNumber) {
    const next = buttons.get(seatNumber) || buttons.get(order[0]);
    if (!next || next === focusable) return;
    if (focusable) focusable.tabIndex = -1;
    next.tabIndex = 0;
    focusable = next;
  }

  grid.addEventListener('keydown', (event) => {
    const current = order.indexOf(Number(event.target.dataset && event.target.dataset.seatNumber));
    if (current < 0) return;
    const moves = {
      ArrowRight: current + 1, ArrowLeft: current - 1,
      ArrowDown: current + COLUMNS, ArrowUp: current - COLUMNS,
      Home: 0, End: order.length - 1,
    };
    if (!(event.key in moves)) return;
    const target = moves[event.key];
    if (target < 0 || target >= order.length) return;
    event.preventDefault();
    setTabStop(order[target]);
    focusable.focus();
  });

  return {
    el,
    /**
     * Shows the seats (items of GET /schedules/{id}/seats). `mine` is the
     * seat number this buyer holds on this schedule, if any: the server
     * says only HELD, and "held by you" is what the buyer needs to know.
     */
    update(items, { mine = null } = {}) {
      const same = items.length === order.length && items.every((s, i) => s.seatNumber === order[i]);
      if (!same) build(items);
      empty.hidden = items.length > 0;
      if (items.length === 0) empty.textContent = 'This date has no seats.';
      for (const seat of items) {
        // "Mine" wins over an AVAILABLE read just before the hold was made,
        // so the buyer's seat turns theirs at once, not at the next refresh.
        const status = seat.seatNumber === mine && seat.status !== 'SOLD' ? 'MINE' : seat.status;
        paint(buttons.get(seat.seatNumber), status);
      }
      this.select(selected);
    },
    /** Marks one seat as chosen (aria-pressed) and gives it the tab stop. */
    select(seatNumber) {
      selected = buttons.has(seatNumber) ? seatNumber : null;
      for (const [number, button] of buttons) {
        button.setAttribute('aria-pressed', String(number === selected));
      }
      setTabStop(selected !== null ? selected : focusable ? Number(focusable.dataset.seatNumber) : order[0]);
    },
    /** Empties the map (another date chosen, or none). */
    clear(message = 'Choose a date to see its seats.') {
      setChildren(grid);
      buttons = new Map();
      order = [];
      selected = null;
      focusable = null;
      empty.textContent = message;
      empty.hidden = false;
    },
    statusOf(seatNumber) {
      const button = buttons.get(seatNumber);
      return button ? button.dataset.status : null;
    },
  };
}

/** The key to the map's patterns, as a list a screen reader reads in order. */
export function seatLegend() {
  const item = (status, label) => h('li', {},
    h('span', { class: `seat seat--${status} seat--sample`, 'aria-hidden': 'true' }, h('span', { class: 'seat-number', text: '7' })),
    ` ${label}`);
  return h('ul', { class: 'seat-legend', 'aria-label': 'Key to the seat map' },
    item('available', 'Available'),
    item('held', 'Held by someone (striped)'),
    item('sold', 'Sold (dark, struck through)'),
    item('mine', 'Held by you (tick)'),
    h('li', {}, h('span', { class: 'seat seat--available seat--sample is-chosen', 'aria-hidden': 'true' }, h('span', { class: 'seat-number', text: '7' })), ' Your choice (ringed)'));
}
