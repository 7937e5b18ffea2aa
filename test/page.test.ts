import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitorApp } from '../agent/monitor/app.ts';
import { MonitorServer } from '../agent/monitor/server.ts';
import { loadPool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { quickScaling } from './fixtures/quick-scaling.ts';
import { waitFor } from './fixtures/wait.ts';
import { fakeSource } from './monitor-fake.ts';

/** Debian's chromium (CI installs it); the playwright browser download cannot work offline. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let pool: LocalPool;
let browser: Browser;
let page: Page;
let queueFile: string;
let listInstances: () => Promise<LocalInstanceRecord[]>;
const problems: string[] = [];
const cleanupDirs: string[] = [];

const rows = (state?: string) => page.locator(`#members tbody tr${state ? `[data-state="${state}"]` : ''}`);

describe.skipIf(!CHROMIUM && !process.env.CI)('the live page on :8642 in a real browser', () => {
  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium not found: apt-get install -y chromium');
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-page-queue-'));
    queueFile = join(dir, 'queue');
    await writeFile(queueFile, '0\n');
    pool = await LocalPool.create({
      name: 'page',
      agent: 'real',
      cliTimeoutMs: 90_000,
      cloudFields: `metrics: { queue: { file: ${JSON.stringify(queueFile)}, every: '200ms' } },
      agent: { heartbeatInterval: '250ms' },
      scaling: ${quickScaling({ cooldown: "{ expand: '30s', contract: '30s' }" })},`,
    });
    cleanupDirs.push(dir);
    const boot = await pool.cli('bootstrap', '-c', pool.config, '--timeout', '60s', '--json');
    expect(boot.code, boot.stderr).toBe(0);
    const remoter = createLocalRemoter({ pool: await loadPool(pool.config), cloud: 'web', stateDir: pool.stateDir });
    listInstances = async () =>
      ((await remoter.list({ pool: 'page', cloud: 'web' })) as LocalInstanceRecord[]).filter(
        (i) => i.state === 'running',
      );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await pool?.cleanup();
    for (const d of cleanupDirs) await rm(d, { recursive: true, force: true });
  }, 30_000);

  it('loads with no console errors and lists every member', async () => {
    const [first] = await listInstances();
    if (!first?.monitor) throw new Error('no running instance with a monitor');
    const res = await page.goto(first.monitor);
    expect(res?.headers()['content-type']).toContain('text/html');
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    await waitFor('3 alive members in the table', async () => (await rows('alive').count()) === 3, {
      timeoutMs: 30_000,
    });
    await waitFor('the stream live', async () => (await page.locator('#status').textContent())?.startsWith('live'));
    expect(await page.locator('#leader').textContent()).not.toBe('none yet');
    expect(await page.locator('#size-charts figure').count()).toBe(1);
    expect(problems).toEqual([]);
  }, 60_000);

  it('shows an expand decision with its reason when the queue rises', async () => {
    await writeFile(queueFile, '50\n');
    const expand = page.locator('#decisions li[data-kind="expand"]');
    await waitFor('an expand decision on the page', async () => (await expand.count()) > 0, { timeoutMs: 45_000 });
    // The line names the action, the cloud and the leader's reason (its rule held for its window).
    expect(await expand.first().textContent()).toMatch(/expand web ×1: .*rule held/);
    await writeFile(queueFile, '5\n');
    await waitFor('4 members in the table', async () => (await rows('alive').count()) === 4, { timeoutMs: 45_000 });
    // README's picture of the page during a scale-up: POOLPARTY_PAGE_SCREENSHOT=docs/dashboard.png.
    const shot = process.env.POOLPARTY_PAGE_SCREENSHOT;
    if (shot) {
      await page.setViewportSize({ width: 1200, height: 900 });
      await page.screenshot({ path: shot, fullPage: true });
    }
    expect(problems).toEqual([]);
  }, 100_000);

  it("a follower's page shows the leader's decision; it fits a phone, the keyboard reaches the marks, dark follows the system", async () => {
    const [any] = await listInstances();
    const leader = (await (await fetch(`${any?.monitor}/leader`)).json()) as { peerId: string };
    const cluster = (await (await fetch(`${any?.monitor}/cluster`)).json()) as {
      members: { peerId: string; instanceId: string }[];
    };
    const leaderId = cluster.members.find((m) => m.peerId === leader.peerId)?.instanceId;
    const follower = (await listInstances()).find((i) => i.id !== leaderId && i.monitor);
    if (!follower?.monitor) throw new Error('no follower with a monitor');
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    phone.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    try {
      await phone.goto(follower.monitor);
      // A follower knows the decision only as the leader gossiped it (intent and outcome).
      const expand = phone.locator('#decisions li[data-kind="expand"]');
      await waitFor("the leader's expand on a follower's page", async () => (await expand.count()) > 0, {
        timeoutMs: 20_000,
      });
      expect(await expand.first().textContent()).toMatch(/expand web ×1: .*→ ok/);
      // No sideways scrolling of the page on a phone (the members table scrolls in its own box).
      // (Expressions as strings: the tests compile without the DOM library.)
      expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      // Tab reaches a decision mark on the size chart (its reason is its title).
      let onMark = false;
      for (let i = 0; i < 40 && !onMark; i++) {
        await phone.keyboard.press('Tab');
        onMark = await phone.evaluate<boolean>("document.activeElement?.classList.contains('mark') ?? false");
      }
      expect(onMark).toBe(true);
      const background = () => phone.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      await phone.emulateMedia({ colorScheme: 'light' });
      const light = await background();
      await phone.emulateMedia({ colorScheme: 'dark' });
      expect(await background()).not.toBe(light);
    } finally {
      await phone.close();
    }
    expect(problems).toEqual([]);
  }, 60_000);

  it('marks a member killed with SIGKILL dead, and says when the stream drops', async () => {
    const viewed = new URL(page.url()).host;
    const victim = (await listInstances()).find((i) => i.monitor && new URL(i.monitor).host !== viewed && i.pid);
    if (!victim?.pid) throw new Error('no other running instance');
    process.kill(victim.pid, 'SIGKILL');
    const row = page.locator(`#members tbody tr:has(td:text-is("${victim.id}"))`);
    await waitFor(
      `${victim.id} dead on the page`,
      async () => ['dead', 'left'].includes((await row.getAttribute('data-state').catch(() => null)) ?? ''),
      { timeoutMs: 20_000 },
    );
    expect(problems).toEqual([]);

    // The viewed node itself goes away: the page must say it is no longer live.
    const self = (await listInstances()).find((i) => i.monitor && new URL(i.monitor).host === viewed);
    if (!self?.pid) throw new Error('viewed instance not found');
    process.kill(self.pid, 'SIGKILL');
    await waitFor(
      'the page stale',
      async () => (await page.locator('#status').textContent())?.startsWith('reconnecting'),
      {
        timeoutMs: 20_000,
      },
    );
  }, 60_000);
});

describe.skipIf(!CHROMIUM && !process.env.CI)('the live page when its stream drops and comes back', () => {
  it('says it is reconnecting while the monitor is gone, and is live again when it answers', async () => {
    if (!CHROMIUM) throw new Error('chromium not found: apt-get install -y chromium');
    const app = createMonitorApp(fakeSource().source);
    let server = new MonitorServer(app, { host: '127.0.0.1', port: 0 });
    await server.start();
    const { port } = server.address;
    const b = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const p = await b.newPage();
      await p.goto(server.url);
      const status = () => p.locator('#status').textContent();
      await waitFor('live', async () => (await status())?.startsWith('live'));
      await server.stop();
      await waitFor('reconnecting', async () => (await status())?.startsWith('reconnecting'), { timeoutMs: 20_000 });
      server = new MonitorServer(app, { host: '127.0.0.1', port });
      await server.start();
      await waitFor('live again', async () => (await status())?.startsWith('live'), { timeoutMs: 30_000 });
    } finally {
      await b.close();
      await server.stop();
    }
  }, 60_000);
});
