import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { LoopbackBlock } from './loopback.ts';
import { kill9, sleep, start } from './procs.ts';

const run = promisify(execFile);

export interface SerfMember {
  name: string;
  status: string;
}

interface SerfNode {
  name: string;
  ip: string;
  child: ChildProcess;
}

/**
 * A Serf cluster on loopback: one `serf agent` process per node, each on its own 127.x address
 * (gossip :7946, RPC :7373), encrypted with a shared key like our pool key. Observation is by
 * polling `serf members -format=json` — see sampleUntil for how few calls that takes.
 */
export class SerfPool {
  readonly nodes: SerfNode[] = [];
  readonly #key = randomBytes(32).toString('base64');
  readonly #loopback: LoopbackBlock;
  readonly #killed = new Set<string>();

  constructor(loopback: LoopbackBlock) {
    this.#loopback = loopback;
  }

  static async available(): Promise<boolean> {
    try {
      await run('serf', ['version'], { timeout: 5000 });
      return true;
    } catch {
      return false;
    }
  }

  #spawn(i: number, join: string | null): SerfNode {
    const ip = this.#loopback.next();
    const name = `serf-${i}`;
    const args = [
      'agent',
      `-node=${name}`,
      `-bind=${ip}:7946`,
      `-rpc-addr=${ip}:7373`,
      `-encrypt=${this.#key}`,
      '-log-level=err',
      ...(join ? [`-join=${join}:7946`] : []),
    ];
    const node = { name, ip, child: start('serf', args) };
    this.nodes.push(node);
    return node;
  }

  get pids(): number[] {
    return this.nodes.filter((n) => !this.#killed.has(n.name)).map((n) => n.child.pid ?? 0);
  }

  get alive(): SerfNode[] {
    return this.nodes.filter((n) => !this.#killed.has(n.name));
  }

  async members(node: SerfNode): Promise<SerfMember[] | null> {
    try {
      const { stdout } = await run('serf', ['members', `-rpc-addr=${node.ip}:7373`, '-format=json'], {
        timeout: 5000,
      });
      return (JSON.parse(stdout) as { members: SerfMember[] }).members;
    } catch {
      return null;
    }
  }

  /** Starts the seed and waits (bounded) until its RPC answers. */
  async prepare(): Promise<void> {
    const seed = this.#spawn(0, null);
    for (let i = 0; i < 100; i++) {
      if (await this.members(seed)) return;
      await sleep(50);
    }
    throw new Error('serf seed did not start within 5 s');
  }

  /** Starts nodes 1..n-1, each joining the seed at start; returns the epoch ms they were spawned. */
  startRest(n: number): number {
    const t0 = Date.now();
    const seed = this.nodes[0]?.ip ?? '';
    for (let i = 1; i < n; i++) this.#spawn(i, seed);
    return t0;
  }

  /** kill -9 one node; returns the epoch ms of the kill. */
  async kill(node: SerfNode): Promise<number> {
    this.#killed.add(node.name);
    const at = Date.now();
    await kill9(node.child);
    return at;
  }

  /**
   * Time (epoch ms) when every node in `nodes` satisfies `ok`, or null after timeoutMs. Calling
   * `serf members` on 100 nodes every round would cost more CPU than the cluster itself, so each
   * round asks only the first few unconfirmed nodes, latest-started first (the likeliest to be
   * last): 4 per round until one passes, then 8 per round to verify the rest, re-polling every
   * 50 ms those that do not pass yet. A node is confirmed at the end time of the first answer that
   * satisfies `ok` (an upper bound: the state was reached at or before that answer, ~10–30 ms of
   * exec latency). The figure is the last confirmation.
   */
  async sampleUntil(
    nodes: readonly SerfNode[],
    ok: (members: SerfMember[]) => boolean,
    timeoutMs: number,
  ): Promise<number | null> {
    const pending = [...nodes].reverse();
    let last = 0;
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; pending.length > 0 && Date.now() < deadline && round < 10_000; round++) {
      const batch = pending.slice(0, round < 1000 && pending.length > 8 && last === 0 ? 4 : 8);
      const answers = await Promise.all(batch.map((n) => this.members(n).then((m) => ({ n, m, at: Date.now() }))));
      for (const { n, m, at } of answers) {
        if (m && ok(m)) {
          pending.splice(pending.indexOf(n), 1);
          last = Math.max(last, at);
        }
      }
      if (answers.every((a) => !a.m || !ok(a.m))) await sleep(50);
    }
    return pending.length === 0 ? last : null;
  }

  /**
   * kill -9 a random non-seed node `kills` times (while more than 2 are alive); each time, the ms
   * until every live node lists it `failed` (null when some did not within 60 s).
   */
  async timeKills(kills: number, onKill: (rep: number, ms: number | null, victim: string) => void): Promise<void> {
    for (let r = 0; r < kills && this.alive.length > 2; r++) {
      const alive = this.alive;
      const victim = alive[1 + Math.floor(Math.random() * (alive.length - 1))];
      if (!victim) break;
      const at = await this.kill(victim);
      const failed = await this.sampleUntil(
        this.alive,
        (m) => m.some((x) => x.name === victim.name && x.status === 'failed'),
        60_000,
      );
      onKill(r, failed && failed - at, victim.name);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => kill9(n.child)));
  }
}

export function aliveCount(members: SerfMember[]): number {
  return members.filter((m) => m.status === 'alive').length;
}
