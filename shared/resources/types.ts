/**
 * Resources: what a machine should look like, declared in clouds.ts and compiled into both a
 * Chef-DSL recipe and a Puppet manifest. Every resource is plain JSON (it rides in cloud.json),
 * identified by a ref `type[name]` — `file[/etc/motd]`, `exec[migrate]`, `service[nginx]`.
 *
 * Only options every resolver can honour identically are offered: guards exist on `exec` alone
 * because Puppet has no guards on other types, and `cron` is a file in /etc/cron.d because
 * itamae has no cron resource.
 */

/** `type[name]`, e.g. 'file[/etc/motd]'. */
export type ResourceRef = string;

/** A resource object or its ref. */
export type RefLike = ResourceRef | Resource;

/** When a notified resource acts: at the end of the run (once, however often notified) or right after. */
export type NotifyTiming = 'delayed' | 'immediately';

export interface Notification {
  /** A `service[...]` (restarted) or an `exec[...]` (run). */
  target: ResourceRef;
  action: 'restart' | 'run';
  timing: NotifyTiming;
}

export interface CommonOptions {
  /** Resources applied before this one. */
  requires?: RefLike[];
  /**
   * Services to restart / execs to run when this resource changes, e.g. `notifies: [nginxService]`
   * or `notifies: [{ resource: 'service[nginx]', timing: 'immediately' }]`. Default timing 'delayed'.
   */
  notifies?: (RefLike | { resource: RefLike; timing?: NotifyTiming })[];
}

interface Common {
  requires?: ResourceRef[];
  notifies?: Notification[];
}

/** Owner/group are names; mode is an octal string like '0644' (files default '0644', directories '0755'). */
export interface Ownership {
  mode?: string;
  owner?: string;
  group?: string;
}

export interface FileResource extends Common, Ownership {
  type: 'file';
  path: string;
  /** UTF-8 text. */
  content?: string;
  /** A local file read when the bundle is built (relative to the config file's directory). */
  source?: string;
}

export interface DirectoryResource extends Common, Ownership {
  type: 'directory';
  path: string;
  /** Create missing parent directories too (they get default modes). */
  recursive?: boolean;
}

/**
 * A file rendered when the bundle is built, so every resolver writes identical bytes. Syntax:
 * `{{ name }}` or `{{ a.b }}` is replaced by the variable's value (string, number or boolean);
 * `\{{` writes a literal `{{`. An unknown variable is a compile error.
 */
export interface TemplateResource extends Common, Ownership {
  type: 'template';
  path: string;
  /** Template file, read when the bundle is built (relative to the config file's directory). */
  source?: string;
  /** Template text given inline (exactly one of source and inline). */
  inline?: string;
  variables?: Record<string, TemplateValue>;
}

export type TemplateValue = string | number | boolean | { [key: string]: TemplateValue };

export interface LinkResource extends Common {
  type: 'link';
  path: string;
  /** Where the symbolic link points. */
  to: string;
}

export interface PackageResource extends Common {
  type: 'package';
  name: string;
  version?: string;
  action?: 'install' | 'remove';
}

export interface ServiceResource extends Common {
  type: 'service';
  name: string;
  /** Start at boot (true) or not (false); unmanaged when absent. */
  enable?: boolean;
  /** 'restart' restarts on every run; a restart on change is `notifies` on the changing resource. */
  action?: 'start' | 'stop' | 'restart';
}

export interface ExecResource extends Common {
  type: 'exec';
  name: string;
  /** Shell command (`/bin/sh`). Default: the name. */
  command?: string;
  cwd?: string;
  /** Extra environment for the command and its guards. */
  env?: Record<string, string>;
  user?: string;
  /** Skip the command when this path exists. */
  creates?: string;
  /** Run only when this shell command exits 0. */
  onlyIf?: string;
  /** Skip when this shell command exits 0. */
  notIf?: string;
  /** Run only when notified (Chef `action :nothing`, Puppet `refreshonly`). */
  refreshOnly?: boolean;
}

export interface CronResource extends Common {
  type: 'cron';
  /** Letters, digits, '-' and '_' (it names the file /etc/cron.d/poolparty-<name>). */
  name: string;
  command: string;
  minute?: string;
  hour?: string;
  day?: string;
  month?: string;
  weekday?: string;
  /** Default 'root'. */
  user?: string;
  /** Directory of the cron file. Default '/etc/cron.d'. */
  dir?: string;
}

export interface UserResource extends Common {
  type: 'user';
  name: string;
  uid?: number;
  /** Primary group: a name or a number. */
  gid?: string | number;
  home?: string;
  shell?: string;
}

export interface GroupResource extends Common {
  type: 'group';
  name: string;
  gid?: number;
}

export type Resource =
  | FileResource
  | DirectoryResource
  | TemplateResource
  | LinkResource
  | PackageResource
  | ServiceResource
  | ExecResource
  | CronResource
  | UserResource
  | GroupResource;

export type ResourceType = Resource['type'];

/** What a plugin returns: resources, and optionally a Chef cookbook and verifiers riding along. */
export interface PluginInstance {
  kind: 'plugin';
  name: string;
  resources: Resource[];
  /** A cookbook directory copied into the bundle (its default recipe is appended to the run list). */
  cookbook?: string;
  /** Verifier specs (same shape as a cloud's `verifiers` entries). */
  verifiers?: unknown[];
}
