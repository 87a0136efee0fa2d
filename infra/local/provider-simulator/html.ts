/** Just enough HTML reading for the simulated person: find a link, read a form, as a browser would. */

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e: string) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos' || k === '#39') return "'";
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return m;
  });
}

/** Attributes of one tag's source (`<input type="hidden" name=a value='b'>`), names lower-cased. */
export function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inner = tag.replace(/^<\s*[a-z0-9-]+/i, '').replace(/\/?>$/, '');
  const re = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (let m = re.exec(inner); m; m = re.exec(inner)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Every `href` of an `<a>` in the HTML, decoded, in document order. */
export function links(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<a\b[^>]*>/gi)) {
    const href = attributes(m[0]).href;
    if (href) out.push(href.trim());
  }
  return out;
}

/** The acknowledge link: the first href containing `/ack?`. */
export function findAckLink(html: string): string | undefined {
  return links(html).find((h) => h.includes('/ack?'));
}

export interface HtmlForm {
  method: string;
  /** The raw `action` attribute ('' when absent: the form posts to the page's own URL). */
  action: string;
  fields: [string, string][];
}

/**
 * The forms of a page with the fields a browser submits when the (first) submit button is pressed:
 * named inputs (hidden, text, … ; checked checkboxes/radios), textareas, selects' selected option,
 * and the first named submit button.
 */
export function forms(html: string): HtmlForm[] {
  const out: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)) {
    const open = /^<form\b[^>]*>/i.exec(m[0])![0];
    const a = attributes(open);
    const body = m[1];
    const fields: [string, string][] = [];
    let submitted = false;
    for (const t of body.matchAll(/<(input|button|textarea|select)\b[^>]*>([\s\S]*?<\/\1\s*>)?/gi)) {
      const tag = t[1].toLowerCase();
      const at = attributes(/^<[^>]*>/.exec(t[0])![0]);
      if (!at.name || 'disabled' in at) continue;
      if (tag === 'input') {
        const type = (at.type ?? 'text').toLowerCase();
        if (type === 'submit' || type === 'image') {
          if (!submitted) fields.push([at.name, at.value ?? '']);
          submitted = true;
        } else if (type === 'checkbox' || type === 'radio') {
          if ('checked' in at) fields.push([at.name, at.value ?? 'on']);
        } else if (type !== 'button' && type !== 'reset' && type !== 'file') {
          fields.push([at.name, at.value ?? '']);
        }
      } else if (tag === 'button') {
        const type = (at.type ?? 'submit').toLowerCase();
        if (type === 'submit' && !submitted) {
          fields.push([at.name, at.value ?? '']);
          submitted = true;
        }
      } else if (tag === 'textarea') {
        fields.push([at.name, decodeEntities((t[2] ?? '').replace(/<\/textarea\s*>$/i, ''))]);
      } else {
        const opts = [...(t[2] ?? '').matchAll(/<option\b[^>]*>([^<]*)/gi)];
        const sel = opts.find((o) => 'selected' in attributes(/^<[^>]*>/.exec(o[0])![0])) ?? opts[0];
        if (sel) {
          const oa = attributes(/^<[^>]*>/.exec(sel[0])![0]);
          fields.push([at.name, oa.value ?? decodeEntities(sel[1].trim())]);
        }
      }
    }
    out.push({ method: (a.method ?? 'get').toLowerCase(), action: a.action ?? '', fields });
  }
  return out;
}
