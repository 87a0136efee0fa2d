import type { Resend } from 'resend';
import { UnavailableError } from '../errors.js';

/** The sign-in mail: a one-time link, valid 10 minutes. */
export interface SignInMail {
  to: string;
  name: string;
  link: string;
  expiresAt: number;
}

export interface SignInMailer {
  send(mail: SignInMail): Promise<void>;
}

const esc = (s: string) =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[ch]!);

/** The mail's subject, text and HTML (the link is the only action; it says what to do if it was not you). */
export function signInMessage(mail: SignInMail): { subject: string; text: string; html: string } {
  const until = new Date(mail.expiresAt).toISOString().slice(11, 16);
  const subject = 'Your pagetrail sign-in link';
  const text =
    `Hello ${mail.name},\n\nSign in to the pagetrail console: ${mail.link}\n\n` +
    `The link works once, until ${until} UTC (10 minutes). If you did not ask for it, ignore this mail.\n`;
  const html =
    `<p>Hello ${esc(mail.name)},</p><p><a href="${esc(mail.link)}">Sign in to the pagetrail console</a></p>` +
    `<p>The link works once, until ${until} UTC (10 minutes). If you did not ask for it, ignore this mail.</p>`;
  return { subject, text, html };
}

/**
 * Sends the mail with the official Resend SDK (platform/providers/resend.ts: every request has a timeout), from the
 * on-call file's `email.from`. The SDK resolves API errors instead of throwing: those become an UnavailableError.
 */
export class ResendSignInMailer implements SignInMailer {
  constructor(
    private readonly resend: Pick<Resend, 'emails'>,
    private readonly from: () => string,
  ) {}

  async send(mail: SignInMail): Promise<void> {
    const { subject, text, html } = signInMessage(mail);
    let out: Awaited<ReturnType<Resend['emails']['send']>>;
    try {
      out = await this.resend.emails.send({ from: this.from(), to: [mail.to], subject, text, html });
    } catch (cause) {
      throw new UnavailableError('resend (sign-in mail)', { cause });
    }
    if (out.error) throw new UnavailableError('resend (sign-in mail)', { cause: new Error(out.error.message) });
  }
}
