import type { Command, OptionSpec } from './command.ts';
import { BOOTSTRAP_TIMEOUT_OPTION, POOL_OPTIONS, SSH_OPTIONS } from './options.ts';

/** For the commands that end instances (terminate, upgrade): skips the question. */
const YES_OPTION: OptionSpec = { type: 'boolean', short: 'y', description: 'do not ask for confirmation' };

/** For the commands that read a definition but touch no pool state (validate, simulate): no --state-dir. */
const DEFINITION_OPTIONS = { config: POOL_OPTIONS.config, cloud: POOL_OPTIONS.cloud } as Record<string, OptionSpec>;

/**
 * The command tree: the one place commands are registered. Each entry is data — name, options,
 * help — and `load`, which imports the handler's module only when that command runs: --help,
 * --version and a mistyped flag never load the AWS SDK, ssh2, libp2p or the config loader, and a
 * command loads only what it uses (the build keeps each handler a separate chunk).
 */
export const COMMANDS: readonly Command[] = [
  {
    name: 'bootstrap',
    summary: 'start a pool: create its key, launch `min` instances and wait until they see each other',
    usage: '[-c FILE] [--cloud NAME] [--state-dir DIR] [--timeout 60s | --no-wait] [--accept-new-host-key] [--json]',
    details: [
      'Idempotent: instances already running count towards min, and a repeated bootstrap launches nothing.',
      'ssh clouds: provisions `min` of the listed hosts over SSH (see docs/ssh.md); a host key is trusted',
      'on first use and recorded in <state dir>/known_hosts, a changed one is refused.',
      'ec2 clouds with `ssh`: waits until the launched instances run and answer SSH, provisions them like',
      'ssh hosts, and upgrades the running ones in place one at a time (see docs/ec2.md).',
      '--no-wait returns once the provider accepted the launches, e.g. on EC2 when this machine cannot',
      "reach the nodes' private addresses.",
    ].join('\n'),
    options: {
      ...POOL_OPTIONS,
      ...SSH_OPTIONS,
      timeout: BOOTSTRAP_TIMEOUT_OPTION,
      'no-wait': { type: 'boolean', description: 'launch and return without waiting for the nodes to see each other' },
    },
    load: () => import('./commands/bootstrap.ts'),
  },
  {
    name: 'status',
    summary: "show the pool's members, leader and recent scaling decisions as a node sees them",
    usage: '[-c FILE | --node URL] [--json]',
    details:
      'Reads GET /cluster and GET /leader of one node and GET /scaling of the leader. With --json: the\n' +
      'cluster view plus `leader` ({peerId, term, since, self} or null) and `scaling` (or null).',
    options: {
      ...POOL_OPTIONS,
      node: { type: 'string', placeholder: 'URL', description: 'ask this monitor, e.g. http://127.0.0.2:8642' },
    },
    load: () => import('./commands/status.ts'),
  },
  {
    name: 'list',
    summary: "list the pool's instances as the provider reports them",
    usage: '[-c FILE] [--cloud NAME] [--all] [--json]',
    options: {
      ...POOL_OPTIONS,
      all: { type: 'boolean', description: 'include terminated instances the provider still remembers' },
    },
    load: () => import('./commands/list.ts'),
  },
  {
    name: 'terminate',
    summary: 'terminate every instance of the pool (or of --cloud)',
    usage: '[-c FILE] [--cloud NAME] [--yes] [--accept-new-host-key] [--json]',
    options: {
      ...POOL_OPTIONS,
      ...SSH_OPTIONS,
      yes: YES_OPTION,
    },
    load: () => import('./commands/terminate.ts'),
  },
  {
    name: 'demo',
    summary: 'bootstrap a pool, follow its events (membership, leader, scaling, bundles), terminate it on Ctrl-C',
    usage: '[-c FILE] [--cloud NAME] [--state-dir DIR] [--timeout 60s] [--drive] [--json]',
    details:
      'Prints one line per event: membership (joined, suspect, dead, left, recovered, removed), leadership\n' +
      '(elected, lost, stepped down), scaling (decisions, retiring nodes), bundles (applied, failed, rollouts)\n' +
      'and agent upgrades. Kill an agent (e.g. kill -9 <pid> from `poolparty list`) to watch the pool notice\n' +
      'and the leader replace it.\n' +
      "--drive fakes load: it writes the file metric read by the cloud's expandWhen rule (a relative path is\n" +
      "under the pool's state dir) high until the pool reaches max, then low until it is back at min.\n" +
      'With --json: the bootstrap result, then one JSON event per line.',
    options: {
      ...POOL_OPTIONS,
      timeout: BOOTSTRAP_TIMEOUT_OPTION,
      drive: {
        type: 'boolean',
        description: 'after bootstrap, drive the scaling metric to grow the pool to max and shrink it back',
      },
    },
    load: () => import('./commands/demo.ts'),
  },
  {
    name: 'compile',
    summary: "build the cloud's configuration bundle (deterministic; named by its sha256)",
    usage: '[-c FILE] [--cloud NAME] [-o DIR] [--json]',
    details: [
      'Writes <DIR>/<sha256>.tar.gz: the resolved cloud (cloud.json), a chef-solo tree, a puppet manifest,',
      'verifiers and hooks. The same definition and files always give the same bytes and hash.',
      'Default DIR: <state dir>/bundles.',
    ].join('\n'),
    options: {
      ...POOL_OPTIONS,
      out: { type: 'string', short: 'o', placeholder: 'DIR', description: 'where to write the bundle' },
    },
    load: () => import('./commands/compile.ts'),
  },
  {
    name: 'show',
    summary: 'print the resolved definition (or the generated Chef recipe / puppet manifest)',
    usage: '[-c FILE] [--cloud NAME] [--recipe] [--manifest] [--json]',
    options: {
      ...POOL_OPTIONS,
      recipe: { type: 'boolean', description: "the Chef recipe generated from the cloud's resources" },
      manifest: { type: 'boolean', description: "the puppet manifest generated from the cloud's resources" },
    },
    load: () => import('./commands/show.ts'),
  },
  {
    name: 'configure',
    summary: "compile the cloud's bundle and roll it out to the running pool, node by node",
    usage: '[-c FILE] [--cloud NAME] [--via-ssh [INSTANCE]] [--max-unavailable N] [--timeout 10m] [--json]',
    details: [
      'Pushes the bundle to the leader over the pool network (needs the pool key in the state dir); the',
      'leader lets at most --max-unavailable nodes apply it at once. Exits 0 when every alive node applied',
      'it, 1 when the rollout halted (a node failed to apply it or its verifiers failed) or timed out.',
      '--via-ssh (ssh clouds, ec2 clouds with an ssh section), for pools only SSH reaches: the leader and',
      'the monitors are reached through SSH tunnels from one node, INSTANCE or the first running one.',
      "That node's host key must be in the pool's known_hosts (bootstrap records it).",
    ].join('\n'),
    positionals: 1,
    options: {
      ...POOL_OPTIONS,
      'via-ssh': {
        type: 'boolean',
        description: 'reach the pool through SSH tunnels from one node (INSTANCE: an id or a host)',
      },
      ...SSH_OPTIONS,
      'max-unavailable': {
        type: 'string',
        placeholder: 'N',
        description: "nodes applying at once (default: the agents' maxUnavailable, 1)",
      },
      timeout: { type: 'string', placeholder: 'DURATION', description: 'how long to follow the rollout (default 10m)' },
    },
    load: () => import('./commands/configure.ts'),
  },
  {
    name: 'upgrade',
    summary: 'roll a new agent artifact out to the running pool, node by node, with health gates and rollback',
    usage:
      '[-c FILE] [--artifact FILE] [--gate 2m] [--max-unavailable N] [--timeout 15m] [--rollback] [--yes] [--json]',
    details: [
      "Signs the artifact's manifest (version, sha256, size, build time) with the pool's upgrade key",
      '(<state dir>/upgrade.key, made by the first launch) and pushes it to the leader; nodes fetch it from',
      'peers, verify it with their own copy of the public key and restart into it one at a time, the leader',
      'last. A node not ready on the new agent within --gate returns to the previous one by itself and the',
      'rollout halts. Default artifact: dist/artifact/poolparty-agent.mjs (npm run build). Exits 0 when',
      'every node runs it, 1 when it halted or timed out. --rollback: every node returns to its previous agent.',
    ].join('\n'),
    options: {
      ...POOL_OPTIONS,
      artifact: { type: 'string', placeholder: 'FILE', description: 'the single-file agent to roll out' },
      gate: { type: 'string', placeholder: 'DURATION', description: 'how long a restarted node has to be ready (2m)' },
      'max-unavailable': { type: 'string', placeholder: 'N', description: 'nodes restarting at once (default 1)' },
      timeout: { type: 'string', placeholder: 'DURATION', description: 'how long to follow the rollout (default 15m)' },
      rollback: { type: 'boolean', description: 'return every node to the agent it ran before' },
      yes: YES_OPTION,
    },
    load: () => import('./commands/upgrade.ts'),
  },
  {
    name: 'ssh',
    summary: 'open a shell on a node of an ssh cloud or an ec2 cloud with ssh (or run a command there)',
    usage: '[-c FILE] [--cloud NAME] [INSTANCE] [-- command …] [--json]',
    details: [
      'INSTANCE is an instance id (as `poolparty list` shows it) or a host; default: the first running host.',
      "Runs the system ssh with the cloud's user and key, checking the host key against the pool's",
      'known_hosts (StrictHostKeyChecking=yes). Exits with the exit code of ssh. --json prints the',
      'command line instead of running it. ec2 clouds need an `ssh` section (docs/ec2.md); their host',
      'keys are recorded under the instance id (HostKeyAlias).',
    ].join('\n'),
    options: { ...POOL_OPTIONS },
    positionals: 1,
    passThrough: true,
    load: () => import('./commands/ssh.ts'),
  },
  {
    name: 'validate',
    summary: 'check a pool definition: the schema, then rules, timings, resolvers and credentials',
    usage: '[-c FILE] [--cloud NAME] [--json]',
    details: [
      'Lists every check as ok, warn or error: the schema (every problem at once), min and max, the',
      'metrics each rule reads, rules that could never act or that overlap, timings that judge a rule on',
      "one sample, a local cloud's resolver on this PATH, ssh keys readable, the EC2 region and where the",
      'AWS credentials would come from (names only, never a value; offline). Exit 0 when valid (warnings',
      'included), 2 when the definition is invalid.',
    ].join('\n'),
    options: DEFINITION_OPTIONS,
    load: () => import('./commands/validate.ts'),
  },
  {
    name: 'plan',
    summary: 'show what bootstrap, terminate or configure would do to the pool now, without doing it',
    usage: '[-c FILE] [--cloud NAME] [--json] [bootstrap|terminate|configure]',
    details: [
      'Lists the instances the provider reports and what the command would do with each: bootstrap',
      'launches up to `min` (running instances count towards it), terminate ends every live instance,',
      'configure rolls out the bundle compiled from the definition (its sha256) to every node not running',
      "it yet (asked through each node's monitor; one that does not answer is shown as unknown).",
      'Nothing is launched, ended, reconciled or written. Default: bootstrap.',
    ].join('\n'),
    positionals: 1,
    options: { ...POOL_OPTIONS },
    load: () => import('./commands/plan.ts'),
  },
  {
    name: 'simulate',
    summary: "replay a metric trace through the cloud's scaling rules and report every decision",
    usage:
      '[-c FILE] --trace FILE [--cloud NAME] [--launch-time 90s] [--apply-time 30s] [--max-per-step N] [--against FILE] [--svg FILE] [--json]',
    details: [
      "Runs the scaling step the agents run over the trace at the cloud's evaluation interval, on the",
      "trace's own clock, with modelled launch and bundle-apply times: every decision with its reason,",
      'the instance count over time, time below target and at max, instance-hours. Nothing is launched.',
      'Traces: CSV with a header (time,metric,value[,member]; ISO times), JSON lines with those fields,',
      'or the JSON of a Prometheus range query (member from its instance_id or instance label). --against runs a',
      'second definition on the same trace and prints the actions that differ and the totals.',
    ].join('\n'),
    options: {
      ...DEFINITION_OPTIONS,
      trace: { type: 'string', placeholder: 'FILE', description: 'the metric trace (.csv, .jsonl, Prometheus .json)' },
      'launch-time': { type: 'string', placeholder: 'DURATION', description: 'launch to joined (default 90s)' },
      'apply-time': { type: 'string', placeholder: 'DURATION', description: 'joined to bundle applied (default 30s)' },
      'max-per-step': { type: 'string', placeholder: 'N', description: 'launches per decision at most (default none)' },
      'failure-rate': { type: 'string', placeholder: 'SHARE', description: 'share of launches that never join (0..1)' },
      seed: { type: 'string', placeholder: 'N', description: 'seed of the launch failures (default 1)' },
      load: {
        type: 'string',
        placeholder: 'MODEL',
        description: "replay (default): members report the trace's values; spread: that load over the ready members",
      },
      metric: { type: 'string', placeholder: 'NAME', description: 'metric of Prometheus series without __name__' },
      against: { type: 'string', placeholder: 'FILE', description: 'another definition to compare on the trace' },
      svg: { type: 'string', placeholder: 'FILE', description: 'draw the metric, thresholds and instances to FILE' },
    },
    load: () => import('./commands/simulate.ts'),
  },
  {
    name: 'init',
    summary: 'write a commented starter clouds.ts in the working directory',
    usage: '[--provider local|ssh|ec2] [--force] [--json]',
    details:
      'The pool is named after the directory. An existing clouds.ts is never replaced without --force.\n' +
      'The result passes `poolparty validate` once the ssh hosts or ec2 ids are yours.',
    options: {
      provider: { type: 'string', placeholder: 'NAME', description: 'local (default), ssh or ec2' },
      force: { type: 'boolean', description: 'replace an existing clouds.ts' },
    },
    load: () => import('./commands/init.ts'),
  },
  {
    name: 'schema',
    summary: 'print the JSON Schema of a pool definition, for editors',
    usage: '',
    details: 'poolparty schema > clouds.schema.json, then "$schema": "./clouds.schema.json" in a clouds.json.',
    options: {},
    load: () => import('./commands/schema.ts'),
  },
  {
    name: 'completion',
    summary: 'print a shell completion script for bash, zsh or fish',
    usage: 'bash|zsh|fish',
    details: [
      'bash: eval "$(poolparty completion bash)" in ~/.bashrc',
      'zsh:  eval "$(poolparty completion zsh)" in ~/.zshrc, after compinit',
      'fish: poolparty completion fish > ~/.config/fish/completions/poolparty.fish',
      'Generated from this command table: every command and flag completes; -c, --state-dir and -o complete files.',
    ].join('\n'),
    positionals: 1,
    options: {},
    // The handler completes this very table: handed in here, not imported there (no cycle).
    load: async () => ({ run: (await import('./commands/completion.ts')).completionCommand(COMMANDS) }),
  },
];
