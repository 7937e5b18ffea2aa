import type { ResolverName } from '../../shared/config/configure-schema.ts';
import type { LogSink } from './process.ts';

/**
 * A resolver turns an unpacked bundle into a configured machine with one tool (chef-solo,
 * itamae, puppet). The agent does not care which: it picks the first available one from the
 * cloud's list and reads the same ApplyResult from each.
 */

export interface ApplyOptions {
  /** The run is killed (whole process group) after this many ms. */
  timeout: number;
  /** Every output line of the tool, as it comes. */
  onLog?: LogSink;
  /** Environment for the tool (default: the agent's). */
  env?: NodeJS.ProcessEnv;
}

export interface ApplyResult {
  ok: boolean;
  resolver: ResolverName;
  /** Whether anything changed; null when the tool cannot tell (chef-solo). */
  changed: boolean | null;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** One line, set when !ok. */
  error?: string;
  /** Last output lines, for /bundle and logs. */
  tail: string[];
}

export interface Resolver {
  readonly name: ResolverName;
  /** true, or one line saying what is missing and what to install. */
  available(): Promise<true | string>;
  apply(bundleDir: string, opts: ApplyOptions): Promise<ApplyResult>;
}

/** None of the cloud's resolvers has its tool installed. */
export class NoResolverError extends Error {
  override name = 'NoResolverError';
}
