import type {
  CommonOptions,
  CronResource,
  DirectoryResource,
  ExecResource,
  FileResource,
  GroupResource,
  LinkResource,
  Notification,
  PackageResource,
  RefLike,
  Resource,
  ResourceRef,
  ServiceResource,
  TemplateResource,
  UserResource,
} from './types.ts';

/**
 * Typed constructors: `file('/etc/motd', { content: 'hi\n', mode: '0644' })`. They only shape
 * data (no validation, no I/O) so clouds.ts stays cheap to load; validation happens when the
 * cloud is parsed (configure-schema.ts) and when the bundle is compiled.
 */

type Opts<R extends Resource, Key extends string> = Omit<R, 'type' | Key | 'requires' | 'notifies'> & CommonOptions;

/** The resource's ref, `type[name]`. */
export function refOf(resource: Resource): ResourceRef {
  return `${resource.type}[${'path' in resource ? resource.path : resource.name}]`;
}

function toRef(value: RefLike): ResourceRef {
  return typeof value === 'string' ? value : refOf(value);
}

/** Notifies' action follows from the target: services restart, execs run. */
function notification(entry: NonNullable<CommonOptions['notifies']>[number]): Notification {
  const spec = typeof entry === 'object' && 'resource' in entry ? entry : { resource: entry };
  const target = toRef(spec.resource);
  return { target, action: target.startsWith('service[') ? 'restart' : 'run', timing: spec.timing ?? 'delayed' };
}

function build<R extends Resource>(base: R, opts: CommonOptions): R {
  const out: R = { ...base };
  for (const key of Object.keys(out) as (keyof R)[]) if (out[key] === undefined) delete out[key];
  if (opts.requires?.length) out.requires = opts.requires.map(toRef);
  if (opts.notifies?.length) out.notifies = opts.notifies.map(notification);
  return out;
}

export function file(path: string, opts: Opts<FileResource, 'path'> = {}): FileResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'file', path, ...rest }, { requires, notifies });
}

export function directory(path: string, opts: Opts<DirectoryResource, 'path'> = {}): DirectoryResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'directory', path, ...rest }, { requires, notifies });
}

export function template(path: string, opts: Opts<TemplateResource, 'path'>): TemplateResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'template', path, ...rest }, { requires, notifies });
}

export function link(path: string, opts: Opts<LinkResource, 'path'>): LinkResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'link', path, ...rest }, { requires, notifies });
}

/** A system package (`package` is a reserved word in strict mode, hence `pkg`). */
export function pkg(name: string, opts: Opts<PackageResource, 'name'> = {}): PackageResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'package', name, ...rest }, { requires, notifies });
}

export function service(name: string, opts: Opts<ServiceResource, 'name'> = {}): ServiceResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'service', name, ...rest }, { requires, notifies });
}

export function exec(name: string, opts: Opts<ExecResource, 'name'> = {}): ExecResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'exec', name, ...rest }, { requires, notifies });
}

export function cron(name: string, opts: Opts<CronResource, 'name'>): CronResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'cron', name, ...rest }, { requires, notifies });
}

export function user(name: string, opts: Opts<UserResource, 'name'> = {}): UserResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'user', name, ...rest }, { requires, notifies });
}

export function group(name: string, opts: Opts<GroupResource, 'name'> = {}): GroupResource {
  const { requires, notifies, ...rest } = opts;
  return build({ type: 'group', name, ...rest }, { requires, notifies });
}
