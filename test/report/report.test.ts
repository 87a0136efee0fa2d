import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { buildReport, incidentFile, type ReportResult } from '../../analysis/report/build.js';
import { beforeMidnight } from '../helpers/clock.js';
import { lakeOfDemoScenario, queryLake } from '../lake/helpers.js';

/**
 * `make report` end to end: the demo's four stories go through the stream and the lake handler into a
 * lake on the local engines; the report is rendered from it and loaded in a real browser (Debian's
 * Chromium driven by playwright-core), which must find the charts, verdicts and failure explanations,
 * log no console error, and take a screenshot of each page.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const T0 = beforeMidnight(2); // crosses midnight: two dt partitions

let stack: LocalStack;
let outDir: string;
let report: ReportResult;
let incidents: { incident_id: string; alarm_name: string }[];

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  const written = await lakeOfDemoScenario(stack, T0);
  incidents = written.incidents;
  const lake = written.lake;
  outDir = await mkdtemp(path.join(os.tmpdir(), 'pagetrail-report-'));
  report = await buildReport({
    query: (sql) => queryLake(stack, lake.bucket, sql),
    oncall: loadOnCallConfig('infra/local/oncall/demo.json'),
    from: T0 - 3600_000,
    to: T0 + 3600_000,
    outDir,
    now: () => T0 + 7200_000,
  });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
  if (outDir && process.env.KEEP_REPORT) console.warn(`report and screenshots kept in ${outDir}`);
  else if (outDir) await rm(outDir, { recursive: true, force: true });
});

const fileOf = (alarm: string) =>
  path.join(outDir, incidentFile(incidents.find((i) => i.alarm_name === alarm)!.incident_id));

describe('make report: static HTML from the lake', () => {
  it('writes index.html and one self-contained page per incident, with inline SVG and no script', async () => {
    expect(report.dir).toBe(outDir);
    expect(report.incidents.map((i) => i.alarmName).sort()).toEqual(incidents.map((i) => i.alarm_name).sort());
    expect((await readdir(outDir)).sort()).toEqual(
      ['index.html', ...incidents.map((i) => incidentFile(i.incident_id))].sort(),
    );
    for (const file of [report.index, ...report.incidents.map((i) => i.file)]) {
      const text = await readFile(file, 'utf8');
      expect(text).toMatch(/^<!doctype html>/);
      expect(text).toContain('<svg');
      expect(text).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)[^"\s]*\.(js|css)\b/);
      expect(text).not.toMatch(/\+1555123000\d|@example\.com/); // addresses never in clear
    }
  });

  it('names people from the on-call file and routes incidents to teams', async () => {
    const index = await readFile(report.index, 'utf8');
    expect(index).toMatch(/<td>db<\/td>/);
    expect(index).toMatch(/<td>app<\/td>/);
    const billing = await readFile(fileOf('billing-db-connections'), 'utf8');
    expect(billing).toContain('Bob Diaz');
    expect(billing).toContain('Carol Otieno');
  });
});

describe.skipIf(!HAVE_CHROMIUM)(`the report in a real browser (${CHROMIUM})`, () => {
  let browser: Browser;
  let page: Page;
  let errors: string[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox'],
      timeout: 30_000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  }, 40_000);
  afterAll(async () => browser?.close());

  /** Loads a file (console and page errors collected afresh), screenshots it beside the file (the temp dir). */
  async function open(file: string) {
    errors = [];
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const shot = file.replace(/\.html$/, '.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
    return { page, errors };
  }

  it('overview: incidents, funnel, percentiles, MTTA, failures explained, the missed first responders', async () => {
    const { page, errors } = await open(report.index);
    expect(await page.locator('#incident-list tbody tr').count()).toBe(4);
    for (const id of ['#funnel', '#latency', '#mtta', '#failures'])
      expect(await page.locator(`${id} figure.chart svg`).count(), id).toBe(1);
    expect(await page.locator('#funnel svg').textContent()).toMatch(/sms[\s\S]*whatsapp[\s\S]*email|email|sms/);
    const failures = await page.locator('#failure-table').innerText();
    expect(failures).toContain('30003');
    expect(failures).toContain('unreachable handset');
    expect(failures).toContain('hard bounce');
    expect(await page.locator('#mtta-table').innerText()).toMatch(/app[\s\S]*db/);
    const missed = await page.locator('#not-opened-table tbody tr').allInnerTexts();
    expect(missed).toHaveLength(1);
    expect(missed[0]).toContain('billing-db-connections');
    // Links lead to the incident pages.
    const hrefs = await page.locator('#incident-list a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.sort()).toEqual(incidents.map((i) => incidentFile(i.incident_id)).sort());
    expect(errors).toEqual([]);
  });

  it('each incident: the timeline chart, both verdicts, the pages with their own verdict, and the failure codes ' +
    'explained', async () => {
    const expected: Record<string, { first: string; any: string; failure?: RegExp }> = {
      'orders-api-cpu-high': { first: 'yes', any: 'yes' },
      'billing-db-connections': { first: 'no', any: 'yes' },
      'checkout-memory-high': { first: 'yes', any: 'yes', failure: /30003[\s\S]*unreachable handset/ },
      // Delivered by SMS after the bounce, never acknowledged nor resolved, deadline not yet due: still open.
      'reports-db-free-storage': { first: 'pending', any: 'pending', failure: /Permanent[\s\S]*hard bounce/ },
    };
    for (const [alarm, want] of Object.entries(expected)) {
      const { page, errors } = await open(fileOf(alarm));
      expect(await page.locator('#timeline-chart figure.chart svg').count(), alarm).toBe(1);
      expect(await page.locator('#timeline-chart svg').textContent(), alarm).toMatch(/seconds after the alarm/);
      // the chart's text as drawn on screen (its font size times the SVG's scale): legible, 12 px or more
      const drawnPx = await page.locator('#timeline-chart svg text').evaluateAll((ts) =>
        ts.map((t) => {
          const svg = t.closest('svg')!;
          const fontPx = Number.parseFloat(t.ownerDocument.defaultView!.getComputedStyle(t).fontSize);
          return (fontPx * svg.getBoundingClientRect().width) / Number(svg.getAttribute('width'));
        }),
      );
      expect(Math.min(...drawnPx), alarm).toBeGreaterThanOrEqual(12);
      expect(await page.locator('[data-status]').count(), alarm).toBe(1);
      const verdict = (name: string) =>
        page.locator(`[data-verdict-name="${name}"] .verdict`).getAttribute('data-verdict');
      expect(
        {
          first: await verdict('first_responder_opened_before_escalation'),
          any: await verdict('any_responder_opened_before_escalation'),
        },
        alarm,
      ).toMatchObject({
        first: expect.stringMatching(new RegExp(`^${want.first}`)),
        any: expect.stringMatching(new RegExp(`^${want.any}`)),
      });
      expect(await page.locator('#pages-table tbody tr .verdict').count(), alarm).toBeGreaterThan(0);
      if (want.failure) expect(await page.locator('#failures-table').innerText(), alarm).toMatch(want.failure);
      else expect(await page.locator('#failures .empty').innerText(), alarm).toContain('Every page went through');
      if (alarm === 'billing-db-connections') {
        expect(await page.locator('#steps').innerText()).toMatch(
          new RegExp(
            [
              String.raw`paged Bob Diaz \(level 1\)[\s\S]*escalated to level 2 \(deadline[\s\S]*`,
              String.raw`paged Carol Otieno \(level 2\) by WhatsApp → delivered \S+, read[\s\S]*`,
              'acknowledged by Carol Otieno',
            ].join(''),
          ),
        );
      }
      expect(errors, alarm).toEqual([]);
    }
  }, 60_000);
});

if (!HAVE_CHROMIUM)
  console.warn(
    `report browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  );
