// #/concerts/{id}/line : the waiting room. Joins the concert's line (a
// concert with a line of its own gives a scoped token, any other the global
// line's) and shows the place in it live: status, position, people ahead,
// the estimate, a progress bar from the first place seen, the seats left,
// and, before an on-sale, the pre-queue with the buyer's entry id. When the
// token becomes ACTIVE the page moves on to the seat map by itself: the
// buyer may be in another tab, and the active time is already running.

import { api, serverNow } from './api.js';
import { currentUser } from './account.js';
import { Backoff, isRetryable, sleep } from './backoff.js';
import { concertName } from './catalog.js';
import { startCountdown } from './countdown.js';
import { h } from './dom.js';
import { formatCount, formatCountdown, formatDateTime, formatEta, formatDuration } from './format.js';
import { joinLine, rejoinLine, onSessionChange, progressOf } from './line-session.js';
import { showError, showNotice, clearError, clearErrorIf } from './notices.js';

const TROUBLE_CODES = ['NETWORK', 'TOO_MANY_REQUESTS', 'UNAVAILABLE', 'INTERNAL'];

const STATUS_TEXT = {
  WAITING: 'Waiting in line',
  PREQUEUE: 'In the pre-queue, waiting for the sale to open',
  ACTIVE: 'Your turn! Taking you to the seats…',
  SOLD_OUT: 'Sold out',
  JOINING: 'Joining the line…',
  ENDED: 'No longer in line',
};

export function mount(root, { concertId }, ctx) {
  const user = currentUser();
  const title = h('h1', { id: 'waiting-title', tabindex: '-1', text: 'Waiting room' });

  const status = h('dd', { 'data-testid': 'waiting-status', 'data-status': 'JOINING', text: STATUS_TEXT.JOINING });
  const position = h('dd', { 'data-testid': 'waiting-position', text: '–' });
  const ahead = h('dd', { 'data-testid': 'waiting-ahead', text: '–' });
  const eta = h('dd', { 'data-testid': 'waiting-eta', text: '–' });
  const seatsLeft = h('dd', { 'data-testid': 'waiting-seats-left', text: '–' });
  const seatsRow = h('div', { class: 'stat', hidden: true }, h('dt', { text: 'Seats left' }), seatsLeft);
  const positionRow = h('div', { class: 'stat' }, h('dt', { text: 'Your place in line' }), position);
  const aheadRow = h('div', { class: 'stat' }, h('dt', { text: 'People ahead of you' }), ahead);

  const progress = h('progress', { id: 'line-progress', max: '100', value: '0', 'data-testid': 'waiting-progress' }, '0%');
  const progressText = h('span', { class: 'progress-text', text: '' });
  const progressBlock = h('div', { class: 'progress-block' },
    h('label', { for: 'line-progress', text: 'How far you have come since you joined' }),
    progress, progressText);

  const liveMode = h('p', { class: 'hint', 'data-testid': 'live-mode', 'data-mode': 'none', text: '' });

  // Pre-queue: the sale has not opened; everyone who joins before it is put
  // in a random, verifiable order at the on-sale.
  const onSaleTime = h('time', { 'data-testid': 'onsale-time' });
  const onSaleCountdown = h('span', { 'data-testid': 'onsale-countdown', role: 'timer', 'aria-live': 'off' });
  const entryId = h('code', { class: 'hash', 'data-testid': 'entry-id' });
  const entryRow = h('div', { class: 'stat wide', hidden: true }, h('dt', { text: 'Your entry in the draw' }), h('dd', {}, entryId));
  const commitment = h('code', { class: 'hash', 'data-testid': 'seed-commitment' });
  const commitmentRow = h('div', { class: 'stat wide', hidden: true },
    h('dt', { text: 'Published fingerprint of the draw’s secret seed (SHA-256)' }), h('dd', {}, commitment));
  const drawLink = h('a', { 'data-testid': 'draw-link', href: api.drawUrl(concertId), text: 'See the public draw (the order everyone was put in)' });
  const drawPara = h('p', { hidden: true }, drawLink,
    '. Find your entry id in its list: its place there is your place in line.');
  const preQueueExplain = h('p', {},
    'Everyone who joins before the sale opens is put in a random order at that moment, so there is no need to rush: just be here with this page open. ',
    'Your entry id below is how you will find yourself in the published draw.');
  const preQueue = h('section', { class: 'card prequeue', 'data-testid': 'prequeue', hidden: true, 'aria-labelledby': 'prequeue-title' },
    h('h2', { id: 'prequeue-title', text: 'Before the sale opens' }),
    h('p', { class: 'lead' }, 'The sale opens ', onSaleTime, ' (', onSaleCountdown, ').'),
    preQueueExplain,
    h('dl', { class: 'stats' }, entryRow, commitmentRow),
    drawPara);

  const soldOut = h('section', { class: 'card sold-out', 'data-testid': 'sold-out', hidden: true, 'aria-labelledby': 'sold-out-title' },
    h('h2', { id: 'sold-out-title', text: 'Sold out' }),
    h('p', { text: 'Every seat of this concert has been sold, so the line has closed and you will not be let in. We are sorry.' }),
    h('p', {}, h('a', { href: '#/concerts', text: 'Back to the concerts' })));

  const endedText = h('p', { 'data-testid': 'line-ended-text' });
  const rejoinButton = h('button', { type: 'button', class: 'primary', 'data-testid': 'rejoin-button', text: 'Join the line again' });
  const ended = h('section', { class: 'card', 'data-testid': 'line-ended', hidden: true, 'aria-labelledby': 'ended-title' },
    h('h2', { id: 'ended-title', text: 'You are no longer in this line' }), endedText, rejoinButton);

  const statusCard = h('section', { class: 'card', 'aria-labelledby': 'status-title', 'data-testid': 'waiting-room' },
    h('h2', { id: 'status-title', class: 'visually-hidden', text: 'Your place' }),
    h('dl', { class: 'stats' },
      h('div', { class: 'stat wide' }, h('dt', { text: 'Status' }), status),
      positionRow, aheadRow,
      h('div', { class: 'stat' }, h('dt', { text: 'Estimated wait' }), eta),
      seatsRow),
    progressBlock,
    liveMode);

  root.append(h('section', { class: 'view', 'data-testid': 'view-waiting', 'aria-labelledby': 'waiting-title' },
    title,
    h('p', { class: 'lead', text: 'Keep this page open: your place is kept while it is. You will be taken to the seats when it is your turn.' }),
    statusCard, preQueue, soldOut, ended,
    h('p', {}, h('a', { href: '#/concerts', text: 'Back to the concerts' }))));

  concertName(concertId).then((name) => {
    if (!ctx.signal.aborted) title.textContent = `Waiting room: ${name}`;
  });

  let leaving = false;
  let stopOnSale = null;
  let onSaleShown = null;
  let commitmentAsked = false;
  let announced = { joined: false, near: false, drawn: false, preQueue: false };

  function setStatus(key, text = STATUS_TEXT[key]) {
    status.dataset.status = key;
    status.textContent = text;
  }

  function render(s) {
    if (ctx.signal.aborted || !s || s.userId !== user.userId || s.concertId !== concertId) return;
    if (s.ended) return renderEnded(s.ended);
    ended.hidden = true;
    const b = s.status;

    if (b.status === 'ACTIVE') {
      if (leaving) return; // several updates can arrive before the hash change lands
      leaving = true;
      setStatus('ACTIVE');
      progress.value = 100;
      showNotice("It's your turn! Choose a date and a seat.");
      ctx.navigate(`/concerts/${concertId}/book`, { replace: true });
      return;
    }
    if (b.status === 'SOLD_OUT') {
      setStatus('SOLD_OUT');
      soldOut.hidden = false;
      statusCard.classList.add('is-closed');
      stopCountdown();
      showError({ code: 'SOLD_OUT' });
      return;
    }

    // WAITING, in the pre-queue or in the ordered line.
    setStatus(b.preQueue ? 'PREQUEUE' : 'WAITING');
    // In the pre-queue `position` is the pre-queue's size, not a place:
    // places are drawn at the on-sale.
    position.textContent = b.preQueue ? 'drawn when the sale opens' : formatCount(b.position);
    ahead.textContent = b.preQueue ? `${formatCount(b.position)} in the pre-queue so far, you included` : formatCount(b.ahead);
    eta.textContent = b.preQueue ? `the sale opens in ${formatDuration(b.estimatedWaitSeconds)}` : formatEta(b.estimatedWaitSeconds);
    seatsRow.hidden = b.seatsLeft === null || b.seatsLeft === undefined;
    if (!seatsRow.hidden) seatsLeft.textContent = formatCount(b.seatsLeft);

    const share = Math.round(progressOf(s) * 100);
    progressBlock.hidden = b.preQueue;
    progress.value = share;
    progress.textContent = `${share}%`;
    progressText.textContent = s.firstPosition ? `${share}% of the way (you joined at place ${formatCount(s.firstPosition)})` : '';

    renderPreQueue(b);
    renderMode(s);
    announce(b);
  }

  function renderPreQueue(b) {
    const hasOnSale = Boolean(b.onSaleAt);
    preQueue.hidden = !hasOnSale;
    if (!hasOnSale) return stopCountdown();
    if (onSaleShown !== b.onSaleAt) {
      onSaleShown = b.onSaleAt;
      onSaleTime.dateTime = b.onSaleAt;
      onSaleTime.textContent = `on ${formatDateTime(b.onSaleAt)}`;
      stopCountdown();
      stopOnSale = startCountdown(b.onSaleAt,
        (ms) => { onSaleCountdown.textContent = ms > 0 ? `in ${formatCountdown(ms)}` : 'now open'; },
        () => { onSaleCountdown.textContent = 'now open'; });
    }
    entryRow.hidden = !b.entryId;
    entryId.textContent = b.entryId || '';
    // After the on-sale the draw is public; a token that joined before it
    // finds its entry id there. (Before it, the draw page answers 409.)
    const drawn = !b.preQueue && Date.parse(b.onSaleAt) <= serverNow();
    drawPara.hidden = !drawn;
    preQueueExplain.hidden = drawn;
    if (!commitmentAsked) {
      commitmentAsked = true;
      api.concertLine(concertId, { signal: ctx.signal }).then((line) => {
        if (line.seedCommitment) {
          commitment.textContent = line.seedCommitment;
          commitmentRow.hidden = false;
        }
      }).catch(() => { /* a nicety: the line works without it */ });
    }
  }

  function renderMode(s) {
    liveMode.dataset.mode = s.mode || 'none';
    if (s.trouble) {
      const seconds = Math.max(1, Math.round((s.trouble.retryAt - Date.now()) / 1000));
      liveMode.textContent = `Connection trouble: trying again in ${formatDuration(seconds)}. Your place is kept meanwhile.`;
      showError(s.trouble.err, {
        TOO_MANY_REQUESTS: `The box office is very busy. Checking your place again in ${formatDuration(seconds)}.`,
        UNAVAILABLE: `The box office is briefly unavailable. Checking your place again in ${formatDuration(seconds)}.`,
        NETWORK: `We can't reach the box office. Trying again in ${formatDuration(seconds)}.`,
      });
    } else {
      liveMode.textContent = s.mode === 'stream'
        ? 'Live: updates arrive as the line moves.'
        : s.mode === 'poll' ? 'Checking your place every few seconds.' : '';
      clearErrorIf(TROUBLE_CODES);
    }
  }

  function announce(b) {
    if (b.preQueue) announced.preQueue = true;
    if (!announced.joined) {
      announced.joined = true;
      showNotice(b.preQueue
        ? 'You are in the pre-queue. The order is drawn when the sale opens.'
        : `You are in line at place ${formatCount(b.position)}. Estimated wait: ${formatEta(b.estimatedWaitSeconds)}.`);
    } else if (!b.preQueue && announced.preQueue && !announced.drawn) {
      announced.drawn = true;
      showNotice(`The sale is open and the draw is done: you are at place ${formatCount(b.position)}.`);
    }
    if (!b.preQueue && b.position <= 10 && !announced.near) {
      announced.near = true;
      if (b.position > 1) showNotice(`Almost there: ${formatCount(b.ahead)} ahead of you.`);
      else showNotice('You are next in line.');
    }
  }

  function renderEnded(err) {
    stopCountdown();
    setStatus('ENDED');
    ended.hidden = false;
    endedText.textContent = err.reason === 'spent'
      ? 'Your place in line was used for a purchase. Join again to buy more tickets.'
      : err.reason === 'expired'
        ? 'Your time to book ran out before a purchase was made.'
        : 'Your place was let go (the page was closed for too long, or the line was reset). Join again to get a new place at the end of the line.';
  }

  function stopCountdown() {
    if (stopOnSale) stopOnSale();
    stopOnSale = null;
    onSaleShown = null;
  }

  rejoinButton.addEventListener('click', async () => {
    ended.hidden = true;
    setStatus('JOINING');
    announced = { joined: false, near: false, drawn: false, preQueue: false };
    commitmentAsked = false;
    try {
      render(await rejoinLine(user.userId, concertId));
    } catch (err) {
      failed(err);
    }
  });

  function failed(err) {
    if (ctx.signal.aborted) return;
    if (err.code === 'SOLD_OUT') {
      setStatus('SOLD_OUT');
      soldOut.hidden = false;
      showError(err);
      return;
    }
    setStatus('ENDED', 'Could not join the line');
    showError(err, { NOT_FOUND: 'There is no such concert. Please choose one from the list.' });
  }

  // Joining: a busy server (429 per client address, 503) is asked again
  // after a jittered, growing pause; anything else is final and said.
  async function join() {
    const backoff = new Backoff();
    while (!ctx.signal.aborted) {
      try {
        const s = await joinLine(user.userId, concertId);
        clearErrorIf(TROUBLE_CODES);
        render(s);
        return;
      } catch (err) {
        if (ctx.signal.aborted) return;
        if (!isRetryable(err)) return failed(err);
        const delay = backoff.next(err.retryAfter);
        const wait = formatDuration(Math.max(1, Math.round(delay / 1000)));
        showError(err, {
          TOO_MANY_REQUESTS: `The box office is very busy. Trying to join again in ${wait}.`,
          UNAVAILABLE: `The box office is briefly unavailable. Trying to join again in ${wait}.`,
          NETWORK: `We can't reach the box office. Trying to join again in ${wait}.`,
        });
        await sleep(delay, ctx.signal);
      }
    }
  }

  const unsubscribe = onSessionChange(render);
  clearError();
  join();

  return () => {
    unsubscribe();
    stopCountdown();
    // The session's watch goes on: leaving this view must not cost the place.
  };
}
