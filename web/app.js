// The buyer's page: a hash router over five views. Hash routes because the
// server serves static files only (web/ at /): #/concerts/3/book needs no
// server-side route and survives a reload.
//
//   #/                    view-user.js          who is buying
//   #/concerts            view-concerts.js      pick a concert, join its line
//   #/concerts/{id}/line  view-waiting.js       the waiting room
//   #/concerts/{id}/book  view-booking.js       dates, seat map, hold, points, pay
//   #/confirmation        view-confirmation.js  the purchase
//
// Each view is mount(root, params, ctx) → cleanup; ctx.signal aborts the
// view's requests when it is left, so a late answer never paints over the
// next view.

import { currentUser, clearUser, onUserChange, userLabel } from './account.js';
import { setChildren, focusHeading } from './dom.js';
import { endSession } from './line-session.js';
import { initNotices, clearError, clearNotice } from './notices.js';
import * as userView from './view-user.js';
import * as concertsView from './view-concerts.js';
import * as waitingView from './view-waiting.js';
import * as bookingView from './view-booking.js';
import * as confirmationView from './view-confirmation.js';

const routes = [
  { pattern: /^\/$/, view: userView, title: 'Who is buying?', needsUser: false },
  { pattern: /^\/concerts$/, view: concertsView, title: 'Concerts', needsUser: true },
  { pattern: /^\/concerts\/([1-9][0-9]{0,15})\/line$/, view: waitingView, title: 'Waiting room', needsUser: true },
  { pattern: /^\/concerts\/([1-9][0-9]{0,15})\/book$/, view: bookingView, title: 'Choose your seat', needsUser: true },
  { pattern: /^\/confirmation$/, view: confirmationView, title: 'Your ticket', needsUser: true },
];

let mounted = null; // {cleanup, controller}

function routePath() {
  const hash = location.hash;
  return hash.startsWith('#/') ? hash.slice(1) : '/';
}

function navigate(path, { replace = false } = {}) {
  const target = `#${path}`;
  if (location.hash === target) {
    render({ focus: true });
  } else if (replace) {
    location.replace(target); // fires hashchange, like setting the hash
  } else {
    location.hash = target;
  }
}

function render({ focus }) {
  const root = document.getElementById('view');
  const path = routePath();
  const route = routes.find((r) => r.pattern.test(path));
  if (!route) return navigate('/', { replace: true });
  if (route.needsUser && !currentUser()) return navigate('/', { replace: true });

  if (mounted) {
    mounted.controller.abort();
    mounted.cleanup();
  }
  setChildren(root);
  const controller = new AbortController();
  const match = path.match(route.pattern);
  const params = match[1] ? { concertId: Number(match[1]) } : {};
  document.title = `${route.title} · boxoffice`;
  const cleanup = route.view.mount(root, params, { signal: controller.signal, navigate });
  mounted = { cleanup: cleanup || (() => {}), controller };
  // After a change of view, keyboard and screen-reader users start at its
  // heading, not wherever the old view's focus was. Not on first load: the
  // browser's own start of page is right then.
  if (focus) focusHeading(root);
}

function renderHeader(user) {
  const who = document.getElementById('current-user');
  const switchButton = document.getElementById('switch-user');
  who.textContent = user ? `Buying as ${userLabel(user)}` : 'Not signed in';
  who.dataset.userId = user ? String(user.userId) : '';
  switchButton.hidden = !user;
}

function start() {
  initNotices();
  renderHeader(currentUser());
  onUserChange(renderHeader);

  document.getElementById('switch-user').addEventListener('click', () => {
    endSession(); // the place in line belongs to the user being left
    clearUser();
    clearError();
    clearNotice();
    navigate('/');
  });

  // The skip link targets an element, not a route: handled here so that
  // it moves focus without touching the hash router.
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });

  window.addEventListener('hashchange', () => {
    if (location.hash === '' || location.hash.startsWith('#/')) render({ focus: true });
  });
  render({ focus: false });
}

// A module script runs after the document is parsed, so the elements exist.
start();
