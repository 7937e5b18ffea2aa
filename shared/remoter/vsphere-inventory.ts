import type { VsphereUsingDefinition } from '../config/vsphere-schema.ts';
import type { VsphereClient } from './vsphere-client.ts';
import { VsphereSetupError } from './vsphere-errors.ts';
import { networkChange } from './vsphere-network.ts';
import type { MoRef, XmlNode } from './vsphere-xml.ts';

/**
 * The objects a cloud's paths name, looked up once per remoter (inventory paths are stable; a
 * renamed folder needs a new remoter, as a changed config makes one). The pool's folder is
 * created on the first launch when missing; listing a pool whose folder does not exist finds nothing.
 */

export interface LaunchPlace {
  folder: MoRef;
  template: MoRef;
  pool: MoRef;
  datastore?: MoRef;
  /** The clone's RelocateSpec deviceChange: the network card moved to `using.network`. */
  deviceChange?: XmlNode[];
}

export class VsphereInventory {
  private folder: MoRef | undefined;
  private place: Promise<LaunchPlace> | undefined;

  constructor(
    private readonly client: VsphereClient,
    private readonly using: VsphereUsingDefinition,
  ) {}

  /** The pool's folder, or undefined while it does not exist. */
  async poolFolder(): Promise<MoRef | undefined> {
    this.folder ??= await this.client.findByInventoryPath(this.vmPath(this.using.folder));
    return this.folder;
  }

  /** Everything a clone needs; missing folders on the way to the pool's are created. */
  launchPlace(): Promise<LaunchPlace> {
    this.place ??= this.resolvePlace().catch((err: unknown) => {
      this.place = undefined;
      throw err;
    });
    return this.place;
  }

  private async resolvePlace(): Promise<LaunchPlace> {
    const u = this.using;
    const template = await this.need(this.vmPath(u.template), 'template');
    const pool = await this.need(
      u.resourcePool !== undefined ? this.hostPath(u.resourcePool) : `${this.hostPath(u.cluster ?? '')}/Resources`,
      u.resourcePool !== undefined ? 'resourcePool' : 'cluster',
    );
    const datastore =
      u.datastore !== undefined ? await this.need(`${u.datacenter}/datastore/${u.datastore}`, 'datastore') : undefined;
    const networkPath = u.network !== undefined ? `${u.datacenter}/network/${u.network}` : undefined;
    const deviceChange = networkPath
      ? [await networkChange(this.client, template, await this.need(networkPath, 'network'), networkPath)]
      : undefined;
    const folder = (await this.poolFolder()) ?? (await this.createFolders());
    this.folder = folder;
    return { folder, template, pool, ...(datastore ? { datastore } : {}), ...(deviceChange ? { deviceChange } : {}) };
  }

  private async createFolders(): Promise<MoRef> {
    let at = await this.need(`${this.using.datacenter}/vm`, 'datacenter');
    for (const part of this.using.folder.split('/')) {
      at = (await this.client.findChild(at, part)) ?? (await this.client.createFolder(at, part));
    }
    return at;
  }

  private async need(path: string, field: string): Promise<MoRef> {
    const ref = await this.client.findByInventoryPath(path);
    if (!ref) throw new VsphereSetupError(`using.${field}: '${path}' does not exist in vCenter`);
    return ref;
  }

  private vmPath(rel: string): string {
    return `${this.using.datacenter}/vm/${rel}`;
  }

  private hostPath(rel: string): string {
    return `${this.using.datacenter}/host/${rel}`;
  }
}
