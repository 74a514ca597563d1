// #/ : who is buying. Pick an account by id or make a new one. The API has
// no "get user", so an id is checked through its point balance (404 for an
// unknown user), and a name is known only for accounts made in this tab.

import { api } from './api.js';
import { currentUser, setUser, userLabel } from './account.js';
import { h, field, busy } from './dom.js';
import { showError, showNotice, clearError } from './notices.js';

const ID_PATTERN = /^[1-9][0-9]{0,17}$/;

export function mount(root, _params, ctx) {
  const user = currentUser();

  const idField = field({
    id: 'pick-user-id',
    label: 'Your user id',
    hint: 'The number you were given when your account was made.',
    input: h('input', {
      type: 'text', inputmode: 'numeric', autocomplete: 'off', required: true,
      pattern: '[1-9][0-9]*', 'data-testid': 'user-id-input',
    }),
  });
  const pickButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'user-pick-button', text: 'Continue' });
  const pickForm = h('form', { class: 'card', 'aria-labelledby': 'pick-title', novalidate: true },
    h('h2', { id: 'pick-title', text: 'I have an account' }),
    idField.el,
    pickButton);

  const nameField = field({
    id: 'create-user-name',
    label: 'Your name',
    hint: '1 to 64 characters.',
    input: h('input', {
      type: 'text', autocomplete: 'name', required: true, maxlength: 64, 'data-testid': 'user-name-input',
    }),
  });
  const createButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'user-create-button', text: 'Create account' });
  const createForm = h('form', { class: 'card', 'aria-labelledby': 'create-title', novalidate: true },
    h('h2', { id: 'create-title', text: 'I am new here' }),
    nameField.el,
    createButton);

  const current = user
    ? h('p', { class: 'card current-user-card' },
      `You are buying as ${userLabel(user)}. `,
      h('a', { href: '#/concerts', 'data-testid': 'continue-as-user', text: 'Go on to the concerts' }),
      ' or choose another account below.')
    : null;

  root.append(h('section', { class: 'view', 'data-testid': 'user-picker', 'aria-labelledby': 'user-title' },
    h('h1', { id: 'user-title', tabindex: '-1', text: 'Who is buying?' }),
    current,
    h('div', { class: 'two-up' }, pickForm, createForm),
    h('p', { class: 'hint', text: 'A server started with --demo has the accounts 1, 2 and 3 (kim, lee and park), each with ₩500,000 of points.' })));

  pickForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = idField.input.value.trim();
    if (!ID_PATTERN.test(text)) {
      idField.setError('Enter your user id: a whole number, 1 or more.');
      idField.input.focus();
      return;
    }
    idField.setError('');
    await busy(pickButton, async () => {
      try {
        await api.balance(text, { signal: ctx.signal }); // 404 when there is no such user
        clearError();
        const picked = setUser(Number(text));
        showNotice(`Welcome back, ${userLabel(picked)}.`);
        ctx.navigate('/concerts');
      } catch (err) {
        if (err.name === 'AbortError') return;
        showError(err, { NOT_FOUND: `There is no account with id ${text}. Check the number, or create a new account.` });
        if (err.code === 'NOT_FOUND') idField.setError(`No account with id ${text}.`);
      }
    });
  });

  createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = nameField.input.value.trim();
    const length = [...name].length; // code points, as the API counts them
    // eslint-disable-next-line no-control-regex
    if (length < 1 || length > 64 || /[\u0000-\u001f\u007f-\u009f]/.test(name)) {
      nameField.setError('Enter a name of 1 to 64 characters.');
      nameField.input.focus();
      return;
    }
    nameField.setError('');
    await busy(createButton, async () => {
      try {
        const created = await api.createUser(name);
        clearError();
        const picked = setUser(created.userId, created.name);
        showNotice(`Account made: you are ${userLabel(picked)}. Keep your id, ${created.userId}, to come back.`);
        ctx.navigate('/concerts');
      } catch (err) {
        showError(err);
      }
    });
  });

  return () => {};
}
