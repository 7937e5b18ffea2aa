import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMonitorApp } from '../agent/monitor/app.ts';
import { PAGE_HTML, PAGE_SCRIPT_HASH, PAGE_STYLE_HASH } from '../agent/monitor/page-assets.ts';
import { fakeSource } from './monitor-fake.ts';

const between = (text: string, open: string, close: string) =>
  text.slice(text.indexOf(open) + open.length, text.indexOf(close));
const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('the live page as the agent embeds it', () => {
  it('is what scripts/embed-page.mjs makes of agent/monitor/page/ (no drift from its sources)', () => {
    const run = spawnSync(process.execPath, ['scripts/embed-page.mjs', '--check'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
  });

  it('is one small self-contained document whose inline script and style match the CSP hashes', () => {
    expect(Buffer.byteLength(PAGE_HTML)).toBeLessThan(64 * 1024);
    // Nothing from elsewhere: no external script, stylesheet or font.
    expect(PAGE_HTML).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(hash(between(PAGE_HTML, '<script>', '</script>'))).toBe(PAGE_SCRIPT_HASH);
    expect(hash(between(PAGE_HTML, '<style>', '</style>'))).toBe(PAGE_STYLE_HASH);
  });

  it('GET / answers a browser with the page and its CSP, and anything else with the JSON index', async () => {
    const app = createMonitorApp(fakeSource().source);
    const html = await app.request('/', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(html.headers.get('content-type')).toContain('text/html');
    const csp = html.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src ${PAGE_SCRIPT_HASH}`);
    expect(csp).toContain("connect-src 'self'");
    expect(await html.text()).toBe(PAGE_HTML);
    for (const accept of [undefined, '*/*', 'application/json']) {
      const res = await app.request('/', accept ? { headers: { accept } } : {});
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(((await res.json()) as { service: string }).service).toBe('poolparty-agent monitor');
    }
  });
});
