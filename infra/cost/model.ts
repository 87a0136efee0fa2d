/**
 * The monthly AWS cost of a deployment for a given volume (`make cost`), from what the storm measured per alarm
 * (.cache/storm/last.json, else the committed infra/cost/measured.json) and the price list (infra/cost/prices.json).
 * Pure arithmetic: `monthlyCost(volume, measured, prices, deployment)` → one line per service and item.
 *
 * Scaling the storm's mix to the asked one: the storm's incidents page PAGES_PER_INCIDENT times and each page gets
 * `receipts_per_page` receipts. Everything the handlers do per stream record (DynamoDB units, Kinesis puts,
 * invocations, paging CPU, lake bytes) scales with the stream records per alarm: measured records, less the
 * storm's pages and receipts, plus the asked ones. Scheduler fires scale with the levels (kept as measured).
 * Lambda duration is modelled, not measured: the paging CPU measured plus, per call, a latency on AWS
 * (`deployment.awsCallMs`, `providerCallMs`); the lake's per record cost from `make bench`.
 */
export interface Volume {
  alarmsPerMonth: number;
  people: number;
  pagesPerAlarm: number;
  receiptsPerPage: number;
}

/** Per alarm (a whole incident lifecycle), as test/bench/storm-cost.ts writes them. */
export interface MeasuredPerAlarm {
  pages: number;
  receipts_per_page: number;
  stream_records: number;
  stream_record_bytes: number;
  dynamodb_wcu: number;
  dynamodb_rcu: number;
  kinesis_put_requests: number;
  scheduler_calls: number;
  paging_invocations: number;
  lake_invocations: number;
  dynamodb_requests: number;
  provider_calls: number;
  paging_cpu_ms: number;
  lake_s3_put_bytes: number;
}

export const MEASURED_KEYS: readonly (keyof MeasuredPerAlarm)[] = [
  'pages',
  'receipts_per_page',
  'stream_records',
  'stream_record_bytes',
  'dynamodb_wcu',
  'dynamodb_rcu',
  'kinesis_put_requests',
  'scheduler_calls',
  'paging_invocations',
  'lake_invocations',
  'dynamodb_requests',
  'provider_calls',
  'paging_cpu_ms',
  'lake_s3_put_bytes',
];

export interface Deployment {
  /** Provisioned shards, or on-demand when absent (both are printed: this picks the total). */
  shards: number;
  retentionHours: number;
  pagingMemoryGb: number;
  lakeMemoryGb: number;
  lakeUsPerRecord: number;
  awsCallMs: number;
  providerCallMs: number;
  flushIntervalS: number;
  receiverTasks: number;
  receiverVcpu: number;
  receiverGb: number;
  natGateways: number;
  athenaQueriesPerMonth: number;
  lakeMonthsKept: number;
}

export const DEPLOYMENT_DEFAULTS: Deployment = {
  shards: 2,
  retentionHours: 7 * 24, // infra/cdk/storage.ts
  pagingMemoryGb: 1, // infra/cdk/processors.ts
  lakeMemoryGb: 2,
  lakeUsPerRecord: 20, // make bench: ~20 µs per event on one core
  awsCallMs: 8,
  providerCallMs: 300,
  flushIntervalS: 60,
  receiverTasks: 2, // infra/cdk/services.ts: 0.5 vCPU, 1 GB
  receiverVcpu: 0.5,
  receiverGb: 1,
  natGateways: 2,
  athenaQueriesPerMonth: 300,
  lakeMonthsKept: 12,
};

// biome-ignore lint/suspicious/noExplicitAny: the price file's shape is checked by the test of its numbers
export type Prices = any;

export interface CostLine {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

const HOURS = 730;
const GB = 1024 ** 3;

export function monthlyCost(v: Volume, m: MeasuredPerAlarm, p: Prices, d: Deployment = DEPLOYMENT_DEFAULTS) {
  const n = v.alarmsPerMonth;
  const records = m.stream_records - m.pages * (1 + m.receipts_per_page) + v.pagesPerAlarm * (1 + v.receiptsPerPage);
  const k = records / m.stream_records; // per-record quantities scale with this
  const recordsPerMonth = n * records;
  const kb = Math.max(1, Math.ceil(m.stream_record_bytes / 1024));
  const lines: CostLine[] = [];
  const add = (service: string, item: string, quantity: number, unit: string, usd: number) =>
    lines.push({ service, item, quantity, unit, usd });

  // Kinesis, both modes (records ≤ 25 KB: one PUT payload unit each)
  add(
    'kinesis (provisioned)',
    'shard-hours',
    d.shards * HOURS,
    'shard-h',
    d.shards * HOURS * p.kinesis.provisioned.shard_hour,
  );
  add(
    'kinesis (provisioned)',
    'PUT payload units',
    recordsPerMonth,
    'units',
    (recordsPerMonth / 1e6) * p.kinesis.provisioned.put_payload_units_per_million,
  );
  if (d.retentionHours > 24)
    add(
      'kinesis (provisioned)',
      'extended retention',
      d.shards * HOURS,
      'shard-h',
      d.shards * HOURS * p.kinesis.provisioned.extended_retention_shard_hour,
    );
  const gbIn = (recordsPerMonth * kb * 1024) / GB;
  add('kinesis (on-demand)', 'stream-hours', HOURS, 'h', HOURS * p.kinesis.on_demand.stream_hour);
  add('kinesis (on-demand)', 'data in', gbIn, 'GB', gbIn * p.kinesis.on_demand.data_in_per_gb);
  add(
    'kinesis (on-demand)',
    'data out (paging + lake)',
    2 * gbIn,
    'GB',
    2 * gbIn * p.kinesis.on_demand.data_out_per_gb,
  );
  if (d.retentionHours > 24) {
    const stored = gbIn * ((d.retentionHours - 24) / HOURS);
    add(
      'kinesis (on-demand)',
      'extended retention',
      stored,
      'GB-month',
      stored * p.kinesis.on_demand.extended_retention_per_gb_month,
    );
  }

  // Lambda: paging and lake
  const pagingInvocations = n * m.paging_invocations * k;
  const pagingSeconds =
    (n * (m.paging_cpu_ms * k + m.dynamodb_requests * k * d.awsCallMs + v.pagesPerAlarm * d.providerCallMs)) / 1000;
  const lakeInvocations = n * m.lake_invocations * k;
  const lakeSeconds = (recordsPerMonth * d.lakeUsPerRecord) / 1e6 + (lakeInvocations * 2 * d.awsCallMs) / 1000;
  for (const [name, inv, s, mem] of [
    ['paging', pagingInvocations, pagingSeconds, d.pagingMemoryGb],
    ['lake', lakeInvocations, lakeSeconds, d.lakeMemoryGb],
  ] as const) {
    add(`lambda ${name}`, 'requests', inv, 'requests', (inv / 1e6) * p.lambda.requests_per_million);
    add(`lambda ${name}`, 'duration (arm64)', s * mem, 'GB-s', s * mem * p.lambda.arm64_gb_second);
  }

  // DynamoDB on-demand
  const wru = n * m.dynamodb_wcu * k;
  const rru = n * m.dynamodb_rcu * k;
  add(
    'dynamodb',
    'write request units',
    wru,
    'WRU',
    (wru / 1e6) * p.dynamodb.on_demand_write_request_units_per_million,
  );
  add('dynamodb', 'read request units', rru, 'RRU', (rru / 1e6) * p.dynamodb.on_demand_read_request_units_per_million);

  // S3: the lake's objects (events + raw per shard per flush, at most one per record and table)
  const windows = (HOURS * 3600) / d.flushIntervalS;
  const puts = Math.min(recordsPerMonth * 2, d.shards * 2 * windows);
  const landedGb = (n * m.lake_s3_put_bytes * k) / GB;
  add('s3', 'PUT (lake objects)', puts, 'requests', (puts / 1000) * p.s3.put_per_1000);
  add(
    's3',
    `storage (${d.lakeMonthsKept} months of lake)`,
    landedGb * d.lakeMonthsKept,
    'GB-month',
    landedGb * d.lakeMonthsKept * p.s3.storage_gb_month,
  );

  // Athena: each query scans (at most) a month of the lake
  const scannedTb = (d.athenaQueriesPerMonth * Math.max(landedGb, p.athena.min_mb_per_query / 1024)) / 1024;
  add(
    'athena',
    `${d.athenaQueriesPerMonth} queries over a month`,
    scannedTb,
    'TB',
    scannedTb * p.athena.per_tb_scanned,
  );

  // Scheduler: one fire per schedule created (deadlines)
  const fires = n * m.scheduler_calls;
  add(
    'scheduler',
    'invocations',
    fires,
    'invocations',
    (Math.max(0, fires - p.scheduler.free_invocations_per_month) / 1e6) * p.scheduler.invocations_per_million,
  );

  // fixed: receiver on Fargate, ALB, NAT
  const vcpuH = d.receiverTasks * d.receiverVcpu * HOURS;
  const gbH = d.receiverTasks * d.receiverGb * HOURS;
  add(
    'fargate receiver',
    `${d.receiverTasks} tasks (arm64)`,
    vcpuH,
    'vCPU-h',
    vcpuH * p.fargate.arm64_vcpu_hour + gbH * p.fargate.arm64_gb_hour,
  );
  add('alb', 'hours + 1 LCU', HOURS, 'h', HOURS * (p.alb.hour + p.alb.lcu_hour));
  add(
    'nat gateway',
    `${d.natGateways} gateways`,
    d.natGateways * HOURS,
    'h',
    d.natGateways * HOURS * p.nat_gateway.hour,
  );

  const total = (exclude: string) => lines.filter((l) => l.service !== exclude).reduce((a, l) => a + l.usd, 0);
  return {
    lines,
    totalProvisioned: total('kinesis (on-demand)'),
    totalOnDemand: total('kinesis (provisioned)'),
    recordsPerAlarm: records,
  };
}
