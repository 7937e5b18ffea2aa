import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdaptiveRetryStrategy } from '@smithy/core/retry';
import { vi } from 'vitest';
import { type Ec2Options, parseEc2Using } from '../shared/config/ec2-schema.ts';
import { type PoolDefinition, poolSchema } from '../shared/config/schema.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { createEc2Remoter, type Ec2Remoter, type Ec2RemoterOptions } from '../shared/remoter/ec2.ts';

/**
 * Shared set-up of the EC2 tests: fake static credentials in this test process only, a pool whose
 * cloud uses ec2 (built from the real schemas), and remoters whose SDK retries are fast.
 */

export const SUBNET_A = 'subnet-0aaaaaaaaaaaaaaaa';
export const SUBNET_B = 'subnet-0bbbbbbbbbbbbbbbb';

/** Static fake credentials; no credential file or instance metadata is ever consulted. */
export function stubAwsEnv(extra: Record<string, string> = {}): void {
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: '',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/poolparty-test/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/poolparty-test/credentials',
    AWS_PROFILE: '',
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
}

/** A pool 'web' with one cloud 'app' using ec2 (min 2, max 10, a load rule). */
export function ec2Pool(using: Partial<Ec2Options> & { endpoint?: string }): PoolDefinition {
  const pool = poolSchema.parse({
    name: 'web',
    clouds: {
      app: {
        instances: { min: 2, max: 10 },
        using: { provider: 'local' },
        scaling: { expandWhen: 'load > 0.8 for 30s' },
      },
    },
  }) as PoolDefinition;
  const ec2 = parseEc2Using({
    provider: 'ec2',
    region: 'us-east-1',
    imageId: 'ami-0123456789abcdef0',
    instanceType: 't3.small',
    subnetIds: [SUBNET_A, SUBNET_B],
    securityGroupIds: ['sg-0123456789abcdef0'],
    iamInstanceProfile: 'poolparty-node',
    ...using,
  });
  // The config union does not include ec2 yet (the lead wires ec2UsingSchema into schema.ts).
  (pool.clouds.app as unknown as { using: unknown }).using = ec2;
  return pool;
}

/**
 * The SDK's adaptive retry strategy with millisecond backoff and a rate limiter that never waits
 * (the real one slows the client down for seconds after throttling), so a test stays fast.
 */
export function fastRetry(maxAttempts = 4): AdaptiveRetryStrategy {
  return new AdaptiveRetryStrategy(maxAttempts, {
    maxAttempts,
    backoff: { computeNextBackoffDelay: () => 5, setDelayBase: () => {} },
    rateLimiter: { getSendToken: async () => {}, updateClientSendingRate: () => {} },
  });
}

export interface Harness {
  stateDir: string;
  lines: string[];
  log: Logger;
  remoter(endpoint: string, extra?: Partial<Ec2RemoterOptions>, using?: Partial<Ec2Options>): Ec2Remoter;
  cleanup(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const stateDir = await mkdtemp(join(tmpdir(), 'pp-ec2-'));
  const lines: string[] = [];
  const log = createLogger({}, { level: 'debug', write: (l) => lines.push(l) });
  const made: Ec2Remoter[] = [];
  return {
    stateDir,
    lines,
    log,
    remoter(endpoint, extra = {}, using = {}) {
      const r = createEc2Remoter({
        pool: ec2Pool({ endpoint, ...using }),
        cloud: 'app',
        stateDir,
        log,
        retryStrategy: fastRetry(),
        throttleBackoff: 1,
        capacityBackoff: 1,
        ...extra,
      });
      made.push(r);
      return r;
    },
    async cleanup() {
      for (const r of made) r.client.destroy();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
