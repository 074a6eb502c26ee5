// The web console (ADR 0028) in a real headless Chromium against a real cluster of processes:
// the page lists the three servers and the shards' leaders, counts an open session, shows a
// server killed with SIGKILL as down within the health check's interval x threshold + 2 s and
// then the new leader with the election's reason; the key browser lists and reads a record
// using the keyboard only. Screenshots (phone and wide screen) are kept under
// .tmp/test-output/console/ (tests/support/browser.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { TestCluster } from '../support/cluster.js';
import { autofocusedName, launchBrowser, tabUntil, testOutputDir, type PageDocument } from '../support/browser.js';

declare const document: PageDocument;

const S = suite('console: the web console in Chromium');

// The test cluster's health checks (tests/support/cluster.ts): every 500 ms, down after 3 failures.
const HEALTH_INTERVAL_MS = 500;
const FAILURE_THRESHOLD = 3;
const DOWN_SHOWN_WITHIN_MS = HEALTH_INTERVAL_MS * FAILURE_THRESHOLD + 2_000;
const PHONE = { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const WIDE = { width: 1600, height: 1000, deviceScaleFactor: 1 };

const out = testOutputDir('console');
let cluster: TestCluster | undefined;
let browser: Browser | undefined;
let client: OxiaClient | undefined;
let page: Page;
let url: string;

S.before(async () => {
  cluster = await TestCluster.start({
    nodes: 3,
    namespaces: [{ name: 'default', shards: 3, rf: 3 }],
    coordinatorArgs: ['--console-addr', '127.0.0.1:0', '--health-check-failure-threshold', String(FAILURE_THRESHOLD)],
  });
  url = String(cluster.coordinator.serving.consoleUrl);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  await cluster.leaders();
  browser = await launchBrowser();
  page = await browser.newPage();
  page.setDefaultTimeout(60_000);
});

S.after(async () => {
  await client?.close();
  await browser?.close();
  await cluster?.close();
});

/** What the page shows now: servers (name -> health) and shards (label -> leader). */
async function shown(): Promise<{ servers: Record<string, string>; leaders: Record<string, string>; sessions: number }> {
  return page.evaluate(() => {
    const servers: Record<string, string> = {};
    for (const row of document.querySelectorAll('tr[data-server]')) servers[row.getAttribute('data-server')!] = row.getAttribute('data-health')!;
    const leaders: Record<string, string> = {};
    let sessions = 0;
    for (const row of document.querySelectorAll('tr[data-shard]')) {
      leaders[row.getAttribute('data-shard')!] = row.getAttribute('data-leader')!;
      sessions += Number(row.querySelectorAll('td[data-label="Sessions"]')[0]?.textContent) || 0;
    }
    return { servers, leaders, sessions };
  });
}

S('lists the three servers and the leaders, and counts an open session', async () => {
  await page.setViewport(PHONE);
  await page.goto(url);
  await page.waitForFunction(
    // The first rendering comes with the page; "live" once the event stream delivered one too.
    () =>
      document.querySelector('#conn')?.textContent === 'live' &&
      document.querySelectorAll('tr[data-server][data-health="up"]').length === 3 &&
      [...document.querySelectorAll('tr[data-shard]')].filter((r) => r.getAttribute('data-leader')).length === 3,
  );
  const first = await shown();
  assert.equal(Object.keys(first.servers).sort(), ['node-0', 'node-1', 'node-2']);
  for (const leader of Object.values(first.leaders)) assert.ok(['node-0', 'node-1', 'node-2'].includes(leader), leader);
  await page.screenshot({ path: join(out, '1-cluster-phone.png'), fullPage: true });

  // An ephemeral record opens a session on its shard; the page counts it (sessions are recounted every 5 s).
  client = await OxiaClient.connect(cluster!.nodes[0]!.publicAddress, { requestTimeoutMs: 10_000, logger: { warn: () => {} } });
  await client.put('/console/k1', 'hello from the test');
  await client.put('/console/e1', 'ephemeral', { ephemeral: true });
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-shard]')].some((r) => Number(r.querySelectorAll('td[data-label="Sessions"]')[0]?.textContent) >= 1), { timeout: 30_000 });
  await page.setViewport(WIDE);
  await page.screenshot({ path: join(out, '2-cluster-wide.png'), fullPage: true });
});

S('a server killed with SIGKILL is shown down within interval x threshold + 2 s, then the new leader', async () => {
  const before = await shown();
  const victimName = before.leaders['default/0']!;
  const victim = cluster!.nodes.find((n) => n.name === victimName)!;
  const started = Date.now();
  await victim.kill9();
  await page.waitForFunction((name) => document.querySelector(`tr[data-server="${name}"]`)?.getAttribute('data-health') === 'down', { timeout: 30_000, polling: 50 }, victimName);
  const shownAfterMs = Date.now() - started;
  console.log(`  ${victimName} shown down ${shownAfterMs} ms after SIGKILL (bound ${DOWN_SHOWN_WITHIN_MS} ms)`);
  await page.screenshot({ path: join(out, '3-server-down.png'), fullPage: true });
  assert.ok(shownAfterMs <= DOWN_SHOWN_WITHIN_MS, `shown down after ${shownAfterMs} ms, more than ${DOWN_SHOWN_WITHIN_MS} ms`);

  await page.waitForFunction(
    (name) => {
      const rows = [...document.querySelectorAll('tr[data-shard]')];
      return rows.length === 3 && rows.every((r) => r.getAttribute('data-leader') && r.getAttribute('data-leader') !== name);
    },
    { timeout: 60_000, polling: 100 },
    victimName,
  );
  const after = await shown();
  assert.ok(after.leaders['default/0'] !== victimName && after.leaders['default/0'] !== '');
  // The election that followed is listed with its reason.
  const reasons = await page.$$eval('tr[data-event="election"]', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.ok(reasons.some((r) => r.includes('default/0') && r.includes(`the leader ${victimName} was declared down`)), reasons.join('\n'));
  const downs = await page.$$eval('tr[data-event="server-down"]', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.ok(downs.some((r) => r.includes(`${victimName} is down`)), downs.join('\n'));
  await page.screenshot({ path: join(out, '4-new-leader.png'), fullPage: true });
});

S('key browser, keyboard only: list under a prefix, open a record with its version fields', async () => {
  await page.goto(url);
  // From the cluster page to the key browser by its link, then the prefix field has the focus.
  await tabUntil(page, (el) => el.getAttribute('href') === 'keys', 'the Keys link');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  assert.is(await autofocusedName(page), 'prefix');
  await page.keyboard.type('/console/');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  const keys = await page.$$eval('#keys a', (links) => links.map((a) => a.textContent));
  assert.equal(keys, ['/console/e1', '/console/k1']);
  await page.screenshot({ path: join(out, '5-keys.png'), fullPage: true });

  await tabUntil(page, (el) => el.textContent === '/console/k1', 'the /console/k1 link');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  const record = await page.$eval('#record', (dl) => dl.textContent ?? '');
  assert.match(record, /version id\s*\d+/);
  assert.match(record, /modifications\s*0/);
  assert.match(record, /not ephemeral/);
  assert.match(await page.$eval('pre', (p) => p.textContent ?? ''), /hello from the test/);

  // The ephemeral record names its session; a missing key says so.
  await page.goto(`${url}keys?namespace=default&key=${encodeURIComponent('/console/e1')}`);
  assert.match(await page.$eval('#record', (dl) => dl.textContent ?? ''), /session\s*\d+/);
  await page.goto(`${url}keys?namespace=default&key=${encodeURIComponent('/console/none')}`);
  assert.match(await page.$eval('#record', (p) => p.textContent ?? ''), /No record/);
  await page.screenshot({ path: join(out, '6-record.png'), fullPage: true });
});

S('key browser: a page holds 200 keys, the next page continues after the last one', async () => {
  const keys = Array.from({ length: 205 }, (_, i) => `/paged/k-${String(i).padStart(3, '0')}`);
  // Through a server still running (the first client's server may be the one killed above).
  const writer = await OxiaClient.connect(cluster!.nodes.find((n) => n.running)!.publicAddress, { requestTimeoutMs: 20_000, logger: { warn: () => {} } });
  try {
    await Promise.all(keys.map((k) => writer.put(k, 'v')));
  } finally {
    await writer.close();
  }
  await page.goto(`${url}keys?namespace=default&prefix=${encodeURIComponent('/paged/')}`);
  const first = await page.$$eval('#keys a', (links) => links.map((a) => a.textContent ?? ''));
  assert.equal(first, keys.slice(0, 200));
  await tabUntil(page, (el) => el.textContent === 'More keys', 'the More keys link', 250);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  const second = await page.$$eval('#keys a', (links) => links.map((a) => a.textContent ?? ''));
  assert.equal(second, keys.slice(200));
  assert.is(await page.$('a[href*="after="]'), null);
});

S.run();
