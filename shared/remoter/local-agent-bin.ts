import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { rollbackLaunchTarget } from './local-rollback-target.ts';
import { findPackageRoot, PackageRootError } from './package-root.ts';
import { RemoterError } from './types.ts';

/**
 * Which agent file a local remoter starts its instances with. New instances should run the
 * version the pool runs now: an agent that was upgraded runs an artifact out of its upgrade store
 * (`<dataDir>/upgrade/artifacts/<sha256>/poolparty-agent.mjs`), usually with no package around it
 * and with the POOLPARTY_AGENT_BIN it inherited from whoever launched the pool naming the OLD
 * version. So such a leader launches its own artifact; the package's launcher (or the env's) only
 * when it runs from the package.
 */

export interface AgentBinInput {
  /** Set by the caller (CLI, tests): always wins. */
  agentBin?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** The single-file artifact this code runs as, when it does (shared/package-files.ts). */
  running?: string | undefined;
  /** The local remoter's dir (`<stateDir>/local`): where the pool's copy of an artifact goes. */
  dir: string;
  /** The package's root; findPackageRoot unless a test stands in for a node with no package. */
  packageRoot?: () => string;
}

const STORED = /^[0-9a-f]{64}$/;

/** The sha256 of an artifact kept under `artifacts/<sha256>/` with its signed manifest, else null. */
export function storedArtifactSha(file: string): string | null {
  const sha = basename(dirname(file));
  if (!STORED.test(sha) || basename(dirname(dirname(file))) !== 'artifacts') return null;
  return existsSync(join(dirname(file), 'manifest.json')) ? sha : null;
}

/**
 * The file to start, in this order: the caller's; for a leader that runs an upgraded artifact,
 * what it returns to while a `--rollback` is under way (local-rollback-target.ts; a copy when that
 * is a stored artifact too), else a copy of its artifact; POOLPARTY_AGENT_BIN; the package's
 * bin/poolparty-agent.mjs; the artifact this code runs as (a node's /opt/poolparty file, no
 * package). A RemoterError when there is none.
 */
export async function localAgentBin(i: AgentBinInput): Promise<string> {
  if (i.agentBin !== undefined) return i.agentBin;
  const sha = i.running ? storedArtifactSha(i.running) : null;
  if (i.running && sha) {
    const back = await rollbackLaunchTarget(i.running);
    const backSha = back ? storedArtifactSha(back) : null;
    if (back) return backSha ? poolCopy(back, backSha, i.dir) : back;
    return poolCopy(i.running, sha, i.dir);
  }
  if (i.env.POOLPARTY_AGENT_BIN) return i.env.POOLPARTY_AGENT_BIN;
  try {
    return join((i.packageRoot ?? findPackageRoot)(), 'bin', 'poolparty-agent.mjs');
  } catch (err) {
    if (!(err instanceof PackageRootError)) throw err;
    if (i.running) return i.running;
    throw new RemoterError(`no agent to launch: ${err.message}, and POOLPARTY_AGENT_BIN is not set`);
  }
}

/**
 * The pool's own copy of an upgraded artifact, `<dir>/artifacts/<sha256>/` with its manifest (so
 * the agent started from it reports the version the manifest names, agent/upgrade/running.ts).
 * Not the leader's store path itself: that store prunes what it no longer runs, and a leader's
 * data dir goes with its instance, while the instances it launched live on and roll back to the
 * file they were started from. Whole or not at all (a temporary dir renamed into place).
 */
async function poolCopy(running: string, sha: string, dir: string): Promise<string> {
  const final = join(dir, 'artifacts', sha);
  const file = join(final, basename(running));
  if (file === running || existsSync(file)) return file;
  const tmp = `${final}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  await copyFile(running, join(tmp, basename(running)));
  await copyFile(join(dirname(running), 'manifest.json'), join(tmp, 'manifest.json'));
  // Another launcher may have put it there meanwhile: theirs is the same bytes, keep it.
  await rename(tmp, final).catch(async (err: NodeJS.ErrnoException) => {
    await rm(tmp, { recursive: true, force: true });
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  });
  return file;
}
