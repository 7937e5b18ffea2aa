import * as z from 'zod';
import { P2P_DEFAULT_PORT } from './tunables.ts';

/**
 * The `using: vsphere({...})` options of a cloud (docs/vsphere.md): where in vCenter the pool's
 * VMs are cloned from and to. Inventory paths are relative to the datacenter's folders, as vCenter
 * shows them (`folder` and `template` under its VM folder, `cluster` and `resourcePool` under its
 * host folder, `datastore` under its datastore folder, `network` under its network folder).
 *
 * Credentials never stay in the definition: the definition travels to every node in its agent
 * config. User info in `url` is taken out here (the output's url has none) and kept beside the
 * parsed object only (`vsphereUrlCredentials`), where JSON copies — what nodes get — lose it.
 */

/** What cloud-init's VMware datasource reads in guestinfo (vmware-rpctool keys) is limited by the VMX; keep it modest. */
export const GUESTINFO_USER_DATA_LIMIT = 64 * 1024;
export const VSPHERE_USER_INIT_DELIMITER = 'POOLPARTY_USER_INIT_EOF';

const path = (what: string) =>
  z
    .string()
    .min(1)
    .max(512)
    .refine((p) => !p.startsWith('/') && !p.endsWith('/') && !p.includes('//'), {
      error: `expected ${what} like 'a/b' (relative, no leading or trailing '/')`,
    });

const credentials = new WeakMap<object, { user: string; password: string }>();

export const vsphereUsingSchema = z
  .strictObject({
    provider: z.literal('vsphere'),
    /** vCenter's SDK URL, e.g. 'https://vcenter.example.com/sdk' ('/sdk' is added to a bare host). */
    url: z.url({ protocol: /^https$/, error: "expected an https URL like 'https://vcenter.example.com/sdk'" }),
    /** The datacenter's name (or path under folders), e.g. 'DC1'. */
    datacenter: path('a datacenter'),
    /** The VM folder the pool's VMs go to, under the datacenter's VM folder; created when missing. */
    folder: path('a VM folder'),
    /** The VM or template cloned for each node, under the datacenter's VM folder. */
    template: path('a template path'),
    /** The cluster whose root resource pool gets the VMs, under the host folder (or give resourcePool). */
    cluster: path('a cluster').optional(),
    /** A resource pool under the host folder, e.g. 'Cluster1/Resources/poolparty' (or give cluster). */
    resourcePool: path('a resource pool').optional(),
    /** The datastore for the clones' disks. Default: the template's. */
    datastore: path('a datastore').optional(),
    /**
     * The network the clones' first network card connects to, under the datacenter's network
     * folder: a standard network ('VM Network') or a distributed port group ('pg-render'; port
     * groups sit in that folder beside their switch, or in its subfolders: 'prod/pg-render').
     * Default: the template's.
     */
    network: path('a network').optional(),
    /** Skip TLS verification entirely (lab vCenters with self-signed certificates). Default false. */
    insecure: z.boolean().default(false),
    /** Trust exactly this certificate: its SHA-1 (as vCenter shows it) or SHA-256 fingerprint in hex. Default: none. */
    thumbprint: z
      .string()
      .regex(/^([0-9A-Fa-f]{2}:?){19}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, {
        error: "expected a SHA-1 or SHA-256 fingerprint like 'AB:CD:…'",
      })
      .optional(),
    /** libp2p TCP port of every node. Default 8643. */
    p2pPort: z.number().int().min(1).max(65535).default(P2P_DEFAULT_PORT),
    /** Extra shell run as root by the node bootstrap before the agent starts (e.g. install Node.js). */
    userData: z
      .string()
      .max(GUESTINFO_USER_DATA_LIMIT / 4)
      .refine((s) => !s.split('\n').includes(VSPHERE_USER_INIT_DELIMITER), {
        error: `must not contain a line '${VSPHERE_USER_INIT_DELIMITER}'`,
      })
      .optional(),
    /** Where a node downloads the single-file agent (https). Default: none — the template has /opt/poolparty/poolparty-agent.mjs. */
    agentUrl: z
      .url({ protocol: /^https$/, error: 'expected an https:// URL' })
      .refine((u) => !/[\s'"`$\\]/.test(u), { error: 'must not contain quotes, spaces, $ or backslashes' })
      .optional(),
    /** SHA-256 (hex) the downloaded agent must have. Recommended with agentUrl. */
    agentSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, { error: 'expected 64 lowercase hex characters' })
      .optional(),
  })
  .superRefine((u, ctx) => {
    if (u.agentSha256 !== undefined && u.agentUrl === undefined)
      ctx.addIssue({ code: 'custom', path: ['agentSha256'], message: 'agentSha256 needs agentUrl' });
    if ((u.cluster === undefined) === (u.resourcePool === undefined))
      ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'give exactly one of cluster and resourcePool' });
    if (u.insecure && u.thumbprint !== undefined)
      ctx.addIssue({ code: 'custom', path: ['insecure'], message: 'insecure and thumbprint exclude each other' });
    const url = new URL(u.url);
    if (url.password !== '' && url.username === '')
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'a password in the URL needs a user name' });
    if (url.search !== '' || url.hash !== '')
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected no query or fragment' });
  })
  .transform((u) => {
    const url = new URL(u.url);
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/sdk';
    const out = { ...u, url: url.toString() };
    if (user !== '') credentials.set(out, { user, password });
    return out;
  });

/** Options of the vsphere provider, as written in clouds.ts. */
export type VsphereOptions = Omit<z.input<typeof vsphereUsingSchema>, 'provider'>;
export type VsphereUsing = VsphereOptions & { provider: 'vsphere' };
/** The normalised options: plain JSON without credentials, it travels in every agent's config. */
export type VsphereUsingDefinition = z.output<typeof vsphereUsingSchema>;

/** The user info the cloud's `url` had in clouds.ts (the laptop's parse only; nodes never have it). */
export function vsphereUrlCredentials(using: VsphereUsingDefinition): { user: string; password: string } | undefined {
  return credentials.get(using);
}
