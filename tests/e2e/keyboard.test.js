// A whole purchase with the keyboard alone (issue 7: the pages must be
// usable without a mouse). Only page.keyboard is used on the page: Tab and
// Shift+Tab to move, Enter and Space to press, the arrow keys in the date
// radio group and the seat grid, and typing into fields that Tab (or the
// page itself) put the focus in. No click, no fill, no element.focus().
//
// At every step the focused element is checked: it is the expected one (by
// data-testid, id or accessible name), it is inside the viewport and not
// covered by something else (the sticky message bar, the sticky side
// panel), and a control shows the focus ring (:focus-visible with a real
// outline). After a change of view the focus must be on the new view's
// heading (the page moves it there), never dropped to <body>. Each walk
// with Tab is bounded (MAX_TABS presses), so a keyboard trap or a control
// Tab cannot reach fails the test with the path the focus took instead of
// hanging it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  tid, launch, openPage, shot, withEvidence, assertNoProblems,
  createConcert, reservationsOf, waitForSeatMap,
} from './support.js';

const MAX_TABS = 60;

let browser;
let focusAfterHold = null; // what had the focus just after the hold was made
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// ---- what has the focus ----

/** In the page: the focused element as plain data. */
function describeActive() {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    return { body: true, tag: el ? el.tagName.toLowerCase() : 'none' };
  }
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  const labels = el.labels ? [...el.labels] : [];
  const labelled = el.getAttribute('aria-labelledby');
  const name = el.getAttribute('aria-label')
    || (labelled && document.getElementById(labelled)?.textContent)
    || (labels[0] && labels[0].textContent)
    || el.textContent || '';
  // Covered? The topmost element at the centre must be it, inside it, or its label.
  const hit = r.width > 0 && r.height > 0
    ? document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) : null;
  return {
    body: false,
    tag: el.tagName.toLowerCase(),
    id: el.id || null,
    testid: el.dataset.testid || null,
    name: name.replace(/\s+/g, ' ').trim().slice(0, 80),
    type: el.type || null,
    checked: el.checked === undefined ? null : el.checked,
    pressed: el.getAttribute('aria-pressed'),
    scheduleId: el.dataset.scheduleId ? Number(el.dataset.scheduleId) : null,
    concertId: el.dataset.concertId ? Number(el.dataset.concertId) : null,
    rect: [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)],
    inViewport: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
      && r.bottom <= window.innerHeight && r.right <= window.innerWidth,
    covered: hit ? !(hit === el || el.contains(hit) || labels.some((l) => l.contains(hit)))
      && `${hit.tagName.toLowerCase()}${hit.dataset.testid ? `[data-testid="${hit.dataset.testid}"]` : ''}.${hit.className}`
      : 'nothing at its centre',
    heading: /^H[1-6]$/.test(el.tagName),
    focusVisible: el.matches(':focus-visible'),
    outlineStyle: cs.outlineStyle,
    outlineWidth: parseFloat(cs.outlineWidth) || 0,
  };
}

const active = (page) => page.evaluate(describeActive);

function fmt(d) {
  if (!d) return '(nothing)';
  if (d.body) return `<${d.tag}> (focus lost)`;
  return `<${d.tag}${d.id ? ` id="${d.id}"` : ''}${d.testid ? ` data-testid="${d.testid}"` : ''}> "${d.name}"`;
}

/** want: {testid, id, name: RegExp, scheduleId, concertId, label}. */
function matches(d, want) {
  if (!d || d.body) return false;
  if (want.testid && d.testid !== want.testid) return false;
  if (want.id && d.id !== want.id) return false;
  if (want.name && !want.name.test(d.name)) return false;
  if (want.scheduleId && d.scheduleId !== want.scheduleId) return false;
  if (want.concertId && d.concertId !== want.concertId) return false;
  return true;
}

const wantText = (want) => want.label || JSON.stringify(want);

/**
 * The focus is on `want`, in view, uncovered and (for a control) ringed.
 * Polled for a moment: the page scrolls smoothly to a focused element.
 */
async function expectFocus(page, want, step) {
  let d = null;
  const until = Date.now() + 3000;
  for (;;) {
    d = await active(page);
    const ok = matches(d, want) && d.inViewport && !d.covered
      && (d.heading || (d.focusVisible && d.outlineStyle !== 'none' && d.outlineWidth >= 2));
    if (ok || Date.now() > until) break;
    await page.waitForTimeout(100);
  }
  assert.ok(!d.body, `${step}: the focus was lost to <${d.tag}>; expected it on ${wantText(want)}`);
  assert.ok(matches(d, want), `${step}: the focus is on ${fmt(d)}, expected ${wantText(want)}`);
  assert.ok(d.inViewport, `${step}: the focused ${fmt(d)} is not inside the viewport (rect ${d.rect})`);
  assert.ok(!d.covered, `${step}: the focused ${fmt(d)} is covered by ${d.covered}`);
  if (!d.heading) {
    assert.ok(d.focusVisible, `${step}: the focused ${fmt(d)} does not match :focus-visible (no focus ring)`);
    assert.ok(d.outlineStyle !== 'none' && d.outlineWidth >= 2,
      `${step}: the focused ${fmt(d)} has no visible outline (${d.outlineStyle} ${d.outlineWidth}px)`);
  }
  return d;
}

/**
 * Presses Tab (or Shift+Tab) until the focus is on `want`, at most
 * MAX_TABS times; fails with the focus's path when it never gets there or
 * stays put (a trap).
 */
async function tabTo(page, want, step, { back = false } = {}) {
  const key = back ? 'Shift+Tab' : 'Tab';
  const path = [];
  let same = 0;
  for (let i = 1; i <= MAX_TABS; i += 1) {
    await page.keyboard.press(key);
    const d = await active(page);
    const last = path[path.length - 1];
    path.push(fmt(d));
    if (matches(d, want)) return { ...(await expectFocus(page, want, step)), presses: i };
    same = last === path[path.length - 1] && !d.body ? same + 1 : 0;
    if (same >= 4) {
      assert.fail(`${step}: keyboard trap: ${key} pressed 5 times and the focus stays on ${fmt(d)} `
        + `(looking for ${wantText(want)})`);
    }
  }
  assert.fail(`${step}: ${wantText(want)} not reached after ${MAX_TABS} presses of ${key}; `
    + `the focus went: ${path.slice(-20).join(' → ')}`);
}

/** After a change of view: the focus lands on the new view's heading, not on <body>. */
async function expectViewFocus(page, headingId, step) {
  try {
    await page.waitForFunction((id) => document.activeElement?.id === id, headingId, { timeout: 10000 });
  } catch {
    const d = await active(page);
    assert.fail(`${step}: after the change of view the focus is on ${fmt(d)}, `
      + `not on the view's heading #${headingId}`);
  }
  return expectFocus(page, { id: headingId, label: `the heading #${headingId}` }, step);
}

// ---- the purchase ----

test('a whole purchase with the keyboard alone', { timeout: 120000 }, async () => {
  const concert = await createConcert('E2E Keyboard Night', { dates: 2, price: 150000 });
  const [first, second] = concert.schedules;
  const page = await openPage(browser);

  await withEvidence('keyboard', () => [page], async () => {
    await page.goto('/');
    await page.locator(tid('user-picker')).waitFor();

    // The first Tab reaches the skip link, which shows itself; Enter on it
    // puts the focus on <main>.
    await page.keyboard.press('Tab');
    await expectFocus(page, { name: /^Skip to content$/, label: 'the skip link' }, 'first Tab');
    await shot(page, 'keyboard-01-skip-link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'main');

    // A new account: Tab to the name field, type, Enter submits its form.
    await tabTo(page, { testid: 'user-name-input', name: /^Your name$/, label: 'the name field' }, 'user picker');
    await page.keyboard.type('Kim Keyboard');
    await shot(page, 'keyboard-02-name-typed');
    await page.keyboard.press('Enter');
    await page.locator(tid('view-concerts')).waitFor();
    await expectViewFocus(page, 'concerts-title', 'after creating the account');
    const userId = Number(await page.locator(tid('current-user')).getAttribute('data-user-id'));
    assert.ok(userId > 0, 'the header names the new account');

    // The concert list: Tab to this concert's Join button (named for it).
    await page.locator(`${tid('join-button')}[data-concert-id="${concert.concertId}"]`).waitFor();
    await tabTo(page, {
      testid: 'join-button', concertId: concert.concertId, name: /^Join the line for E2E Keyboard Night$/,
      label: 'the Join button of E2E Keyboard Night',
    }, 'concert list');
    await shot(page, 'keyboard-03-join-button');
    await page.keyboard.press('Enter');

    // ACTIVE at once: through the waiting room to the booking view, whose
    // heading gets the focus.
    await page.locator(tid('view-booking')).waitFor();
    await expectViewFocus(page, 'booking-title', 'after joining the line');

    // The dates: Tab enters the radio group on the first date (none is
    // chosen yet); the down arrow moves to the second and chooses it.
    await page.locator(tid('schedule-option')).nth(1).waitFor();
    const firstDate = await tabTo(page, {
      testid: 'schedule-option', scheduleId: first.scheduleId, label: 'the first date\'s radio',
    }, 'dates');
    assert.equal(firstDate.checked, false, 'no date is chosen before the buyer picks one');
    await page.keyboard.press('ArrowDown');
    const secondDate = await expectFocus(page, {
      testid: 'schedule-option', scheduleId: second.scheduleId, label: 'the second date\'s radio',
    }, 'ArrowDown in the dates');
    assert.equal(secondDate.checked, true, 'the down arrow chose the second date');
    await waitForSeatMap(page);
    await shot(page, 'keyboard-04-date-chosen');

    // The seat grid is one Tab stop (seat 1); the arrows move in it: down a
    // row to 11, right six times to 17. Space chooses it.
    await tabTo(page, { testid: 'seat-1', label: 'seat 1 (the grid\'s tab stop)' }, 'into the seat map');
    await page.keyboard.press('ArrowDown');
    await expectFocus(page, { testid: 'seat-11', label: 'seat 11' }, 'ArrowDown in the seat map');
    for (let i = 0; i < 6; i += 1) await page.keyboard.press('ArrowRight');
    await expectFocus(page, { testid: 'seat-17', name: /^Seat 17, available$/, label: 'seat 17' },
      'ArrowRight in the seat map');
    // The map refreshes every 2 s: that must not move the focus.
    await page.waitForTimeout(2500);
    await expectFocus(page, { testid: 'seat-17', label: 'seat 17' }, 'after a seat map refresh');
    await page.keyboard.press('Space');
    await page.locator(`${tid('seat-17')}[aria-pressed="true"]`).waitFor();
    assert.match(await page.locator(tid('hold-choice')).textContent(), /Seat 17/);
    await expectFocus(page, { testid: 'seat-17', label: 'seat 17' }, 'after choosing seat 17');
    await shot(page, 'keyboard-05-seat-chosen');

    // Hold it: Tab leaves the grid for the Hold button.
    await tabTo(page, { testid: 'hold-button', name: /^Hold seat 17$/, label: 'the Hold seat 17 button' }, 'to Hold');
    await page.keyboard.press('Enter');
    await page.locator(tid('hold')).waitFor();
    assert.match(await page.locator(tid('hold-summary')).textContent(), /Seat 17/);
    await page.locator(`${tid('seat-17')}[data-status="MINE"]`).waitFor();
    // The Hold button hides itself once the hold is made. Where the focus
    // goes then is checked by the TODO test below (it drops to <body>
    // today); here only that the keyboard user is not stranded: Pay is the
    // focus already, or at most 3 Tabs away (Chromium goes on from where the
    // hidden button was), not a walk from the top of the page.
    focusAfterHold = await active(page);
    if (!matches(focusAfterHold, { testid: 'pay-button' })) {
      const pay = await tabTo(page, { testid: 'pay-button', name: /^Pay ₩150,000$/, label: 'the Pay button' }, 'to Pay');
      assert.ok(pay.presses <= 3, `after the hold, Pay took ${pay.presses} presses of Tab `
        + `(the focus was on ${fmt(focusAfterHold)}): the keyboard user lost their place`);
    }
    await shot(page, 'keyboard-06-hold');

    // Paying with no points: refused, and the page puts the focus in the
    // charge field with the shortfall filled in and selected.
    await page.locator(`${tid('balance')}[data-balance="0"]`).waitFor();
    await page.keyboard.press('Enter');
    await page.locator(`${tid('error-region')}[data-code="INSUFFICIENT_BALANCE"]`).waitFor();
    await expectFocus(page, { testid: 'charge-amount', name: /^Amount to charge/, label: 'the charge field' },
      'after paying without points');
    assert.equal(await page.locator(tid('charge-amount')).inputValue(), '150000');
    await shot(page, 'keyboard-07-charge-suggested');

    // Charge ₩200,000: replace the suggestion, Enter submits the form.
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('200000');
    await page.keyboard.press('Enter');
    await page.locator(`${tid('balance')}[data-balance="200000"]`).waitFor();
    await expectFocus(page, { testid: 'charge-amount', label: 'the charge field' }, 'after charging');

    // Back to Pay with Shift+Tab, and pay.
    await tabTo(page, { testid: 'pay-button', label: 'the Pay button' }, 'back to Pay', { back: true });
    await page.keyboard.press('Enter');

    // The confirmation: its heading has the focus; Tab reaches the way on.
    await page.locator(tid('confirmation')).waitFor();
    await expectViewFocus(page, 'confirm-title', 'after paying');
    assert.equal((await page.locator(tid('confirmation-seat')).textContent()).trim(), '17');
    assert.match(await page.locator(tid('confirmation-amount')).textContent(), /150,000/);
    assert.match(await page.locator(tid('confirmation-balance')).textContent(), /50,000/);
    await tabTo(page, { testid: 'book-another', label: 'the Book another concert link' }, 'confirmation');
    await shot(page, 'keyboard-08-confirmation');

    // Behind the page's back: the second date's seat 17 is bought.
    const mine = await reservationsOf(userId);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].status, 'CONFIRMED');
    assert.equal(mine[0].seatNumber, 17);
    assert.equal(mine[0].scheduleId, second.scheduleId);

    assertNoProblems(page);
  });
});

// After Enter on "Hold seat 17" the Hold button goes away; the focus must
// move into the hold (its Pay button), not drop to <body>, where screen
// readers lose their place and some browsers go on from the top.
test('after Hold, the focus stays in the hold panel instead of dropping to <body>', () => {
  assert.ok(focusAfterHold, 'the purchase did not get as far as the hold');
  assert.ok(!focusAfterHold.body,
    'after Enter on "Hold seat 17" document.activeElement is <body>: hold-panel.js showHold() sets '
    + 'holdButton.hidden = true while the button has the focus, and nothing moves it to the hold');
  assert.match(focusAfterHold.testid || '', /^(pay-button|cancel-button|hold|hold-summary)$/,
    `after the hold the focus is on ${fmt(focusAfterHold)}, not in the hold panel`);
});
