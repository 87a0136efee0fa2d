/**
 * Deterministic generator of a realistic stream for benchmarks and tests: Kinesis-like records whose
 * `data` is the JSON stream envelope (schemas/envelope.ts) of alarms, dispatches, receipts, acks and
 * escalations. The same options always give the same records, byte for byte.
 *
 * Per incident: one ALARM (about a third later go back to OK), 2–6 dispatches (sms / whatsapp /
 * email; Twilio `SM…` sids, Resend uuids), 1–4 receipts per sent dispatch with the provider's own
 * status word and the verified payload as evidence, about 10 % of receipts delivered twice (same
 * event_id: a webhook retry), about 10 % arriving before their dispatch, some acks and escalations
 * (deadline and failover). Event time increases overall with jitter; records are partitioned by the
 * alarm ARN (MD5 hash-key ranges, as Kinesis does) and sequence numbers increase per shard.
 *
 * Fast path: records are serialized with JSON.stringify, exactly what `encodeRecord` writes; a sample
 * (the first 2,000 and every 500th) goes through `encodeRecord` so the schemas validate the shapes.
 */
import { createHash } from 'node:crypto';
import { encodeRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { EventJoin } from '../../processors/lake/join.js';
import { ShardPipeline } from '../../processors/lake/shard-pipeline.js';
import type { EventRow } from '../../schemas/lake.js';
import { incidentId } from '../../schemas/ids.js';
import type { Channel, DeliveryStatus, Severity } from '../../schemas/status.js';
import type { AlarmRecordIn } from '../../schemas/alarm-record.js';
import type { DispatchRecordIn } from '../../schemas/dispatch-record.js';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import type { AckRecordIn } from '../../schemas/ack-record.js';

/** One record as read from the stream: the shape of processors/consumer ReadRecord. */
export interface GeneratedRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  /** ApproximateArrivalTimestamp, epoch ms. */
  arrivalTime: number;
}

export interface GenerateOptions {
  /** Exact number of records to return. */
  events: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Number of shards (default 2). */
  shards?: number;
  /** Time of the first incident, epoch ms (default 2026-11-28T00:00:00Z). */
  startMs?: number;
  /** Mean gap between incident starts in ms (default 2,000). */
  incidentGapMs?: number;
  /** Validate records with the stream schema: every record, a sample (default), or none. */
  validate?: 'all' | 'sample' | 'none';
}

/** sfc32: small, fast, good enough for test data, and stable across engines. */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let c = 0xb7e15162 ^ Math.imul(seed, 0xc2b2ae35);
  let d = 1;
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

const HEX = '0123456789abcdef';
const HEX2 = Array.from({ length: 256 }, (_, i) => HEX[i >> 4] + HEX[i & 15]);

const DEFAULT_START = Date.UTC(2026, 10, 28, 0, 0, 0);
const ACCOUNT = '123456789012';
const REGIONS = ['us-east-1', 'eu-west-1'] as const;
const SERVICES = [
  'api',
  'checkout',
  'payments',
  'search',
  'auth',
  'ingest',
  'billing',
  'notifications',
  'web',
  'worker',
] as const;
const METRICS = [
  { suffix: 'cpu-high', namespace: 'AWS/EC2', metric: 'CPUUtilization', dim: 'InstanceId', threshold: 80, unit: '' },
  {
    suffix: '5xx-rate',
    namespace: 'AWS/ApplicationELB',
    metric: 'HTTPCode_Target_5XX_Count',
    dim: 'LoadBalancer',
    threshold: 50,
    unit: '',
  },
  {
    suffix: 'db-connections',
    namespace: 'AWS/RDS',
    metric: 'DatabaseConnections',
    dim: 'DBInstanceIdentifier',
    threshold: 400,
    unit: '',
  },
  {
    suffix: 'latency-p99',
    namespace: 'AWS/ApplicationELB',
    metric: 'TargetResponseTime',
    dim: 'LoadBalancer',
    threshold: 2,
    unit: 's',
  },
  {
    suffix: 'queue-depth',
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dim: 'QueueName',
    threshold: 10000,
    unit: '',
  },
  {
    suffix: 'memory-high',
    namespace: 'AWS/ECS',
    metric: 'MemoryUtilization',
    dim: 'ServiceName',
    threshold: 90,
    unit: '',
  },
] as const;
const PEOPLE = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'zoë',
];
const SEVERITIES: readonly Severity[] = ['P1', 'P2', 'P3', 'P4'];

interface Alarm {
  arn: string;
  name: string;
  region: string;
  metric: (typeof METRICS)[number];
  dimValue: string;
  severity: Severity;
  tagged: boolean;
  shard: number;
}

interface Person {
  id: string;
  phone: string;
  email: string;
}

/** Kinesis maps a partition key to a shard by MD5 (128-bit) into evenly split hash-key ranges. */
function shardOf(partitionKey: string, shards: number): number {
  const h = createHash('md5').update(partitionKey).digest();
  // The top 32 bits decide the range well enough for an even split.
  const top = h.readUInt32BE(0);
  return Math.min(shards - 1, Math.floor((top / 4294967296) * shards));
}

const P2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const P3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoDay = NaN;
let isoDayPrefix = '';

/** `YYYY-MM-DDTHH:MM:SS.mmm` of integer epoch ms (same as toISOString without the Z, 5x faster). */
function isoBody(ms: number): string {
  const day = Math.floor(ms / 86_400_000);
  if (day !== isoDay) {
    isoDay = day;
    isoDayPrefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
  }
  let r = ms - day * 86_400_000;
  const h = (r / 3_600_000) | 0;
  r -= h * 3_600_000;
  const m = (r / 60_000) | 0;
  r -= m * 60_000;
  const s = (r / 1000) | 0;
  return `${isoDayPrefix}${P2[h]}:${P2[m]}:${P2[s]}.${P3[r - s * 1000]}`;
}

function iso(ms: number): string {
  return isoBody(ms) + 'Z';
}

function cwTime(ms: number): string {
  // CloudWatch writes `2019-10-02T17:04:40.989+0000`.
  return isoBody(ms) + '+0000';
}

interface Pending {
  /** Stream position key: arrival time in ms (fractional for ordering). */
  key: number;
  shard: number;
  partitionKey: string;
  data: Uint8Array;
}

const RECEIPT_CHAINS: Record<
  'sms' | 'whatsapp' | 'email',
  { ok: [DeliveryStatus, string][]; fail: [DeliveryStatus, string][] }
> = {
  sms: {
    ok: [
      ['sent', 'sent'],
      ['delivered', 'delivered'],
    ],
    fail: [
      ['sent', 'sent'],
      ['undelivered', 'undelivered'],
    ],
  },
  whatsapp: {
    ok: [
      ['sent', 'sent'],
      ['delivered', 'delivered'],
      ['opened', 'read'],
    ],
    fail: [
      ['sent', 'sent'],
      ['failed', 'failed'],
    ],
  },
  email: {
    ok: [
      ['sent', 'email.sent'],
      ['delivered', 'email.delivered'],
      ['opened', 'email.opened'],
      ['clicked', 'email.clicked'],
    ],
    fail: [
      ['sent', 'email.sent'],
      ['delayed', 'email.delivery_delayed'],
      ['bounced', 'email.bounced'],
    ],
  },
};

/** Generate `events` stream records (see the module comment). */
export function generateEvents(options: GenerateOptions): GeneratedRecord[] {
  const total = Math.max(0, Math.floor(options.events));
  const shards = options.shards ?? 2;
  const rnd = prng(options.seed ?? 1);
  const validate = options.validate ?? 'sample';
  const gapMs = options.incidentGapMs ?? 2000;

  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const hex = (n: number) => {
    let s = '';
    for (; n >= 8; n -= 8) {
      const x = (rnd() * 4294967296) >>> 0;
      s += HEX2[x >>> 24] + HEX2[(x >>> 16) & 255] + HEX2[(x >>> 8) & 255] + HEX2[x & 255];
    }
    for (let i = 0; i < n; i++) s += HEX[(rnd() * 16) | 0];
    return s;
  };
  // Event ids on the wire are opaque dedupe keys (the producers derive them with schemas/ids.ts
  // `eventId`); random ones of the same form are as good here and much cheaper than sha256.
  const evt = () => `evt_${hex(32)}`;
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${HEX[8 + ((rnd() * 4) | 0)]}${hex(3)}-${hex(12)}`;
  const digits = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += (rnd() * 10) | 0;
    return s;
  };

  const alarms: Alarm[] = [];
  for (const region of REGIONS)
    for (const service of SERVICES)
      for (const metric of METRICS) {
        const name = `${service}-${metric.suffix}${region === 'eu-west-1' ? '-eu' : ''}`;
        const arn = `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${name}`;
        alarms.push({
          arn,
          name,
          region,
          metric,
          dimValue:
            metric.dim === 'InstanceId' ? `i-${hex(17)}` : `${service}-${metric.dim === 'QueueName' ? 'jobs' : 'prod'}`,
          severity: pick(SEVERITIES),
          tagged: rnd() < 0.5,
          shard: shardOf(arn, shards),
        });
      }
  const people: Person[] = PEOPLE.map((id, i) => ({
    id,
    phone: `+1555${String(1230001 + i * 37).padStart(7, '0')}`,
    // biome-ignore lint/suspicious/noControlCharactersInRegex: \x00-\x7f is all of ASCII; the class drops the rest
    email: `${id.normalize('NFD').replace(/[^\x00-\x7f]/g, '')}@example.com`,
  }));
  const twilioAccount = `AC${hex(32)}`;
  const twilioFrom = '+15550009999';

  const pending: Pending[] = [];
  // Records are serialized as soon as they are made (the objects are dropped at once) into large
  // slabs; each record's data is a view of its slab (no per-record ArrayBuffer).
  const encoder = new TextEncoder();
  const SLAB = 8 << 20;
  let slab = new Uint8Array(SLAB);
  let slabPos = 0;
  let made = 0;
  const serialize = (record: StreamRecordIn): Uint8Array => {
    const check = validate === 'all' || (validate === 'sample' && (made < 2000 || made % 500 === 0));
    made++;
    if (check) encodeRecord(record); // throws if the generator drifted from the schema
    const json = JSON.stringify(record);
    if (slab.length - slabPos < json.length * 3) {
      slab = new Uint8Array(Math.max(SLAB, json.length * 3));
      slabPos = 0;
    }
    const { written } = encoder.encodeInto(json, slab.subarray(slabPos));
    const data = slab.subarray(slabPos, slabPos + written);
    slabPos += written;
    return data;
  };
  let t0 = options.startMs ?? DEFAULT_START;
  const arrival = () => 40 + rnd() * 700; // ingest latency, ms

  while (pending.length < total) {
    t0 += Math.max(1, Math.round(-Math.log(1 - rnd()) * gapMs));
    const alarm = alarms[Math.floor(rnd() ** 1.6 * alarms.length)]; // some alarms are noisier
    const pk = alarm.arn;
    const shard = alarm.shard;
    const inc = incidentId(alarm.arn, t0);
    const push = (key: number, record: StreamRecordIn) =>
      pending.push({ key, shard, partitionKey: pk, data: serialize(record) });

    // Alarm (ALARM), built like the EventBridge event in schemas/fixtures.
    const value = alarm.metric.threshold * (1.2 + rnd() * 2);
    const prevOk = t0 - int(600_000, 86_400_000);
    const alarmState = (state: 'ALARM' | 'OK', at: number, prev: 'ALARM' | 'OK', prevAt: number) => {
      const v = state === 'ALARM' ? value : alarm.metric.threshold * rnd() * 0.8;
      const mk = (s: 'ALARM' | 'OK', ms: number, x: number) => ({
        reason:
          `Threshold Crossed: 1 out of the last 1 datapoints ` +
          `[${x} (${new Date(ms - 300_000).toISOString().slice(0, 16)})] ` +
          `${s === 'ALARM' ? 'was greater than' : 'was not greater than'} the threshold (${alarm.metric.threshold}) ` +
          `(minimum 1 datapoint for ${s === 'ALARM' ? 'OK -> ALARM' : 'ALARM -> OK'} transition).`,
        reasonData: JSON.stringify({
          version: '1.0',
          queryDate: cwTime(ms - 4),
          startDate: cwTime(ms - 300_000),
          statistic: 'Average',
          period: 300,
          recentDatapoints: [x],
          threshold: alarm.metric.threshold,
        }),
        timestamp: cwTime(ms),
        value: s,
      });
      const detail: Record<string, unknown> = {
        alarmName: alarm.name,
        configuration: {
          description:
            `${alarm.metric.metric} of ${alarm.dimValue} ` + `is above ${alarm.metric.threshold}${alarm.metric.unit}`,
          metrics: [
            {
              id: uuid(),
              metricStat: {
                metric: {
                  dimensions: { [alarm.metric.dim]: alarm.dimValue },
                  name: alarm.metric.metric,
                  namespace: alarm.metric.namespace,
                },
                period: 300,
                stat: 'Average',
              },
              returnData: true,
            },
          ],
        },
        previousState: mk(prev, prevAt, prev === 'ALARM' ? value : alarm.metric.threshold * 0.3),
        state: mk(state, at, v),
      };
      if (alarm.tagged) detail.alarmTags = { severity: alarm.severity, team: 'sre' };
      const record: AlarmRecordIn = {
        v: 1,
        kind: 'alarm',
        event: {
          version: '0',
          id: uuid(),
          'detail-type': 'CloudWatch Alarm State Change',
          source: 'aws.cloudwatch',
          account: ACCOUNT,
          time: iso(Math.floor(at / 1000) * 1000).replace('.000Z', 'Z'),
          region: alarm.region,
          resources: [alarm.arn],
          detail: detail as never,
        },
      };
      if (!alarm.tagged) record.severity = alarm.severity;
      return record;
    };
    push(t0 + arrival(), alarmState('ALARM', t0, 'OK', prevOk));

    // Dispatches, receipts, escalations.
    const arn = alarm.arn;
    const nDispatch = int(2, 6);
    let level = 1;
    let t = t0 + int(500, 3000);
    let firstConfirmed = Infinity;
    let ackTarget: { person: Person; channel: 'sms' | 'whatsapp' | 'email'; messageId: string | null } | null = null;
    let prevEscalateAt = 0;
    const deadlineMs = alarm.severity === 'P1' ? 300_000 : alarm.severity === 'P2' ? 600_000 : 900_000;
    for (let d = 0; d < nDispatch; d++) {
      if (d > 0 && d % 2 === 0 && rnd() < 0.6) {
        // Deadline passed unconfirmed: escalate to the next level.
        const at = prevEscalateAt + int(0, 800);
        push(at + arrival(), {
          v: 1,
          kind: 'escalation',
          event_id: evt(),
          incident_id: inc,
          alarm_arn: arn,
          event_time: iso(at),
          reason: 'deadline',
          from_level: level,
          to_level: level + 1,
        });
        level++;
        t = at + int(200, 1500);
      }
      const person = people[(alarms.indexOf(alarm) * 3 + level * 7 + d) % people.length];
      const r = rnd();
      const channel: 'sms' | 'whatsapp' | 'email' = r < 0.45 ? 'sms' : r < 0.7 ? 'whatsapp' : 'email';
      const provider = channel === 'email' ? 'resend' : 'twilio';
      const recipient =
        channel === 'email' ? person.email : channel === 'whatsapp' ? `whatsapp:${person.phone}` : person.phone;
      const refused = rnd() < 0.03;
      const messageId = refused ? null : provider === 'twilio' ? `SM${hex(32)}` : uuid();
      const escalateAt = t + deadlineMs;
      prevEscalateAt = escalateAt;
      const dispatchKey = t + arrival();
      const dispatch: DispatchRecordIn = {
        v: 1,
        kind: 'dispatch',
        event_id: evt(),
        incident_id: inc,
        alarm_arn: arn,
        event_time: iso(t),
        message_id: messageId,
        channel,
        provider,
        recipient,
        person: person.id,
        level,
        alarm_name: alarm.name,
        severity: alarm.severity,
        outcome: refused ? 'failed' : 'sent',
        escalate_at: iso(escalateAt),
      };
      if (refused) {
        dispatch.error_code = provider === 'twilio' ? '21211' : 'validation_error';
        dispatch.error_message =
          provider === 'twilio' ? "The 'To' number is not a valid phone number." : 'Invalid `to` field.';
      }
      push(dispatchKey, dispatch);
      if (messageId) {
        const failed = rnd() < 0.08;
        const chain = failed ? RECEIPT_CHAINS[channel].fail : RECEIPT_CHAINS[channel].ok;
        const n = Math.min(chain.length, int(1, 4));
        let rt = t;
        for (let k = 0; k < n; k++) {
          const [status, providerStatus] = chain[k];
          rt +=
            k === 0
              ? int(300, 2500)
              : status === 'opened' || status === 'clicked'
                ? int(5_000, 240_000)
                : int(800, 12_000);
          const isFail = status === 'undelivered' || status === 'failed' || status === 'bounced';
          const errorCode = !isFail
            ? undefined
            : provider === 'resend'
              ? 'Permanent'
              : channel === 'whatsapp'
                ? '63016'
                : pick(['30003', '30005', '30006']);
          const errorMessage = !isFail
            ? undefined
            : provider === 'resend'
              ? 'The email account that you tried to reach does not exist.'
              : channel === 'whatsapp'
                ? 'Failed to send freeform message because you are outside the allowed window.'
                : 'Unreachable destination handset';
          let raw: string;
          if (provider === 'twilio') {
            raw = [
              `SmsSid=${messageId}`,
              `SmsStatus=${providerStatus}`,
              `MessageStatus=${providerStatus}`,
              `To=${encodeURIComponent(recipient)}`,
              `MessageSid=${messageId}`,
              `AccountSid=${twilioAccount}`,
              `From=${encodeURIComponent(channel === 'whatsapp' ? `whatsapp:${twilioFrom}` : twilioFrom)}`,
              `ApiVersion=2010-04-01${errorCode ? `&ErrorCode=${errorCode}` : ''}`,
            ].join('&');
          } else {
            const data: Record<string, unknown> = {
              created_at: iso(t),
              email_id: messageId,
              from: 'Pagetrail <alerts@pagetrail.example>',
              to: [recipient],
              subject: `[${alarm.severity}] ${alarm.name} is in ALARM`,
              tags: { incident_id: inc, level: String(level) },
            };
            if (status === 'bounced') data.bounce = { message: errorMessage, subType: 'General', type: 'Permanent' };
            if (status === 'clicked')
              data.click = {
                ipAddress: '203.0.113.7',
                link: `https://pagetrail.example/ack/${inc}`,
                timestamp: iso(rt),
                userAgent: 'Mozilla/5.0',
              };
            raw = JSON.stringify({ type: providerStatus, created_at: iso(rt), data });
          }
          const record: ReceiptRecordIn = {
            v: 1,
            kind: 'receipt',
            event_id: evt(),
            incident_id: inc,
            alarm_arn: arn,
            event_time: iso(rt),
            provider,
            channel,
            message_id: messageId,
            status,
            provider_status: providerStatus,
            recipient,
            raw,
          };
          if (errorCode) {
            record.error_code = errorCode;
            record.error_message = errorMessage;
          }
          const u = rnd();
          // ~10 % arrive before their dispatch (the dispatcher wrote its record late).
          const key = u < 0.1 ? dispatchKey - 1 - rnd() * 400 : rt + arrival();
          push(key, record);
          // webhook retry: same event_id
          if (rnd() < 0.1) pending.push({ ...pending[pending.length - 1], key: key + int(1_000, 120_000) });
          if ((status === 'delivered' || status === 'opened') && rt < firstConfirmed) {
            firstConfirmed = rt;
            ackTarget = { person, channel, messageId };
          }
          if (isFail && rnd() < 0.7) {
            const to: Channel = channel === 'email' ? 'sms' : 'email';
            const at = rt + int(100, 900);
            push(at + arrival(), {
              v: 1,
              kind: 'escalation',
              event_id: evt(),
              incident_id: inc,
              alarm_arn: arn,
              event_time: iso(at),
              reason: 'failover',
              from_level: level,
              to_level: level,
              from_channel: channel,
              to_channel: to,
              message_id: messageId,
              person: person.id,
            });
          }
        }
      }
      t += int(150, 2000);
    }

    // Some incidents are acknowledged by a person who got the page.
    const target = ackTarget as {
      person: Person;
      channel: 'sms' | 'whatsapp' | 'email';
      messageId: string | null;
    } | null;
    if (target && rnd() < 0.45) {
      const at = firstConfirmed + int(15_000, 180_000);
      const via =
        target.channel === 'sms'
          ? 'sms_reply'
          : target.channel === 'whatsapp'
            ? 'whatsapp_reply'
            : rnd() < 0.9
              ? 'email_link'
              : 'api';
      const ack: AckRecordIn = {
        v: 1,
        kind: 'ack',
        event_id: evt(),
        incident_id: inc,
        alarm_arn: arn,
        event_time: iso(at),
        channel: target.channel,
        via,
        person: target.person.id,
        recipient:
          target.channel === 'email'
            ? target.person.email
            : target.channel === 'whatsapp'
              ? `whatsapp:${target.person.phone}`
              : target.person.phone,
      };
      if (target.messageId) ack.message_id = target.messageId;
      push(at + arrival(), ack);
    }

    // About a third go back to OK (same incident: previousState is this ALARM).
    if (rnd() < 1 / 3) {
      const at = t0 + int(120_000, 3_600_000);
      push(at + arrival(), alarmState('OK', at, 'ALARM', t0));
    }
  }

  // Stream order: by arrival key (stable for ties), then cut to the exact count.
  const order = pending.map((_, i) => i);
  order.sort((a, b) => pending[a].key - pending[b].key || a - b);
  order.length = total;

  const seq = new Array<number>(shards).fill(0);
  const lastArrival = new Array<number>(shards).fill(0);
  const shardIds = Array.from({ length: shards }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
  // 56-digit Kinesis-like sequence numbers: a fixed prefix per shard and a zero-padded counter.
  const seqPrefix = Array.from(
    { length: shards },
    (_, i) => `4966${String(1_000_000 + (options.seed ?? 1)).slice(-6)}${String(i).padStart(4, '0')}${digits(22)}`,
  );
  const out: GeneratedRecord[] = new Array(total);
  for (let i = 0; i < total; i++) {
    const p = pending[order[i]];
    const s = p.shard;
    const n = ++seq[s];
    const arrivalMs = Math.max(lastArrival[s], Math.floor(p.key));
    lastArrival[s] = arrivalMs;
    out[i] = {
      shardId: shardIds[s],
      sequenceNumber: seqPrefix[s] + String(n).padStart(20, '0'),
      partitionKey: p.partitionKey,
      data: p.data,
      arrivalTime: arrivalMs,
    };
  }
  return out;
}

/**
 * Lake rows (EVENTS_TABLE) of generated records, for benchmarks of the writers: the lake processor's
 * own pipeline (decode, dedupe, join) per shard, drained once at the end (no flush boundaries).
 */
export function toEventRows(records: readonly GeneratedRecord[]): EventRow[] {
  const pipelines = new Map<string, ShardPipeline>();
  for (const r of records) {
    let p = pipelines.get(r.shardId);
    if (!p) {
      p = new ShardPipeline(r.shardId, new EventJoin());
      pipelines.set(r.shardId, p);
    }
    p.push(r);
  }
  return [...pipelines.values()].flatMap((p) => p.take()?.events ?? []);
}
