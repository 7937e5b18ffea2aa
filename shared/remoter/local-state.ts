import { join } from 'node:path';
import { JsonStore } from './json-store.ts';
import type { InstanceState } from './types.ts';

/**
 * 'launching': recorded ahead of its spawn (write-ahead); a record still 'launching' when the lock
 * is free belongs to a launcher that died, and is settled by the next launch, terminate or
 * reconcile: adopted if its process runs, else terminated. Listed as 'pending'.
 */
export type LocalInstanceState = InstanceState | 'launching';

/**
 * The local provider's state: `<stateDir>/local/instances.json`, written atomically (temp file +
 * rename) under a lock file, because the CLI and a leader agent may both launch and terminate.
 */

export interface LocalInstance {
  /** 'local-N', unique within the pool's state dir. */
  id: string;
  pool: string;
  cloud: string;
  state: LocalInstanceState;
  address: string;
  p2pPort: number;
  monitorPort: number;
  /** Absent while 'launching' (not spawned yet, or spawned by a launcher that died before recording it). */
  pid?: number;
  /** Absent while 'launching': the identity is created with the instance. */
  peerId?: string;
  /** Epoch ms: when the launch was recorded, before the process was started. */
  launchedAt: number;
  terminatedAt?: number;
  clientToken: string;
  /** Shared by the instances started by one launch call. */
  launchId: string;
  tags: Record<string, string>;
  monitor: string;
  /** The agent's config; its path is also the marker that identifies the process in /proc. */
  configFile: string;
  logFile: string;
}

export interface LocalState {
  version: 1;
  /**
   * N of the next 'local-N'; never reused, so a log or event names one instance forever. Advanced
   * and written before any process of a launch is started.
   */
  nextIndex: number;
  instances: LocalInstance[];
}

export interface StoreOptions {
  /** Give up acquiring the lock after this long (ms). */
  lockTimeout: number;
  /** Retry interval while the lock is held by another live process (ms). */
  lockPoll: number;
  /** A lock file with no readable pid older than this is stale (ms): its writer died mid-write. */
  lockStaleAfter: number;
}

const EMPTY: LocalState = { version: 1, nextIndex: 1, instances: [] };

/**
 * The local provider's instance records, `<dir>/instances.json`, shared by the CLI and leader
 * agents: whole-file reads, updates under the pid lock of JsonStore.
 */
export class LocalStateStore {
  readonly file: string;
  readonly #store: JsonStore<LocalState>;

  constructor(
    readonly dir: string,
    opts: StoreOptions,
  ) {
    this.file = join(dir, 'instances.json');
    this.#store = new JsonStore<LocalState>({
      file: this.file,
      empty: () => structuredClone(EMPTY),
      check: (value): asserts value is LocalState => {
        const v = value as Partial<LocalState> | null;
        if (v?.version !== 1 || !Array.isArray(v.instances)) throw new Error('unknown format');
      },
      lockTimeout: opts.lockTimeout,
      lockPoll: opts.lockPoll,
      lockStaleAfter: opts.lockStaleAfter,
    });
  }

  /** The current state without locking: renames are atomic, so a read sees a whole file. */
  read(): Promise<LocalState> {
    return this.#store.read();
  }

  /** Runs `fn` on the state under the lock and writes what it leaves in the state; `commit` writes it meanwhile. */
  update<T>(fn: (state: LocalState, commit: () => Promise<void>) => Promise<T> | T): Promise<T> {
    return this.#store.update(fn);
  }
}
