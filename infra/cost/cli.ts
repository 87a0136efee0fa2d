/**
 * `make cost`: the monthly AWS cost per service for ALARMS_PER_MONTH (default 10,000 and 10,000,000), PEOPLE,
 * PAGES_PER_ALARM and RECEIPTS_PER_PAGE, from the last storm's measured figures per alarm (.cache/storm/last.json,
 * written by `make storm`), else the committed ones (infra/cost/measured.json), and the price list
 * (infra/cost/prices.json). The arithmetic: infra/cost/model.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MEASURED_KEYS, monthlyCost, type MeasuredPerAlarm } from './model.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const last = path.join(ROOT, '.cache', 'storm', 'last.json');
const committed = path.join(ROOT, 'infra', 'cost', 'measured.json');
const file = fs.existsSync(last) && process.env.COST_MEASURED !== 'committed' ? last : committed;
const measured = JSON.parse(fs.readFileSync(file, 'utf8'));
const prices = JSON.parse(fs.readFileSync(path.join(ROOT, 'infra', 'cost', 'prices.json'), 'utf8'));
const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const volumes = process.env.ALARMS_PER_MONTH ? [Number(process.env.ALARMS_PER_MONTH)] : [10_000, 10_000_000];
const perAlarm = measured.per_alarm as MeasuredPerAlarm;
const missing = MEASURED_KEYS.filter((k) => !Number.isFinite(perAlarm?.[k]));
if (missing.length > 0) {
  console.error(`${path.relative(ROOT, file)}: no measured ${missing.join(', ')} per alarm (run make storm again)`);
  process.exit(1);
}

console.log(
  `measured: ${path.relative(ROOT, file)} (${measured.measured_at}, commit ${measured.commit}); ` +
    `prices: infra/cost/prices.json (${prices.region}, ${prices.date})`,
);
const usd = (x: number) => (x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString('en-US'));
const summary = new Map<string, number[]>();
for (const alarms of volumes) {
  const volume = {
    alarmsPerMonth: alarms,
    people: num('PEOPLE', 50),
    pagesPerAlarm: num('PAGES_PER_ALARM', perAlarm.pages),
    receiptsPerPage: num('RECEIPTS_PER_PAGE', perAlarm.receipts_per_page),
  };
  const cost = monthlyCost(volume, perAlarm, prices);
  console.log(
    `\n${alarms.toLocaleString('en-US')} alarms/month, ${volume.pagesPerAlarm} pages and ` +
      `${volume.receiptsPerPage} receipts per page (${cost.recordsPerAlarm.toFixed(1)} stream records per alarm)`,
  );
  console.log('| service | item | quantity | unit | USD/month |\n|---|---|---:|---|---:|');
  for (const l of cost.lines)
    console.log(
      `| ${l.service} | ${l.item} | ${Math.round(l.quantity).toLocaleString('en-US')} | ${l.unit} | ${usd(l.usd)} |`,
    );
  console.log(`| **total, provisioned Kinesis** | | | | **${usd(cost.totalProvisioned)}** |`);
  console.log(`| **total, on-demand Kinesis** | | | | **${usd(cost.totalOnDemand)}** |`);
  const bySvc = new Map<string, number>();
  for (const l of cost.lines) bySvc.set(l.service, (bySvc.get(l.service) ?? 0) + l.usd);
  bySvc.set('**total, provisioned Kinesis**', cost.totalProvisioned);
  bySvc.set('**total, on-demand Kinesis**', cost.totalOnDemand);
  for (const [svc, x] of bySvc) summary.set(svc, [...(summary.get(svc) ?? []), x]);
}
if (volumes.length > 1) {
  console.log(
    `\nper service, USD/month\n| service | ${volumes.map((v) => `${v.toLocaleString('en-US')} alarms`).join(' | ')} |`,
  );
  console.log(`|---|${volumes.map(() => '---:').join('|')}|`);
  for (const [svc, xs] of summary) console.log(`| ${svc} | ${xs.map(usd).join(' | ')} |`);
}
console.log(
  '\nPEOPLE: no measured AWS cost depends on it (the on-call file ships in the bundle). CloudWatch Logs: not measured.',
);
