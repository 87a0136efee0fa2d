import { z } from 'zod';

/**
 * How a provider callback finds its page: every message carries the incident id, the alarm ARN (the
 * stream partition key) and the dispatch id — in the Twilio StatusCallback URL's query and in the
 * Resend email's tags. Resend tag values allow only ASCII letters, digits, `_` and `-`, so the ARN
 * travels base64url-encoded.
 */
export interface PageRef {
  incidentId: string;
  alarmArn: string;
  /** The dispatch record's event id (one page of one step). */
  dispatchId: string;
}

export const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const unb64url = (s: string) => Buffer.from(s, 'base64url').toString('utf8');

const Ref = z.object({
  incidentId: z.string().regex(/^[A-Za-z0-9_-]{4,128}$/),
  alarmArn: z.string().startsWith('arn:'),
  dispatchId: z.string().regex(/^[A-Za-z0-9_-]{4,128}$/),
});

/** `<PUBLIC_BASE_URL>/webhooks/twilio?incident=…&alarm=…&dispatch=…` */
export function twilioStatusCallbackUrl(publicBaseUrl: string, ref: PageRef): string {
  const url = new URL('/webhooks/twilio', publicBaseUrl);
  url.searchParams.set('incident', ref.incidentId);
  url.searchParams.set('alarm', ref.alarmArn);
  url.searchParams.set('dispatch', ref.dispatchId);
  return url.toString();
}

/**
 * Where a voice page's status callbacks go:
 * `<PUBLIC_BASE_URL>/webhooks/twilio/voice?incident=…&alarm=…&dispatch=…`
 */
export function twilioVoiceStatusCallbackUrl(publicBaseUrl: string, ref: PageRef): string {
  return withRef(new URL('/webhooks/twilio/voice', publicBaseUrl), ref);
}

/**
 * The action of a voice page's `<Gather>` (the key press):
 * `<PUBLIC_BASE_URL>/webhooks/twilio/voice/gather?incident=…&alarm=…&dispatch=…`
 */
export function twilioVoiceGatherUrl(publicBaseUrl: string, ref: PageRef): string {
  return withRef(new URL('/webhooks/twilio/voice/gather', publicBaseUrl), ref);
}

/**
 * What Twilio fetches once a voice page is answered (the call's `Url`; answering-machine detection has
 * run, so the request carries `AnsweredBy`): `<PUBLIC_BASE_URL>/webhooks/twilio/voice/answer?incident=…
 * &alarm=…&dispatch=…&say=<what the call reads>&ref=<page reference>`. The receiver answers a person
 * with the alarm and a `<Gather>`, a voicemail with a short message. The text rides in the URL, which
 * Twilio signs with the request, so it cannot be altered on the way.
 */
export function twilioVoiceAnswerUrl(
  publicBaseUrl: string,
  ref: PageRef,
  script: { say: string; reference: string },
): string {
  const url = new URL('/webhooks/twilio/voice/answer', publicBaseUrl);
  url.searchParams.set('incident', ref.incidentId);
  url.searchParams.set('alarm', ref.alarmArn);
  url.searchParams.set('dispatch', ref.dispatchId);
  url.searchParams.set('say', script.say);
  url.searchParams.set('ref', script.reference);
  return url.toString();
}

function withRef(url: URL, ref: PageRef): string {
  url.searchParams.set('incident', ref.incidentId);
  url.searchParams.set('alarm', ref.alarmArn);
  url.searchParams.set('dispatch', ref.dispatchId);
  return url.toString();
}

/** The page a Twilio status callback is about, from its URL query; undefined when absent or malformed. */
export function pageRefFromQuery(query: URLSearchParams): PageRef | undefined {
  const parsed = Ref.safeParse({
    incidentId: query.get('incident'),
    alarmArn: query.get('alarm'),
    dispatchId: query.get('dispatch'),
  });
  return parsed.success ? parsed.data : undefined;
}

export const TAG = {
  incident: 'incident_id',
  alarm: 'alarm_arn_b64',
  dispatch: 'dispatch_id',
  severity: 'severity',
} as const;

/** Resend `tags` for a page (name/value pairs as the emails API takes them). */
export function resendTags(ref: PageRef & { severity?: string }): { name: string; value: string }[] {
  const tags: { name: string; value: string }[] = [
    { name: TAG.incident, value: ref.incidentId },
    { name: TAG.alarm, value: b64url(ref.alarmArn) },
    { name: TAG.dispatch, value: ref.dispatchId },
  ];
  if (ref.severity) tags.push({ name: TAG.severity, value: ref.severity });
  return tags;
}

/** The page a Resend webhook is about, from `data.tags` (an object in webhook payloads). */
export function pageRefFromTags(tags: Record<string, string> | undefined): PageRef | undefined {
  if (!tags) return undefined;
  let alarmArn: string | undefined;
  try {
    alarmArn = tags[TAG.alarm] ? unb64url(tags[TAG.alarm]) : undefined;
  } catch {
    return undefined;
  }
  const parsed = Ref.safeParse({ incidentId: tags[TAG.incident], alarmArn, dispatchId: tags[TAG.dispatch] });
  return parsed.success ? parsed.data : undefined;
}

/**
 * The `Context` of a page sent by AWS End User Messaging SMS and Voice (SendTextMessage / SendVoiceMessage): the
 * configuration set's event destination returns it in every delivery event (`context`), so the receiver finds the
 * page from it. Keys as in Resend's tags (the ARN base64url-encoded).
 */
export function awsContext(ref: PageRef): Record<string, string> {
  return { [TAG.incident]: ref.incidentId, [TAG.alarm]: b64url(ref.alarmArn), [TAG.dispatch]: ref.dispatchId };
}

/** The page an AWS End User Messaging event is about, from its `context`; undefined when absent or malformed. */
export function pageRefFromContext(context: Record<string, string> | undefined): PageRef | undefined {
  return pageRefFromTags(context);
}
