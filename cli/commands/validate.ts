import { accessSync, constants, readFileSync } from 'node:fs';
import { loadPool, resolveCloud } from '../../shared/config/load.ts';
import type { PoolDefinition } from '../../shared/config/schema.ts';
import { expandHome } from '../../shared/remoter/ssh-util.ts';
import { which } from '../../shared/which.ts';
import { type CommandHandler, optionalString } from '../command.ts';
import { configFile } from '../config-file.ts';
import { type Check, checkPool, checksText, type Facts, worst } from '../validate-checks.ts';

export interface ValidateResult {
  file: string;
  valid: boolean;
  /** 'error' when the definition is invalid, 'warn' when valid with warnings, else 'ok'. */
  level: Check['level'];
  checks: Check[];
}

/** This machine as the checks see it: readable files, PATH, the environment. */
export function machineFacts(env: NodeJS.ProcessEnv = process.env): Facts {
  const path = (p: string) => expandHome(p);
  return {
    env,
    readable(p) {
      try {
        accessSync(path(p), constants.R_OK);
        return true;
      } catch {
        return false;
      }
    },
    onPath: (bin) => which(bin, env.PATH ?? ''),
    readText(p) {
      try {
        return readFileSync(path(p), 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * `poolparty validate`: the schema (every problem at once), then the checks a schema cannot make
 * (cli/validate-checks.ts). Exit 2 when the definition is invalid, so a script or CI can gate on
 * it; warnings alone exit 0. Options and help: cli/command-table.ts.
 */
export const run: CommandHandler = async ({ values }) => {
  const file = configFile(values, 'validate');
  let pool: PoolDefinition | undefined;
  let checks: Check[] = [];
  try {
    pool = await loadPool(file);
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'ConfigError') throw err;
    checks = schemaProblems(file, err.message);
  }
  if (pool) {
    // A --cloud the pool lacks is a usage error (exit 2 with the names), not a problem of the file.
    const flag = optionalString(values, 'cloud');
    const clouds = flag === undefined ? Object.keys(pool.clouds) : [resolveCloud(pool, flag).name];
    checks = checkPool(pool, clouds, machineFacts());
  }
  const level = worst(checks);
  const result: ValidateResult = { file, valid: level !== 'error', level, checks };
  return { data: result, text: checksText(file, checks), exitCode: result.valid ? 0 : 2 };
};

/** One error check per problem the loader listed ('<file>: N problems:' then one per line). */
export function schemaProblems(file: string, message: string): Check[] {
  const lines = message.split('\n');
  const listed = lines.length > 1 ? lines.slice(1).map((l) => l.trim()) : [message.replace(`${file}: `, '')];
  return listed.map((m) => ({ check: 'schema', level: 'error' as const, message: m }));
}
