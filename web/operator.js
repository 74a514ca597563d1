// The operator's page: enter the admin secret, then make concerts and watch
// and steer every waiting line. The secret lives in this tab's
// sessionStorage only (never localStorage, never a cookie, never the URL):
// closing the tab forgets it.

import { adminApi } from './api.js';
import { h, field, busy } from './dom.js';
import { initNotices, showError, showNotice, clearError } from './notices.js';
import { createConcertForm } from './op-create.js';
import { createDashboard } from './op-dashboard.js';
import { loadAdminSecret, saveAdminSecret } from './storage.js';

function start() {
  initNotices();
  const root = document.getElementById('operator');
  let secret = loadAdminSecret();
  const getSecret = () => secret;

  const secretField = field({
    id: 'admin-secret', label: 'Admin secret',
    hint: 'The value boxoffice was started with (--admin-token or BOXOFFICE_ADMIN_TOKEN). Kept in this tab only.',
    input: h('input', { type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'admin-secret-input' }),
  });
  const useButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'admin-secret-button', text: 'Use this secret' });
  const secretForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title', text: 'Sign in' }), secretField.el, useButton);

  const forgetButton = h('button', { type: 'button', class: 'link-button', 'data-testid': 'admin-forget-button', text: 'Forget the secret' });
  const signedIn = h('p', { class: 'signed-in', hidden: true, 'data-testid': 'admin-signed-in' },
    'Signed in with the admin secret (kept in this tab only). ', forgetButton);

  const dashboard = createDashboard({
    getSecret,
    onUnauthorized: () => signOut('The admin secret no longer works. Please enter it again.'),
  });
  const create = createConcertForm({ getSecret, onCreated: () => dashboard.refreshNow() });
  const work = h('div', { class: 'operator-grid', hidden: true }, dashboard.el, create.el);

  root.append(secretForm, signedIn, work);

  function signIn(value) {
    secret = value;
    saveAdminSecret(value);
    secretForm.hidden = true;
    signedIn.hidden = false;
    work.hidden = false;
    dashboard.start();
  }

  function signOut(message) {
    secret = null;
    saveAdminSecret(null);
    dashboard.stop();
    work.hidden = true;
    signedIn.hidden = true;
    secretForm.hidden = false;
    secretField.input.value = '';
    if (message) secretField.setError(message);
    secretField.input.focus();
  }

  secretForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = secretField.input.value;
    if (!value) {
      secretField.setError('Enter the admin secret.');
      secretField.input.focus();
      return;
    }
    busy(useButton, async () => {
      try {
        await adminApi.lines(value); // the cheapest call that checks the secret
        secretField.setError('');
        clearError();
        showNotice('Signed in. The lines below update every 2 seconds.');
        signIn(value);
        // The form just hid itself with focus in it: move focus on to the dashboard.
        document.getElementById('dashboard-title').focus();
      } catch (err) {
        showError(err);
        if (err.code === 'ADMIN_UNAUTHORIZED') secretField.setError('That secret is not right.');
        secretField.input.focus();
      }
    });
  });

  forgetButton.addEventListener('click', () => {
    signOut(null);
    showNotice('The admin secret is forgotten in this tab.');
  });

  // A dashboard nobody looks at asks nothing; it catches up when shown.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && secret) dashboard.refreshNow();
  });

  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });

  if (secret) signIn(secret);
}

start();
