// One concert's dates on the operator's dashboard: a table of every date
// (GET /api/v1/admin/concerts/{id}/schedules, soonest first) with seats
// available, held, sold and in all, and a "Past" mark for dates that have
// been. Made once per concert and updated in place on every refresh (rows
// keyed by schedule id), so a screen reader's place is not lost. A failed
// request leaves one row that says so instead of numbers that may be old.

import { h, setChildren } from './dom.js';
import { formatCount, formatDateTime } from './format.js';

const COLUMNS = ['Date', 'Available', 'Held', 'Sold', 'Total'];

/** createDatesTable(concertId) → {el, setName(name), show(schedules), fail(err)} */
export function createDatesTable(concertId) {
  const caption = h('caption');
  const body = h('tbody');
  const table = h('table', { class: 'date-table' },
    caption,
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col', text: c })))),
    body);
  // Wide enough for a phone as it is; the wrapper only scrolls if a name
  // or a locale's date makes it wider.
  const el = h('div', { class: 'date-table-wrap', 'data-testid': 'schedule-table', 'data-concert-id': concertId }, table);

  const rows = new Map(); // scheduleId -> {tr, update(item)}

  function makeRow(id) {
    const when = h('span');
    const past = h('span', { class: 'badge badge--past', hidden: true, text: 'Past' });
    const cells = {};
    const cell = (key) => {
      cells[key] = h('td', { 'data-testid': `schedule-${key}` });
      return cells[key];
    };
    const tr = h('tr', { 'data-testid': 'schedule-row', 'data-schedule-id': id },
      h('th', { scope: 'row' }, when, ' ', past),
      cell('available'), cell('held'), cell('sold'), cell('total'));
    return {
      tr,
      update(item) {
        when.textContent = formatDateTime(item.startsAt);
        past.hidden = !item.past;
        tr.dataset.past = String(Boolean(item.past));
        tr.classList.toggle('is-past', Boolean(item.past));
        cells.available.textContent = formatCount(item.available);
        cells.held.textContent = formatCount(item.held);
        cells.sold.textContent = formatCount(item.sold);
        cells.total.textContent = formatCount(item.totalSeats);
      },
    };
  }

  function only(text, testid) {
    rows.clear();
    setChildren(body, h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'date-table-note', 'data-testid': testid, text })));
  }

  return {
    el,
    setName(name) {
      const text = `Dates of ${name}`;
      if (caption.textContent !== text) caption.textContent = text;
    },
    show(items) {
      delete el.dataset.failed;
      if (items.length === 0) {
        only('No dates.', 'schedule-none');
        return;
      }
      const seen = new Set();
      const ordered = items.map((item) => {
        seen.add(item.scheduleId);
        let row = rows.get(item.scheduleId);
        if (!row) {
          row = makeRow(item.scheduleId);
          rows.set(item.scheduleId, row);
        }
        row.update(item);
        return row.tr;
      });
      for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
      if (ordered.length !== body.children.length || ordered.some((tr, i) => body.children[i] !== tr)) {
        setChildren(body, ordered);
      }
    },
    fail(err) {
      el.dataset.failed = 'true';
      const why = err && err.code === 'NOT_FOUND'
        ? 'the server does not know this concert'
        : `the request failed (${(err && err.code) || 'unknown error'})`;
      only(`Dates not shown: ${why}. Trying again with the next refresh.`, 'schedule-error');
    },
  };
}
