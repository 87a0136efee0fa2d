/** HTML building blocks of the report: every value goes through `esc`; markup is only ever built here. */

/** A value escaped for HTML text and attribute values. */
export function esc(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'bigint' ? v.toString() : String(v);
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Trusted markup (built by these helpers or rendered by Vega). */
export class Html {
  constructor(readonly markup: string) {}
  toString() {
    return this.markup;
  }
}

/** A tagged template: interpolated values are escaped unless they are `Html` (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1];
  });
  return new Html(out);
}
const part = (v: unknown): string => (v instanceof Html ? v.markup : Array.isArray(v) ? v.map(part).join('') : esc(v));

/** A table: `cells` are text (escaped) or Html; `cls` marks a column's cells. */
export function table(
  head: string[],
  rows: unknown[][],
  opts: { cls?: (string | undefined)[]; id?: string; empty?: string } = {},
): Html {
  if (rows.length === 0) return html`<p class="empty">${opts.empty ?? 'none'}</p>`;
  const cls = (i: number) => (opts.cls?.[i] ? new Html(` class="${esc(opts.cls[i])}"`) : '');
  const id = opts.id ? new Html(` id="${esc(opts.id)}"`) : '';
  const headCells = head.map((h) => html`<th>${h}</th>`);
  const bodyRows = rows.map((r) => html`<tr>${r.map((c, i) => html`<td${cls(i)}>${c}</td>`)}</tr>`);
  return html`<table${id}><thead><tr>${headCells}</tr></thead><tbody>${bodyRows}</tbody></table>`;
}

/** A verdict value (yes | no | pending | other) as a coloured badge. */
export function verdictBadge(v: unknown): Html {
  const s = v === null || v === undefined ? 'unknown' : String(v);
  const kind = s === 'yes' ? 'yes' : s === 'pending' ? 'pending' : s.startsWith('no') ? 'no' : 'unknown';
  return html`<span class="verdict verdict-${kind}" data-verdict="${s}">${s}</span>`;
}

/** An incident's status (incident-status.ts) as a badge: red while nobody acked, amber while acked, green once OK. */
export function statusBadge(status: 'triggered' | 'acknowledged' | 'resolved'): Html {
  return html`<span class="status status-${status}" data-status="${status}">${status}</span>`;
}

/** A neutral badge (grey, never red or green): a page that was not needed, as `page-verdict.ts` says. */
export function neutralBadge(text: string, data: string): Html {
  return html`<span class="verdict verdict-neutral" data-verdict="${data}">${text}</span>`;
}

const CSS = `
:root{--fg:#1d2430;--muted:#5b6472;--line:#e3e6eb;--bg:#f6f7f9;--card:#fff;--yes:#1a7f37;--no:#cf222e;\
--pending:#9a6700;--accent:#0b5cad}
*{box-sizing:border-box}\
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#16202c;color:#fff;padding:18px 32px}header a{color:#9cc7ff}header h1{margin:0;font-size:22px}\
header p{margin:4px 0 0;color:#c9d1db}
main{max-width:1180px;margin:0 auto;padding:20px 32px 48px}\
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px}p.note{color:var(--muted);margin:4px 0 12px;font-size:13px}\
p.empty{color:var(--muted);font-style:italic}
table{border-collapse:collapse;width:100%;font-size:14px}\
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}\
td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:600;font-size:13px;color:#fff}
.verdict-yes{background:var(--yes)}.verdict-no{background:var(--no)}.verdict-pending{background:var(--pending)}\
.verdict-unknown{background:#8c959f}\
.verdict-neutral{background:#eef1f4;color:var(--fg);font-weight:500;border:1px solid var(--line)}
.status{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:600;font-size:13px;border:1px solid}\
.status-triggered{color:var(--no);border-color:var(--no)}.status-acknowledged{color:var(--pending);\
border-color:var(--pending)}.status-resolved{color:var(--yes);border-color:var(--yes)}
.cards{display:flex;gap:12px;flex-wrap:wrap}\
.card{flex:1 1 260px;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card h3{margin:0 0 6px;font-size:13px;color:var(--muted);font-weight:600}\
.card p{margin:6px 0 0;font-size:13px;color:var(--muted)}
/* charts are drawn at their own size (never scaled down, so their text stays at 12 px or more): scroll if wider */
.chart{overflow-x:auto;margin:0}.chart svg{display:block}\
ol.steps{margin:0;padding-left:22px}ol.steps li{margin:3px 0}
code{background:#eef1f4;padding:1px 5px;border-radius:4px;font-size:13px}.code{font-weight:600}.fail{color:var(--no)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}\
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
`;

/** A whole page: one self-contained document (inline CSS, no script). */
export function page(opts: { title: string; heading: Html | string; sub?: Html | string; body: Html[] }): string {
  const viewport = html`<meta name="viewport" content="width=device-width, initial-scale=1">`;
  const style = html`<style>${new Html(CSS)}</style>`;
  const head = html`<head><meta charset="utf-8">${viewport}<title>${opts.title}</title>${style}</head>`;
  const header = html`<header><h1>${opts.heading}</h1>${opts.sub ? html`<p>${opts.sub}</p>` : ''}</header>`;
  const doc = html`<html lang="en">${head}<body>${header}<main>${opts.body}</main></body></html>`;
  return `<!doctype html>\n${doc.markup}\n`;
}
