/**
 * The one way to compare the address a page went to with the address a reply came from (shared by
 * the paging side, which records whom it paged, and the receiver, which checks an `ACK <code>` reply):
 *
 * - phone numbers (SMS and WhatsApp alike) → E.164 `+<country><number>`: the `whatsapp:` prefix,
 *   spaces, dashes, dots and parentheses are dropped, a leading `00` becomes `+`;
 * - email addresses → trimmed, lowercased.
 *
 * So `whatsapp:+1 (555) 123-0001` and `+15551230001` are the same recipient.
 */

const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** The canonical form of a phone number or email address; undefined when it is neither. */
export function normalizeAddress(raw: string | undefined | null): string | undefined {
  if (typeof raw !== 'string') return undefined;
  let s = raw.trim();
  if (s.includes('@') && !/^whatsapp:/i.test(s)) {
    s = s.toLowerCase();
    return EMAIL.test(s) ? s : undefined;
  }
  s = s.replace(/^whatsapp:/i, '').replace(/[\s().-]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  return E164.test(s) ? s : undefined;
}

/** Whether two addresses name the same recipient (false when either is not an address). */
export function sameAddress(a: string | undefined, b: string | undefined): boolean {
  const na = normalizeAddress(a);
  return na !== undefined && na === normalizeAddress(b);
}
