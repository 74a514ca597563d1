// Building DOM without innerHTML. Every text that came from the server (a
// concert name typed by an operator, a user's name) goes in as a text node,
// so nothing in the data can become markup; the Content-Security-Policy
// would stop injected scripts anyway, but not injected layout.

/**
 * h('button', {type: 'button', class: 'primary', 'data-testid': 'x',
 *   on: {click: fn}}, 'Label', child, ...)
 * `text` sets textContent; attributes whose value is false/null/undefined
 * are left out and `true` writes an empty attribute (hidden, disabled).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Sets or removes a boolean attribute (hidden, disabled, aria-busy...). */
export function toggleAttr(el, name, on, value = '') {
  if (on) el.setAttribute(name, value);
  else el.removeAttribute(name);
}

/** A label + input pair with an error line wired up for screen readers. */
export function field({ id, label, hint, input }) {
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  input.id = id;
  const describedBy = [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', describedBy);
  const wrapper = h('div', { class: 'field' }, h('label', { for: id, text: label }), hintEl, input, errorEl);
  return {
    el: wrapper,
    input,
    setError(message) {
      errorEl.textContent = message || '';
      errorEl.hidden = !message;
      toggleAttr(input, 'aria-invalid', Boolean(message), 'true');
    },
  };
}

/** Moves focus to a view's heading so keyboard and screen-reader users start there. */
export function focusHeading(root) {
  const heading = root.querySelector('h1[tabindex], h2[tabindex]');
  if (heading) heading.focus({ preventScroll: false });
}

/**
 * Runs `action` with `button` marked busy; a second press meanwhile does
 * nothing, so a double click holds or pays once. aria-disabled rather than
 * `disabled`: a disabled button drops keyboard focus to the page's start.
 */
export async function busy(button, action) {
  if (button.getAttribute('aria-disabled') === 'true') return;
  button.setAttribute('aria-disabled', 'true');
  button.setAttribute('aria-busy', 'true');
  try {
    await action();
  } finally {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
  }
}
