import type { ResolverName } from '../shared/config/configure-schema.ts';
import type { CloudDefinition, PoolDefinition } from '../shared/config/schema.ts';
import { formatDuration } from '../shared/duration.ts';
import { parseRule, type Rule, type RuleExpr } from '../shared/scaling/rule.ts';
import { BUILTIN_METRICS } from '../shared/wire/metrics.ts';

/**
 * `poolparty validate`'s checks beyond the schema: what a definition that loads may still get
 * wrong (rules that can never act or that flap, timings that judge a rule on one sample, a
 * resolver or credentials the commands will not find). Pure: everything they need of the machine
 * comes in as `Facts`, so each check is tested without files, PATH or AWS.
 */

export type CheckLevel = 'ok' | 'warn' | 'error';

export interface Check {
  /** The cloud checked; absent for checks of the whole definition. */
  cloud?: string;
  /** What was checked, e.g. 'schema', 'rules', 'resolver', 'credentials'. */
  check: string;
  level: CheckLevel;
  message: string;
}

/** What the checks need to know of this machine; never a secret's value. */
export interface Facts {
  env: Readonly<Record<string, string | undefined>>;
  /** Whether a file (path as written, `~` allowed) can be read by this user. */
  readable(path: string): boolean;
  /** The executable's path on PATH, or undefined. */
  onPath(binary: string): string | undefined;
  /** The text of a file, or undefined when unreadable (for AWS's config: profile names and regions). */
  readText(path: string): string | undefined;
}

/** Executables each resolver runs, in the order the agent tries them (agent/configure/*). */
export const RESOLVER_BINARIES: Record<ResolverName, readonly string[]> = {
  'chef-solo': ['chef-solo', 'cinc-solo'],
  itamae: ['itamae'],
  puppet: ['puppet'],
};

export function checkPool(pool: PoolDefinition, clouds: readonly string[], facts: Facts): Check[] {
  const checks: Check[] = [{ check: 'schema', level: 'ok', message: `pool '${pool.name}' is well-formed` }];
  for (const name of clouds) {
    const cloud = pool.clouds[name];
    if (cloud) checks.push(...checkCloud(name, cloud, facts));
  }
  return checks;
}

export function checkCloud(name: string, cloud: CloudDefinition, facts: Facts): Check[] {
  return [
    ...instanceChecks(cloud),
    ...ruleChecks(cloud),
    ...metricTimingChecks(cloud),
    resolverCheck(cloud, facts),
    ...credentialChecks(cloud, facts),
  ].map((c) => ({ cloud: name, ...c }));
}

type CloudCheck = Omit<Check, 'cloud'>;

export function instanceChecks(cloud: CloudDefinition): CloudCheck[] {
  const { min, max } = cloud.instances;
  const checks: CloudCheck[] = [{ check: 'instances', level: 'ok', message: `min ${min} ≤ max ${max}` }];
  const s = cloud.scaling;
  const rules = s.expandWhen !== null || s.contractWhen !== null;
  if (rules && min === max) {
    checks.push({
      check: 'instances',
      level: 'warn',
      message: `min equals max (${min}): the scaling rules can never add or retire an instance`,
    });
  }
  if (s.expandWhen !== null && s.expandBy > max - min && max > min) {
    checks.push({
      check: 'scaling',
      level: 'warn',
      message: `expandBy ${s.expandBy} is more than max - min (${max - min}): an expansion is cut to what fits under max`,
    });
  }
  return checks;
}

const parse = (text: string | null, metrics: readonly string[]): Rule | undefined =>
  text === null ? undefined : parseRule(text, metrics);

/** The metrics a rule reads, with where each comes from; then timing and overlap warnings. */
export function ruleChecks(cloud: CloudDefinition): CloudCheck[] {
  const s = cloud.scaling;
  const custom = Object.keys(cloud.metrics);
  const known = [...BUILTIN_METRICS, ...custom];
  const expand = parse(s.expandWhen, known);
  const contract = parse(s.contractWhen, known);
  if (!expand && !contract) {
    return [{ check: 'rules', level: 'ok', message: 'no scaling rules: the leader keeps the cloud within min..max' }];
  }
  const checks: CloudCheck[] = [];
  for (const [key, rule] of [
    ['expandWhen', expand],
    ['contractWhen', contract],
  ] as const) {
    if (!rule) continue;
    const sources = rule.metrics.map((m) => `${m} (${custom.includes(m) ? 'defined' : 'built-in'})`);
    checks.push({ check: 'rules', level: 'ok', message: `${key} reads ${sources.join(', ')}` });
    if (rule.sustainMs > 0 && rule.sustainMs < s.interval) {
      checks.push({
        check: 'rules',
        level: 'warn',
        message: `${key} holds 'for ${formatDuration(rule.sustainMs)}', shorter than the evaluation interval (${formatDuration(s.interval)}): one evaluation decides`,
      });
    }
  }
  const unused = custom.filter((m) => !expand?.metrics.includes(m) && !contract?.metrics.includes(m));
  if (unused.length > 0) {
    checks.push({
      check: 'rules',
      level: 'ok',
      message: `metric${unused.length > 1 ? 's' : ''} ${unused.join(', ')} sampled but read by no rule (shown by status and the live page)`,
    });
  }
  const band = expand && contract ? overlap(expand.expr, contract.expr) : undefined;
  if (band) {
    checks.push({
      check: 'rules',
      level: 'warn',
      message: `${band} satisfies both expandWhen and contractWhen: the cloud would grow and shrink in turn`,
    });
  }
  return checks;
}

/**
 * For the common shape, one comparison on each side of the same metric and aggregate
 * ('load > 0.8' / 'load < 0.3'): the values both rules accept, when any. Compound rules are
 * left alone; their overlap depends on values the checks cannot know.
 */
export function overlap(expand: RuleExpr, contract: RuleExpr): string | undefined {
  if (expand.kind !== 'cmp' || contract.kind !== 'cmp') return undefined;
  if (expand.metric !== contract.metric || expand.agg !== contract.agg) return undefined;
  const up = expand.op === '>' || expand.op === '>=';
  const down = contract.op === '<' || contract.op === '<=';
  if (!up || !down) return undefined;
  const closed = expand.op === '>=' && contract.op === '<=';
  const overlaps = closed ? contract.value >= expand.value : contract.value > expand.value;
  if (!overlaps) return undefined;
  const name = expand.agg === 'avg' ? expand.metric : `${expand.agg}(${expand.metric})`;
  return `${name} between ${expand.value} and ${contract.value}`;
}

/** A custom metric sampled less often than a rule's window is judged on one stale sample. */
export function metricTimingChecks(cloud: CloudDefinition): CloudCheck[] {
  const checks: CloudCheck[] = [];
  const known = [...BUILTIN_METRICS, ...Object.keys(cloud.metrics)];
  const rules = [cloud.scaling.expandWhen, cloud.scaling.contractWhen].map((t) => parse(t, known));
  for (const [name, spec] of Object.entries(cloud.metrics)) {
    if (spec.timeout >= spec.every) {
      checks.push({
        check: 'metrics',
        level: 'warn',
        message: `${name}: timeout ${formatDuration(spec.timeout)} is not shorter than every ${formatDuration(spec.every)}: a slow sample delays the next`,
      });
    }
    for (const rule of rules) {
      if (!rule?.metrics.includes(name) || rule.sustainMs === 0 || spec.every <= rule.sustainMs) continue;
      checks.push({
        check: 'metrics',
        level: 'warn',
        message: `${name} is sampled every ${formatDuration(spec.every)}, longer than '${rule.text}' must hold: the rule is judged on one sample`,
      });
    }
  }
  return checks;
}

/**
 * Local nodes run on this machine, so their resolver must be on this PATH; ssh and ec2 nodes look
 * for theirs when they apply a bundle, which this machine cannot see.
 */
export function resolverCheck(cloud: CloudDefinition, facts: Facts): CloudCheck {
  const c = cloud.configure;
  const order = c.resolver.join(' → ');
  const configures = c.resources.length > 0 || c.cookbooks.length > 0 || c.runList.length > 0 || c.verifiers.length > 0;
  if (!configures) return { check: 'resolver', level: 'ok', message: 'nothing to configure: no bundle is built' };
  if (cloud.using.provider !== 'local') {
    return { check: 'resolver', level: 'ok', message: `${order}: each node applies with the first it has installed` };
  }
  for (const resolver of c.resolver) {
    for (const bin of RESOLVER_BINARIES[resolver]) {
      const path = facts.onPath(bin);
      if (path) return { check: 'resolver', level: 'ok', message: `${resolver} found at ${path}` };
    }
  }
  const wanted = c.resolver.flatMap((r) => RESOLVER_BINARIES[r]).join(', ');
  return {
    check: 'resolver',
    level: 'error',
    message: `none of ${wanted} is on PATH: local nodes could not apply the bundle (install one, or change resolver)`,
  };
}

export function credentialChecks(cloud: CloudDefinition, facts: Facts): CloudCheck[] {
  const using = cloud.using;
  if (using.provider === 'local') return [];
  if (using.provider === 'ssh') return [keyFileCheck(using.keyFile, facts)];
  const checks = [regionCheck(using.region, facts), awsCredentialsCheck(facts)];
  if (using.ssh) checks.push(keyFileCheck(using.ssh.keyFile, facts));
  return checks;
}

function keyFileCheck(keyFile: string, facts: Facts): CloudCheck {
  return facts.readable(keyFile)
    ? { check: 'credentials', level: 'ok', message: `ssh key ${keyFile} is readable` }
    : { check: 'credentials', level: 'error', message: `ssh key ${keyFile} cannot be read` };
}

function awsProfile(env: Facts['env']): string {
  return env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
}

function awsFile(env: Facts['env'], kind: 'config' | 'credentials'): string {
  const given = kind === 'config' ? env.AWS_CONFIG_FILE : env.AWS_SHARED_CREDENTIALS_FILE;
  return given || `~/.aws/${kind}`;
}

export function regionCheck(region: string | undefined, facts: Facts): CloudCheck {
  const env = facts.env;
  const from = region
    ? { region, where: 'the definition' }
    : env.AWS_REGION
      ? { region: env.AWS_REGION, where: 'AWS_REGION' }
      : env.AWS_DEFAULT_REGION
        ? { region: env.AWS_DEFAULT_REGION, where: 'AWS_DEFAULT_REGION' }
        : profileRegion(facts);
  if (from) return { check: 'region', level: 'ok', message: `${from.region} (from ${from.where})` };
  return {
    check: 'region',
    level: 'error',
    message: `no region: set using.region, AWS_REGION, or region in profile '${awsProfile(env)}' of ${awsFile(env, 'config')}`,
  };
}

function profileRegion(facts: Facts): { region: string; where: string } | undefined {
  const file = awsFile(facts.env, 'config');
  const text = facts.readText(file);
  if (text === undefined) return undefined;
  const profile = awsProfile(facts.env);
  const region = iniSection(
    text,
    profile === 'default' ? ['default', 'profile default'] : [`profile ${profile}`],
  ).region;
  return region ? { region, where: `profile '${profile}' in ${file}` } : undefined;
}

/** The keys of the first of `sections` in an INI text (AWS's config format); values only of that section. */
export function iniSection(text: string, sections: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let inside = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      if (inside) break;
      inside = sections.includes(header[1] as string);
      continue;
    }
    const kv = inside ? /^([\w.-]+)\s*=\s*(.*)$/.exec(line) : null;
    if (kv) out[kv[1] as string] = kv[2] as string;
  }
  return out;
}

/**
 * Where the SDK's credential chain would find credentials, checked offline: names of variables and
 * files only, never a value. An instance role (IMDS) cannot be seen from here, hence a warning.
 */
export function awsCredentialsCheck(facts: Facts): CloudCheck {
  const env = facts.env;
  const ok = (where: string): CloudCheck => ({
    check: 'credentials',
    level: 'ok',
    message: `AWS credentials from ${where}`,
  });
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return ok('the environment (AWS_ACCESS_KEY_ID)');
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    const missing = env.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    return { check: 'credentials', level: 'error', message: `${missing} is not set beside its pair` };
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) return ok('a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)');
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return ok('the container credentials endpoint');
  }
  const profile = awsProfile(env);
  const sections: [string, string[]][] = [
    [awsFile(env, 'credentials'), [profile]],
    [awsFile(env, 'config'), profile === 'default' ? ['default', 'profile default'] : [`profile ${profile}`]],
  ];
  for (const [file, names] of sections) {
    const text = facts.readText(file);
    if (text !== undefined && Object.keys(iniSection(text, names)).length > 0) {
      return ok(`profile '${profile}' in ${file}`);
    }
  }
  if (env.AWS_PROFILE) {
    return {
      check: 'credentials',
      level: 'error',
      message: `AWS_PROFILE names '${profile}', which no AWS file defines`,
    };
  }
  if (env.AWS_EC2_METADATA_DISABLED === 'true') {
    return { check: 'credentials', level: 'error', message: 'no AWS credentials in the environment or the AWS files' };
  }
  return {
    check: 'credentials',
    level: 'warn',
    message: 'no AWS credentials in the environment or the AWS files; an instance role, if any, is not checked offline',
  };
}

/** 'error' when any check failed, else 'warn' when any warned, else 'ok'. */
export function worst(checks: readonly Check[]): CheckLevel {
  if (checks.some((c) => c.level === 'error')) return 'error';
  return checks.some((c) => c.level === 'warn') ? 'warn' : 'ok';
}

export function checksText(file: string, checks: readonly Check[]): string {
  const lines = checks.map((c) => `${c.level.padEnd(5)}  ${c.cloud ? `${c.cloud}: ` : ''}${c.check}: ${c.message}`);
  const count = (level: CheckLevel) => checks.filter((c) => c.level === level).length;
  const errors = count('error');
  const warnings = count('warn');
  const verdict = errors > 0 ? 'invalid' : 'valid';
  return [...lines, '', `${file}: ${verdict} (${errors} error(s), ${warnings} warning(s))`].join('\n');
}
