// A hold that runs out while the page is open: the server holds seats for
// 6 s here, the countdown runs down on the page, and at zero the page says
// the hold ran out, the seat shows AVAILABLE on the map again (for this
// buyer and for another one watching the same date), and the buyer can
// hold it again.
//
// server: BOXOFFICE_HOLD_SECONDS=6

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  tid, launch, openPage, shot, withEvidence, assertNoProblems,
  createConcert, createUser, pickAccount, joinFromList, waitForSeatMap, waitForSeatStatus,
  reservationsOf,
} from './support.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const SEAT = 3;

test('a hold runs out while the page is open', { timeout: 60000 }, async () => {
  const concert = await createConcert('E2E Expiry Night');
  const buyer = await createUser('Slow Payer');
  const other = await createUser('Onlooker');
  const page = await openPage(browser);
  const watcher = await openPage(browser);

  await withEvidence('expiry', () => [page, watcher], async () => {
    for (const [p, u] of [[page, buyer], [watcher, other]]) {
      await pickAccount(p, u.userId);
      await joinFromList(p, concert.concertId);
      await p.locator(tid('view-booking')).waitFor();
      await waitForSeatMap(p);
    }

    await page.click(tid(`seat-${SEAT}`));
    await page.click(tid('hold-button'));
    await page.locator(tid('hold')).waitFor();
    const countdown = page.locator(tid('hold-countdown'));
    assert.match(await countdown.textContent(), /^0:0[1-6]$/, 'a 6 s hold counts down from 0:06 or less');
    await waitForSeatStatus(page, SEAT, 'MINE');
    await waitForSeatStatus(watcher, SEAT, 'HELD'); // the other buyer's map, refreshed by itself
    await shot(page, 'expiry-01-hold-countdown');

    // The countdown reaches zero; the page says so without being asked.
    await page.locator(`${tid('hold-expired')}[data-reason="expired"]`).waitFor({ timeout: 12000 });
    assert.match(await page.locator(tid('hold-expired')).textContent(), new RegExp(`seat ${SEAT} ran out`, 'i'));
    await page.locator(`${tid('error-region')}[data-code="RESERVATION_EXPIRED"]`).waitFor();
    assert.match(await page.locator(tid('error-region')).textContent(), /hold ran out/i);
    assert.equal(await page.locator(tid('hold')).isVisible(), false, 'the hold panel is gone');

    // The seat is AVAILABLE again on both maps, with no reload.
    await waitForSeatStatus(page, SEAT, 'AVAILABLE', 5000);
    await waitForSeatStatus(watcher, SEAT, 'AVAILABLE', 5000);
    assert.equal(await page.locator(tid(`seat-${SEAT}`)).getAttribute('aria-pressed'), 'false');
    await shot(page, 'expiry-02-hold-expired');

    // Behind the page's back: the reservation reads EXPIRED.
    const [r] = await reservationsOf(buyer.userId);
    assert.equal(r.status, 'EXPIRED');

    // The freed seat can be held again, here by the onlooker.
    await watcher.click(tid(`seat-${SEAT}`));
    await watcher.click(tid('hold-button'));
    await watcher.locator(tid('hold')).waitFor();
    await waitForSeatStatus(page, SEAT, 'HELD');

    assertNoProblems(page, watcher);
  });
});
