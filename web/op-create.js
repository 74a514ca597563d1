// The form that makes a concert (POST /api/v1/admin/concerts): a name, one
// or more dates each with its seat count and price, and optionally a
// waiting line of its own (activeMax, admitPerMinute, onSaleAt,
// inventoryFactor). Dates are typed in the operator's local time and sent
// as UTC, which is what the API keeps.

import { adminApi } from './api.js';
import { h, field, busy, setChildren } from './dom.js';
import { formatDateTime, formatWon } from './format.js';
import { showError, showNotice, clearError, showErrorText } from './notices.js';

const MAX_DATES = 100;

/** createConcertForm({getSecret, onCreated}) → {el} */
export function createConcertForm({ getSecret, onCreated }) {
  const name = field({
    id: 'concert-name', label: 'Concert name', hint: '1 to 200 characters.',
    input: h('input', { type: 'text', required: true, maxlength: 200, autocomplete: 'off', 'data-testid': 'concert-name-input' }),
  });

  const dateRows = h('ol', { class: 'date-rows', 'data-testid': 'date-rows' });
  const rows = [];
  const addDate = h('button', { type: 'button', class: 'secondary', 'data-testid': 'add-date-button', text: 'Add another date' });

  const ownLine = h('input', { type: 'checkbox', id: 'own-line', 'data-testid': 'own-line-checkbox', 'aria-controls': 'line-fields' });
  const lineFields = {
    activeMax: field({
      id: 'line-active-max', label: 'Active at once (activeMax)', hint: 'Empty: the server’s default (BOXOFFICE_ACTIVE_MAX).',
      input: h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', 'data-testid': 'line-active-max' }),
    }),
    admitPerMinute: field({
      id: 'line-admit-per-minute', label: 'Admissions a minute', hint: 'Empty or 0: no rate limit.',
      input: h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', 'data-testid': 'line-admit-per-minute' }),
    }),
    onSaleAt: field({
      id: 'line-on-sale-at', label: 'On-sale time (your local time)', hint: 'Empty: no pre-queue. Must be in the future; everyone who joins before it is drawn into a random order at that moment.',
      input: h('input', { type: 'datetime-local', step: '1', 'data-testid': 'line-on-sale-at' }),
    }),
    inventoryFactor: field({
      id: 'line-inventory-factor', label: 'Inventory factor', hint: 'At most seats left × this many buyers active at once; 0.01 to 100. Empty: 1.',
      input: h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', 'data-testid': 'line-inventory-factor' }),
    }),
  };
  const lineFieldset = h('fieldset', { id: 'line-fields', hidden: true, disabled: true },
    h('legend', { text: 'The concert’s own line' }),
    ...Object.values(lineFields).map((f) => f.el));

  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'create-concert-button', text: 'Create concert' });
  const result = h('div', { class: 'create-result', 'data-testid': 'create-result', 'aria-live': 'polite' });

  const form = h('form', { class: 'card', 'data-testid': 'create-concert-form', novalidate: true, 'aria-labelledby': 'create-concert-title' },
    h('h2', { id: 'create-concert-title', text: 'Create a concert' }),
    name.el,
    h('fieldset', {}, h('legend', { text: 'Dates' }), dateRows, addDate),
    h('div', { class: 'check' }, ownLine, h('label', { for: 'own-line', text: 'Give this concert a waiting line of its own' })),
    lineFieldset,
    submit,
    result);

  let rowSerial = 0;
  function addRow() {
    if (rows.length >= MAX_DATES) return;
    rowSerial += 1;
    const n = rowSerial;
    const startsAt = field({
      id: `date-${n}-starts`, label: 'Starts at (your local time)',
      input: h('input', { type: 'datetime-local', required: true, 'data-testid': 'date-starts-at', value: defaultStart(rows.length) }),
    });
    const seats = field({
      id: `date-${n}-seats`, label: 'Seats',
      input: h('input', { type: 'text', inputmode: 'numeric', required: true, value: '50', 'data-testid': 'date-seat-count' }),
    });
    const price = field({
      id: `date-${n}-price`, label: 'Price per seat (₩)',
      input: h('input', { type: 'text', inputmode: 'numeric', required: true, value: '150000', 'data-testid': 'date-price' }),
    });
    const remove = h('button', { type: 'button', class: 'link-button', text: 'Remove this date' });
    const li = h('li', { class: 'date-row' }, startsAt.el, seats.el, price.el, remove);
    const row = { li, startsAt, seats, price, remove };
    remove.addEventListener('click', () => {
      if (rows.length === 1) return;
      const index = rows.indexOf(row);
      rows.splice(index, 1);
      li.remove();
      renumber();
      // Focus would otherwise fall to the page's start with the removed button.
      (rows[Math.min(index, rows.length - 1)].startsAt.input).focus();
    });
    rows.push(row);
    dateRows.append(li);
    renumber();
    return row;
  }

  function renumber() {
    rows.forEach((row, i) => {
      row.remove.hidden = rows.length === 1;
      row.remove.setAttribute('aria-label', `Remove date ${i + 1}`);
    });
    addDate.hidden = rows.length >= MAX_DATES;
  }

  addDate.addEventListener('click', () => addRow().startsAt.input.focus());
  ownLine.addEventListener('change', () => {
    lineFieldset.hidden = !ownLine.checked;
    lineFieldset.disabled = !ownLine.checked;
  });
  addRow();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = readForm();
    if (!body) return;
    busy(submit, async () => {
      try {
        const created = await adminApi.createConcert(getSecret(), body);
        clearError();
        showResult(body, created);
        showNotice(`Concert #${created.concertId} made: ${body.name}.`);
        onCreated(created);
      } catch (err) {
        showError(err);
      }
    });
  });

  function readForm() {
    let firstBad = null;
    const bad = (f, message) => {
      f.setError(message);
      if (!firstBad) firstBad = f.input;
    };
    const body = { name: name.input.value.trim(), schedules: [] };
    const nameLength = [...body.name].length;
    if (nameLength < 1 || nameLength > 200) bad(name, 'Enter a name of 1 to 200 characters.');
    else name.setError('');

    for (const row of rows) {
      const startsAt = toUtc(row.startsAt.input.value);
      if (!startsAt) bad(row.startsAt, 'Enter a date and time.');
      else row.startsAt.setError('');
      const seatCount = wholeNumber(row.seats.input.value);
      if (!(seatCount >= 1 && seatCount <= 1000)) bad(row.seats, 'Enter a number of seats from 1 to 1,000.');
      else row.seats.setError('');
      const price = wholeNumber(row.price.input.value);
      if (!(price >= 0 && price <= 100000000)) bad(row.price, 'Enter a price from 0 to 100,000,000.');
      else row.price.setError('');
      body.schedules.push({ startsAt, seatCount, price });
    }

    if (ownLine.checked) {
      const line = {};
      const f = lineFields;
      const text = (x) => x.input.value.trim();
      if (text(f.activeMax)) {
        const n = wholeNumber(text(f.activeMax));
        if (n >= 1 && n <= 1000000) { line.activeMax = n; f.activeMax.setError(''); } else bad(f.activeMax, 'Enter a whole number from 1 to 1,000,000, or leave it empty.');
      } else f.activeMax.setError('');
      if (text(f.admitPerMinute)) {
        const n = wholeNumber(text(f.admitPerMinute));
        if (n >= 0 && n <= 1000000000) { line.admitPerMinute = n; f.admitPerMinute.setError(''); } else bad(f.admitPerMinute, 'Enter a whole number from 0 to 1,000,000,000, or leave it empty.');
      } else f.admitPerMinute.setError('');
      if (text(f.onSaleAt)) {
        const at = toUtc(text(f.onSaleAt));
        if (at && Date.parse(at) > Date.now()) { line.onSaleAt = at; f.onSaleAt.setError(''); } else bad(f.onSaleAt, 'Enter a time in the future, or leave it empty.');
      } else f.onSaleAt.setError('');
      if (text(f.inventoryFactor)) {
        const n = /^[0-9]+(\.[0-9]+)?$/.test(text(f.inventoryFactor)) ? Number(text(f.inventoryFactor)) : NaN;
        if (n >= 0.01 && n <= 100) { line.inventoryFactor = n; f.inventoryFactor.setError(''); } else bad(f.inventoryFactor, 'Enter a number from 0.01 to 100, or leave it empty.');
      } else f.inventoryFactor.setError('');
      body.line = line;
    }

    if (firstBad) {
      showErrorText('Some fields need a change before the concert can be made; each says what.');
      firstBad.focus();
      return null;
    }
    return body;
  }

  function showResult(body, created) {
    const items = created.schedules.map((s, i) =>
      h('li', { text: `Date #${s.scheduleId}: ${formatDateTime(s.startsAt)}, ${s.seatCount} seats at ${formatWon(body.schedules[i].price)}` }));
    const line = created.line
      ? h('p', {},
        `It has a line of its own (line ${created.line.lineId})`,
        created.line.onSaleAt ? `, on sale from ${formatDateTime(created.line.onSaleAt)}.` : ', open now.',
        created.line.seedCommitment
          ? [' Publish this commitment to the draw’s seed now, so buyers can check the draw later: ',
            h('code', { class: 'hash', 'data-testid': 'create-seed-commitment', text: created.line.seedCommitment })]
          : null)
      : h('p', { text: 'It is booked through the global line.' });
    setChildren(result,
      h('h3', { text: `Made: concert #${created.concertId}, ${body.name}` }),
      h('ul', {}, items),
      line);
  }

  return { el: form };
}

/** A datetime-local value (local time) as RFC 3339 UTC with whole seconds. */
function toUtc(value) {
  if (!value) return null;
  const at = new Date(value); // a date-time without offset is local time
  return Number.isNaN(at.getTime()) ? null : at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function wholeNumber(text) {
  const t = String(text).trim().replace(/[\s,]/g, '');
  return /^[0-9]{1,12}$/.test(t) ? Number(t) : NaN;
}

/** A week from today at 19:00 local, a week apart per extra date: a sensible start. */
function defaultStart(index) {
  const d = new Date();
  d.setDate(d.getDate() + 7 * (index + 1));
  d.setHours(19, 0, 0, 0);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
