import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { processRuns } from '../../../shared/remoter/pid.ts';
import { atExit } from './procs.ts';

/**
 * Wire bytes from the kernel: an iptables accounting chain in the filter table, jumped to from
 * INPUT for `-i lo`. On loopback every packet passes INPUT exactly once, so counting there counts
 * each packet once, headers included (what the issue calls "the wire": IP + TCP/UDP + noise +
 * yamux + gossipsub framing, not the agent's own payload counter).
 *
 * One group per system under test: the packets whose source or destination is in the group's
 * address block and whose port (source or destination) is the group's port. Two rules per group
 * and protocol (-s BLOCK, then -d BLOCK), each ending in RETURN, so a packet between two agents of
 * the block (both addresses match) is counted by the first rule only. The bench's HTTP polling of
 * monitors (:8642) and Serf's RPC (:7373) are on other ports and are not counted.
 *
 * Needs root and iptables; without them open() returns the reason and the caller reports null.
 * The chain (named PPB-<our pid>-<random>) is removed by close(), and by the exit/signal hooks of
 * procs.ts if the harness dies first; chains of bench runs whose pid is gone are swept at open().
 */

export interface WireGroup {
  label: string;
  /** e.g. 127.183.0.0/16 */
  cidr: string;
  port: number;
  protocols: Array<'tcp' | 'udp'>;
}

export interface WireReading {
  bytes: number;
  packets: number;
  atMs: number;
}

const PREFIX = 'PPB-';

function ipt(args: string[]): string {
  return execFileSync('iptables', ['-w', '5', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function removeChain(chain: string): void {
  // The jump may have been inserted once; delete it until iptables says there is none (bounded).
  for (let i = 0; i < 5; i++) {
    try {
      ipt(['-D', 'INPUT', '-i', 'lo', '-j', chain]);
    } catch {
      break;
    }
  }
  for (const op of ['-F', '-X']) {
    try {
      ipt([op, chain]);
    } catch {
      // already gone
    }
  }
}

/** Removes chains left by bench runs that were SIGKILLed (their pid no longer exists). */
function sweepStale(): string[] {
  const swept: string[] = [];
  for (const line of ipt(['-S']).split('\n')) {
    const m = /^-N (PPB-(\d+)-[0-9a-f]+)$/.exec(line.trim());
    if (m && !processRuns(Number(m[2]))) {
      removeChain(m[1] as string);
      swept.push(m[1] as string);
    }
  }
  return swept;
}

export class WireCounter {
  readonly chain: string;
  readonly groups: WireGroup[];
  #closed = false;
  readonly #unhook: () => void;

  private constructor(chain: string, groups: WireGroup[]) {
    this.chain = chain;
    this.groups = groups;
    this.#unhook = atExit(() => this.close());
  }

  /** Creates the chain and its rules; a string (the reason) when iptables or root is missing. */
  static open(groups: WireGroup[]): WireCounter | string {
    if (process.platform !== 'linux') return `wire bytes need Linux iptables (platform ${process.platform})`;
    if (process.getuid?.() !== 0) return 'wire bytes need root for iptables (run the bench as root)';
    try {
      ipt(['-L', 'INPUT', '-n']);
    } catch (err) {
      return `iptables unavailable: ${(err as Error).message.split('\n')[0]}`;
    }
    try {
      sweepStale();
    } catch {
      // a failed sweep must not stop this run
    }
    const chain = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
    const counter = new WireCounter(chain, groups);
    try {
      ipt(['-N', chain]);
      for (const g of groups) {
        for (const proto of g.protocols) {
          for (const side of ['-s', '-d']) {
            ipt([
              '-A',
              chain,
              side,
              g.cidr,
              '-p',
              proto,
              '-m',
              'multiport',
              '--ports',
              String(g.port),
              '-m',
              'comment',
              '--comment',
              g.label,
              '-j',
              'RETURN',
            ]);
          }
        }
      }
      ipt(['-I', 'INPUT', '1', '-i', 'lo', '-j', chain]);
    } catch (err) {
      counter.close();
      return `iptables refused the accounting chain: ${(err as Error).message.split('\n')[0]}`;
    }
    return counter;
  }

  /** Bytes and packets counted so far, per group label. */
  read(): Map<string, WireReading> {
    const out = new Map<string, WireReading>(this.groups.map((g) => [g.label, { bytes: 0, packets: 0, atMs: 0 }]));
    const text = ipt(['-L', this.chain, '-n', '-v', '-x']);
    const atMs = Date.now();
    for (const line of text.split('\n')) {
      const m = /^\s*(\d+)\s+(\d+)\s+RETURN\b.*\/\* (\S+) \*\//.exec(line);
      if (!m) continue;
      const r = out.get(m[3] as string);
      if (!r) continue;
      r.packets += Number(m[1]);
      r.bytes += Number(m[2]);
    }
    for (const r of out.values()) r.atMs = atMs;
    return out;
  }

  /** Removes the jump and the chain; idempotent. Synchronous, so exit and signal hooks can call it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    removeChain(this.chain);
    this.#unhook?.();
  }
}

/** Bytes per second per agent between two readings of one group. */
export function perAgentRate(a: WireReading, b: WireReading, agents: number): number | null {
  const s = (b.atMs - a.atMs) / 1000;
  return s > 0 && agents > 0 ? (b.bytes - a.bytes) / agents / s : null;
}
