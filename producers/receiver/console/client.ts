/**
 * /console/live.js: the console's only script (the pages work without it). It opens the Server-Sent Events stream
 * the live region names (`data-live`), puts each `update` event's HTML in the region (aria-live: a screen reader
 * hears the change), goes to the sign-in page on `signed-out`, and counts down `data-deadline` (epoch ms) each
 * second with the server's clock (`data-now` on the region at load: the offset to this device's clock). An incident
 * page's `data-history` (the lake's timeline chart and verdicts) is fetched once and put in place; without the script
 * its link opens the same on a page of its own.
 */
export const LIVE_JS = `(() => {
  'use strict';
  const history = document.querySelector('[data-history]');
  if (history && 'fetch' in window) {
    fetch(history.getAttribute('data-history'), { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.text() : undefined))
      .then((h) => {
        if (h !== undefined) history.innerHTML = h;
        history.setAttribute('data-loaded', h === undefined ? 'failed' : 'yes');
      }, () => history.setAttribute('data-loaded', 'failed'));
  }
  const region = document.querySelector('[data-live]');
  if (!region || !('EventSource' in window)) return;
  const offset = Number(region.getAttribute('data-now') || Date.now()) - Date.now();
  const tick = () => {
    for (const el of document.querySelectorAll('[data-deadline]')) {
      const s = Math.round((Number(el.getAttribute('data-deadline')) - (Date.now() + offset)) / 1000);
      el.textContent = s > 0 ? 'in ' + s + ' s,' : 'due now,';
    }
  };
  const es = new EventSource(region.getAttribute('data-live'));
  es.addEventListener('update', (e) => {
    region.innerHTML = JSON.parse(e.data).html;
    region.setAttribute('data-updated', String(Date.now()));
    tick();
  });
  es.addEventListener('signed-out', () => { es.close(); location.assign('/console/sign-in'); });
  es.addEventListener('end', () => es.close());
  window.addEventListener('pagehide', () => es.close());
  tick();
  setInterval(tick, 1000);
})();
`;
