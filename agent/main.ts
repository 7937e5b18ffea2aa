import '../shared/polyfill.ts';

// The leader may load the AWS SDK; its multi-line 'Node < 22' notice would break JSON logs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../shared/log.ts';
import { VERSION } from '../shared/version.ts';
import { leveled, SYSTEMD_LEVELS } from './compose/log-levels.ts';

// The agent and its config schema are imported after the arguments are read, so
// --help and --version load neither libp2p nor zod.

const HELP = `poolparty-agent ${VERSION} — the PoolParty daemon run on every instance of a pool

Usage: poolparty-agent --config FILE

Options:
  -c, --config FILE   agent config (JSON, written by the CLI or a remoter base);
                      default: $POOLPARTY_AGENT_CONFIG or /etc/poolparty/agent.json
  --json              accepted for symmetry with the CLI: logs are always JSON lines
  -h, --help          show this help
  -v, --version       print the version

The agent joins its pool over libp2p, gossips its load, keeps the membership view and serves
its monitor (default port 8642). SIGTERM/SIGINT: leave the pool gracefully and exit 0.
Logs: one JSON object per line on stdout (POOLPARTY_LOG_LEVEL=trace|debug|info|warn|error|fatal, or
POOLPARTY_DEBUG=1 for debug), with journald's priority prefix when stdout is the journal.`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    process.stderr.write(`poolparty-agent: ${(err as Error).message} (see --help)\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (args.values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const file = args.values.config ?? process.env.POOLPARTY_AGENT_CONFIG ?? '/etc/poolparty/agent.json';
  const log = createLogger({ component: 'agent' });
  const [{ Agent }, { readAgentConfig }] = await Promise.all([import('./agent.ts'), import('./config.ts')]);
  let config: Awaited<ReturnType<typeof readAgentConfig>>;
  try {
    config = await readAgentConfig(file);
  } catch (err) {
    // Said once: to a person at a terminal as a line, else as the structured log line (the journal).
    if (process.stderr.isTTY) process.stderr.write(`poolparty-agent: ${(err as Error).message}\n`);
    else log.error('config-invalid', { error: (err as Error).message });
    return 2;
  }

  // An upgraded node runs its current artifact under this process (agent/upgrade/boot.ts).
  const boot = { dataDir: config.dataDir, configFile: file, log };
  const upgrade = await import('./upgrade/boot.ts');
  const supervising = await upgrade.superviseIfUpgraded(boot);
  if (supervising !== undefined) return supervising;

  // An agent must outlive bugs triggered by remote input: log and carry on.
  process.on('unhandledRejection', (reason) => log.error('unhandled-rejection', { error: String(reason) }));
  process.on('uncaughtException', (err) => log.error('uncaught-exception', { error: err.message, stack: err.stack }));

  // Its age is when the process started, not when its modules had loaded: a bootstrap spawns the
  // agents in order, each seeded with the ones before it, but loading took 0.2–1.4 s on a loaded
  // machine, so a later agent often counted as older than the pool's first. Older, joined through
  // a seed and blind to the first node's claim, it claimed term 1 beside it. With the
  // spawn order as the age order, the oldest of agents cut off from the first node has no seed
  // among them, never joins, and claims nothing (leader/seeds.ts).
  const startedAt = Math.floor(performance.timeOrigin);
  const agent = new Agent(config, { log: log.child({ instance: config.instanceId }), startedAt });
  try {
    await agent.start();
  } catch (err) {
    log.error('start-failed', { error: (err as Error).message });
    await agent.stop({ leave: false }).catch(() => undefined);
    return 1;
  }
  const stopNotifying = process.env.NOTIFY_SOCKET
    ? (await import('./systemd-ready.ts')).notifySystemdWhenReady({
        ready: () => agent.ready(),
        log: leveled(log, SYSTEMD_LEVELS),
      })
    : () => undefined;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      stopNotifying();
      log.info('signal', { signal });
      agent.stop({ leave: true }).then(
        () => resolve(upgrade.afterStop(boot)),
        (err: Error) => {
          log.error('stop-failed', { error: err.message });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
}

function parse() {
  return parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`poolparty-agent: ${err.message}\n`);
    process.exit(1);
  },
);
