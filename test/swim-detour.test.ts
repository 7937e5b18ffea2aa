import { describe, expect, it } from 'vitest';
import { tellEach } from '../agent/membership/member-channels.ts';
import type { CoreInput, Effect, ToldUpdate } from '../agent/membership/swim/types.ts';
import { SendError } from '../agent/transport/channel.ts';
import { coreIn, firstPing, ids, run, seen, silent, tells, told, update } from './helpers/swim.ts';

const members = ids(40);
const rerouted = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'reroute' ? [e.update] : []));
const undelivered = (to: string, u: ToldUpdate, now: number): CoreInput => ({
  type: 'undelivered',
  to,
  update: u,
  now,
});

/** node-000 suspects the first member it pings (no ack); returns the suspicion it told. */
function accuse() {
  const a = coreIn('node-000', members);
  const p = firstPing(a);
  const fx = silent(a, p.at + 100, p.at + 1100);
  const told0 = tells(fx).find((t) => t.update.kind === 'suspect')!;
  const suspicion = told0.update as Extract<ToldUpdate, { kind: 'suspect' }>;
  return { a, p, suspicion, recipients: told0.to, at: p.at + 1100 };
}

describe('a suspicion whose tell cannot reach the suspect (issue 13)', () => {
  it('is rerouted once, to the suspect alone; the refutation that comes back holds it alive before the timer ends', () => {
    const { a, p, suspicion, recipients, at } = accuse();
    expect(suspicion).toEqual({ kind: 'suspect', id: p.to, incarnation: 0, from: 'node-000', evidence: 'timeout' });
    // An observer's tell failing is not worth the pool's traffic; the suspect's is.
    const observer = recipients.find((id) => id !== p.to)!;
    expect(a.step(undelivered(observer, suspicion, at + 1000))).toEqual([]);
    const fx = a.step(undelivered(p.to, suspicion, at + 1000));
    expect(rerouted(fx)).toEqual([suspicion]);
    expect(told(fx)).toEqual([]); // nothing is applied pool-wide: it is not a broadcast
    // The re-sends fail too (same dial): never rerouted again.
    expect(a.step(undelivered(p.to, suspicion, at + 2000))).toEqual([]);
    expect(rerouted(run(a, at + 2000, at + 3000))).toEqual([]);

    // The suspect gets it on the topic and refutes to the pool, not by tell (the tell back may fail alike).
    const b = coreIn(p.to, members);
    b.step({ type: 'tick', now: 0 });
    const answer = b.step({ type: 'update', update: suspicion, now: 10, rerouted: true });
    expect(told(answer)).toEqual([{ kind: 'alive', id: p.to, incarnation: 1 }]);
    expect(tells(answer)).toEqual([]);
    // A late accuser's rerouted suspicion at the old incarnation: not broadcast again, told to it alone.
    const other = { ...suspicion, from: 'node-017' };
    const again = b.step({ type: 'update', update: other, now: 20, rerouted: true });
    expect(told(again)).toEqual([]);
    expect(tells(again)).toEqual([{ type: 'tell', to: ['node-017'], update: told(answer)[0] }]);

    // The broadcast reaches the accuser before its 12 s timer: the suspect is alive, never declared.
    expect(seen(a.step(update(told(answer)[0]!, at + 4000)))).toEqual([`member-recovered:${p.to}`]);
    expect(a.get(p.to)).toMatchObject({ state: 'alive', incarnation: 1 });
    const later = run(a, at + 4000, at + 16000);
    expect(told(later).filter((u) => u.id === p.to)).toEqual([]);
    expect(seen(later)).not.toContain(`member-dead:${p.to}`);
  });

  it('without the detour the suspect is declared dead at the timeout (what the detour prevents)', () => {
    const { a, p, at } = accuse();
    const later = run(a, at, at + 13000);
    expect(told(later).filter((u) => u.id === p.to)).toEqual([
      { kind: 'dead', id: p.to, incarnation: 0, from: 'node-000' },
    ]);
  });

  it('reroutes nothing once the suspicion no longer holds (refuted meanwhile)', () => {
    const { a, p, suspicion, at } = accuse();
    a.step(update({ kind: 'alive', id: p.to, incarnation: 1 }, at + 100));
    expect(a.step(undelivered(p.to, suspicion, at + 1500))).toEqual([]);
  });

  it('a suspicion told directly is still refuted by tell, never flooded', () => {
    const b = coreIn('node-000', members);
    b.step({ type: 'tick', now: 0 });
    const s = { kind: 'suspect', id: 'node-000', incarnation: 0, from: 'node-017', evidence: 'timeout' } as const;
    const fx = b.step(update(s, 5));
    expect(told(fx)).toEqual([]);
    expect(tells(fx).map((t) => t.update)).toEqual([{ kind: 'alive', id: 'node-000', incarnation: 1 }]);
  });

  it('a refutation that cannot be told goes to the pool, once per incarnation', () => {
    const b = coreIn('node-000', members);
    b.step({ type: 'tick', now: 0 });
    b.step(update({ kind: 'suspect', id: 'node-000', incarnation: 0, from: 'node-017', evidence: 'timeout' }, 5));
    const alive = { kind: 'alive', id: 'node-000', incarnation: 1 } as const;
    expect(told(b.step(undelivered('node-017', alive, 2000)))).toEqual([alive]);
    expect(b.step(undelivered('node-017', alive, 3000))).toEqual([]);
    // An outdated refutation (we refuted again since) is not broadcast.
    b.step(update({ kind: 'suspect', id: 'node-000', incarnation: 1, from: 'node-017', evidence: 'timeout' }, 3500));
    expect(b.step(undelivered('node-017', alive, 4000))).toEqual([]);
  });
});

describe('the shell reports a tell it could not deliver', () => {
  const u: ToldUpdate = { kind: 'alive', id: 'x', incarnation: 1 };
  const faults: string[] = [];
  const outcome = async (failure: 'timeout' | 'other' | 'refused' | 'defect' | undefined) => {
    const steps: CoreInput[] = [];
    const send = async () => {
      if (failure === 'defect') throw new TypeError('x is undefined');
      if (failure) throw new SendError('peer-a', failure, new Error(failure));
    };
    tellEach(
      { to: ['peer-a'], update: u },
      send,
      (i) => steps.push(i),
      () => 42,
      (msg, f) => faults.push(`${msg} ${f.peer}: ${f.error}`),
    );
    await new Promise((r) => setTimeout(r, 0));
    return steps;
  };

  it('as undelivered on a timeout or other failure, not on a refusal nor on success', async () => {
    expect(await outcome('timeout')).toEqual([{ type: 'undelivered', to: 'peer-a', update: u, now: 42 }]);
    expect(await outcome('other')).toHaveLength(1);
    expect(await outcome('refused')).toEqual([]);
    expect(await outcome(undefined)).toEqual([]);
    expect(faults).toEqual([]);
  });

  it('a throw that is not a send failure is reported as a fault, not taken as undelivered', async () => {
    expect(await outcome('defect')).toEqual([]);
    expect(faults).toEqual(['tell-failed peer-a: x is undefined']);
  });
});
