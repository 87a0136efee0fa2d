/** What the simulated people read in a message: the page reference, the ACK code, a rendered template. */

/** "Ref 7Q2M9XKD": the page reference as messages carry it (Crockford base32, 8–10 characters). */
const REF_RE = /(?:^|[^0-9A-Za-z])Ref\s+([0-9A-HJKMNP-TV-Z]{8,10})(?![0-9A-Za-z])/;
const ACK_RE = /\b(?:ACK|OK)\s+([A-Z0-9]{4,8})(?![A-Z0-9])/; // OK <code>: what a reachability drill asks for

/** The page reference found in the first text that carries one. */
export const referenceIn = (...texts: (string | null | undefined)[]): string | undefined => {
  for (const t of texts) {
    const m = t ? REF_RE.exec(t) : null;
    if (m) return m[1];
  }
  return undefined;
};

/** A content template (`Alarm {{1}}: reply ACK {{2}}`) with its variables filled in (missing ones empty). */
export function render(template: string, vars: Record<string, string> | null): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, k: string) => vars?.[k] ?? '');
}

/** The body of a template message whose template is not configured: the variables in key order. */
export function renderDefault(vars: Record<string, string> | null): string {
  return Object.keys(vars ?? {})
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((k) => vars![k])
    .join(' · ');
}

/** The ACK code a person would type back: from the Body, the rendered template, or the content variables. */
export function ackCodeOf(text: {
  body?: string | null;
  rendered?: string | null;
  variables?: Record<string, string> | null;
}): string | undefined {
  for (const t of [text.body, text.rendered, ...Object.values(text.variables ?? {})]) {
    const m = t ? ACK_RE.exec(String(t)) : null;
    if (m) return m[1];
  }
  for (const [k, v] of Object.entries(text.variables ?? {})) {
    if (/ack|code/i.test(k) && /^[A-Z0-9]{4,8}$/.test(String(v))) return String(v);
  }
  return undefined;
}
