import * as z from 'zod';

/**
 * The shape of every resource, checked when a cloud is parsed and again when a bundle is
 * compiled (resources may come from plugins or JSON). Strict: an unknown attribute is an error,
 * not silently dropped — a typo in `mode` must not produce a world-readable file.
 */

const single = (what: string) =>
  z
    .string()
    .min(1)
    .refine((s) => !/[\0\n\r]/.test(s), { error: `${what} must be a single line` });

/** Absolute and normalised: no '.', '..', '//' or trailing '/' (paths are resource identities). */
export const absolutePath = single('a path').refine(
  (p) =>
    p === '/' ||
    (p.startsWith('/') &&
      p
        .slice(1)
        .split('/')
        .every((s) => s !== '' && s !== '.' && s !== '..')),
  { error: (iss) => `expected an absolute, normalised path, got ${JSON.stringify(iss.input)}` },
);

const mode = z.string().regex(/^0?[0-7]{3}$|^[0-7]{4}$/, {
  error: (iss) => `expected an octal mode like '0644', got ${JSON.stringify(iss.input)}`,
});

/** Names of packages, services, users and groups: no spaces, no shell or ref metacharacters. */
const systemName = single('a name').regex(/^[A-Za-z0-9_][A-Za-z0-9_.@+:-]*$/, {
  error: (iss) => `expected a name of letters, digits and _ . @ + : -, got ${JSON.stringify(iss.input)}`,
});
const account = systemName;
const cronField = single('a cron field').regex(/^[0-9*/,\-A-Za-z]+$/, { error: 'expected a cron field like */5' });

const ref = single('a ref').regex(/^[a-z]+\[.+\]$/s, {
  error: (iss) => `expected a ref like 'file[/etc/motd]', got ${JSON.stringify(iss.input)}`,
});
const notification = z.strictObject({
  target: ref,
  action: z.enum(['restart', 'run']),
  timing: z.enum(['delayed', 'immediately']),
});
const common = { requires: z.array(ref).optional(), notifies: z.array(notification).optional() };
const ownership = { mode: mode.optional(), owner: account.optional(), group: account.optional() };

const templateValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.record(z.string(), templateValue)]),
);

export const resourceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('file'),
    path: absolutePath,
    content: z.string().optional(),
    source: z.string().min(1).optional(),
    ...ownership,
    ...common,
  }),
  z.strictObject({
    type: z.literal('directory'),
    path: absolutePath,
    recursive: z.boolean().optional(),
    ...ownership,
    ...common,
  }),
  z.strictObject({
    type: z.literal('template'),
    path: absolutePath,
    source: z.string().min(1).optional(),
    inline: z.string().optional(),
    variables: z.record(z.string(), templateValue).optional(),
    ...ownership,
    ...common,
  }),
  z.strictObject({ type: z.literal('link'), path: absolutePath, to: single('a link target'), ...common }),
  z.strictObject({
    type: z.literal('package'),
    name: systemName,
    version: single('a version').optional(),
    action: z.enum(['install', 'remove']).optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('service'),
    name: systemName,
    enable: z.boolean().optional(),
    action: z.enum(['start', 'stop', 'restart']).optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('exec'),
    name: single('an exec name').refine((s) => !s.includes(']'), { error: "an exec name must not contain ']'" }),
    command: z.string().min(1).optional(),
    cwd: absolutePath.optional(),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' }),
        z.string(),
      )
      .optional(),
    user: account.optional(),
    creates: absolutePath.optional(),
    onlyIf: z.string().min(1).optional(),
    notIf: z.string().min(1).optional(),
    refreshOnly: z.boolean().optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('cron'),
    name: z.string().regex(/^[A-Za-z0-9_-]+$/, { error: "a cron name may contain only letters, digits, '-' and '_'" }),
    command: single('a cron command'),
    minute: cronField.optional(),
    hour: cronField.optional(),
    day: cronField.optional(),
    month: cronField.optional(),
    weekday: cronField.optional(),
    user: account.optional(),
    dir: absolutePath.optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('user'),
    name: account,
    uid: z.number().int().min(0).optional(),
    gid: z.union([account, z.number().int().min(0)]).optional(),
    home: absolutePath.optional(),
    shell: absolutePath.optional(),
    ...common,
  }),
  z.strictObject({ type: z.literal('group'), name: account, gid: z.number().int().min(0).optional(), ...common }),
]);
