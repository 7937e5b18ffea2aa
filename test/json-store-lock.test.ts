import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../shared/remoter/json-store.ts';
import { procState } from '../shared/remoter/pid.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * The state lock of the local and ssh providers: a holder that died breaks it, and a holder that
 * died but was never reaped (a zombie: a leader SIGKILLed under a parent that does not wait) is
 * dead too. Before, kill(pid, 0) succeeded on the zombie and the pool's records were locked for
 * good.
 */

interface Counter {
  n: number;
}

const dirs: string[] = [];
const children: number[] = [];

afterEach(async () => {
  for (const pid of children.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function store(): Promise<JsonStore<Counter>> {
  const dir = await mkdtemp(join(tmpdir(), 'pp-lock-'));
  dirs.push(dir);
  return new JsonStore<Counter>({
    file: join(dir, 'state.json'),
    empty: () => ({ n: 0 }),
    check: (v): asserts v is Counter => {
      if (typeof (v as Counter)?.n !== 'number') throw new Error('no n');
    },
    lockTimeout: 3000,
    lockPoll: 20,
    lockStaleAfter: 60_000,
  });
}

/** A zombie: sh backgrounds a child, then execs a sleep that never waits for it. */
async function zombie(): Promise<number> {
  const sh = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  if (sh.pid) children.push(sh.pid);
  const pid = await new Promise<number>((resolve, reject) => {
    sh.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
    sh.once('error', reject);
  });
  await waitFor(`pid ${pid} to become a zombie`, () => procState(pid) === 'Z', { timeoutMs: 5000, everyMs: 20 });
  return pid;
}

describe.skipIf(process.platform !== 'linux')('JsonStore lock', () => {
  it('breaks a lock whose holder is a zombie', async () => {
    const s = await store();
    const pid = await zombie();
    await writeFile(s.lockFile, String(pid));
    await s.update((state) => {
      state.n += 1;
    });
    expect((await s.read()).n).toBe(1);
  });

  it('waits for a live holder, then gives up naming the lock', async () => {
    const s = await store();
    await writeFile(s.lockFile, String(process.pid));
    await expect(s.update(() => undefined)).rejects.toThrow(/is held by another process/);
    expect((await s.read()).n).toBe(0);
  });
});
