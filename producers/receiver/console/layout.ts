import { esc } from '../auth/pages.js';

/**
 * The console's page shell: server-rendered HTML that works without JavaScript, laid out for a phone first (one
 * column, no table wider than the screen, tap targets at least 44 px high), with labels on every control, a skip
 * link, visible focus and text contrast above 4.5:1. The only script is /console/live.js (same origin, CSP
 * `script-src 'self'`): it opens the Server-Sent Events stream and replaces the live region's HTML.
 */
export const CONSOLE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // same-origin, not no-referrer: under no-referrer a browser's form POST says `Origin: null`, which checkOrigin
  // must refuse; same-origin still sends no Referer (nor the sign-in link's token) to another site
  'referrer-policy': 'same-origin',
  'x-robots-tag': 'noindex',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const CSS = `*{box-sizing:border-box}body{margin:0;background:#f2f4f7;color:#101828;font:16px/1.45 -apple-system,\
Segoe UI,Helvetica,Arial,sans-serif;overflow-wrap:anywhere}
a{color:#1849a9}a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #2e90fa;\
outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px;z-index:2}
header{background:#101828;color:#fff;padding:8px 12px}header nav{display:flex;flex-wrap:wrap;gap:4px;align-items:center}
header a,header button{color:#fff;display:inline-flex;align-items:center;min-height:44px;padding:0 10px;\
text-decoration:none;font-weight:600}header a[aria-current=page]{text-decoration:underline}
header form{margin-left:auto}header button{background:none;border:1px solid #98a2b3;border-radius:6px;font:inherit;\
cursor:pointer}
main{max-width:760px;margin:0 auto;padding:12px}h1{font-size:1.35rem;margin:8px 0 12px}h2{font-size:1.1rem;\
margin:18px 0 8px}
.card{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px;border:1px solid #d0d5dd}
.card h2,.card h3{margin:0 0 6px;font-size:1.05rem}.card h3 a{display:inline-block;min-height:44px;padding:10px 0}
.meta{color:#344054;font-size:.95rem;margin:2px 0}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:.85rem;font-weight:700;border:1px solid}
.sev-P1{background:#fef3f2;color:#912018;border-color:#f04438}.sev-P2{background:#fffaeb;color:#7a2e0e;\
border-color:#f79009}.sev-P3,.sev-P4,.sev-P5{background:#f0f9ff;color:#0b4a6f;border-color:#0ba5ec}
.st-open{background:#fef3f2;color:#912018;border-color:#f04438}.st-acknowledged{background:#ecfdf3;color:#054f31;\
border-color:#12b76a}.st-resolved{background:#f2f4f7;color:#344054;border-color:#98a2b3}
ul.pages{list-style:none;margin:6px 0 0;padding:0}ul.pages li{padding:6px 0;border-top:1px solid #eaecf0}
ol.steps{display:flex;flex-wrap:wrap;gap:4px;list-style:none;margin:4px 0 0;padding:0}
ol.steps li{font-size:.85rem;padding:2px 8px;border-radius:4px;background:#f2f4f7;color:#475467;border:1px solid \
#d0d5dd}ol.steps li.done{background:#d1fadf;color:#054f31;border-color:#32d583;font-weight:700}
ol.steps li.bad{background:#fee4e2;color:#912018;border-color:#f97066;font-weight:700}
.note{padding:10px 12px;border-radius:6px;background:#ecfdf3;color:#054f31;border:1px solid #32d583}
.alert{padding:10px 12px;border-radius:6px;background:#fef3f2;color:#7a271a;border:1px solid #f97066}
.muted{color:#475467;font-size:.9rem}
button.act,.actions button{min-height:48px;min-width:44px;font:inherit;font-weight:700;padding:10px 18px;border:0;\
border-radius:8px;background:#175cd3;color:#fff;cursor:pointer;width:100%}
.actions form{margin:0 0 10px}.actions button.secondary{background:#fff;color:#1849a9;border:2px solid #1849a9}
label{display:block;font-weight:600;margin:6px 0 4px}
input,select,textarea{width:100%;font:inherit;padding:10px;min-height:44px;border:1px solid #667085;border-radius:6px;\
background:#fff;color:#101828}
ol.timeline{padding-left:1.2rem;margin:0}ol.timeline li{margin:0 0 6px}time{font-variant-numeric:tabular-nums}
dl.days{margin:0}dl.days dt{font-weight:700;margin-top:8px}dl.days dd{margin:0 0 0 0;padding:4px 0;border-bottom:1px \
solid #eaecf0}.svg svg{max-width:100%;height:auto}
.report section{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px;border:1px solid #d0d5dd}
.report h2{margin:0 0 6px;font-size:1.05rem}.report p.note{background:none;border:0;padding:0;color:#475467;\
font-size:.9rem}.report p.empty{color:#475467;font-style:italic}.report figure{margin:0}
.scroll{overflow-x:auto;max-width:100%;margin:6px 0}.scroll svg{display:block;max-width:none}
.report .cards{display:flex;gap:12px;flex-wrap:wrap}.report .card{flex:1 1 240px;margin:0}\
.report .card p{margin:6px 0 0}
.verdict{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:700;color:#fff;background:#57606a}
.verdict-yes{background:#1a7f37}.verdict-no{background:#cf222e}.verdict-pending{background:#9a6700}
.report table{border-collapse:collapse;font-size:.9rem;min-width:100%}.report th,.report td{text-align:left;\
padding:6px 8px;border-bottom:1px solid #eaecf0;white-space:nowrap}.report td.num{text-align:right;\
font-variant-numeric:tabular-nums}.report th{color:#344054;font-size:.8rem}`;

export interface Shell {
  title: string;
  /** Which nav entry is current. */
  nav?: 'incidents' | 'oncall' | 'analytics';
  /** The signed-in person's name and the session's CSRF token (the sign-out form). */
  who?: { name: string; csrf: string };
  /** Already-escaped HTML. */
  body: string;
  /** Load live.js (pages with a live region). */
  live?: boolean;
}

const NAV: [NonNullable<Shell['nav']>, string, string][] = [
  ['incidents', '/console/', 'Incidents'],
  ['oncall', '/console/oncall', 'On call'],
  ['analytics', '/console/analytics', 'Analytics'],
];

export function consolePage(s: Shell): string {
  const nav = NAV.map(
    ([id, href, label]) => `<a href="${href}"${s.nav === id ? ' aria-current="page"' : ''}>${label}</a>`,
  ).join('');
  const signOut = s.who
    ? `<form method="post" action="/console/sign-out"><input type="hidden" name="csrf" value="${esc(s.who.csrf)}">` +
      `<button type="submit" aria-label="Sign out ${esc(s.who.name)}">Sign out</button></form>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">\
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">\
<title>${esc(s.title)} · pagetrail</title>
<style>${CSS}</style>${s.live ? '<script src="/console/live.js" defer></script>' : ''}</head><body>
<a class="skip" href="#main">Skip to content</a><header><nav aria-label="Console">${nav}${signOut}</nav></header>
<main id="main" tabindex="-1"><h1>${esc(s.title)}</h1>${s.body}</main></body></html>`;
}

/** `03:01:05 UTC`, with the day when it is not `now`'s. */
export function timeText(ms: number, now: number): string {
  const iso = new Date(ms).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 19)} UTC`;
}

export const timeTag = (ms: number, now: number) =>
  `<time datetime="${new Date(ms).toISOString()}">${timeText(ms, now)}</time>`;

export { esc };
