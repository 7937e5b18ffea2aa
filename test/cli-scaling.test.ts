import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusResult } from '../cli/commands/status.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { pidsMatching } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';

// status and demo with leadership and scaling, against the fake agent (it serves /leader,
// /scaling and leader/scaling events; see test/fixtures/fake-poolparty-agent.mjs).
let pool: LocalPool;

beforeAll(async () => {
  pool = await LocalPool.create({
    name: 'clisc',
    agent: 'fake',
    cli: 'source',
    cloudFields: `metrics: { queue: { file: 'queue' } },
      scaling: { expandWhen: 'queue > 10 for 3s', contractWhen: 'queue < 1 for 3s' },`,
  });
});

afterAll(() => pool?.cleanup());

const cli = (...args: string[]) => pool.cli(...args);

/** How many /events streams the fake agents ended (see FAKE_AGENT_END_MIDDLE_EVENTS). */
async function endedStreams(): Promise<number> {
  const local = join(pool.stateDir, 'local');
  let n = 0;
  for (const entry of await readdir(local, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const log = await readFile(join(local, entry.name, 'agent.log'), 'utf8').catch(() => '');
    n += log.split('"events stream ended"').length - 1;
  }
  return n;
}

describe('poolparty status and demo with a leader and scaling (fake agents)', () => {
  // About ten CLI runs in a row, each a new node process: seconds apiece on a loaded machine.
  it('status shows the leader and the last 10 decisions, in the table and in --json', {
    timeout: 120_000,
  }, async () => {
    const boot = await cli('bootstrap', '-c', pool.config, '--json');
    expect(boot.code, boot.stderr).toBe(0);
    const instances = JSON.parse(boot.stdout).instances as InstanceRecord[];
    const leaderNode = instances[0]!.monitor!;

    // Asked of a follower: the leader comes from its /leader, decisions from the leader's /scaling.
    const json = await cli('status', '--node', instances[2]!.monitor!, '--json');
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as StatusResult;
    expect(r.node).toBe(instances[2]!.monitor);
    expect(r.members).toHaveLength(3);
    const leaderMember = r.members.find((m) => m.instanceId === 'local-1')!;
    expect(r.leader).toEqual({ peerId: leaderMember.peerId, term: 1, since: leaderMember.startedAt, self: false });
    expect(r.scaling).toMatchObject({ node: leaderNode, enabled: true, leading: true, bounds: { min: 3, max: 5 } });
    expect(r.scaling!.decisions.map((d) => d.reason)).toEqual(
      Array.from({ length: 10 }, (_, i) => `fake decision ${i + 2}`),
    );

    const text = await cli('status', '-c', pool.config);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('pool clisc: 3/3 alive');
    expect(text.stdout).toMatch(/leader 12D3KooW\S+ \(local-1\), term 1, since \d\d:\d\d:\d\d \(\S+ ago\)/);
    expect(text.stdout).toContain(`scaling (${leaderNode}): 3 instances, bounds 3..5`);
    expect(text.stdout).toContain('expand when queue > 10 for 3s (holds now)');
    expect(text.stdout).toContain('contract when queue < 1 for 3s\n');
    expect(text.stdout).toMatch(/TIME\s+ACTION\s+COUNT\s+INSTANCES\s+RESULT\s+REASON/);
    expect(text.stdout).toMatch(/none \(cooldown\)\s+0\s+3\s+-\s+fake decision 10/);
    expect(text.stdout).toMatch(/expand\s+1\s+3\s+ok\s+fake decision 11/);
    expect(text.stdout).not.toContain('fake decision 1\n');

    const term = await cli('terminate', '-c', pool.config, '--yes');
    expect(term.code, term.stderr).toBe(0);
    expect(pidsMatching(pool.stateDir)).toEqual([]);
  });

  it('demo prints leader changes, scaling decisions and retiring nodes once each', async () => {
    const { child, out, exited } = pool.start(['demo', '-c', pool.config], { FAKE_AGENT_END_MIDDLE_EVENTS: '1' });
    await waitFor('scaling lines', () => out.stdout.includes('fake expand') && out.stdout.includes('retiring'), {
      timeoutMs: 30_000,
    });
    await waitFor('a leader line', () => out.stdout.includes('leader-elected'), { timeoutMs: 10_000 });
    // A duplicate would come from a second stream to one node, opened on a later round of the
    // demo's stream refresh. The middle member ends its stream after each batch (its events are
    // all membership and leadership, which the every-node streams drop), so each round reopens it:
    // three stream ends in its log mean two rounds ran after every stream was open.
    await waitFor('two stream refresh rounds of the demo', async () => (await endedStreams()) >= 3, {
      timeoutMs: 30_000,
    });
    const lines = out.stdout.split('\n');
    const count = (needle: string) => lines.filter((l) => l.includes(needle)).length;
    // Where a newcomer watches the pool: the first node's live page.
    expect(out.stdout).toMatch(/watch it live: open http:\/\/127\.\d+\.\d+\.\d+:\d+\/ in a browser/);
    expect(count('fake expand')).toBe(1);
    expect(lines.find((l) => l.includes('fake expand'))).toMatch(
      /scaling-decision\s+expand \+1 at 3 instances: fake expand → ok$/,
    );
    expect(count('fake blocked decision')).toBe(1);
    expect(lines.find((l) => l.includes('fake blocked decision'))).toContain('none (cooldown) at 3 instances');
    expect(count('fake quiet decision')).toBe(0);
    expect(count('fake retire')).toBe(1);
    expect(lines.find((l) => l.includes('fake retire'))).toMatch(
      /retiring\s+local-\d+\s+12D3KooW\S+\s+term 1: fake retire/,
    );
    // One leader-elected per followed node, naming the leader's instance.
    expect(count('leader-elected')).toBe(1);
    expect(lines.find((l) => l.includes('leader-elected'))).toMatch(
      /leader-elected\s+local-\d+\s+12D3KooW\S+\s+term 1 \((no-leader-heard|leader-claims)\)$/,
    );

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.stderr).toContain('stopping: terminating the pool');
    expect(pidsMatching(pool.stateDir)).toEqual([]);
  });

  it('demo --drive refuses a pool whose expand rule reads no file metric, before launching', async () => {
    const bad = join(pool.dir, 'nodrive.json');
    await writeFile(
      bad,
      JSON.stringify({
        name: 'nodrive',
        clouds: {
          a: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, scaling: { expandWhen: 'load > 1' } },
        },
      }),
    );
    const res = await cli('demo', '-c', bad, '--drive');
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      "poolparty: demo --drive: the expand rule of cloud 'a' ('load > 1') reads no file metric to drive\n",
    );
    expect(pidsMatching(join(pool.stateDir, '..'))).toEqual([]);
  });
});
