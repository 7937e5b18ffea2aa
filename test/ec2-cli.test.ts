import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { useEc2CliPool } from './fixtures/ec2-cli-pool.ts';
import { runCli } from './fixtures/run-cli.ts';

/**
 * The built CLI on an ec2 cloud, through the real AWS SDK against the wire-level EC2 server:
 * bootstrap (--no-wait: the server's instances have no agent behind them), list across pages,
 * terminate of exactly the pool's instances. Nothing leaves 127.0.0.1: with --no-wait the CLI
 * never polls the instances' (fake, private) monitor addresses.
 */

const CLI = resolve('bin/poolparty.mjs');
const SUBNET_A = 'subnet-0aaaaaaaaaaaaaaaa';
const SUBNET_B = 'subnet-0bbbbbbbbbbbbbbbb';
const MIN = 12;

const ec2 = useEc2CliPool({
  name: 'ec2cli',
  min: MIN,
  max: 20,
  subnetIds: [SUBNET_A, SUBNET_B],
  scaling: "{ expandWhen: 'load > 0.8 for 30s' }",
  // Pages of 5: the pool's 12 instances (plus foreign ones) take several DescribeInstances pages.
  extraEnv: { POOLPARTY_EC2_PAGE_SIZE: '5' },
});
const { cli } = ec2;
/** The agent config a node would boot with, taken out of its user data. */
function agentConfigIn(userData: string): AgentConfig {
  const m = /<<'POOLPARTY_CONFIG_EOF'\n([\s\S]*?)\nPOOLPARTY_CONFIG_EOF/.exec(userData);
  if (!m?.[1]) throw new Error('no agent config in user data');
  return JSON.parse(gunzipSync(Buffer.from(m[1].replace(/\n/g, ''), 'base64')).toString('utf8')) as AgentConfig;
}

describe('poolparty CLI on an ec2 cloud (real SDK, wire-level EC2)', () => {
  const foreign: string[] = [];
  let ours: string[] = [];

  it('bootstrap --no-wait launches min instances: a seed first, then the rest with it as their peer', async () => {
    foreign.push(
      ec2.server.addInstance({ 'poolparty:pool': 'other', 'poolparty:cloud': 'app' }).instanceId,
      ec2.server.addInstance({ 'poolparty:pool': 'ec2cli-staging', 'poolparty:cloud': 'app' }).instanceId,
      ec2.server.addInstance({ Name: 'untagged-by-poolparty' }).instanceId,
      ec2.server.addInstance({}).instanceId,
    );
    const res = await cli('bootstrap', '-c', ec2.config, '--no-wait', '--json');
    expect(res.stderr).not.toMatch(/Warning|Error/);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { launched: InstanceRecord[]; instances: InstanceRecord[]; waited: boolean };
    expect(out.waited).toBe(false);
    expect(out.launched).toHaveLength(MIN);
    expect(out.instances).toHaveLength(MIN);
    ours = out.launched.map((i) => i.id);
    expect(ours.filter((id) => foreign.includes(id))).toEqual([]);

    const runs = ec2.server.callsOf('RunInstances').filter((c) => !c.error);
    expect(runs.map((c) => [c.params.MinCount, c.params.MaxCount])).toEqual([
      ['1', '1'],
      [String(MIN - 1), String(MIN - 1)],
    ]);
    expect(runs.map((c) => c.params.ClientToken)).toEqual(['bootstrap-ec2cli-app-0', 'bootstrap-ec2cli-app-1']);

    const instances = ours.map((id) => ec2.server.model.instances.get(id));
    const seed = instances.find((i) => i?.clientToken === 'bootstrap-ec2cli-app-0');
    expect(seed).toBeDefined();
    expect(agentConfigIn(seed?.userData ?? '').bootstrap).toEqual([]);
    for (const inst of instances.filter((i) => i !== seed)) {
      const cfg = agentConfigIn(inst?.userData ?? '');
      expect(cfg.bootstrap).toEqual([`/ip4/${seed?.privateIp}/tcp/8643`]);
      expect(cfg.pool).toBe('ec2cli');
    }
    expect(res.stderr).toContain(`launching ${MIN} instances in cloud app (0 running)`);
  });

  it('a second bootstrap launches nothing', async () => {
    const before = ec2.server.callsOf('RunInstances').length;
    const res = await cli('bootstrap', '-c', ec2.config, '--no-wait');
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`${MIN} instances of cloud app already running`);
    expect(ec2.server.callsOf('RunInstances').length).toBe(before);
  });

  it('list shows every instance of the pool, across pages, and nothing else', async () => {
    const before = ec2.server.callsOf('DescribeInstances').length;
    const res = await cli('list', '-c', ec2.config, '--json');
    expect(res.code).toBe(0);
    const listed = JSON.parse(res.stdout) as InstanceRecord[];
    expect(listed.map((i) => i.id).sort()).toEqual([...ours].sort());
    for (const i of listed) expect(i.tags).toMatchObject({ 'poolparty:pool': 'ec2cli', 'poolparty:cloud': 'app' });

    const describes = ec2.server.callsOf('DescribeInstances').slice(before);
    expect(describes.length).toBeGreaterThanOrEqual(Math.ceil(MIN / 5));
    expect(describes.every((c) => c.params.MaxResults === '5')).toBe(true);
    expect(describes.filter((c) => c.params.NextToken !== undefined).length).toBeGreaterThanOrEqual(2);

    const text = await cli('list', '-c', ec2.config);
    expect(text.code).toBe(0);
    for (const id of ours) expect(text.stdout).toContain(id);
    for (const id of foreign) expect(text.stdout).not.toContain(id);
  });

  it('terminate ends every instance of the pool and only those', async () => {
    const refused = await cli('terminate', '-c', ec2.config);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      'poolparty: terminate: refusing to terminate without --yes (stdin is not a terminal)\n',
    );

    const res = await cli('terminate', '-c', ec2.config, '--yes', '--json');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { terminated: string[] };
    expect(out.terminated.sort()).toEqual([...ours].sort());

    const asked = ec2.server
      .callsOf('TerminateInstances')
      .flatMap((c) =>
        Array.isArray(c.params.InstanceId) ? c.params.InstanceId : Object.values(c.params.InstanceId ?? {}),
      );
    expect(asked.map(String).sort()).toEqual([...ours].sort());
    for (const id of ours) expect(ec2.server.model.stateOf(ec2.server.model.instances.get(id)!)).not.toBe('running');
    for (const id of foreign) expect(ec2.server.model.stateOf(ec2.server.model.instances.get(id)!)).toBe('running');

    const after = await cli('list', '-c', ec2.config, '--json');
    expect(JSON.parse(after.stdout)).toEqual([]);
    const again = await cli('terminate', '-c', ec2.config, '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('pool ec2cli has no running instances\n');
  });

  it('an EC2 refusal is one line naming the action, exit 1', async () => {
    ec2.server.model.setUnauthorized(['RunInstances']);
    try {
      const res = await cli('bootstrap', '-c', ec2.config, '--no-wait');
      expect(res.code).toBe(1);
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(/^poolparty: .*RunInstances/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    } finally {
      ec2.server.model.clearFaults();
    }
  });

  it('rejects a bad page size setting and contradictory flags as usage errors', async () => {
    const res = await runCli([CLI, 'list', '-c', ec2.config], { ...ec2.env, POOLPARTY_EC2_PAGE_SIZE: '3' });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('poolparty: POOLPARTY_EC2_PAGE_SIZE must be an integer within 5..1000, got "3"\n');
    const both = await cli('bootstrap', '-c', ec2.config, '--no-wait', '--timeout', '5s');
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('poolparty: bootstrap: --timeout and --no-wait exclude each other\n');
  });
});
