import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MemberRequest } from '../agent/upgrade/ask.ts';
import { RollbackResumer } from '../agent/upgrade/rollback-resume.ts';
import type { ArtifactStore } from '../agent/upgrade/store.ts';
import { Resubmitter } from '../cli/upgrade/resubmit.ts';
import { rollbackId, signRollback } from '../shared/upgrade/rollback.ts';

// Work that would die with its leader: the CLI hands the same signed request again when no node
// has led it for a while (cli/upgrade/resubmit.ts), and the leader takes it idempotently.
describe('Resubmitter', () => {
  it('hands the work again only after it was led by nobody for the whole wait, one hand-over at a time', async () => {
    const lines: string[] = [];
    let handed = 0;
    let release: () => void = () => undefined;
    const r = new Resubmitter({
      resubmit: () => {
        handed++;
        return new Promise((res) => {
          release = () => res('local-2');
        });
      },
      progress: (l) => lines.push(l),
      orphanedAfter: 1000,
    });
    r.observe(false, false, 0);
    r.observe(true, false, 900); // led again: the wait starts over
    r.observe(false, false, 1000);
    r.observe(false, false, 1900);
    expect(handed).toBe(0);
    r.observe(false, false, 2000);
    expect(handed).toBe(1);
    r.observe(false, false, 5000); // the first hand-over is still under way
    expect(handed).toBe(1);
    release();
    await r.settle();
    expect(lines).toEqual([
      'no node has led it for 1 s: handing the same signed request again',
      'handed again to the leader local-2',
    ]);
    r.observe(false, true, 9000); // over: nothing to hand
    r.observe(false, true, 20_000);
    expect(handed).toBe(1);
    expect(r.count).toBe(1);
  });

  it('a failed hand-over is said and tried again after another wait', async () => {
    const lines: string[] = [];
    const r = new Resubmitter({
      resubmit: async () => {
        throw new Error('cannot find the pool leader');
      },
      progress: (l) => lines.push(l),
      orphanedAfter: 10,
    });
    r.observe(false, false, 0);
    r.observe(false, false, 10);
    await r.settle();
    r.observe(false, false, 15);
    r.observe(false, false, 25);
    await r.settle();
    expect(r.count).toBe(2);
    expect(lines[1]).toBe('handing it again failed: cannot find the pool leader (tried again later)');
  });
});

describe('a rollback handed to a leader again', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const request = signRollback({ pool: 'p', issuedAt: Date.now() }, privateKey);
  const id = rollbackId(request.request);

  function leader(notice: unknown) {
    const asked: MemberRequest[] = [];
    const resumer = new RollbackResumer({
      store: { rollbackNotice: async () => notice } as unknown as ArtifactStore,
      pool: 'p',
      publicKey: pem,
      self: { peerId: 'N', instanceId: 'i-N' },
      members: () => [{ peerId: 'A', instanceId: 'i-A', alive: true }],
      ask: async (_peer, req) => {
        asked.push(req);
        return req.type === 'status' ? { ok: true, ready: true, sha256: null, rollback: null } : { ok: true };
      },
      now: () => Date.now(),
      log: () => undefined,
    });
    return { resumer, asked };
  }

  it('a run unknown here begins; the same request again is the same run', async () => {
    const { resumer } = leader(null);
    expect(await resumer.submit(request, 10_000)).toBe('begun');
    const run = resumer.run;
    expect(await resumer.submit(request, 10_000)).toBe('known');
    expect(resumer.run).toBe(run);
    expect(run?.progress.id).toBe(id);
  });

  it('a run this node was told of is continued, not begun again', async () => {
    const { resumer, asked } = leader({ signed: request, id, gateMs: 10_000 });
    expect(await resumer.submit(request, 10_000)).toBe('known');
    expect(resumer.run?.progress).toMatchObject({ id, queue: ['A'] });
    expect(asked.map((r) => r.type)).toEqual(['status']);
  });
});
