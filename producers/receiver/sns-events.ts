import type { Hono } from 'hono';
import { AlarmRecord, type AlarmRecordIn } from '../../schemas/alarm-record.js';
import type { AlertRecordIn } from '../../schemas/alert-record.js';
import { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
import {
  CloudWatchAlarmSnsMessage,
  eventFromSnsAlarm,
  isCloudWatchAlarmSns,
} from '../../schemas/cloudwatch-alarm-sns.js';
import { EventsV2Event, eventsV2Problems } from '../../schemas/events-v2.js';
import { alarmRecordsFrom } from './alarm-intake.js';
import { alertmanagerRecord, eventsV2Record, generatedDedupKey } from './alert-intake.js';
import { routingKeyName, withoutBlanks } from './alert-routes.js';
import { snsRoute } from './aws-sms-voice-webhook.js';
import { parseEach, parseJson } from './body-parse.js';
import { PayloadError } from './errors.js';
import { writeRecords, type RouteDeps } from './http.js';
import { SnsVerifier, type SnsMessage } from './sns-signature.js';
import { ignored, type VerifiedRequest } from './webhook-outcome.js';

/**
 * POST /events/sns — an SNS topic's HTTPS subscription (docs/design/closed-loop.md "Other sources"): alarms that
 * reach the team as SNS messages, into the same alarm records as the other intakes.
 *
 * Every message is verified first with the receiver's one SNS verifier (sns-signature.ts: SignatureVersion 1/2, the
 * certificate only from `https://sns.<region>.amazonaws.com` or a URL in SNS_TRUSTED_CERT_URLS): not authentic →
 * 401; authentic but of a topic not in SNS_ALERT_TOPIC_ARNS → 403; nothing written either way. A
 * SubscriptionConfirmation of an allowed topic is confirmed (GET SubscribeURL, with the verifier's timeout): 200
 * `{confirmed}`, 503 when it fails, so SNS sends it again. An UnsubscribeConfirmation is acknowledged (202).
 *
 * A Notification's `Message` (JSON text) is, by its shape:
 * - a CloudWatch alarm's SNS notification (an alarm action; schemas/cloudwatch-alarm-sns.ts): the EventBridge event
 *   of the same state change is built from it and goes through the alarm intake (namespace filter, severity) →
 *   an alarm record `source: 'cloudwatch'`, `via: 'sns'`, with the event id and incident id EventBridge's event
 *   gives: an alarm whose state change arrives both ways pages once;
 * - a CloudWatch "Alarm State Change" event itself (an EventBridge rule with an SNS target) → the same, `via: 'sns'`;
 * - an Alertmanager notification: the webhook v4 JSON (`version`, `groupKey`) → the Alertmanager intake, as
 *   POST /events/alertmanager; or Amazon Managed Service for Prometheus's JSON template (AWS docs, "Configure alert
 *   manager to send messages to Amazon SNS as JSON": receiver, status, alerts, groupLabels, commonLabels,
 *   commonAnnotations, with Go's time format; no version nor groupKey) → the same intake, its group key built from
 *   the topic and the group labels (`<TopicArn>:{k="v",…}`);
 * - a PagerDuty Events API v2 event whose `routing_key` is in EVENTS_V2_ROUTING_KEYS → as POST /v2/enqueue.
 *
 * Answers: 200 `{written}` once the records are on the stream (503 when the stream fails: SNS retries 5xx); 202
 * `{ignored}` for an alarm outside ALARM_NAMESPACES; 202 `{kept: 'errors'}` for anything else — AMP's default
 * plain-text template, an unknown shape, an invalid event, an unknown routing key — kept with the reason under
 * `errors/webhooks/` (error-sink.ts), as every verified webhook that cannot become a record: SNS retries only 5xx
 * and timeouts, and a retry would not change the answer, so nothing is lost and nothing is retried forever.
 */
export const SNS_EVENTS_ROUTE = '/events/sns';

const GO_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2})(\d{2}) [A-Za-z0-9+-]+(?: m=[+-][\d.]+)?$/;

/** Go's `time.Time.String()` (`2024-05-01 12:00:00.123456789 +0000 UTC`, what a template's `{{ .StartsAt }}` gives). */
export function goTimeToIso(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = GO_TIME.exec(value.trim());
  if (!m) return value;
  const frac = m[3] ? `.${m[3].slice(1, 4).padEnd(3, '0')}` : '';
  return `${m[1]}T${m[2]}${frac}${m[4]}:${m[5]}`;
}

const labelText = (labels: Record<string, string>) =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

/** AMP's JSON template output → the webhook v4 notification the Alertmanager intake takes. */
export function fromAmpTemplate(json: Record<string, unknown>, topicArn: string): unknown {
  const groupLabels = (json.groupLabels ?? {}) as Record<string, string>;
  const alerts = Array.isArray(json.alerts)
    ? json.alerts.map((a) =>
        a && typeof a === 'object'
          ? {
              ...a,
              startsAt: goTimeToIso((a as Record<string, unknown>).startsAt),
              endsAt: goTimeToIso((a as Record<string, unknown>).endsAt),
            }
          : a,
      )
    : json.alerts;
  const groupKey =
    typeof groupLabels === 'object' && groupLabels !== null ? `${topicArn}:${labelText(groupLabels)}` : topicArn;
  return { version: '4', groupKey, truncatedAlerts: 0, ...json, alerts };
}

type Kind = 'cloudwatch-sns' | 'cloudwatch-event' | 'alertmanager' | 'amp-template' | 'events-v2';

/** Which known kind a Message's JSON is (undefined: none). */
export function kindOf(json: unknown): Kind | undefined {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  if (isCloudWatchAlarmSns(o)) return 'cloudwatch-sns';
  if (o.source === 'aws.cloudwatch' && o['detail-type'] === 'CloudWatch Alarm State Change') return 'cloudwatch-event';
  if ('groupKey' in o && 'alerts' in o) return 'alertmanager';
  if ('receiver' in o && 'alerts' in o && 'status' in o) return 'amp-template';
  if ('event_action' in o && 'routing_key' in o) return 'events-v2';
  return undefined;
}

type Written = { event_id: string; incident_id: string; alarm: string; state: string };

/** A verified Notification → the records it makes (PayloadError: kept), or the reason it is ignored. */
export function recordsOfNotification(
  deps: Pick<RouteDeps, 'config'>,
  m: SnsMessage,
  receivedAt: number,
): { records: (AlarmRecordIn | AlertRecordIn)[] } | { ignored: string } {
  let json: unknown;
  try {
    json = parseJson(m.Message);
  } catch (cause) {
    throw new PayloadError('Message is not JSON (an Alertmanager text template?)', 'Message', { cause });
  }
  const kind = kindOf(json);
  switch (kind) {
    case 'cloudwatch-sns':
    case 'cloudwatch-event': {
      let event: unknown = json;
      if (kind === 'cloudwatch-sns') {
        const { values } = parseEach(json, CloudWatchAlarmSnsMessage);
        event = eventFromSnsAlarm(values[0], m.MessageId);
      }
      const { records, ignored } = alarmRecordsFrom(event, deps.config);
      if (records.length === 0) return { ignored: ignored[0].reason };
      return { records: records.map((r) => ({ ...r, source: 'cloudwatch' as const, via: 'sns' as const })) };
    }
    case 'alertmanager':
    case 'amp-template': {
      const input = kind === 'amp-template' ? fromAmpTemplate(json as Record<string, unknown>, m.TopicArn) : json;
      const { values } = parseEach(input, AlertmanagerWebhook);
      return { records: [alertmanagerRecord(values[0], m.Message, receivedAt)] };
    }
    case 'events-v2': {
      const problems = eventsV2Problems(json);
      if (problems.length > 0) throw new PayloadError(problems[0]);
      const key = (json as { routing_key: string }).routing_key;
      const service = routingKeyName(deps.config.EVENTS_V2_ROUTING_KEYS, key);
      if (service === undefined) throw new PayloadError('unknown routing key', 'routing_key');
      const { values } = parseEach(withoutBlanks(json as Record<string, unknown>), EventsV2Event);
      const event = values[0];
      return { records: [eventsV2Record(event, service, event.dedup_key ?? generatedDedupKey(event), receivedAt)] };
    }
    default:
      throw new PayloadError(
        'Message is not a known kind (a CloudWatch alarm notification or event, an Alertmanager notification, ' +
          'an Events API v2 event)',
        'Message',
      );
  }
}

function written(r: AlarmRecordIn | AlertRecordIn): Written {
  if ('event' in r) {
    const a = AlarmRecord.parse(r);
    return { event_id: a.event_id, incident_id: a.incident_id, alarm: a.alarm_name, state: a.state };
  }
  return { event_id: r.event_id, incident_id: r.incident_id, alarm: r.alarm_name, state: r.state };
}

export function snsEventsRoutes(app: Hono, deps: RouteDeps): void {
  const verifier =
    deps.snsEventsVerifier ??
    new SnsVerifier({
      allowedTopics: deps.config.SNS_ALERT_TOPIC_ARNS ?? [],
      trustedCertUrls: deps.config.SNS_TRUSTED_CERT_URLS ?? [],
    });
  snsRoute(app, deps, verifier, SNS_EVENTS_ROUTE, async (req: VerifiedRequest, m: SnsMessage) => {
    const out = recordsOfNotification(deps, m, req.receivedAt);
    if ('ignored' in out) return ignored(deps, req, out.ignored, { sns_message_id: m.MessageId });
    await writeRecords(deps, out.records);
    const list = out.records.map(written);
    deps.logger.info({ route: req.route, topic: m.TopicArn, written: list.length }, 'SNS alarm written');
    return req.c.json({ written: list }, 200);
  });
}
