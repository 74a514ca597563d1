// The concert list (GET /api/v1/concerts, no token), fetched once per page
// load and again only when a concert is asked for that it does not have:
// several views want a concert's name, and the list changes rarely.

import { api } from './api.js';

let cache = null; // Promise<Map<concertId, concert>>

function load() {
  cache = api.concerts().then((list) => new Map(list.items.map((c) => [c.concertId, c])));
  cache.catch(() => { cache = null; }); // a failed load is tried again next time
  return cache;
}

/** Every concert, in the server's order. */
export async function listConcerts({ fresh = false } = {}) {
  const map = await (fresh || !cache ? load() : cache);
  return [...map.values()];
}

/** One concert's name, or a stand-in when it cannot be had. */
export async function concertName(concertId) {
  try {
    let map = await (cache || load());
    if (!map.has(concertId)) map = await load();
    const concert = map.get(concertId);
    return concert ? concert.name : `Concert #${concertId}`;
  } catch {
    return `Concert #${concertId}`;
  }
}
