// What each error code means to a person. The server's `detail` is written
// for developers ("field 'amount' must be between 1 and 100000000"); these
// sentences say what happened and what to do next. Every code of the
// Problem registry in openapi.yaml has one, plus NETWORK for a request that
// never got an answer.

import { formatDuration } from './format.js';

const TEXT = {
  BAD_REQUEST: (e) =>
    `Something in that request wasn't accepted${e.detail ? `: ${e.detail}` : ''}. Please check and try again.`,
  TOKEN_INVALID: () =>
    'Your place in line is no longer valid: your time to book ran out, or the line let you go. Join the line again to continue.',
  TOKEN_NOT_ACTIVE: () =>
    "It isn't your turn yet: you are still waiting in line. We'll let you in as soon as a place frees up.",
  NOT_OWNER: () => 'That reservation belongs to someone else, so you cannot change or pay for it.',
  WRONG_LINE: () =>
    'This concert has a waiting line of its own and your place is in another line. Join this concert’s line to book it.',
  NOT_FOUND: () => "We couldn't find that. It may have been removed; please go back and choose again.",
  SEAT_UNAVAILABLE: () => 'Someone just took this seat. Please pick another one.',
  SCHEDULE_CLOSED: () => 'This date has already started, so it can no longer be booked. Please pick another date.',
  RESERVATION_NOT_HELD: () =>
    'That reservation is no longer on hold: it was cancelled, paid, or its time ran out.',
  RESERVATION_EXPIRED: () => 'Your hold ran out and the seat was released. Please pick a seat again.',
  ALREADY_PAID: () => 'This reservation is already paid. Nothing more to do: your seat is yours.',
  INSUFFICIENT_BALANCE: () => 'Not enough points — charge first, then pay.',
  BALANCE_LIMIT: () =>
    'That charge would take your balance over the limit of ₩1,000,000,000,000. Please charge a smaller amount.',
  IDEMPOTENCY_KEY_REUSED: () =>
    'This request clashed with an earlier one of yours. Please reload the page and try again.',
  SOLD_OUT: () => 'Sold out: every seat of this concert has been sold.',
  DRAW_PENDING: () =>
    'The draw has not happened yet. It takes place at the on-sale time; check back after that.',
  TOO_MANY_REQUESTS: (e) =>
    `The box office is very busy right now. Please wait ${e.retryAfter ? formatDuration(e.retryAfter) : 'a moment'} and try again.`,
  UNAVAILABLE: () => 'The box office is briefly unavailable. Please try again in a moment.',
  NETWORK: () => "We can't reach the box office. Please check your connection; we'll keep trying.",
  ADMIN_UNAUTHORIZED: () => 'That admin secret is not right. Please enter it again.',
  ADMIN_DISABLED: () =>
    'The admin API is switched off on this server. Start boxoffice with --admin-token (or BOXOFFICE_ADMIN_TOKEN) to use this page.',
  METHOD_NOT_ALLOWED: () => 'The page asked the server for something it does not do. Please reload the page.',
  PAYLOAD_TOO_LARGE: () => 'That was too much to send at once. Please shorten it.',
  URI_TOO_LONG: () => 'That address was too long for the server. Please go back and try again.',
  UNSUPPORTED_MEDIA_TYPE: () => 'The page sent something the server could not read. Please reload the page.',
  REQUEST_HEADER_TOO_LARGE: () => 'The request was too large for the server. Please reload the page.',
  INTERNAL: () => 'Something went wrong on our side. Please try again; if it keeps happening, tell the box office.',
};

/**
 * A human sentence for an ApiError (or anything with a `code`). `overrides`
 * maps a code to a string or to a function of the error, for the places
 * where the context says more ("No account with id 12").
 */
export function describe(err, overrides = {}) {
  const code = (err && err.code) || 'INTERNAL';
  const own = overrides[code];
  if (typeof own === 'function') return own(err);
  if (typeof own === 'string') return own;
  const text = TEXT[code] || TEXT.INTERNAL;
  return text(err || {});
}

export const KNOWN_CODES = Object.freeze(Object.keys(TEXT));
