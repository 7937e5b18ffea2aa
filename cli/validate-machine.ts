import type { ResolverName } from '../shared/config/configure-schema.ts';
import type { CloudDefinition } from '../shared/config/schema.ts';
import { vsphereCredentialsCheck } from './validate-vsphere.ts';

/**
 * `poolparty validate`'s checks against this machine (cli/validate-checks.ts has those of the
 * definition itself): a resolver a local cloud's nodes will not find, an ssh key that cannot be
 * read, where AWS's region and credentials would come from. Pure: the machine comes in as Facts.
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

/** A check of one cloud (the caller adds the cloud's name). */
export type CloudCheck = Omit<Check, 'cloud'>;

/** Executables each resolver runs, in the order the agent tries them (agent/configure/*). */
export const RESOLVER_BINARIES: Record<ResolverName, readonly string[]> = {
  'chef-solo': ['chef-solo', 'cinc-solo'],
  itamae: ['itamae'],
  puppet: ['puppet'],
};

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
  if (using.provider === 'vsphere') return [vsphereCredentialsCheck(using, facts.env)];
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
