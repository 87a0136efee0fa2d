/**
 * How a page looks and names its alarm, wherever it is shown: the page email and notices (paging,
 * processors/paging/message-content.ts) and the acknowledge pages (receiver, producers/receiver/ack-page.ts).
 */

/** Severity colours of the email; the ack page uses the same. */
export const COLORS: Readonly<Record<string, string>> = { P1: '#b42318', P2: '#c4320a', P3: '#b54708', P4: '#475467' };

/** "2026-11-28 10:05:00 UTC": times in messages are UTC, said so. */
export const utcTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/**
 * The alarm's page in the CloudWatch console, from its ARN (`arn:aws:cloudwatch:<region>:<account>:alarm:<name>`);
 * undefined for anything else.
 */
export function cloudWatchAlarmUrl(alarmArn: string | undefined): string | undefined {
  const m = alarmArn ? /^arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):\d*:alarm:(.+)$/.exec(alarmArn) : null;
  if (!m) return undefined;
  const [, region, name] = m;
  return (
    `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}` +
    `#alarmsV2:alarm/${encodeURIComponent(name)}`
  );
}
