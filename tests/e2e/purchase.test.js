// A whole purchase, as a new buyer makes it: create an account, join the
// line (ACTIVE at once: there is room), pick a date and a seat, hold it
// (the countdown runs), try to pay without points (told to charge first),
// charge, pay, and read the confirmation. Then the API, asked behind the
// page's back, says the seat is SOLD and the reservation CONFIRMED.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  tid, launch, openPage, shot, withEvidence, assertNoProblems,
  createConcert, createAccount, joinFromList, waitForSeatMap, waitForSeatStatus,
  seatStatuses, reservationsOf,
} from './support.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a new buyer buys a seat from start to confirmation', { timeout: 90000 }, async () => {
  const concert = await createConcert('E2E Purchase Night', { dates: 2, price: 150000 });
  const [first] = concert.schedules;
  const page = await openPage(browser);

  await withEvidence('purchase', () => [page], async () => {
    // Who is buying: a new account.
    await page.goto('/');
    await page.locator(tid('user-picker')).waitFor();
    await shot(page, 'purchase-01-user-picker');
    const userId = await createAccount(page, 'Dana E2E');
    assert.ok(userId > 0, 'the header names the new account');
    assert.match(await page.locator(tid('current-user')).textContent(), /Dana E2E/);

    // The concerts; join this one's line.
    await page.locator(`${tid('concert')}[data-concert-id="${concert.concertId}"]`).waitFor();
    await shot(page, 'purchase-02-concerts');
    await joinFromList(page, concert.concertId);

    // ACTIVE at once: the waiting room hands over to the booking view,
    // which shows the turn's countdown; the notice says it is our turn.
    await page.locator(tid('view-booking')).waitFor();
    await page.locator(tid('active-line')).waitFor();
    await page.waitForFunction(
      (sel) => /^\d+:\d\d$/.test(document.querySelector(sel)?.textContent || ''),
      tid('active-countdown'));
    assert.match(await page.locator(tid('notice-region')).textContent(), /your turn/i);

    // Two dates: nothing is chosen until the buyer picks one.
    const options = page.locator(tid('schedule-option'));
    await options.first().waitFor();
    assert.equal(await options.count(), 2);
    await shot(page, 'purchase-03-dates');
    await page.check(`${tid('schedule-option')}[data-schedule-id="${first.scheduleId}"]`);

    // The seat map: 50 seats, all AVAILABLE.
    await waitForSeatMap(page);
    assert.equal(await page.locator(`${tid('seat-map')} [data-seat-number]`).count(), 50);
    await waitForSeatStatus(page, 7, 'AVAILABLE');
    await shot(page, 'purchase-04-seat-map');

    // Pick seat 7 and hold it: the countdown starts near 5:00 and ticks.
    await page.click(tid('seat-7'));
    assert.equal(await page.locator(tid('seat-7')).getAttribute('aria-pressed'), 'true');
    assert.match(await page.locator(tid('hold-choice')).textContent(), /Seat 7/);
    await page.click(tid('hold-button'));
    await page.locator(tid('hold')).waitFor();
    assert.match(await page.locator(tid('hold-summary')).textContent(), /Seat 7/);
    const countdown = page.locator(tid('hold-countdown'));
    assert.match(await countdown.textContent(), /^[45]:\d\d$/);
    const msBefore = Number(await countdown.getAttribute('data-ms-left'));
    await page.waitForFunction(
      ([sel, before]) => Number(document.querySelector(sel)?.dataset.msLeft) < before - 900,
      [tid('hold-countdown'), msBefore]);
    await waitForSeatStatus(page, 7, 'MINE');
    await shot(page, 'purchase-05-hold-countdown');

    // Paying with no points: told to charge first.
    await page.locator(`${tid('balance')}[data-balance="0"]`).waitFor();
    await page.click(tid('pay-button'));
    await page.locator(`${tid('error-region')}[data-code="INSUFFICIENT_BALANCE"]`).waitFor();
    assert.match(await page.locator(tid('error-region')).textContent(), /charge/i);
    await shot(page, 'purchase-06-not-enough-points');

    // Charge ₩200,000, then pay.
    await page.fill(tid('charge-amount'), '200000');
    await page.click(tid('charge-button'));
    await page.locator(`${tid('balance')}[data-balance="200000"]`).waitFor();
    await page.click(tid('pay-button'));

    // The confirmation: the seat, the amount, the balance left.
    await page.locator(tid('confirmation')).waitFor();
    assert.equal((await page.locator(tid('confirmation-seat')).textContent()).trim(), '7');
    assert.match(await page.locator(tid('confirmation-amount')).textContent(), /150,000/);
    assert.match(await page.locator(tid('confirmation-balance')).textContent(), /50,000/);
    assert.match(await page.locator(tid('confirmation-concert')).textContent(), /E2E Purchase Night/);
    await shot(page, 'purchase-07-confirmation');

    // Behind the page's back: the seat is SOLD, the reservation CONFIRMED.
    const seats = await seatStatuses(concert.concertId, first.scheduleId);
    assert.equal(seats[7], 'SOLD');
    assert.equal(Object.values(seats).filter((s) => s !== 'AVAILABLE').length, 1);
    const mine = await reservationsOf(userId);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].status, 'CONFIRMED');
    assert.equal(mine[0].seatNumber, 7);

    assertNoProblems(page);
  });
});

test('the seat map is usable at phone width', { timeout: 60000 }, async () => {
  const concert = await createConcert('E2E Phone Night');
  const page = await openPage(browser, { width: 390, height: 844 });
  await withEvidence('phone', () => [page], async () => {
    await createAccount(page, 'Phone E2E');
    await joinFromList(page, concert.concertId);
    await page.locator(tid('view-booking')).waitFor();
    await waitForSeatMap(page); // one date: chosen by itself
    // No sideways scrolling at 390 px: the page fits the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
    await page.click(tid('seat-1'));
    await page.click(tid('hold-button'));
    await page.locator(tid('hold')).waitFor();
    await shot(page, 'purchase-08-phone-hold');
    assertNoProblems(page);
  });
});
