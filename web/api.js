// The one module that speaks HTTP to boxoffice. Every other module calls the
// named functions below and gets either the parsed JSON body or an ApiError
// carrying the problem document's stable `code` (openapi.yaml, Problem), so
// the views branch on codes, never on status numbers or English text.

// Client-side codes for failures that never reached a problem document.
export const NETWORK = 'NETWORK';

export class ApiError extends Error {
  constructor({ status = 0, code, title = '', detail = '', retryAfter = null, reason = null }) {
    super(detail || title || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.retryAfter = retryAfter; // whole seconds, from Retry-After (429)
    this.reason = reason; // SSE `end` only: spent | expired | unknown | error
  }
}

// Countdowns (hold, booking time, on-sale) run against the server's clock,
// learnt from the Date header: a buyer whose computer is a minute off would
// otherwise see a hold "run out" a minute early or late. The header has whole
// seconds, so small differences are noise and are ignored rather than making
// a countdown jump back and forth by a second.
let clockOffsetMs = 0;

export function serverNow() {
  return Date.now() + clockOffsetMs;
}

function noteServerDate(response) {
  const header = response.headers.get('Date');
  const server = header ? Date.parse(header) : NaN;
  if (Number.isNaN(server)) return;
  const offset = server + 500 - Date.now();
  clockOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
}

// When a body is not a problem document (an HTML 431 from the HTTP library,
// a proxy's 502), the status still says enough to pick a message.
const CODE_BY_STATUS = {
  400: 'BAD_REQUEST', 401: 'TOKEN_INVALID', 403: 'NOT_OWNER', 404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED', 409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG', 415: 'UNSUPPORTED_MEDIA_TYPE', 429: 'TOO_MANY_REQUESTS',
  431: 'REQUEST_HEADER_TOO_LARGE', 500: 'INTERNAL', 502: 'UNAVAILABLE',
  503: 'UNAVAILABLE', 504: 'UNAVAILABLE',
};

function parseRetryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value); // the HTTP-date form, allowed by RFC 9110
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// A path id must be a positive integer written plainly (else the server says
// 400); refuse anything else here so that no user input reaches a URL raw.
// Ids travel as JS numbers: exact up to 2^53, far beyond any id this service
// will hand out, though the API allows 64 bits.
function pathId(id) {
  const text = String(id);
  if (!/^[1-9][0-9]{0,18}$/.test(text)) {
    throw new ApiError({ status: 400, code: 'BAD_REQUEST', detail: `not an id: ${text}` });
  }
  return text;
}

/**
 * One request. `bearer` is a queue token or the admin secret; `signal`
 * aborts it (an aborted request rejects with the DOMException AbortError,
 * which callers ignore). Rejects with ApiError for every failure.
 */
export async function request(method, path, { body, bearer, idempotencyKey, signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store', // seat maps and line positions are live: never from a cache
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError({ code: NETWORK, title: 'Network error', detail: String(err && err.message || err) });
  }
  noteServerDate(response);
  let data = null;
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    try {
      data = await response.json();
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      data = null; // a cut-off body: judged by its status below
    }
  }
  if (response.ok) return data;
  throw new ApiError({
    status: response.status,
    code: (data && data.code) || CODE_BY_STATUS[response.status] || 'INTERNAL',
    title: (data && data.title) || response.statusText,
    detail: (data && data.detail) || '',
    retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
  });
}

// Turns the `data` of an SSE `event: end` (a problem document with `reason`)
// into the same ApiError a poll would have given.
export function problemToError(problem) {
  const p = problem || {};
  return new ApiError({
    status: p.status || 401,
    code: p.code || 'TOKEN_INVALID',
    title: p.title || '',
    detail: p.detail || '',
    reason: p.reason || null,
  });
}

// The buyer's side of openapi.yaml, one function per operation.
export const api = {
  createUser: (name) => request('POST', '/api/v1/users', { body: { name } }),
  balance: (userId, opts = {}) =>
    request('GET', `/api/v1/users/${pathId(userId)}/points`, opts),
  charge: (userId, amount, idempotencyKey) =>
    request('POST', `/api/v1/users/${pathId(userId)}/points/charge`, {
      body: { amount }, idempotencyKey,
    }),
  reservationsOf: (userId, opts = {}) =>
    request('GET', `/api/v1/users/${pathId(userId)}/reservations`, opts),

  // concertId always goes along: a concert with a line of its own then gives
  // a token of that line, any other concert the global line's.
  joinLine: (userId, concertId) =>
    request('POST', '/api/v1/queue/tokens', { body: { userId, concertId } }),
  queueStatus: (token, opts = {}) =>
    request('GET', '/api/v1/queue/status', { ...opts, bearer: token }),
  // EventSource cannot send headers, so the stream takes the token as a query
  // parameter (openapi.yaml, /api/v1/queue/stream).
  streamUrl: (token) => `/api/v1/queue/stream?token=${encodeURIComponent(token)}`,

  concerts: (opts = {}) => request('GET', '/api/v1/concerts', opts),
  concertLine: (concertId, opts = {}) =>
    request('GET', `/api/v1/concerts/${pathId(concertId)}/line`, opts),
  drawUrl: (concertId) => `/api/v1/concerts/${pathId(concertId)}/line/draw`,
  schedules: (token, concertId, opts = {}) =>
    request('GET', `/api/v1/concerts/${pathId(concertId)}/schedules`, { ...opts, bearer: token }),
  seats: (token, scheduleId, opts = {}) =>
    request('GET', `/api/v1/schedules/${pathId(scheduleId)}/seats`, { ...opts, bearer: token }),

  hold: (token, scheduleId, seatNumber) =>
    request('POST', '/api/v1/reservations', { bearer: token, body: { scheduleId, seatNumber } }),
  reservation: (token, reservationId, opts = {}) =>
    request('GET', `/api/v1/reservations/${pathId(reservationId)}`, { ...opts, bearer: token }),
  cancel: (token, reservationId) =>
    request('DELETE', `/api/v1/reservations/${pathId(reservationId)}`, { bearer: token }),
  pay: (token, reservationId, idempotencyKey) =>
    request('POST', '/api/v1/payments', { bearer: token, body: { reservationId }, idempotencyKey }),
};

// The operator's side: the same header carries the admin secret.
export const adminApi = {
  lines: (secret, opts = {}) => request('GET', '/api/v1/admin/lines', { ...opts, bearer: secret }),
  createConcert: (secret, body) =>
    request('POST', '/api/v1/admin/concerts', { bearer: secret, body }),
  // Every date of a concert with its seats (available, held, sold), past
  // ones too; no queue token needed.
  concertSchedules: (secret, concertId, opts = {}) =>
    request('GET', `/api/v1/admin/concerts/${pathId(concertId)}/schedules`, { ...opts, bearer: secret }),
  // Line 0 is the global line, which has its own path; every other line is
  // named by its concert's id.
  changeLine: (secret, lineId, change) =>
    request(
      'PATCH',
      lineId === 0 ? '/api/v1/admin/queue' : `/api/v1/admin/concerts/${pathId(lineId)}/line`,
      { bearer: secret, body: change },
    ),
};
