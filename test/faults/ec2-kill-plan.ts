import { seededRandom } from '../../shared/seeded-random.ts';

/**
 * Where an EC2 leader dies in one round of its launch:
 * - 'before-run': at a random moment of the growth (before its expand decision, between the
 *   intent and RunInstances, or later when the machine is slow);
 * - 'at-run': the instant RunInstances creates the instance, before the answer leaves (between
 *   RunInstances and the outcome the leader would have recorded);
 * - 'after-run': a random few hundred ms after RunInstances created it (the answer on its way,
 *   received, or recorded).
 */
export type Ec2KillPoint = 'before-run' | 'at-run' | 'after-run';

export interface Ec2KillPlan {
  point: Ec2KillPoint;
  /** ms after the metric rose ('before-run') or after RunInstances created the instance ('after-run'). */
  delayMs: number;
  /** RunInstances answers the server loses this round (the first calls of the round, whoever makes them). */
  drops: number;
}

const POINTS: Ec2KillPoint[] = ['at-run', 'before-run', 'after-run'];

/** `rounds` plans from `seed`: the points in turn, the delays and dropped answers drawn from the seed. */
export function ec2KillPlans(seed: number, rounds: number): Ec2KillPlan[] {
  const rand = seededRandom(seed);
  return Array.from({ length: rounds }, (_, n) => {
    const point = POINTS[n % POINTS.length] as Ec2KillPoint;
    // The expand rule holds after 1 s above 10 and the leader evaluates every 250 ms: up to 2.5 s
    // covers the decision, the intent and the call.
    const delay = point === 'before-run' ? 2500 : point === 'after-run' ? 400 : 0;
    return { point, delayMs: Math.floor(rand() * delay), drops: Math.floor(rand() * 3) };
  });
}

/** The seed of this run: POOLPARTY_FAULT_SEED to replay one, else a fresh one. */
export function faultSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.POOLPARTY_FAULT_SEED;
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`POOLPARTY_FAULT_SEED must be an integer 0..4294967295, got '${given}'`);
  }
  return seed;
}
