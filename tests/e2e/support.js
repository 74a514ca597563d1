// What every browser test shares: the server run.sh started for this file
// (BOXOFFICE_URL, BOXOFFICE_ADMIN_TOKEN), a few API calls to set the scene
// up and to check the outcome behind the page's back, Debian's Chromium
// driven by playwright-core, and the screenshots.
//
// The tests drive the pages through their data-testid attributes only
// (web/README.md lists them): classes and texts are the page's to change.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = required('BOXOFFICE_URL');
export const ADMIN = required('BOXOFFICE_ADMIN_TOKEN');
const SHOTS = process.env.E2E_SCREENSHOT_DIR || 'build-e2e/screenshots';
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through tests/e2e/run.sh`);
  return value;
}

/** `[data-testid="x"]`: the selectors the tests use. */
export const tid = (id) => `[data-testid="${id}"]`;

// ---- the API, for setting up and for checking behind the page's back ----

/** One request; resolves to {status, body} whatever the status. */
export async function call(method, path, { body, bearer } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(BASE + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/** Like call(), but anything other than `expected` fails the test. */
export async function must(expected, method, path, options) {
  const r = await call(method, path, options);
  if (r.status !== expected) {
    throw new Error(`${method} ${path}: expected ${expected}, got ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

export const createUser = (name) => must(201, 'POST', '/api/v1/users', { body: { name } });

export const chargePoints = (userId, amount) =>
  must(200, 'POST', `/api/v1/users/${userId}/points/charge`, { body: { amount } });

/** A concert with `dates` schedules (a day apart, a week ahead). */
export function createConcert(name, { dates = 1, seatCount = 50, price = 150000, line } = {}) {
  const day = 24 * 3600 * 1000;
  const schedules = Array.from({ length: dates }, (_, i) => ({
    startsAt: new Date(Date.now() + (7 + i) * day).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    seatCount,
    price,
  }));
  const body = { name, schedules };
  if (line) body.line = line;
  return must(201, 'POST', '/api/v1/admin/concerts', { body, bearer: ADMIN });
}

/** A queue token for `userId` in the line that books `concertId`. */
export const joinLine = (userId, concertId) =>
  must(201, 'POST', '/api/v1/queue/tokens', { body: { userId, concertId } });

export const endToken = (token) =>
  must(200, 'POST', '/api/v1/admin/tokens/end', { body: { token }, bearer: ADMIN });

/**
 * The seats of a schedule as the API gives them, read with a token of a
 * fresh user of its own (the seat map needs an ACTIVE token, and the
 * buyer's own may be spent by then): {seatNumber: status}.
 */
export async function seatStatuses(concertId, scheduleId) {
  const user = await createUser(`observer ${Date.now()}`);
  const t = await joinLine(user.userId, concertId);
  if (t.status !== 'ACTIVE') throw new Error(`the observer's token is ${t.status}, not ACTIVE`);
  const seats = await must(200, 'GET', `/api/v1/schedules/${scheduleId}/seats`, { bearer: t.token });
  await endToken(t.token); // give the slot back
  return Object.fromEntries(seats.items.map((s) => [s.seatNumber, s.status]));
}

/** Holds seat `seatNumber` of `scheduleId` with an ACTIVE token: the reservation. */
export const holdSeat = (token, scheduleId, seatNumber) =>
  must(201, 'POST', '/api/v1/reservations', { bearer: token, body: { scheduleId, seatNumber } });

/**
 * A new buyer with points enough who joins the line of `concertId`, holds
 * seat `seatNumber` of `scheduleId` and pays for it: the payment.
 */
export async function buySeat(concertId, scheduleId, seatNumber, { price = 150000 } = {}) {
  const user = await createUser(`buyer of seat ${seatNumber} ${Date.now()}`);
  if (price > 0) await chargePoints(user.userId, price);
  const t = await joinLine(user.userId, concertId);
  if (t.status !== 'ACTIVE') throw new Error(`the buyer's token is ${t.status}, not ACTIVE`);
  const held = await holdSeat(t.token, scheduleId, seatNumber);
  return must(201, 'POST', '/api/v1/payments', { bearer: t.token, body: { reservationId: held.reservationId } });
}

export const reservationsOf = async (userId) =>
  (await must(200, 'GET', `/api/v1/users/${userId}/reservations`)).items;

// ---- the browser ----

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/**
 * A fresh context (its own sessionStorage: one buyer) and a page in it.
 * Uncaught exceptions and Content-Security-Policy refusals are collected
 * in page.problems; assertNoProblems() fails the test on any.
 */
export async function openPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, baseURL: BASE });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) {
      page.problems.push(`CSP: ${msg.text()}`);
    }
  });
  return page;
}

export function assertNoProblems(...pages) {
  const problems = pages.flatMap((p) => p.problems);
  if (problems.length) throw new Error(`the page reported problems:\n  ${problems.join('\n  ')}`);
}

/**
 * A full-page PNG under the screenshot folder: `<name>.png`, taken from
 * the top of the page (the message bar is sticky). Each state shot is
 * also checked for elements marked `hidden` that are displayed anyway (a
 * CSS `display` rule beats the attribute): they are page problems.
 */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const shown = await page.evaluate(() => [...document.querySelectorAll('[hidden]')]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => `<${el.tagName.toLowerCase()}${el.dataset.testid ? ` data-testid="${el.dataset.testid}"` : ''}`
      + ` class="${el.className}"> "${el.textContent.trim().slice(0, 40)}"`));
  for (const el of shown) page.problems.push(`${name}: marked hidden but displayed: ${el}`);
}

/**
 * Runs `body`; when it throws, each page's state is saved as
 * FAILED-<name>-<i>.png with its URL and error/notice texts printed, so a
 * red run says what the buyer saw.
 */
export async function withEvidence(name, pages, body) {
  try {
    await body();
  } catch (err) {
    for (const [i, page] of pages().entries()) {
      try {
        await shot(page, `FAILED-${name}-${i}`);
        const said = await page.evaluate(() => ({
          url: location.href,
          error: document.querySelector('[data-testid="error-region"]')?.textContent,
          notice: document.querySelector('[data-testid="notice-region"]')?.textContent,
        }));
        console.error(`page ${i}: ${JSON.stringify(said)}`);
      } catch {
        /* the page may be gone; the original error matters */
      }
    }
    throw err;
  }
}

// ---- the buyer's steps, as a person does them ----

/** On the user picker: make a new account by name; lands on the concerts. */
export async function createAccount(page, name) {
  await page.goto('/');
  await page.locator(tid('user-picker')).waitFor();
  await page.fill(tid('user-name-input'), name);
  await page.click(tid('user-create-button'));
  await page.locator(tid('view-concerts')).waitFor();
  const id = await page.locator(tid('current-user')).getAttribute('data-user-id');
  return Number(id);
}

/** On the user picker: continue as an existing account. */
export async function pickAccount(page, userId) {
  await page.goto('/');
  await page.fill(tid('user-id-input'), String(userId));
  await page.click(tid('user-pick-button'));
  await page.locator(tid('view-concerts')).waitFor();
}

/** On the concert list: join the line of `concertId`. */
export async function joinFromList(page, concertId) {
  await page.click(`${tid('join-button')}[data-concert-id="${concertId}"]`);
}

/** In the booking view: waits for the seat map of the chosen date. */
export async function waitForSeatMap(page) {
  await page.locator(`${tid('seat-map')} ${tid('seat-1')}`).waitFor();
}

/** The seat's status as the page shows it (data-status). */
export const seatStatus = (page, n) => page.locator(tid(`seat-${n}`)).getAttribute('data-status');

/** Waits until the page's seat `n` shows `status`. */
export async function waitForSeatStatus(page, n, status, timeout = 15000) {
  await page.locator(`${tid(`seat-${n}`)}[data-status="${status}"]`).waitFor({ timeout });
}
