// Idempotency keys for the two calls that move money (openapi.yaml,
// Idempotency-Key): a retry with the same key and body returns the first
// answer instead of charging or paying twice, so the key is made once per
// intent and reused for every retry of it.

import { loadPaymentKey, savePaymentKey } from './storage.js';

export function newKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID exists only in secure contexts (https, localhost); a box
  // office opened at a LAN address over plain http still needs unique keys,
  // and getRandomValues is available everywhere. Same layout: a v4 UUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The key for paying one reservation, kept for the tab's life: a buyer who
 * clicks Pay, loses the connection, reloads and clicks again must not pay
 * twice, and the server only replays when the key is the same.
 */
export function paymentKey(reservationId) {
  let key = loadPaymentKey(reservationId);
  if (!key) {
    key = newKey();
    savePaymentKey(reservationId, key);
  }
  return key;
}

/** Forgets a payment key the server refused (IDEMPOTENCY_KEY_REUSED). */
export function dropPaymentKey(reservationId) {
  savePaymentKey(reservationId, null);
}
