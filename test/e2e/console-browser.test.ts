import { until } from '../helpers/clock.js';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { DEMO_STORIES, demoAlarmEvent } from '../../infra/local/demo-alarms.js';

/**
 * The console in a real browser (Debian's Chromium driven by playwright-core) on a phone's screen (390×844), against
 * the closed loop on local engines: Alice asks for a sign-in link, opens it from the simulator's inbox, and watches
 * the open incidents while an alarm pages her and Bob by email — the incident appears and her page goes delivered →
 * opened with no reload (Server-Sent Events). She acknowledges from the incident page: the escalation stops (no
 * level 2) and Bob is told by email. Every page: a screenshot (the test's temp dir; KEEP_SHOTS=1 keeps it), no
 * console error, no horizontal scroll, reached by keyboard, and axe-core finds no serious or critical issue.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const AXE = await fs.readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const STORY = DEMO_STORIES.find((s) => s.alarmName === 'orders-api-cpu-high')!;

let loop: ClosedLoop;
let dir: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

/** `until` (test/helpers/clock.ts), polling every 100 ms. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000) =>
  until(what, probe, ms, 100);

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pagetrail-console-'));
  const oncall = {
    people: {
      alice: { name: 'Alice Ng', sms: '+15551230001', email: 'alice@example.com' },
      bob: { name: 'Bob Diaz', sms: '+15551230002', email: 'bob@example.com' },
    },
    teams: {
      app: {
        members: ['alice', 'bob'],
        escalation: {
          P1: {
            levels: [
              { targets: ['alice', 'bob'], channels: ['email'], deadline_s: 90, stop_on: 'ack' },
              { targets: ['bob'], channels: ['sms'], deadline_s: 90, stop_on: 'ack' },
            ],
            notify: { on: ['ack'], channels: ['email'] },
          },
        },
      },
    },
    default_team: 'app',
    twilio: { sms_from: '+15550000000' },
    email: { from: 'pagetrail <alerts@example.com>' },
  };
  // Alice's mail is delivered, then opened a few seconds later (the console must show both, live); Bob's delivered
  const behaviours = { 'alice@example.com': ['delivered', 'opened'], default: ['delivered'] };
  loop = await startClosedLoop({
    shards: 1,
    console: true,
    oncall,
    behaviours,
    stepDelayMs: 2500,
  });
  loop.startMapping('paging');
  loop.startMapping('lake'); // the analytics page reads what the lake processor flushed
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  // the console's errors only: an event reported late (a load machine) from the simulator's inbox is not the console's
  const ours = (url: string) => url.startsWith(loop.receiverUrl);
  page.on('console', (m) => {
    const from = m.location().url || page.url();
    if (m.type() === 'error' && ours(from)) errors.push(`${from}: ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    if (ours(page.url())) errors.push(`${page.url()}: ${e.message}`);
  });
  // an EventSource, or the lake's fragment still on its way, cut by leaving the page is not a failure
  const cutByLeaving = (r: Request) =>
    (r.url().includes('/console/events') || r.url().includes('/history?part=1')) &&
    r.failure()?.errorText === 'net::ERR_ABORTED';
  page.on('requestfailed', (r) => {
    if (ours(r.url()) && !cutByLeaving(r)) errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await loop?.stop();
  if (dir && process.env.KEEP_SHOTS) console.warn(`screenshots kept in ${dir}`);
  else if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** The page as it is: screenshot, no console error, no horizontal scroll, axe: no serious or critical issue. */
async function check(name: string) {
  const shot = path.join(dir, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  expect((await fs.stat(shot)).size, name).toBeGreaterThan(5_000);
  const widths = await page.evaluate<number[]>('[document.documentElement.scrollWidth, window.innerWidth]');
  expect(widths[0], `${name}: horizontal scroll`).toBeLessThanOrEqual(widths[1]);
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (o: unknown) => Promise<{ violations: unknown[] }> } }).axe;
    const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] } });
    return (r.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, name).toEqual([]);
  expect(errors, name).toEqual([]);
}

/** Tabs until the focused element matches `selector` (at most 20 presses): the control is reachable by keyboard. */
async function tabTo(selector: string) {
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if (
      await page
        .locator(selector)
        .first()
        .evaluate((el) => el.ownerDocument.activeElement === el)
    )
      return;
  }
  throw new Error(`${selector} not reachable by Tab`);
}

describe.skipIf(!HAVE_CHROMIUM)(`the console in a real browser, 390×844 (${CHROMIUM})`, () => {
  it('signs in by the emailed link, shows the page delivered then opened live, acknowledges, ' +
    'stops the escalation, and tells Bob', async () => {
    // not signed in: the sign-in page; by keyboard
    await page.goto(`${loop.receiverUrl}/console/`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await check('1-sign-in');
    await tabTo('#email');
    await page.keyboard.type('alice@example.com');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=a sign-in link is on its way');

    // the simulator's inbox links the mail's sign-in link
    const inbox = `${loop.sim.url}/__sim/inbox`;
    const link = await waitFor('the sign-in mail in the inbox', async () => {
      await page.goto(inbox);
      const a = page.locator('a', { hasText: 'sign in to the console' });
      return (await a.count()) ? a.first() : undefined;
    });
    await link.click();
    await page.waitForSelector('button:has-text("Sign in")');
    await check('2-verify');
    await tabTo('button[type=submit]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=Signed in as');
    await page.click('text=Open the console');
    await page.waitForSelector('text=No open incident.');
    await check('3-no-incident');
    await page.evaluate(() => Object.assign(globalThis, { stayed: true }));

    // an alarm: the incident appears, and Alice's page goes delivered → opened, all without a reload
    const alarm = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(demoAlarmEvent(STORY, 'ALARM', Date.now(), Date.now())),
    });
    expect(alarm.status).toBe(200);
    const alicePage = '[data-person=alice][data-channel=email] ol.steps';
    await page.waitForSelector(`${alicePage}[data-status=delivered]`, { timeout: 30_000 });
    await check('4-delivered');
    await page.waitForSelector(`${alicePage}[data-status=opened]`, { timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as { stayed?: boolean }).stayed)).toBe(true);
    expect(await page.locator('[data-incident] .pill.sev-P1').count()).toBe(1);
    await check('5-opened');

    // the incident page; Acknowledge by keyboard: 303 back with the message, then the state has it (live)
    await tabTo('[data-incident] h2 a');
    await page.keyboard.press('Enter');
    await page.waitForSelector('button:has-text("Acknowledge")');
    const incidentUrl = page.url();
    await check('6-incident');
    await tabTo('form[action$="/acknowledge"] button');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role=status]:has-text("Acknowledged.")');
    await page.waitForSelector('[data-status=acknowledged] >> text=acknowledged: escalation stopped', {
      timeout: 20_000,
    });
    // Bob is told by email (a notice, not a page); nobody is paged at level 2
    await page.waitForSelector('[data-notices] >> text=Bob Diaz: ack notice by email', { timeout: 20_000 });
    expect(await page.locator('ol.timeline').textContent()).toContain('acknowledged by Alice Ng');
    expect(await page.locator('[data-person=bob][data-channel=sms]').count()).toBe(0);
    const toBob = loop.sim.requests().filter((r) => r.method === 'POST' && r.recipient === 'bob@example.com');
    expect(toBob.length).toBe(2); // the page and the notice
    expect(loop.sim.requests().filter((r) => r.method === 'POST' && r.recipient === '+15551230002')).toEqual([]);
    await check('7-acknowledged');

    // a note, then on call and analytics, reached from the navigation
    await tabTo('#note');
    await page.keyboard.type('CPU back to normal after the deploy was rolled back');
    await tabTo('form[action$="/notes"] button');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role=status]:has-text("Note added")');
    await page.click('header a:has-text("On call")');
    await page.waitForSelector('text=On call now');
    await check('8-oncall');
    await page.click('header a:has-text("Analytics")');
    // the lake's analytics for the last 7 days, drawn by the report's charts once the lake has flushed the incident
    await page.waitForSelector('text=Delivery funnel per channel');
    await waitFor('the incident in the lake: the funnel drawn', async () => {
      if ((await page.locator('#funnel figure svg').count()) > 0) return true;
      await page.reload();
      return undefined;
    });
    expect(await page.locator('#data-age').textContent()).toMatch(/^lake data as of /);
    await tabTo('#funnel .scroll'); // a chart wider than the phone scrolls by keyboard
    await check('9-analytics');

    // back on the incident page: its script puts the lake's timeline chart and verdicts in place (the report's)
    await page.goto(incidentUrl);
    await waitFor('the lake’s timeline chart on the incident page', async () => {
      await page.waitForSelector('#history[data-loaded]');
      if ((await page.locator('#history #timeline-chart figure svg').count()) > 0) return true;
      await page.reload(); // not in the lake yet
      return undefined;
    });
    // Alice, paged at level 1, opened her email before any escalation
    const first = '#history [data-verdict-name=first_responder_opened_before_escalation] [data-verdict]';
    expect(await page.locator(first).getAttribute('data-verdict')).toBe('yes');
    await tabTo('#history .scroll');
    await check('10-history');
  }, 120_000);
});
