import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type PoolDefinition, poolSchema } from '../../shared/config/schema.ts';
import { createLogger } from '../../shared/log.ts';
import { loadRemoter, type RemoterContext } from '../../shared/remoter/load.ts';
import { httpsTransport } from '../../shared/remoter/vsphere-transport.ts';
import { type Simulator, startSimulator } from './sim.ts';

export interface SimCloud {
  /** The pool folder under the datacenter's vm folder. */
  folder: string;
  max: number;
  /** The systemd unit the clones' user data carries. */
  unit: string;
  bootstrap: string[];
}

export interface SimRemoters {
  readonly sim: Simulator;
  /** A transport of the tests' own, to wrap (counting, dropping answers); closed after the tests. */
  readonly https: ReturnType<typeof httpsTransport>;
  /** A pool of one vsphere cloud 'app' on the simulator's template; `using` overrides its options. */
  pool(name: string, using?: Record<string, unknown>): PoolDefinition;
  /** Its remoter as a leader builds it (credentials from the environment unless `extra.env` says otherwise). */
  remoter(pool: PoolDefinition, extra?: RemoterContext['vsphere']): ReturnType<typeof loadRemoter>;
}

/**
 * govmomi's simulator for the vsphere remoter tests of the enclosing describe block: started, with
 * a state dir, before its tests and closed after them.
 */
export function useSimRemoters(cloud: SimCloud, stateDirPrefix: string): SimRemoters {
  const https = httpsTransport({ insecure: true }, 30_000);
  let sim: Simulator | undefined;
  let stateDir: string | undefined;
  beforeAll(async () => {
    sim = await startSimulator();
    stateDir = await mkdtemp(join(tmpdir(), stateDirPrefix));
  }, 240_000);
  afterAll(async () => {
    https.close();
    await sim?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });
  const started = (): Simulator => {
    if (!sim) throw new Error('the simulator has not started');
    return sim;
  };
  return {
    https,
    get sim() {
      return started();
    },
    pool: (name, using = {}) =>
      poolSchema.parse({
        name,
        clouds: {
          app: {
            instances: { min: 1, max: cloud.max },
            using: {
              provider: 'vsphere',
              url: started().url,
              datacenter: 'DC0',
              folder: cloud.folder,
              template: 'DC0_H0_VM0',
              cluster: 'DC0_C0',
              insecure: true,
              ...using,
            },
          },
        },
      }),
    remoter: (pool, extra = {}) =>
      loadRemoter({
        pool,
        cloud: 'app',
        stateDir: stateDir as string,
        bootstrap: cloud.bootstrap,
        vsphere: {
          unit: cloud.unit,
          env: { VSPHERE_USER: started().user, VSPHERE_PASSWORD: started().password },
          log: createLogger({}, { level: 'error', write: () => {} }),
          taskTimeoutMs: 30_000,
          ...extra,
        },
      }),
  };
}
