// #/concerts : every concert, each with a button to join the line that
// books it. Joining itself happens in the waiting room (view-waiting.js),
// so that a reload there re-joins instead of showing a stale list.

import { listConcerts } from './catalog.js';
import { h, setChildren } from './dom.js';
import { showError, clearError } from './notices.js';

export function mount(root, _params, ctx) {
  const list = h('ul', { class: 'concert-list', 'data-testid': 'concert-list', 'aria-busy': 'true' },
    h('li', { class: 'muted', text: 'Loading concerts…' }));
  const retry = h('button', { type: 'button', class: 'secondary', hidden: true, text: 'Try again', on: { click: load } });

  root.append(h('section', { class: 'view', 'data-testid': 'view-concerts', 'aria-labelledby': 'concerts-title' },
    h('h1', { id: 'concerts-title', tabindex: '-1', text: 'Concerts' }),
    h('p', { class: 'lead', text: 'Choose a concert and join its line. When it is your turn, you pick a date and a seat.' }),
    list,
    retry));

  async function load() {
    retry.hidden = true;
    list.setAttribute('aria-busy', 'true');
    try {
      const concerts = await listConcerts({ fresh: true });
      if (ctx.signal.aborted) return;
      clearError();
      if (concerts.length === 0) {
        setChildren(list, h('li', { class: 'muted', text: 'No concerts are on sale yet.' }));
      } else {
        setChildren(list, concerts.map(concertItem));
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      setChildren(list, h('li', { class: 'muted', text: 'The concerts could not be loaded.' }));
      retry.hidden = false;
      showError(err);
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  function concertItem(concert) {
    const titleId = `concert-${concert.concertId}-name`;
    return h('li', { class: 'card concert', 'data-testid': 'concert', 'data-concert-id': concert.concertId },
      h('h2', { id: titleId, text: concert.name }),
      h('button', {
        type: 'button',
        class: 'primary',
        'data-testid': 'join-button',
        'data-concert-id': concert.concertId,
        // The visible text is the same on every card; the accessible name
        // (which starts with it, so voice control still finds it) says
        // which concert, for screen readers listing buttons out of context.
        'aria-label': `Join the line for ${concert.name}`,
        text: 'Join the line',
        on: { click: () => ctx.navigate(`/concerts/${concert.concertId}/line`) },
      }));
  }

  load();
  return () => {};
}
