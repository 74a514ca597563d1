// What the page remembers, per browser tab. sessionStorage rather than
// localStorage: two tabs can then be two different buyers (as a race for one
// seat needs), a reload keeps the purchase under way, and nothing of it
// outlives the tab. Storage may be off or full (private modes): every call
// then quietly forgets instead of breaking the page.

function read(key) {
  try {
    const text = sessionStorage.getItem(key);
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null || value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage off or full: the page works on, it just forgets on reload */
  }
}

/** The buyer this tab acts for: {userId, name|null}. */
export const loadUser = () => read('bo.user');
export const saveUser = (user) => write('bo.user', user);

/** Names of accounts made or seen in this tab: the API has no "get user". */
export function rememberName(userId, name) {
  const names = read('bo.names') || {};
  names[userId] = name;
  write('bo.names', names);
}
export const knownName = (userId) => (read('bo.names') || {})[userId] || null;

/** The first position a token saw in line, for the progress bar. */
export const loadFirstPosition = (token) => read(`bo.firstPos.${token}`);
export const saveFirstPosition = (token, position) => write(`bo.firstPos.${token}`, position);

/** A payment's Idempotency-Key, per reservation, so a retry after a reload reuses it. */
export const loadPaymentKey = (reservationId) => read(`bo.payKey.${reservationId}`);
export const savePaymentKey = (reservationId, key) => write(`bo.payKey.${reservationId}`, key);

/** The last completed purchase, for the confirmation view (survives a reload). */
export const loadConfirmation = () => read('bo.confirmation');
export const saveConfirmation = (confirmation) => write('bo.confirmation', confirmation);

/** The operator's admin secret: this tab only, never written anywhere else. */
export const loadAdminSecret = () => read('bo.adminSecret');
export const saveAdminSecret = (secret) => write('bo.adminSecret', secret);
