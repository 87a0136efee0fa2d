/**
 * The sign-in pages: server-rendered, no JavaScript, readable on a phone (the ack page's look). Every control has a
 * label; the forms post to the same origin only (CSP form-action 'self').
 */

export const esc = (s: string) =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[ch]!);

export const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // same-origin, not no-referrer: under no-referrer a browser's form POST says `Origin: null`, which checkOrigin
  // must refuse; same-origin still sends no Referer (nor the sign-in link's token) to another site
  'referrer-policy': 'same-origin',
  'x-robots-tag': 'noindex',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

/** A whole page: a card with a title and `inner` (already escaped HTML). */
export function authPage(title: string, inner: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">\
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} · pagetrail</title>
<style>body{margin:0;background:#f2f4f7;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#101828}
main{max-width:480px;margin:24px auto;background:#fff;border-radius:8px;padding:20px 24px}
h1{font-size:20px;margin:0 0 12px}label{display:block;font-weight:600;margin:0 0 6px}
input[type=email]{width:100%;box-sizing:border-box;font-size:1rem;padding:10px;border:1px solid #98a2b3;\
border-radius:6px}
button{margin-top:12px;font-size:1.05rem;padding:10px 18px;border:0;border-radius:6px;background:#175cd3;color:#fff;\
font-weight:600;cursor:pointer}button:focus,input:focus,a:focus{outline:3px solid #84adff;outline-offset:2px}
.note{padding:10px 12px;border-radius:6px;background:#fef3f2;color:#7a271a}.muted{color:#475467;font-size:14px}</style>
</head><body><main><h1>${esc(title)}</h1>${inner}</main></body></html>`;
}

export function signInForm(note?: string): string {
  return authPage(
    'Sign in',
    `${note ? `<p class="note" role="alert">${esc(note)}</p>` : ''}` +
      `<form method="post" action="/console/sign-in"><label for="email">Your email address</label>` +
      `<input id="email" name="email" type="email" autocomplete="email" required maxlength="254">` +
      `<button type="submit">Email me a sign-in link</button></form>` +
      `<p class="muted">People in the on-call file get a link that works once, for 10 minutes.</p>`,
  );
}

export const LINK_SENT =
  'If this address belongs to someone in the on-call file, a sign-in link is on its way. ' +
  'It works once, for 10 minutes.';
