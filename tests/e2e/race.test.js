// Two buyers in two browsers (two contexts: two sessionStorages, two
// users) choose the same seat and press Hold at the same moment. Exactly
// one holds it; the other is told in plain words that someone just took
// the seat, and the seat shows as not available on their map. The API
// agrees: one HELD reservation for the seat, owned by the winner.

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

const SEAT = 12;

/** Resolves to 'won' or 'lost' once the page shows either outcome. */
async function outcome(page) {
  const handle = await page.waitForFunction(() => {
    const hold = document.querySelector('[data-testid="hold"]');
    if (hold && !hold.hidden) return 'won';
    const error = document.querySelector('[data-testid="error-region"]');
    return error && error.dataset.code === 'SEAT_UNAVAILABLE' ? 'lost' : false;
  });
  return handle.jsonValue();
}

test('two browsers race for one seat: one holds it, the other is told', { timeout: 90000 }, async () => {
  const concert = await createConcert('E2E Race Night');
  const users = [await createUser('Racer A'), await createUser('Racer B')];
  const pages = [await openPage(browser), await openPage(browser)];

  await withEvidence('race', () => pages, async () => {
    // Both buyers get to the same seat map and choose the same seat.
    await Promise.all(pages.map(async (page, i) => {
      await pickAccount(page, users[i].userId);
      await joinFromList(page, concert.concertId);
      await page.locator(tid('view-booking')).waitFor();
      await waitForSeatMap(page);
      await waitForSeatStatus(page, SEAT, 'AVAILABLE');
      await page.click(tid(`seat-${SEAT}`));
      await page.locator(tid('hold-button')).waitFor();
    }));

    // Both press Hold at once.
    await Promise.all(pages.map((page) => page.click(tid('hold-button'))));
    const results = await Promise.all(pages.map(outcome));
    assert.deepEqual([...results].sort(), ['lost', 'won'], `one wins, one loses: got ${results}`);
    const winner = results.indexOf('won');
    const loser = 1 - winner;
    const [w, l] = [pages[winner], pages[loser]];

    // The winner holds it: the countdown runs and the seat is theirs.
    await waitForSeatStatus(w, SEAT, 'MINE');
    assert.match(await w.locator(tid('hold-countdown')).textContent(), /^\d+:\d\d$/);

    // The loser: a clear message, no hold, and the seat not available.
    assert.match(await l.locator(tid('error-region')).textContent(), new RegExp(`just took seat ${SEAT}`, 'i'));
    assert.equal(await l.locator(tid('hold')).isVisible(), false, 'the loser has no hold');
    assert.equal(await l.locator(tid('hold-button')).isVisible(), false, 'the loser has no Hold button for it');
    await waitForSeatStatus(l, SEAT, 'HELD');
    assert.equal(await l.locator(tid(`seat-${SEAT}`)).getAttribute('aria-disabled'), 'true');
    assert.match(await l.locator(tid(`seat-${SEAT}`)).getAttribute('aria-label'), /held/);
    await shot(w, 'race-01-winner');
    await shot(l, 'race-02-loser-seat-just-taken');

    // The API agrees: one HELD reservation for the seat, the winner's.
    const held = await Promise.all(users.map(async (u) => (await reservationsOf(u.userId))
      .filter((r) => r.status === 'HELD' && r.seatNumber === SEAT)));
    assert.equal(held[winner].length, 1, 'the winner holds the seat');
    assert.equal(held[loser].length, 0, 'the loser holds nothing');

    // Pressing the taken seat on the loser's map (aria-disabled, so
    // Playwright must be told to press it anyway) says it is held.
    await l.click(tid(`seat-${SEAT}`), { force: true });
    await l.waitForFunction(
      ([sel, n]) => new RegExp(`Seat ${n} is held`).test(document.querySelector(sel)?.textContent || ''),
      [tid('notice-region'), SEAT]);
    assert.equal(await l.locator(tid('hold-button')).isVisible(), false);

    assertNoProblems(...pages);
  });
});
