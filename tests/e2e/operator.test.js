// The operator's page: a wrong admin secret is refused, the right one opens
// the dashboard; a concert made with the form (with a line of its own)
// appears in the live dashboard, and a buyer joining its line and holding
// a seat (through the API) shows there within a refresh or two. A concert
// made without a line of its own is listed under the global line. Every
// concert's dates show under the line that books it, and a seat held and a
// seat bought (through the API) show on the date's row live.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  tid, launch, openPage, shot, withEvidence, assertNoProblems, ADMIN, must,
  createUser, joinLine, holdSeat, buySeat,
} from './support.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Waits until the element `sel` inside `row` reads `text`. */
function waitForCell(page, row, testid, text, timeout = 10000) {
  return page.waitForFunction(
    ([r, t, want]) => (document.querySelector(`${r} [data-testid="${t}"]`)?.textContent || '').trim() === want,
    [row, testid, text], { timeout });
}

async function createWithForm(page, { name, seats, ownLine, activeMax }) {
  await page.fill(tid('concert-name-input'), name);
  await page.fill(tid('date-seat-count'), String(seats));
  await page.setChecked(tid('own-line-checkbox'), ownLine);
  if (ownLine) await page.fill(tid('line-active-max'), String(activeMax));
  await page.click(tid('create-concert-button'));
  await page.waitForFunction(
    ([sel, n]) => (document.querySelector(sel)?.textContent || '').includes(n),
    [tid('create-result'), name]);
  const made = await page.locator(tid('create-result')).textContent();
  const id = Number((made.match(/concert #(\d+)/) || [])[1]);
  assert.ok(id > 0, `the result names the new concert: ${made}`);
  return id;
}

test('the operator makes a concert and watches it live', { timeout: 90000 }, async () => {
  const page = await openPage(browser);
  await withEvidence('operator', () => [page], async () => {
    await page.goto('/operator.html');

    // A wrong secret is refused, and says so.
    await page.fill(tid('admin-secret-input'), 'not-the-secret');
    await page.click(tid('admin-secret-button'));
    await page.locator(`${tid('error-region')}[data-code="ADMIN_UNAUTHORIZED"]`).waitFor();
    assert.equal(await page.locator(tid('dashboard')).isVisible(), false);
    await shot(page, 'operator-01-wrong-secret');

    // The right one opens the dashboard: the global line is there.
    await page.fill(tid('admin-secret-input'), ADMIN);
    await page.click(tid('admin-secret-button'));
    await page.locator(tid('admin-signed-in')).waitFor();
    await page.locator(`${tid('line-row')}[data-line-id="0"]`).waitFor();

    // A concert with a line of its own (at most 5 active, 20 seats).
    const name = 'E2E Operator Live';
    const id = await createWithForm(page, { name, seats: 20, ownLine: true, activeMax: 5 });
    const row = `${tid('line-row')}[data-line-id="${id}"]`;
    await page.locator(row).waitFor();
    await page.waitForFunction(
      ([r, n]) => (document.querySelector(`${r} h3`)?.textContent || '').includes(n), [row, name]);
    await waitForCell(page, row, 'line-active', '0 of 5');
    await waitForCell(page, row, 'line-seats-left', '20');
    await waitForCell(page, row, 'line-held', '0');

    // A buyer joins its line and holds a seat: the dashboard follows.
    const buyer = await createUser('Dashboard Buyer');
    const t = await joinLine(buyer.userId, id);
    assert.equal(t.status, 'ACTIVE');
    const dates = await must(200, 'GET', `/api/v1/concerts/${id}/schedules`, { bearer: t.token });
    await must(201, 'POST', '/api/v1/reservations', {
      bearer: t.token, body: { scheduleId: dates.items[0].scheduleId, seatNumber: 1 },
    });
    await waitForCell(page, row, 'line-active', '1 of 5');
    await waitForCell(page, row, 'line-held', '1');
    await waitForCell(page, row, 'line-seats-left', '19');

    // A concert on the global line is listed under it.
    const globalName = 'E2E Global Matinee';
    const globalId = await createWithForm(page, { name: globalName, seats: 10, ownLine: false });
    await page.waitForFunction(
      ([sel, n]) => (document.querySelector(sel)?.textContent || '').includes(n),
      [`${tid('line-row')}[data-line-id="0"] ${tid('line-serves')}`, globalName]);
    await page.locator(row).scrollIntoViewIfNeeded();
    await shot(page, 'operator-02-dashboard');

    // Each concert's dates, under the line that books it: the lined
    // concert's under its own card (seat 1 held above) ...
    const sid = dates.items[0].scheduleId;
    const ownDate = `${row} ${tid('schedule-row')}[data-schedule-id="${sid}"]`;
    await page.locator(ownDate).waitFor();
    await waitForCell(page, ownDate, 'schedule-held', '1');
    await waitForCell(page, ownDate, 'schedule-total', '20');
    assert.equal(await page.locator(ownDate).getAttribute('data-past'), 'false');

    // ... and the global one's in the global line's block. One buyer holds
    // a seat there and another buys one: the date's row follows, live.
    const globalTable = `${tid('line-row')}[data-line-id="0"] ${tid('schedule-table')}[data-concert-id="${globalId}"]`;
    await page.locator(`${globalTable} ${tid('schedule-row')}`).waitFor();
    const gsid = Number(await page.locator(`${globalTable} ${tid('schedule-row')}`).getAttribute('data-schedule-id'));
    const gDate = `${globalTable} ${tid('schedule-row')}[data-schedule-id="${gsid}"]`;
    await waitForCell(page, gDate, 'schedule-available', '10');
    await waitForCell(page, gDate, 'schedule-held', '0');
    await waitForCell(page, gDate, 'schedule-sold', '0');

    const holder = await createUser('Global Holder');
    const ht = await joinLine(holder.userId, globalId);
    assert.equal(ht.status, 'ACTIVE');
    await holdSeat(ht.token, gsid, 1);
    await buySeat(globalId, gsid, 2);
    await waitForCell(page, gDate, 'schedule-held', '1');
    await waitForCell(page, gDate, 'schedule-sold', '1');
    await waitForCell(page, gDate, 'schedule-available', '8');
    await waitForCell(page, gDate, 'schedule-total', '10');
    await shot(page, 'operator-03-dates');

    assertNoProblems(page);
  });
});
