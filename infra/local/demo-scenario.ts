import { eventId, incidentId } from '../../schemas/ids.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import type { CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';

/**
 * A scripted history of four incidents (ECS and RDS alarms), as the stream would carry it: alarms,
 * pages, provider receipts (with a duplicate and a receipt that overtakes its dispatch), a failover,
 * an escalation and acks. Event times are relative to `t0`, so each run makes new incidents.
 */
export interface ScenarioIncident {
  incident_id: string;
  alarm_name: string;
  story: string;
}

const ACCOUNT = '123456789012';
const arnOf = (name: string) => `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${name}`;
const iso = (ms: number) => new Date(ms).toISOString();

function alarm(name: string, namespace: 'AWS/ECS' | 'AWS/RDS', metric: string, dims: Record<string, string>, state: 'ALARM' | 'OK', at: number, enteredAt: number): StreamRecordIn {
  const event: CloudWatchAlarmEvent = {
    version: '0',
    id: eventId('demo-eb', name, state, String(at)).slice(4, 40),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: ACCOUNT,
    time: iso(at),
    region: 'us-east-1',
    resources: [arnOf(name)],
    detail: {
      alarmName: name,
      configuration: { description: `${metric} on ${Object.values(dims).join('/')}`, metrics: [{ id: 'm1', metricStat: { metric: { namespace, name: metric, dimensions: dims }, period: 60, stat: 'Average' }, returnData: true }] },
      state: { value: state, reason: state === 'ALARM' ? `Threshold Crossed: ${metric} above threshold` : 'Threshold Crossed: back to normal', timestamp: iso(at) },
      previousState: { value: state === 'ALARM' ? 'OK' : 'ALARM', reason: '', timestamp: iso(state === 'ALARM' ? at - 3600_000 : enteredAt) },
    },
  };
  return { v: 1, kind: 'alarm', severity: undefined, event };
}

export function demoScenario(t0: number): { records: StreamRecordIn[]; incidents: ScenarioIncident[] } {
  const records: StreamRecordIn[] = [];
  const incidents: ScenarioIncident[] = [];
  let n = 0;
  const sid = () => `SM${(++n).toString(16).padStart(32, '0')}`;
  const emailId = () => `4ef9a417-02e9-4d39-ad75-${(++n).toString(16).padStart(12, '0')}`;

  const story = (name: string, namespace: 'AWS/ECS' | 'AWS/RDS', metric: string, dims: Record<string, string>, severity: 'P1' | 'P2' | 'P3', at: number, text: string) => {
    const arn = arnOf(name);
    const inc = incidentId(arn, at);
    incidents.push({ incident_id: inc, alarm_name: name, story: text });
    const base = { v: 1 as const, incident_id: inc, alarm_arn: arn };
    const a = alarm(name, namespace, metric, dims, 'ALARM', at, at);
    if (a.kind === 'alarm') a.severity = severity;
    records.push(a);
    return {
      page(channel: 'sms' | 'whatsapp' | 'email', person: string, recipient: string, level: number, t: number, deadlineMs: number) {
        const id = channel === 'email' ? emailId() : sid();
        records.push({ ...base, kind: 'dispatch', event_id: eventId('dispatch', inc, id), event_time: iso(t), message_id: id, channel, provider: channel === 'email' ? 'resend' : 'twilio', recipient, person, level, alarm_name: name, severity, outcome: 'sent', escalate_at: iso(t + deadlineMs) });
        return id;
      },
      receipt(id: string, channel: 'sms' | 'whatsapp' | 'email', status: 'sent' | 'delivered' | 'opened' | 'undelivered' | 'bounced', providerStatus: string, t: number, extra: { error_code?: string; error_message?: string } = {}) {
        records.push({ ...base, kind: 'receipt', event_id: eventId('receipt', id, providerStatus), event_time: iso(t), provider: channel === 'email' ? 'resend' : 'twilio', channel, message_id: id, status, provider_status: providerStatus, ...extra });
      },
      ack(person: string, channel: 'sms' | 'email', t: number, messageId?: string) {
        records.push({ ...base, kind: 'ack', event_id: eventId('ack', inc, person, String(t)), event_time: iso(t), channel, via: channel === 'sms' ? 'sms_reply' : 'email_link', person, message_id: messageId });
      },
      escalate(reason: 'deadline' | 'failover', from: number, to: number, t: number, extra: { from_channel?: 'sms' | 'email'; to_channel?: 'whatsapp' | 'sms'; message_id?: string; person?: string } = {}) {
        records.push({ ...base, kind: 'escalation', event_id: eventId('escalation', inc, reason, String(from), String(to), extra.message_id ?? ''), event_time: iso(t), reason, from_level: from, to_level: to, ...extra });
      },
      resolve(t: number) {
        records.push(alarm(name, namespace, metric, dims, 'OK', t, at));
      },
    };
  };

  const s = 1000;
  // 1. P1 on ECS: paged by SMS and email, email opened, acked by SMS reply before the 5-minute deadline.
  const a = story('orders-api-cpu-high', 'AWS/ECS', 'CPUUtilization', { ClusterName: 'prod', ServiceName: 'orders-api' }, 'P1', t0, 'P1 opened and acked before escalation');
  const a1 = a.page('sms', 'alice', '+15551230001', 1, t0 + 2 * s, 300 * s);
  const a2 = a.page('email', 'alice', 'alice@example.com', 1, t0 + 2 * s, 300 * s);
  a.receipt(a1, 'sms', 'delivered', 'delivered', t0 + 5 * s);
  a.receipt(a2, 'email', 'delivered', 'email.delivered', t0 + 6 * s);
  a.receipt(a2, 'email', 'opened', 'email.opened', t0 + 40 * s);
  a.receipt(a2, 'email', 'opened', 'email.opened', t0 + 40 * s); // the provider retried the webhook
  a.ack('alice', 'sms', t0 + 55 * s, a1);
  a.resolve(t0 + 900 * s);

  // 2. P1 on RDS: delivered but never opened; escalates to the secondary at the deadline, who reads it on WhatsApp.
  const b = story('billing-db-connections', 'AWS/RDS', 'DatabaseConnections', { DBInstanceIdentifier: 'billing-db' }, 'P1', t0 + 10 * s, 'P1 never opened: escalated to the secondary');
  const b1 = b.page('sms', 'bob', '+15551230002', 1, t0 + 12 * s, 300 * s);
  const b2 = b.page('email', 'bob', 'bob@example.com', 1, t0 + 12 * s, 300 * s);
  b.receipt(b1, 'sms', 'delivered', 'delivered', t0 + 15 * s);
  b.receipt(b2, 'email', 'delivered', 'email.delivered', t0 + 16 * s);
  b.escalate('deadline', 1, 2, t0 + 312 * s);
  const b3 = b.page('whatsapp', 'carol', 'whatsapp:+15551230003', 2, t0 + 313 * s, 300 * s);
  b.receipt(b3, 'whatsapp', 'delivered', 'delivered', t0 + 316 * s);
  b.receipt(b3, 'whatsapp', 'opened', 'read', t0 + 330 * s);
  b.ack('carol', 'sms', t0 + 345 * s, b3);

  // 3. P2 on ECS: the SMS is undelivered (30003) and fails over to WhatsApp at once: delivered and read.
  const c = story('checkout-memory-high', 'AWS/ECS', 'MemoryUtilization', { ClusterName: 'prod', ServiceName: 'checkout' }, 'P2', t0 + 20 * s, 'SMS undelivered, failed over to WhatsApp, read');
  const c1 = c.page('sms', 'dave', '+15551230004', 1, t0 + 22 * s, 600 * s);
  c.receipt(c1, 'sms', 'undelivered', 'undelivered', t0 + 30 * s, { error_code: '30003', error_message: 'Unreachable destination handset' });
  c.escalate('failover', 1, 1, t0 + 31 * s, { from_channel: 'sms', to_channel: 'whatsapp', message_id: c1, person: 'dave' });
  const c2 = c.page('whatsapp', 'dave', 'whatsapp:+15551230004', 1, t0 + 32 * s, 600 * s);
  c.receipt(c2, 'whatsapp', 'delivered', 'delivered', t0 + 35 * s);
  c.receipt(c2, 'whatsapp', 'opened', 'read', t0 + 50 * s);

  // 4. P3 on RDS: the email bounces and fails over to SMS, delivered.
  const d = story('reports-db-free-storage', 'AWS/RDS', 'FreeStorageSpace', { DBInstanceIdentifier: 'reports-db' }, 'P3', t0 + 30 * s, 'email bounced, failed over to SMS');
  const d1 = d.page('email', 'erin', 'erin@example.com', 1, t0 + 32 * s, 1800 * s);
  d.receipt(d1, 'email', 'bounced', 'email.bounced', t0 + 34 * s, { error_code: 'Permanent', error_message: 'General: mailbox does not exist' });
  d.escalate('failover', 1, 1, t0 + 35 * s, { from_channel: 'email', to_channel: 'sms', message_id: d1, person: 'erin' });
  const d2 = d.page('sms', 'erin', '+15551230005', 1, t0 + 36 * s, 1800 * s);
  d.receipt(d2, 'sms', 'delivered', 'delivered', t0 + 40 * s);

  // The stream carries events roughly in the order they happen...
  const at = (r: StreamRecordIn) => (r.kind === 'alarm' ? Date.parse(r.event.detail.state.timestamp) : Date.parse(r.event_time));
  records.sort((x, y) => at(x) - at(y));
  // ...but delivery is at-least-once and unordered: move one receipt ahead of its dispatch.
  const i = records.findIndex((r) => r.kind === 'receipt' && r.message_id === c2);
  const j = records.findIndex((r) => r.kind === 'dispatch' && r.message_id === c2);
  const [moved] = records.splice(i, 1);
  records.splice(j, 0, moved);
  return { records, incidents };
}
