// How numbers and times are written on the pages, in one place so that the
// same amount never reads two ways.

const won = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 });
const count = new Intl.NumberFormat('en-US');
// The buyer's own locale and time zone: the API speaks UTC, people do not.
const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const clockTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const formatWon = (amount) => won.format(amount);
export const formatCount = (n) => count.format(n);

export function formatDateTime(iso) {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? String(iso) : dateTime.format(at);
}

export function formatClockTime(msOrIso) {
  const at = typeof msOrIso === 'number' ? msOrIso : Date.parse(msOrIso);
  return Number.isNaN(at) ? '' : clockTime.format(at);
}

/** "4:05", or "1:02:09" past an hour: a countdown's face. */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** "45 seconds", "3 minutes", "1 hour 5 minutes": for spoken-style text. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s === 1 ? '1 second' : `${s} seconds`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return minutes === 1 ? '1 minute' : `${minutes} minutes`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const hours = h === 1 ? '1 hour' : `${h} hours`;
  return m === 0 ? hours : `${hours} ${m === 1 ? '1 minute' : `${m} minutes`}`;
}

/** An estimate, said as one: never "0 seconds", never falsely exact. */
export function formatEta(seconds) {
  if (seconds <= 0) return 'any moment now';
  if (seconds < 60) return 'less than a minute';
  return `about ${formatDuration(seconds)}`;
}
