import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AGENT_NODE_ENV } from '../../shared/agent-node-flags.ts';
import { defaultTunables } from '../../shared/config/tunables.ts';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';

/** Agents run as processes (`poolparty-agent --config FILE`): their configs, logs and modules. */

/**
 * Writes <dir>/<name>.json: an agent of pool 'footprint' on 127.0.0.1 with OS-picked ports, no
 * metrics, bundle or scaling block; returns the file.
 */
export async function writeLoopbackConfig(
  dir: string,
  name: string,
  opts: { keyFile: string; bootstrap: string[]; heartbeatInterval?: number },
): Promise<string> {
  const c: AgentConfig = {
    pool: 'footprint',
    cloud: 'web',
    instanceId: name,
    dataDir: join(dir, name),
    poolKeyFile: opts.keyFile,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: opts.bootstrap,
    monitor: { host: '127.0.0.1', port: 0, url: '' },
    tunables: defaultTunables(opts.heartbeatInterval),
    metrics: {},
  };
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(c));
  return file;
}

/** The first JSON log line of the agent's stdout whose msg is `msg` (e.g. 'agent-started'). */
export function logLine(child: ChildProcess, msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no '${msg}' within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => rej(new Error(`agent exited (${code}) before '${msg}'`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.includes(`"${msg}"`)) return;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o.msg !== msg) return;
        clearTimeout(t);
        res(o);
      } catch {
        // not a log line
      }
    });
  });
}

/** SIGTERM (the agent leaves and exits), SIGKILL after 3 s; resolves once it has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/**
 * The files and builtin modules Node's loaders report in the stderr of a process run with
 * NODE_DEBUG=esm,module: ES modules as they are translated, CommonJS files as they are loaded.
 */
export function loadedModules(debug: string): { files: string[]; builtins: string[] } {
  const files = new Set<string>();
  const builtins = new Set<string>();
  for (const m of debug.matchAll(/^ESM \d+: Translating (\w+) (\S+)$/gm)) {
    const [, kind, url] = m as unknown as [string, string, string];
    if (kind === 'BuiltinModule') builtins.add(url.replace(/^node:/, ''));
    else files.add(url.replace(/^file:\/\//, ''));
  }
  for (const m of debug.matchAll(/^MODULE \d+: load "([^"]+)" for module/gm)) files.add(m[1] as string);
  for (const m of debug.matchAll(/^MODULE \d+: load built-in module (\S+)$/gm)) {
    builtins.add((m[1] as string).replace(/^node:/, ''));
  }
  return { files: [...files], builtins: [...builtins] };
}

/**
 * The AGENT_NODE_ENV variables missing from the environment process `pid` started with, from
 * /proc/<pid>/environ (an empty list: all there). glibc's loader cuts GLIBC_TUNABLES in place
 * after its first tunable once it has read them all (2.36 here), so a value counts as there when
 * it is a non-empty `:`-separated prefix of ours.
 */
export function missingLaunchEnv(pid: number): string[] {
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return Object.entries(AGENT_NODE_ENV)
    .filter(([k, v]) => {
      const seen = environ.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
      return !seen || !(v === seen || v.startsWith(`${seen}:`));
    })
    .map(([k]) => k);
}
