// The waiting room letting a buyer in, live. One buyer may be ACTIVE at a
// time here. A (through the API) has the slot and C waits first; B joins
// in the browser and waits second, seeing the place, the people ahead and
// an estimate. The operator ends A's token: C moves up and B's page shows
// place 1 without a reload. Then C's token ends, and B's page turns ACTIVE
// and moves on to the seats by itself (the page is never reloaded: a mark
// left on its window survives).
//
// server: BOXOFFICE_ACTIVE_MAX=1

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  tid, launch, openPage, shot, withEvidence, assertNoProblems, call,
  createConcert, createUser, joinLine, endToken, pickAccount, joinFromList, waitForSeatMap,
} from './support.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Waits until the waiting room's `testid` reads `text`. */
function waitForText(page, testid, text, timeout = 15000) {
  return page.waitForFunction(
    ([sel, want]) => (document.querySelector(sel)?.textContent || '').trim() === want,
    [tid(testid), text], { timeout });
}

test('the waiting room admits a buyer by itself', { timeout: 90000 }, async () => {
  const concert = await createConcert('E2E Waiting Night');
  const a = await createUser('First In');
  const c = await createUser('Second In');
  const b = await createUser('Browser Buyer');

  const tokenA = await joinLine(a.userId, concert.concertId);
  assert.equal(tokenA.status, 'ACTIVE');
  const tokenC = await joinLine(c.userId, concert.concertId);
  assert.equal(tokenC.status, 'WAITING');
  // C must keep asking, or it would leave the line as idle; its answers
  // also tell the test when it is let in.
  let cStatus = 'WAITING';
  const pollC = setInterval(async () => {
    const r = await call('GET', '/api/v1/queue/status', { bearer: tokenC.token }).catch(() => null);
    if (r && r.status === 200) cStatus = r.body.status;
  }, 500);

  const page = await openPage(browser);
  try {
    await withEvidence('waiting', () => [page], async () => {
      await pickAccount(page, b.userId);
      await joinFromList(page, concert.concertId);

      // Waiting, second: one ahead, an estimate, live by the event stream.
      await page.locator(`${tid('waiting-status')}[data-status="WAITING"]`).waitFor();
      await waitForText(page, 'waiting-position', '2');
      await waitForText(page, 'waiting-ahead', '1');
      const eta = (await page.locator(tid('waiting-eta')).textContent()).trim();
      assert.ok(eta && eta !== '–', `an estimated wait is shown: "${eta}"`);
      await page.locator(`${tid('live-mode')}[data-mode="stream"]`).waitFor();
      await page.evaluate(() => { window.e2eNotReloaded = true; });
      await shot(page, 'waiting-01-second-in-line');

      // Still waiting a moment later: nobody is let in while A is ACTIVE.
      await page.waitForTimeout(1500);
      assert.equal(await page.locator(tid('waiting-status')).getAttribute('data-status'), 'WAITING');
      assert.equal(page.url().endsWith(`#/concerts/${concert.concertId}/line`), true);

      // A's turn ends: C is let in, and B moves up to place 1, live.
      await endToken(tokenA.token);
      await waitForText(page, 'waiting-position', '1', 10000);
      await waitForText(page, 'waiting-ahead', '0');
      assert.equal(await page.locator(tid('waiting-status')).getAttribute('data-status'), 'WAITING');
      const deadline = Date.now() + 5000;
      while (cStatus !== 'ACTIVE' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(cStatus, 'ACTIVE', 'C, first in line, was let in');
      await shot(page, 'waiting-02-first-in-line');

      // C's turn ends: B is let in and the page moves on by itself.
      await endToken(tokenC.token);
      await page.locator(tid('view-booking')).waitFor({ timeout: 10000 });
      await page.locator(tid('active-line')).waitFor();
      assert.match(await page.locator(tid('notice-region')).textContent(), /your turn/i);
      assert.equal(await page.evaluate(() => window.e2eNotReloaded), true, 'the page was not reloaded');
      await waitForSeatMap(page);
      await shot(page, 'waiting-03-admitted');

      assertNoProblems(page);
    });
  } finally {
    clearInterval(pollC);
  }
});
