// The operator's live view of every waiting line (GET /api/v1/admin/lines,
// every 2 s while the page is visible), with pause/resume and live edits of
// activeMax, admitPerMinute and (concert lines) inventoryFactor through
// PATCH /api/v1/admin/queue (the global line, id 0) or
// PATCH /api/v1/admin/concerts/{id}/line.
//
// Per-date seats: on the same 2 s cycle, every concert of the public list
// (GET /api/v1/concerts, reloaded now and then) is asked for its dates with
// GET /api/v1/admin/concerts/{id}/schedules, one request per concert, all
// at once. Each concert's table (op-dates.js) sits at the foot of the card
// of the line that books it: its own line's card, or the global line's
// "Concerts on the global line" block. A concert whose request fails keeps
// its table with a row that says so; the lines still update.
//
// Cards are made once per line and updated in place, so a refresh never
// takes focus away or overwrites a number the operator is typing.

import { adminApi } from './api.js';
import { Backoff, isRetryable } from './backoff.js';
import { listConcerts } from './catalog.js';
import { createDatesTable } from './op-dates.js';
import { h, setChildren, field, busy } from './dom.js';
import { formatCount, formatDateTime, formatClockTime, formatDuration } from './format.js';
import { showError, showNotice, clearErrorIf } from './notices.js';

const REFRESH_MS = 2000;
const TROUBLE_CODES = ['NETWORK', 'TOO_MANY_REQUESTS', 'UNAVAILABLE', 'INTERNAL'];

/**
 * createDashboard({getSecret, onUnauthorized}) → {el, start(), stop(), refreshNow()}
 * onUnauthorized(err) is called when the secret stops working (401/403).
 */
export function createDashboard({ getSecret, onUnauthorized }) {
  const updated = h('p', { class: 'hint', 'data-testid': 'dashboard-updated', 'aria-live': 'off', text: 'Not loaded yet.' });
  const list = h('div', { class: 'line-list', 'data-testid': 'dashboard' });
  const el = h('section', { class: 'card-plain', 'aria-labelledby': 'dashboard-title' },
    h('h2', { id: 'dashboard-title', tabindex: '-1', text: 'Lines, live' }),
    h('p', { class: 'hint', text: 'Every line, refreshed every 2 seconds. The seat figures on a line are over its concert’s upcoming dates; each concert’s dates are listed under the line that books it, past dates included.' }),
    updated,
    list);

  const cards = new Map(); // lineId -> card
  const tables = new Map(); // concertId -> dates table
  let names = new Map(); // concertId -> name, in the list's order
  let namesLoaded = false;
  let timer = null;
  let generation = 0; // a refresh overtaken by a newer one stops quietly
  let running = false;
  let polls = 0;
  const backoff = new Backoff({ baseMs: REFRESH_MS, maxMs: 30000 });

  async function loadNames() {
    try {
      const concerts = await listConcerts({ fresh: true });
      names = new Map(concerts.map((c) => [c.concertId, c.name]));
      namesLoaded = true;
    } catch {
      /* names are a nicety; ids still show */
    }
  }

  // Every concert's dates; never rejects: a failed concert carries `err`.
  async function fetchDates(secret) {
    const ids = [...names.keys()];
    const settled = await Promise.allSettled(ids.map((id) => adminApi.concertSchedules(secret, id)));
    return ids.map((id, i) => (settled[i].status === 'fulfilled'
      ? { id, items: settled[i].value.items }
      : { id, err: settled[i].reason }));
  }

  async function refresh() {
    clearTimeout(timer);
    const mine = ++generation;
    if (!running) return;
    if (document.visibilityState === 'hidden') return; // visibilitychange resumes
    // Names change only when a concert is made: reload them now and then.
    if (polls % 15 === 0 || !namesLoaded) await loadNames();
    if (mine !== generation) return;
    polls += 1;
    try {
      const secret = getSecret();
      const [lines, dates] = await Promise.all([adminApi.lines(secret), fetchDates(secret)]);
      if (!running || mine !== generation) return;
      backoff.reset();
      clearErrorIf(TROUBLE_CODES);
      render(lines.items);
      renderDates(dates);
      updated.textContent = `Updated ${formatClockTime(Date.now())}.`;
      timer = setTimeout(refresh, REFRESH_MS);
    } catch (err) {
      if (!running || mine !== generation) return;
      if (isRetryable(err)) {
        const delay = backoff.next(err.retryAfter);
        updated.textContent = `Not updating: trying again in ${formatDuration(Math.max(1, Math.round(delay / 1000)))}.`;
        showError(err);
        timer = setTimeout(refresh, delay);
        return;
      }
      running = false;
      showError(err);
      if (err.code === 'ADMIN_UNAUTHORIZED' || err.code === 'ADMIN_DISABLED') onUnauthorized(err);
    }
  }

  // Concerts with a line of their own, for the global line's "books" list.
  let ownLines = new Set();

  function render(items) {
    ownLines = new Set(items.filter((l) => l.lineId !== 0).map((l) => l.concertId));
    const seen = new Set();
    for (const line of items) {
      seen.add(line.lineId);
      let card = cards.get(line.lineId);
      if (!card) {
        card = makeCard(line);
        cards.set(line.lineId, card);
      }
      card.update(line);
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.el.remove();
        cards.delete(id);
      }
    }
    // The global line first, then concert lines by id (the API's order).
    const ordered = items.map((l) => cards.get(l.lineId).el);
    if (ordered.some((node, i) => list.children[i] !== node)) setChildren(list, ordered);
  }

  // Each concert's table goes to its own line's card, or to the global
  // line's block when it has none.
  function renderDates(dates) {
    const onGlobal = [];
    const seen = new Set();
    for (const d of dates) {
      seen.add(d.id);
      let table = tables.get(d.id);
      if (!table) {
        table = createDatesTable(d.id);
        tables.set(d.id, table);
      }
      table.setName(concertLabel(d.id));
      if (d.err) table.fail(d.err);
      else table.show(d.items);
      const own = ownLines.has(d.id) ? cards.get(d.id) : null;
      if (own) own.showDates([table.el]);
      else onGlobal.push(table.el);
    }
    for (const [id, table] of tables) {
      if (!seen.has(id)) {
        table.el.remove();
        tables.delete(id);
      }
    }
    const global = cards.get(0);
    if (global) global.showDates(onGlobal);
  }

  function concertLabel(concertId) {
    const name = names.get(concertId);
    return name ? `${name} (concert #${concertId})` : `concert #${concertId}`;
  }

  function lineName(line) {
    if (line.lineId === 0) return 'Global line';
    const name = names.get(line.concertId);
    return name ? `${name} (concert #${line.concertId})` : `Concert #${line.concertId}`;
  }

  function makeCard(first) {
    const id = first.lineId;
    const isGlobal = id === 0;
    const title = h('h3', { id: `line-${id}-title` });
    const pausedBadge = h('span', { class: 'badge badge--paused', 'data-testid': 'line-paused-badge', hidden: true, text: 'Paused' });
    const soldOutBadge = h('span', { class: 'badge badge--soldout', 'data-testid': 'line-soldout-badge', hidden: true, text: 'Sold out' });
    const serves = isGlobal ? h('p', { class: 'hint', 'data-testid': 'line-serves' }) : null;

    const values = {};
    const stat = (key, label, testid) => {
      values[key] = h('dd', { 'data-testid': testid });
      return h('div', { class: 'stat' }, h('dt', { text: label }), values[key]);
    };
    const stats = h('dl', { class: 'stats compact' },
      stat('waiting', 'Waiting', 'line-waiting'),
      stat('preQueue', 'In pre-queue', 'line-prequeue'),
      stat('active', 'Active', 'line-active'),
      stat('admitted', 'Admitted, last minute', 'line-admitted'),
      stat('rate', 'Admission limit', 'line-rate'),
      stat('held', 'Seats held', 'line-held'),
      stat('sold', 'Seats sold', 'line-sold'),
      stat('seatsLeft', 'Seats left', 'line-seats-left'),
      stat('soldOut', 'Sold out', 'line-sold-out'),
      stat('paused', 'Paused', 'line-paused'),
      stat('onSale', 'On sale', 'line-onsale'));

    const pauseButton = h('button', { type: 'button', class: 'secondary', 'data-testid': 'line-pause-button' });

    const activeMax = field({
      id: `line-${id}-active-max`, label: 'Active at once (activeMax)',
      input: h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', 'data-testid': 'line-active-max-input' }),
    });
    const rate = field({
      id: `line-${id}-rate`, label: 'Admissions a minute (0 = no limit)',
      input: h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', 'data-testid': 'line-rate-input' }),
    });
    const factor = isGlobal ? null : field({
      id: `line-${id}-factor`, label: 'Inventory factor (0.01–100)',
      input: h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', 'data-testid': 'line-factor-input' }),
    });
    const apply = h('button', { type: 'submit', class: 'primary', 'data-testid': 'line-apply-button', text: 'Apply changes' });
    const form = h('form', { class: 'line-settings', novalidate: true, 'aria-label': `Settings of ${isGlobal ? 'the global line' : `concert line ${id}`}` },
      activeMax.el, rate.el, factor && factor.el, apply);
    for (const f of [activeMax, rate, factor].filter(Boolean)) {
      f.input.addEventListener('input', () => { f.input.dataset.dirty = '1'; });
    }

    // The dates of the concerts this line books (op-dates.js tables).
    const datesList = h('div', { class: 'line-dates-list' });
    const datesNone = isGlobal ? h('p', { class: 'hint', text: 'None: every concert has a line of its own.' }) : null;
    const datesBlock = isGlobal
      ? h('section', { class: 'line-dates', 'aria-labelledby': `line-${id}-dates-title` },
        h('h4', { id: `line-${id}-dates-title`, text: 'Concerts on the global line' }), datesNone, datesList)
      : h('div', { class: 'line-dates', hidden: true }, datesList);

    const el = h('article', { class: 'card line-card', 'data-testid': 'line-row', 'data-line-id': id, 'aria-labelledby': title.id },
      h('div', { class: 'line-head' }, title, pausedBadge, soldOutBadge),
      serves, stats,
      h('div', { class: 'actions' }, pauseButton),
      form,
      datesBlock);

    let line = first;

    pauseButton.addEventListener('click', () => busy(pauseButton, async () => {
      const paused = !line.paused;
      try {
        const changed = await adminApi.changeLine(getSecret(), id, { paused });
        card.update(changed);
        showNotice(`${lineName(changed)} is ${paused ? 'paused: nobody is let in until you resume it' : 'running again'}.`);
      } catch (err) {
        showError(err, { NOT_FOUND: 'That concert has no line of its own any more.' });
      }
    }));

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const change = {};
      const problems = [
        readInt(activeMax, 1, 1000000, 'activeMax', change, 'a whole number from 1 to 1,000,000'),
        readInt(rate, 0, 1000000000, 'admitPerMinute', change, 'a whole number from 0 to 1,000,000,000'),
        factor ? readFactor(factor, change) : true,
      ];
      if (problems.includes(false)) return;
      if (Object.keys(change).length === 0) {
        showNotice('Nothing to change: fill in at least one setting.');
        return;
      }
      busy(apply, async () => {
        try {
          const changed = await adminApi.changeLine(getSecret(), id, change);
          for (const f of [activeMax, rate, factor].filter(Boolean)) delete f.input.dataset.dirty;
          card.update(changed, { force: true });
          showNotice(`${lineName(changed)} updated.`);
        } catch (err) {
          showError(err, { NOT_FOUND: 'That concert has no line of its own any more.' });
        }
      });
    });

    const dash = '—';
    const countOrDash = (n) => (n === null || n === undefined ? dash : formatCount(n));
    const card = {
      el,
      showDates(nodes) {
        if (nodes.length !== datesList.children.length || nodes.some((n, i) => datesList.children[i] !== n)) {
          setChildren(datesList, nodes);
        }
        if (datesNone) datesNone.hidden = nodes.length > 0;
        else datesBlock.hidden = nodes.length === 0;
      },
      update(next, { force = false } = {}) {
        line = next;
        title.textContent = lineName(next);
        pausedBadge.hidden = !next.paused;
        soldOutBadge.hidden = !next.soldOut;
        el.classList.toggle('is-paused', next.paused);
        el.dataset.paused = String(next.paused);
        el.dataset.soldOut = String(next.soldOut);
        values.waiting.textContent = formatCount(next.waiting);
        values.preQueue.textContent = formatCount(next.preQueue);
        values.active.textContent = `${formatCount(next.active)} of ${formatCount(next.activeMax)}`;
        values.admitted.textContent = formatCount(next.admittedLastMinute);
        values.rate.textContent = next.admitPerMinute > 0 ? `${formatCount(next.admitPerMinute)} a minute` : 'none';
        values.held.textContent = countOrDash(next.held);
        values.sold.textContent = countOrDash(next.sold);
        values.seatsLeft.textContent = countOrDash(next.seatsLeft);
        values.soldOut.textContent = next.soldOut ? 'yes' : 'no';
        values.paused.textContent = next.paused ? 'yes' : 'no';
        values.onSale.textContent = next.onSaleAt
          ? `${formatDateTime(next.onSaleAt)}${next.drawn ? ', drawn' : ', not drawn yet'}`
          : 'from the start (no pre-queue)';
        pauseButton.textContent = next.paused ? 'Resume line' : 'Pause line';
        pauseButton.setAttribute('aria-label', `${next.paused ? 'Resume' : 'Pause'} ${isGlobal ? 'the global line' : `the line of concert ${id}`}`);
        fill(activeMax.input, next.activeMax, force);
        fill(rate.input, next.admitPerMinute, force);
        if (factor) fill(factor.input, next.inventoryFactor, force);
        if (serves) {
          const shared = [...names].filter(([cid]) => !ownLines.has(cid)).map(([, n]) => n);
          serves.textContent = shared.length
            ? `Books every concert without a line of its own: ${shared.join(', ')}.`
            : 'Books every concert without a line of its own.';
        }
      },
    };
    return card;
  }

  return {
    el,
    start() {
      if (running) return;
      running = true;
      polls = 0;
      refresh();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
    refreshNow() {
      polls = 0; // a concert was just made: fetch the names again
      if (running) refresh();
    },
  };
}

// A refresh leaves alone a number the operator is typing (focused or
// changed and not applied yet).
function fill(input, value, force) {
  if (!force && (document.activeElement === input || input.dataset.dirty)) return;
  input.value = value === null || value === undefined ? '' : String(value);
}

function readInt(f, min, max, key, change, words) {
  const text = f.input.value.trim().replace(/[\s,]/g, '');
  if (text === '') {
    f.setError('');
    return true;
  }
  const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    f.setError(`Enter ${words}.`);
    f.input.focus();
    return false;
  }
  f.setError('');
  change[key] = n;
  return true;
}

function readFactor(f, change) {
  const text = f.input.value.trim();
  if (text === '') {
    f.setError('');
    return true;
  }
  const n = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0.01 && n <= 100)) {
    f.setError('Enter a number from 0.01 to 100.');
    f.input.focus();
    return false;
  }
  f.setError('');
  change.inventoryFactor = n;
  return true;
}
