// #/concerts/{id}/book : with an ACTIVE token, the concert's bookable dates,
// the chosen date's seat map (refreshed every 2 s while the page is visible,
// and at once after the buyer's own actions), the hold with its countdown,
// the points, and Pay. Arriving here without an ACTIVE token (a reload, a
// bookmark) re-joins the line, which gives back the same token, and goes to
// the waiting room if it is not ACTIVE yet.

import { api, serverNow } from './api.js';
import { currentUser } from './account.js';
import { Backoff, isRetryable, sleep } from './backoff.js';
import { concertName } from './catalog.js';
import { startCountdown } from './countdown.js';
import { h, setChildren, busy } from './dom.js';
import { formatCountdown, formatDateTime, formatWon, formatDuration, formatCount } from './format.js';
import { createHoldPanel } from './hold-panel.js';
import { paymentKey, dropPaymentKey } from './idempotency.js';
import { joinLine, rejoinLine, onSessionChange, markEnded, markSpent } from './line-session.js';
import { showError, showNotice, clearError, clearErrorIf } from './notices.js';
import { createPointsPanel } from './points-panel.js';
import { createSeatMap, seatLegend } from './seat-map.js';
import { saveConfirmation } from './storage.js';

const SEAT_REFRESH_MS = 2000;
const TROUBLE_CODES = ['NETWORK', 'TOO_MANY_REQUESTS', 'UNAVAILABLE', 'INTERNAL'];

export function mount(root, { concertId }, ctx) {
  const user = currentUser();
  const { signal } = ctx;
  let session = null;
  let name = `Concert #${concertId}`;
  let schedules = [];
  let scheduleId = null;
  let seats = []; // the chosen date's seats as last fetched
  let selectedSeat = null;
  let refreshTimer = null;
  let refreshSeq = 0;
  let stopActiveCountdown = null;
  const refreshBackoff = new Backoff({ baseMs: SEAT_REFRESH_MS, maxMs: 30000 });

  // ---- the page ----
  const title = h('h1', { id: 'booking-title', tabindex: '-1', text: 'Choose your seat' });
  const activeCountdown = h('span', { class: 'countdown', role: 'timer', 'aria-live': 'off', 'data-testid': 'active-countdown', text: '–' });
  const activeLine = h('p', { class: 'active-line', 'data-testid': 'active-line' },
    'Your turn ends in ', activeCountdown, '. Hold a seat and pay before then.');

  // A line with an on-sale: where the buyer's entry is in the public draw
  // (they may have been admitted the moment it was made, never seeing the
  // waiting room after it).
  const drawInfo = h('p', { class: 'hint', 'data-testid': 'booking-draw-info', hidden: true });

  const endedText = h('p', { 'data-testid': 'booking-ended-text' });
  const rejoinButton = h('button', { type: 'button', class: 'primary', 'data-testid': 'rejoin-button', text: 'Join the line again' });
  const ended = h('section', { class: 'card ended', 'data-testid': 'booking-ended', hidden: true, 'aria-labelledby': 'booking-ended-title' },
    h('h2', { id: 'booking-ended-title', text: 'Your turn to book has ended' }), endedText, rejoinButton);

  const dateList = h('div', { class: 'date-list', 'data-testid': 'schedule-list', 'aria-busy': 'true' },
    h('p', { class: 'muted', text: 'Loading dates…' }));
  const dates = h('section', { class: 'card', 'aria-labelledby': 'dates-title' },
    h('h2', { id: 'dates-title', text: '1. Choose a date' }),
    h('fieldset', { class: 'plain' }, h('legend', { class: 'visually-hidden', text: 'Dates' }), dateList));

  const seatMap = createSeatMap({ onPick: pickSeat });
  const seatsUpdated = h('p', { class: 'hint', 'data-testid': 'seat-map-updated', text: '' });
  const seatSection = h('section', { class: 'card', 'aria-labelledby': 'seats-title' },
    h('h2', { id: 'seats-title', text: '2. Choose a seat' }),
    h('p', { class: 'hint', text: 'The stage is at the top. The map updates by itself every 2 seconds.' }),
    h('div', { class: 'stage', 'aria-hidden': 'true', text: 'Stage' }),
    seatMap.el,
    seatsUpdated,
    seatLegend());

  const holdPanel = createHoldPanel({ onHold: holdSeat, onCancel: cancelHold, onPay: pay, onExpired: holdExpired });
  const points = createPointsPanel(user.userId, { signal });

  const view = h('section', { class: 'view', 'data-testid': 'view-booking', 'aria-labelledby': 'booking-title' },
    title, activeLine, drawInfo, ended,
    h('div', { class: 'booking-grid' },
      h('div', { class: 'booking-main' }, dates, seatSection),
      h('div', { class: 'booking-side' }, holdPanel.el, points.el)));
  root.append(view);

  concertName(concertId).then((n) => {
    name = n;
    if (!signal.aborted) title.textContent = `Choose your seat: ${n}`;
  });

  // ---- the token ----
  async function start() {
    const backoff = new Backoff();
    while (!signal.aborted) {
      try {
        session = await joinLine(user.userId, concertId);
        break;
      } catch (err) {
        if (signal.aborted) return;
        if (!isRetryable(err)) {
          showError(err, { NOT_FOUND: 'There is no such concert. Please choose one from the list.' });
          if (err.code === 'SOLD_OUT') ctx.navigate(`/concerts/${concertId}/line`, { replace: true });
          return;
        }
        showError(err);
        await sleep(backoff.next(err.retryAfter), signal);
      }
    }
    if (signal.aborted) return;
    if (session.status.status !== 'ACTIVE') {
      ctx.navigate(`/concerts/${concertId}/line`, { replace: true });
      return;
    }
    clearErrorIf(TROUBLE_CODES);
    const b = session.status;
    if (b.onSaleAt && b.entryId && Date.parse(b.onSaleAt) <= serverNow()) {
      setChildren(drawInfo, 'Your entry id in the draw: ', h('code', { class: 'hash', text: b.entryId }), '. ',
        h('a', { href: api.drawUrl(concertId), 'data-testid': 'draw-link', text: 'See the public draw' }), '.');
      drawInfo.hidden = false;
    }
    // At zero the page does not end the session itself: expiresAt is in
    // whole seconds and the real end up to a second later, so a buyer who
    // re-joined on the dot would get the same, dying token back. The
    // stream's `end` (or the poll's 401) says when it is really over.
    stopActiveCountdown = startCountdown(session.status.expiresAt,
      (ms) => { activeCountdown.textContent = formatCountdown(ms); },
      () => { activeCountdown.textContent = '0:00 (time is up)'; });
    points.refresh();
    // Dates first: a resumed hold then opens on its own date, with its label.
    await loadSchedules();
    await loadMyHold();
  }

  function onSession(s) {
    if (signal.aborted || !session || s !== session || !s.ended) return;
    if (s.ended.reason === 'spent' && payingNow) return; // our own payment: the confirmation follows
    showEnded(s.ended);
  }

  let payingNow = false;

  function showEnded(err) {
    if (stopActiveCountdown) stopActiveCountdown();
    clearTimeout(refreshTimer);
    activeLine.hidden = true;
    ended.hidden = false;
    view.classList.add('is-ended');
    const hold = holdPanel.currentHold();
    const holdNote = hold
      ? ` Your hold on seat ${hold.seatNumber} stays until its countdown ends: join the line again to pay for it.`
      : '';
    endedText.textContent = (err.reason === 'spent'
      ? 'This place in line was used for a purchase (perhaps in another tab).'
      : err.reason === 'expired'
        ? 'The time you had to book ran out.'
        : 'Your place in line is no longer valid.') + holdNote;
    showError(err, { TOKEN_INVALID: `Your turn to book has ended.${holdNote} Join the line again to continue.` });
    rejoinButton.focus();
  }

  rejoinButton.addEventListener('click', () => busy(rejoinButton, async () => {
    try {
      await rejoinLine(user.userId, concertId);
      clearError();
      // The waiting room shows the new place and comes back here when ACTIVE.
      ctx.navigate(`/concerts/${concertId}/line`);
    } catch (err) {
      showError(err);
    }
  }));

  /** A booking call answered with a token problem: true if handled here. */
  function tokenProblem(err) {
    if (err.code === 'TOKEN_INVALID') {
      markEnded(err);
      return true;
    }
    if (err.code === 'TOKEN_NOT_ACTIVE') {
      showError(err);
      ctx.navigate(`/concerts/${concertId}/line`, { replace: true });
      return true;
    }
    if (err.code === 'WRONG_LINE') {
      // The token is of another line than this concert's: join the right one.
      showError(err);
      rejoinLine(user.userId, concertId).then(() => ctx.navigate(`/concerts/${concertId}/line`, { replace: true }), showError);
      return true;
    }
    return false;
  }

  // ---- dates ----
  function dateLabel(id) {
    const s = schedules.find((x) => x.scheduleId === id);
    return s ? formatDateTime(s.startsAt) : null;
  }

  async function loadSchedules() {
    try {
      const list = await api.schedules(session.token, concertId, { signal });
      schedules = list.items;
      renderDates();
    } catch (err) {
      if (err.name === 'AbortError') return;
      dateList.removeAttribute('aria-busy');
      setChildren(dateList, h('p', { class: 'muted', text: 'The dates could not be loaded.' }),
        h('button', { type: 'button', class: 'secondary', text: 'Try again', on: { click: loadSchedules } }));
      if (!tokenProblem(err)) showError(err, { NOT_FOUND: 'There is no such concert.' });
    }
  }

  function renderDates() {
    dateList.removeAttribute('aria-busy');
    if (schedules.length === 0) {
      setChildren(dateList, h('p', { 'data-testid': 'no-dates', text: 'No date of this concert can be booked now: every date is sold out or has already started.' }));
      seatMap.clear('No seats to show.');
      return;
    }
    setChildren(dateList, schedules.map((s) => {
      const id = `schedule-${s.scheduleId}`;
      const input = h('input', {
        type: 'radio', name: 'schedule', id, value: s.scheduleId,
        'data-testid': 'schedule-option', 'data-schedule-id': s.scheduleId,
        checked: s.scheduleId === scheduleId,
        on: { change: () => chooseDate(s.scheduleId) },
      });
      return h('div', { class: 'date-option' }, input,
        h('label', { for: id },
          h('time', { datetime: s.startsAt, text: formatDateTime(s.startsAt) }),
          h('span', { class: 'seats-free', 'data-schedule-free': s.scheduleId, text: freeText(s.availableSeats, s.totalSeats) })));
    }));
    // One date needs no choosing; a resumed hold brings its own date.
    if (scheduleId === null && schedules.length === 1) chooseDate(schedules[0].scheduleId);
  }

  function freeText(free, total) {
    return `${formatCount(free)} of ${formatCount(total)} seats free`;
  }

  function chooseDate(id) {
    if (scheduleId === id && seats.length) return;
    scheduleId = id;
    const radio = dateList.querySelector(`input[data-schedule-id="${id}"]`);
    if (radio) radio.checked = true;
    seats = [];
    selectedSeat = null;
    holdPanel.showChoice(null);
    seatMap.clear('Loading seats…');
    refreshSeats();
  }

  // ---- the seat map, live ----
  function scheduleRefresh(ms) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshSeats, ms);
  }

  async function refreshSeats() {
    clearTimeout(refreshTimer);
    if (signal.aborted || scheduleId === null || !ended.hidden) return;
    // A hidden tab asks nothing; visibilitychange brings it back at once.
    if (document.visibilityState === 'hidden') return;
    const id = scheduleId;
    const seq = ++refreshSeq;
    try {
      const list = await api.seats(session.token, id, { signal });
      // An older answer overtaken by a newer request (after an action) is dropped.
      if (seq !== refreshSeq || id !== scheduleId) return;
      refreshBackoff.reset();
      clearErrorIf(TROUBLE_CODES);
      showSeats(list.items);
      scheduleRefresh(SEAT_REFRESH_MS);
    } catch (err) {
      if (err.name === 'AbortError' || seq !== refreshSeq) return;
      if (isRetryable(err)) {
        const delay = refreshBackoff.next(err.retryAfter);
        seatsUpdated.textContent = `The seat map is not updating right now; trying again in ${formatDuration(Math.max(1, Math.round(delay / 1000)))}.`;
        scheduleRefresh(delay);
        return;
      }
      if (!tokenProblem(err)) {
        showError(err, { NOT_FOUND: 'That date no longer exists. Please choose another.' });
      }
    }
  }

  function showSeats(items) {
    seats = items;
    const hold = holdPanel.currentHold();
    const mine = hold && hold.scheduleId === scheduleId ? hold.seatNumber : null;
    seatMap.update(items, { mine });
    const free = items.filter((s) => s.status === 'AVAILABLE').length;
    const freeLabel = dateList.querySelector(`[data-schedule-free="${scheduleId}"]`);
    if (freeLabel) freeLabel.textContent = freeText(free, items.length);
    seatsUpdated.textContent = `${formatCount(free)} of ${formatCount(items.length)} seats free. Updated ${new Date().toLocaleTimeString()}.`;
    // The seat chosen a moment ago has just been taken by someone else.
    if (selectedSeat !== null && !hold && seatMap.statusOf(selectedSeat) !== 'AVAILABLE') {
      const lost = selectedSeat;
      selectedSeat = null;
      seatMap.select(null);
      holdPanel.showChoice(null);
      showError({ code: 'SEAT_UNAVAILABLE' }, { SEAT_UNAVAILABLE: `Someone just took seat ${lost}. Please pick another one.` });
    }
  }

  function onVisibility() {
    if (document.visibilityState === 'visible') refreshSeats();
  }
  document.addEventListener('visibilitychange', onVisibility);

  function pickSeat(seatNumber, status) {
    if (!ended.hidden) return;
    const hold = holdPanel.currentHold();
    if (hold) {
      if (!(hold.scheduleId === scheduleId && hold.seatNumber === seatNumber)) {
        showNotice(`You already hold seat ${hold.seatNumber}. Pay for it, or cancel the hold to choose another seat.`);
      }
      return;
    }
    if (status !== 'AVAILABLE') {
      showNotice(status === 'SOLD'
        ? `Seat ${seatNumber} is sold.`
        : `Seat ${seatNumber} is held by someone else right now. It comes free again if their hold runs out.`);
      return;
    }
    selectedSeat = seatNumber;
    seatMap.select(seatNumber);
    const seat = seats.find((s) => s.seatNumber === seatNumber);
    holdPanel.showChoice({ seatNumber, price: seat ? seat.price : 0 }, dateLabel(scheduleId));
    clearError();
  }

  // ---- hold, cancel ----
  function holdSeat(button) {
    if (selectedSeat === null || scheduleId === null) return;
    const seatNumber = selectedSeat;
    const id = scheduleId;
    busy(button, async () => {
      try {
        const reservation = await api.hold(session.token, id, seatNumber);
        adoptHold(reservation, true);
      } catch (err) {
        if (tokenProblem(err)) return;
        if (err.code === 'SEAT_UNAVAILABLE' && await adoptOwnHold(id, seatNumber)) return;
        selectedSeat = null;
        seatMap.select(null);
        holdPanel.showChoice(null);
        showError(err, {
          SEAT_UNAVAILABLE: `Someone just took seat ${seatNumber}. Please pick another one.`,
          NOT_FOUND: `Seat ${seatNumber} does not exist on this date.`,
        });
        if (err.code === 'SCHEDULE_CLOSED') {
          scheduleId = null;
          seatMap.clear();
          loadSchedules();
        }
      } finally {
        refreshSeats();
      }
    });
  }

  // "Held by someone (the caller included)": a hold whose answer was lost
  // on the way (a dropped connection) is the buyer's own, so it is looked
  // up rather than reported as taken.
  async function adoptOwnHold(id, seatNumber) {
    try {
      const list = await api.reservationsOf(user.userId, { signal });
      const own = list.items.find((r) => r.status === 'HELD' && r.scheduleId === id && r.seatNumber === seatNumber);
      if (!own) return false;
      adoptHold(own, true);
      return true;
    } catch {
      return false;
    }
  }

  function adoptHold(reservation, announce) {
    selectedSeat = reservation.scheduleId === scheduleId ? reservation.seatNumber : null;
    holdPanel.showHold(reservation, dateLabel(reservation.scheduleId), {
      onWarn: () => showNotice(`One minute left to pay for seat ${reservation.seatNumber}.`),
    });
    seatMap.select(selectedSeat);
    clearError();
    if (announce) {
      const left = Math.max(0, Math.round((Date.parse(reservation.expiresAt) - serverNow()) / 1000));
      showNotice(`Seat ${reservation.seatNumber} is held for you for ${formatDuration(left)}. Pay ${formatWon(reservation.price)} to make it yours.`);
    }
    if (seats.length) showSeats(seats);
  }

  // After a reload, a hold made earlier in this tab (or another) is still
  // the buyer's: pick it up from their reservations (no token needed).
  async function loadMyHold() {
    try {
      const list = await api.reservationsOf(user.userId, { signal });
      const now = serverNow();
      const held = list.items.find((r) => r.status === 'HELD' && Date.parse(r.expiresAt) > now);
      if (!held || signal.aborted) return;
      adoptHold(held, false);
      showNotice(`You still hold seat ${held.seatNumber}. Pay for it or cancel the hold.`);
      if (schedules.some((s) => s.scheduleId === held.scheduleId)) chooseDate(held.scheduleId);
    } catch {
      /* the buyer can still book; an old hold simply runs out */
    }
  }

  function cancelHold(hold, button) {
    if (!ended.hidden) {
      showError({ code: 'TOKEN_INVALID' }, { TOKEN_INVALID: 'Your turn to book has ended. Join the line again to cancel the hold, or let it run out.' });
      rejoinButton.focus();
      return;
    }
    busy(button, async () => {
      try {
        await api.cancel(session.token, hold.reservationId);
        holdPanel.clearHold(`You let seat ${hold.seatNumber} go.`, 'cancelled');
        selectedSeat = null;
        seatMap.select(null);
        clearError();
        showNotice(`Your hold on seat ${hold.seatNumber} is cancelled.`);
      } catch (err) {
        if (tokenProblem(err)) return;
        if (err.code === 'RESERVATION_NOT_HELD' || err.code === 'NOT_FOUND') {
          holdPanel.clearHold();
          selectedSeat = null;
          seatMap.select(null);
        }
        showError(err);
      } finally {
        refreshSeats();
      }
    });
  }

  function holdExpired(hold) {
    selectedSeat = null;
    seatMap.select(null);
    showError({ code: 'RESERVATION_EXPIRED' }, {
      RESERVATION_EXPIRED: `Your hold ran out: seat ${hold.seatNumber} was released. Pick a seat again.`,
    });
    refreshSeats();
  }

  // ---- pay ----
  // The Idempotency-Key belongs to the reservation (idempotency.js): the
  // automatic retries below and any later press of Pay, even after a
  // reload, send the same key, so a payment whose answer was lost is
  // answered from the first one instead of being made twice.
  function pay(hold, button) {
    if (!ended.hidden) {
      // No live token: paying would be refused; say what to do instead.
      showError({ code: 'TOKEN_INVALID' }, { TOKEN_INVALID: 'Your turn to book has ended. Join the line again, then pay for your held seat.' });
      rejoinButton.focus();
      return;
    }
    busy(button, async () => {
      const key = paymentKey(hold.reservationId);
      const backoff = new Backoff({ baseMs: 500, maxMs: 4000 });
      payingNow = true;
      try {
        for (let attempt = 1; ; attempt += 1) {
          try {
            const payment = await api.pay(session.token, hold.reservationId, key);
            return paid(hold, payment);
          } catch (err) {
            if (isRetryable(err) && attempt < 4 && !signal.aborted) {
              showNotice('The payment is taking longer than usual; trying again…');
              await sleep(backoff.next(err.retryAfter), signal);
              continue;
            }
            return payFailed(hold, err);
          }
        }
      } finally {
        payingNow = false;
      }
    });
  }

  function paid(hold, payment) {
    const schedule = schedules.find((s) => s.scheduleId === hold.scheduleId);
    saveConfirmation({
      paymentId: payment.paymentId,
      reservationId: payment.reservationId,
      amount: payment.amount,
      balance: payment.balance,
      seatNumber: hold.seatNumber,
      scheduleId: hold.scheduleId,
      startsAt: schedule ? schedule.startsAt : null,
      concertId,
      concertName: name,
    });
    markSpent(); // the payment spent the token; its stream's end is expected
    holdPanel.destroy();
    clearError();
    showNotice(`Paid ${formatWon(payment.amount)}. Seat ${hold.seatNumber} is yours.`);
    ctx.navigate('/confirmation');
  }

  function payFailed(hold, err) {
    if (tokenProblem(err)) return;
    switch (err.code) {
      case 'INSUFFICIENT_BALANCE': {
        const balance = points.balance();
        const short = balance === null ? hold.price : hold.price - balance;
        showError(err, {
          INSUFFICIENT_BALANCE: `Not enough points — charge first. Seat ${hold.seatNumber} costs ${formatWon(hold.price)}${balance === null ? '' : `; you have ${formatWon(balance)}`}.`,
        });
        points.refresh();
        points.suggest(Math.max(1, short));
        return;
      }
      case 'RESERVATION_EXPIRED':
        holdPanel.clearHold(`Your hold on seat ${hold.seatNumber} ran out, and the seat was released.`, 'expired');
        holdExpired(hold);
        return;
      case 'ALREADY_PAID':
      case 'RESERVATION_NOT_HELD':
        holdPanel.clearHold();
        showError(err);
        refreshSeats();
        return;
      case 'IDEMPOTENCY_KEY_REUSED':
        dropPaymentKey(hold.reservationId); // the next press makes a fresh key
        showError(err);
        return;
      default:
        showError(err);
    }
  }

  const unsubscribe = onSessionChange(onSession);
  start();

  return () => {
    unsubscribe();
    clearTimeout(refreshTimer);
    document.removeEventListener('visibilitychange', onVisibility);
    if (stopActiveCountdown) stopActiveCountdown();
    holdPanel.destroy();
  };
}
