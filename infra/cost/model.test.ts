import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_DEFAULTS, monthlyCost, type MeasuredPerAlarm } from './model.js';

// round prices so that every line is checkable by hand
const prices = {
  kinesis: {
    provisioned: { shard_hour: 0.01, put_payload_units_per_million: 0.02, extended_retention_shard_hour: 0.02 },
    on_demand: { stream_hour: 0.04, data_in_per_gb: 0.1, data_out_per_gb: 0.05, extended_retention_per_gb_month: 0.1 },
  },
  dynamodb: { on_demand_write_request_units_per_million: 1, on_demand_read_request_units_per_million: 0.5 },
  lambda: { arm64_gb_second: 0.00001, requests_per_million: 0.2 },
  s3: { put_per_1000: 0.005, get_per_1000: 0.0004, storage_gb_month: 0.02 },
  scheduler: { invocations_per_million: 1, free_invocations_per_month: 1_000_000 },
  athena: { per_tb_scanned: 5, min_mb_per_query: 10 },
  fargate: { arm64_vcpu_hour: 0.04, arm64_gb_hour: 0.004 },
  alb: { hour: 0.02, lcu_hour: 0.01 },
  nat_gateway: { hour: 0.05, per_gb: 0.05 },
};
const measured: MeasuredPerAlarm = {
  pages: 3,
  receipts_per_page: 2,
  stream_records: 12, // 1 alarm + 3 dispatches + 6 receipts + 2 deadlines/escalations
  stream_record_bytes: 700,
  dynamodb_wcu: 60,
  dynamodb_rcu: 40,
  kinesis_put_requests: 2,
  scheduler_calls: 2,
  paging_invocations: 6,
  lake_invocations: 0.5,
  dynamodb_requests: 12,
  provider_calls: 3,
  paging_cpu_ms: 60,
  lake_s3_put_bytes: 4000,
};
const d = { ...DEPLOYMENT_DEFAULTS, shards: 2, retentionHours: 24, natGateways: 1, receiverTasks: 1 };
const line = (c: ReturnType<typeof monthlyCost>, service: string, item: string) =>
  c.lines.find((l) => l.service === service && l.item.startsWith(item))!;

describe('monthlyCost', () => {
  it('the storm’s own mix: every per-alarm figure times the alarms, priced', () => {
    const c = monthlyCost(
      { alarmsPerMonth: 1e6, people: 10, pagesPerAlarm: 3, receiptsPerPage: 2 },
      measured,
      prices,
      d,
    );
    expect(c.recordsPerAlarm).toBe(12);
    expect(line(c, 'dynamodb', 'write').quantity).toBe(60e6);
    expect(line(c, 'dynamodb', 'write').usd).toBeCloseTo(60);
    expect(line(c, 'dynamodb', 'read').usd).toBeCloseTo(20);
    expect(line(c, 'kinesis (provisioned)', 'shard-hours').usd).toBeCloseTo(2 * 730 * 0.01);
    expect(line(c, 'kinesis (provisioned)', 'PUT').usd).toBeCloseTo(12 * 0.02);
    // 12 M records of 1 KB (700 B rounded up) in; read twice
    expect(line(c, 'kinesis (on-demand)', 'data in').quantity).toBeCloseTo((12e6 * 1024) / 1024 ** 3);
    expect(line(c, 'kinesis (on-demand)', 'data out').usd).toBeCloseTo(((2 * 12e6 * 1024) / 1024 ** 3) * 0.05);
    // paging: 6 invocations per alarm; (60 ms CPU + 12 calls × 8 ms + 3 pages × 300 ms) per alarm at 1 GB
    expect(line(c, 'lambda paging', 'requests').usd).toBeCloseTo(6 * 0.2);
    expect(line(c, 'lambda paging', 'duration').quantity).toBeCloseTo((1e6 * (60 + 96 + 900)) / 1000);
    // scheduler: 2 M fires, 1 M free
    expect(line(c, 'scheduler', 'invocations').usd).toBeCloseTo(1);
    // fixed: 1 task of 0.5 vCPU and 1 GB, 1 NAT, ALB
    expect(line(c, 'fargate receiver', '1 tasks').usd).toBeCloseTo(730 * (0.5 * 0.04 + 1 * 0.004));
    expect(line(c, 'nat gateway', '1').usd).toBeCloseTo(730 * 0.05);
    expect(c.lines.some((l) => l.item === 'extended retention')).toBe(false); // 24 h retention is included
    const sum = c.lines.reduce((a, l) => a + l.usd, 0);
    expect(c.totalProvisioned).toBeCloseTo(
      sum - c.lines.filter((l) => l.service === 'kinesis (on-demand)').reduce((a, l) => a + l.usd, 0),
    );
  });

  it('another mix scales the per-record figures with the stream records per alarm', () => {
    // 1 page with no receipts: 12 − 3 × 3 + 1 × 1 = 4 records per alarm, a third of the storm's
    const c = monthlyCost(
      { alarmsPerMonth: 3e6, people: 10, pagesPerAlarm: 1, receiptsPerPage: 0 },
      measured,
      prices,
      d,
    );
    expect(c.recordsPerAlarm).toBe(4);
    expect(line(c, 'dynamodb', 'write').quantity).toBeCloseTo((3e6 * 60) / 3);
    expect(line(c, 'lambda paging', 'requests').quantity).toBeCloseTo(3e6 * 2);
    expect(line(c, 'scheduler', 'invocations').quantity).toBe(6e6); // levels, not records
  });

  it('the lake’s PUTs are bounded by its flushes: 2 tables per shard per window', () => {
    const c = monthlyCost(
      { alarmsPerMonth: 1e7, people: 1, pagesPerAlarm: 3, receiptsPerPage: 2 },
      measured,
      prices,
      d,
    );
    expect(line(c, 's3', 'PUT').quantity).toBe((2 * 2 * (730 * 3600)) / 60);
    const small = monthlyCost(
      { alarmsPerMonth: 10, people: 1, pagesPerAlarm: 3, receiptsPerPage: 2 },
      measured,
      prices,
      d,
    );
    expect(line(small, 's3', 'PUT').quantity).toBe(10 * 12 * 2);
  });
});
