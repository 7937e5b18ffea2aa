import { dirname, resolve } from 'node:path';
import { type Bundle, buildBundle } from '../shared/bundle/index.ts';
import { resolveCloud } from '../shared/config/load.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { COMPILE_ERRORS } from './compile-errors.ts';

/** What compiling needs of a command's pool context: the definition and the file it came from. */
export interface CompileSource {
  pool: PoolDefinition;
  /** Relative sources and cookbooks are relative to this file. */
  configFile: string;
}

/**
 * Builds the cloud's bundle (pure and deterministic: the same definition and files give the same
 * bytes). Relative sources and cookbooks are relative to the config file. A builder error keeps
 * its class and gets the file and cloud in front of its message.
 */
export async function compileCloud(ctx: CompileSource, cloudFlag: string | undefined): Promise<Bundle> {
  const { name, cloud } = resolveCloud(ctx.pool, cloudFlag);
  try {
    return await buildBundle({
      pool: ctx.pool.name,
      cloud: name,
      definition: cloud,
      configure: cloud.configure,
      baseDir: dirname(resolve(ctx.configFile)),
    });
  } catch (err) {
    if (err instanceof Error && COMPILE_ERRORS.has(err.name)) {
      err.message = `${ctx.configFile}: clouds.${name}: ${err.message}`;
    }
    throw err;
  }
}

/** Whether a cloud has anything to configure: without resources or cookbooks it gets no bundle. */
export function hasConfiguration(ctx: Pick<CompileSource, 'pool'>, cloud: string): boolean {
  const c = ctx.pool.clouds[cloud]?.configure;
  return (
    c !== undefined &&
    (c.resources.length > 0 || c.cookbooks.length > 0 || c.runList.length > 0 || c.verifiers.length > 0)
  );
}

/**
 * The cloud's bundle as a launch hands it to new instances (none without anything to configure),
 * with one progress line naming what was compiled.
 */
export async function launchBundle(
  ctx: CompileSource,
  cloud: string,
  progress?: (line: string) => void,
): Promise<{ sha256: string; bytes: Buffer } | undefined> {
  if (!hasConfiguration(ctx, cloud)) return undefined;
  const built = await compileCloud(ctx, cloud);
  progress?.(`compiled bundle ${built.sha256.slice(0, 12)} for cloud ${cloud} (${built.bytes.length} bytes)`);
  return { sha256: built.sha256, bytes: built.bytes };
}
