import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../agent/agent.ts';
import { promtool } from './fixtures/promtool.ts';
import { TestPool } from './helpers/agents.ts';

const DIR = join(import.meta.dirname, '..', 'monitoring');

/** Metric names in a scrape (from its TYPE lines), with the series names a histogram adds. */
function scrapedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** Every poolparty_* name a PromQL expression reads. */
function metricsOf(expr: string): string[] {
  return [...expr.matchAll(/\bpoolparty_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

const target = z.object({ refId: z.string().min(1), expr: z.string().min(1), legendFormat: z.string() });
const dashboardSchema = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(30),
  time: z.object({ from: z.string(), to: z.string() }),
  templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string() })) }),
  annotations: z.object({ list: z.array(z.object({ name: z.string(), expr: z.string().min(1) })) }),
  panels: z
    .array(
      z.object({
        id: z.number().int(),
        title: z.string().min(1),
        description: z.string().min(1),
        type: z.enum(['stat', 'table', 'timeseries']),
        gridPos: z.object({
          x: z.number().int().min(0),
          y: z.number().int().min(0),
          w: z.number().int(),
          h: z.number().int(),
        }),
        targets: z.array(target).min(1),
      }),
    )
    .min(1),
});

describe('Prometheus alert rules (monitoring/alerts.yml)', () => {
  it('pass `promtool check rules` and their unit tests', () => {
    const check = promtool(['check', 'rules', join(DIR, 'alerts.yml')]);
    expect(check.status, check.output).toBe(0);
    const test = promtool(['test', 'rules', join(DIR, 'alerts.test.yml')]);
    expect(test.status, test.output).toBe(0);
  });

  it('the unit tests fail when a rule changes (they can catch a broken rule)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-alerts-'));
    try {
      await cp(join(DIR, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
      const rules = await readFile(join(DIR, 'alerts.yml'), 'utf8');
      // Below min for 30 minutes instead of 5: the 6-minute case must now fail.
      expect(rules).toContain('for: 5m');
      await writeFile(join(dir, 'alerts.yml'), rules.replace('for: 5m', 'for: 30m'));
      const test = promtool(['test', 'rules', join(dir, 'alerts.test.yml')]);
      expect(test.status).not.toBe(0);
      expect(test.output).toContain('PoolPartyCloudBelowMin');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the example scrape configuration passes `promtool check config`', () => {
    const check = promtool(['check', 'config', join(DIR, 'prometheus.yml')]);
    expect(check.status, check.output).toBe(0);
  });
});

describe('monitoring files against what a real agent exports', () => {
  let pool: TestPool;
  let agent: Agent;
  let exported: Set<string>;

  beforeAll(async () => {
    pool = await TestPool.create();
    agent = await pool.start('a1');
    const res = await fetch(`${agent.monitorUrl}/metrics`);
    exported = scrapedNames(await res.text());
  }, 60_000);
  afterAll(async () => {
    await pool?.cleanup();
  });

  it("the agent's scrape carries the pool metrics (they are wired into every agent)", () => {
    for (const name of [
      'poolparty_build_info',
      'poolparty_cloud_members',
      'poolparty_cloud_min_instances',
      'poolparty_rule_value',
      'poolparty_member_metric',
      'poolparty_decisions_total',
      'poolparty_instance_actions_total',
      'poolparty_bundle_applies_total',
      'poolparty_bundle_apply_duration_seconds_bucket',
      'poolparty_leader_term',
      'poolparty_is_leader',
      'poolparty_process_resident_memory_bytes',
    ])
      expect(exported, name).toContain(name);
  });

  it('every alert reads only metrics the agent exports', async () => {
    const rules = await readFile(join(DIR, 'alerts.yml'), 'utf8');
    const used = metricsOf(rules);
    expect(used.length).toBeGreaterThan(8);
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
  });

  it('the Grafana dashboard is well formed, every query parses, and reads only exported metrics', async () => {
    const dashboard = dashboardSchema.parse(JSON.parse(await readFile(join(DIR, 'grafana-dashboard.json'), 'utf8')));
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['datasource', 'pool']));

    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.annotations.list.map((a) => a.expr),
    ];
    const unknown = exprs.flatMap(metricsOf).filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
    // Each query reads the agents' metrics (or Prometheus' own `up` for the targets themselves).
    for (const e of exprs) expect(metricsOf(e).length + (/\bup\{/.test(e) ? 1 : 0), e).toBeGreaterThan(0);

    // promtool parses PromQL only inside rule files: each query becomes a recording rule, with
    // Grafana's variables replaced by values it could take.
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-dashboard-'));
    try {
      const rules = exprs.map((e, i) => {
        const expr = e.replaceAll('$pool', 'shop').replaceAll('$__rate_interval', '1m');
        return `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr)}`;
      });
      await writeFile(join(dir, 'queries.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const check = promtool(['check', 'rules', join(dir, 'queries.yml')]);
      expect(check.status, check.output).toBe(0);
      expect(check.output).toContain(`${exprs.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
