import { setTimeout as sleep } from 'node:timers/promises';
import { VSPHERE_REMOTER_DEFAULTS } from './remoter-tunables.ts';
import { VsphereConnectionError, VsphereFaultError } from './vsphere-errors.ts';
import { httpsTransport, type SoapTransport, type TlsPolicy } from './vsphere-transport.ts';
import { extraConfigNodes, faultName, type ObjectContent, objectContent, sessionLost } from './vsphere-values.ts';
import {
  el,
  envelope,
  list,
  type MoRef,
  moEl,
  moRef,
  obj,
  parseBody,
  SoapParseError,
  text,
  typeOf,
  type XmlNode,
  type XmlValue,
} from './vsphere-xml.ts';

/**
 * A thin typed client of the few vim25 SOAP calls the vSphere remoter needs: a session (Login,
 * Logout; NotAuthenticated — an expired or ended session — logs in again once and repeats the
 * call), inventory lookups, clone/power/destroy tasks polled to their end with backoff and a bound,
 * and PropertyCollector reads page by page (RetrievePropertiesEx with maxObjects, then
 * ContinueRetrievePropertiesEx while vCenter hands back a token).
 */

export interface VsphereClientOptions {
  /** https://host/sdk */
  url: string;
  user: string;
  password: string;
  tls?: TlsPolicy;
  /** Another round trip (tests); default https with `tls`. */
  transport?: SoapTransport;
  /** Bounds and polling (ms); each defaults to VSPHERE_REMOTER_DEFAULTS (remoter-tunables.ts). */
  requestTimeoutMs?: number;
  taskTimeoutMs?: number;
  taskPollMs?: number;
}

interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  searchIndex: MoRef;
  sessionManager: MoRef;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };
// vCenter 6.7 and later speak this version; the calls used here are older than it.
const SOAP_ACTION = 'urn:vim25/6.7';

export class VsphereClient {
  private readonly url: URL;
  private readonly send: SoapTransport;
  private readonly closeTransport: () => void;
  private cookie: string | undefined;
  private content: ServiceContent | undefined;
  private loggingIn: Promise<void> | undefined;

  constructor(private readonly opts: VsphereClientOptions) {
    this.url = new URL(opts.url);
    if (opts.transport) {
      this.send = opts.transport;
      this.closeTransport = () => {};
    } else {
      const t = httpsTransport(opts.tls ?? {}, opts.requestTimeoutMs ?? VSPHERE_REMOTER_DEFAULTS.requestTimeoutMs);
      this.send = t.send;
      this.closeTransport = t.close;
    }
  }

  /** Ends the session (best effort) and closes the connections. */
  async close(): Promise<void> {
    try {
      if (this.cookie && this.content) await this.raw('Logout', this.content.sessionManager, []);
    } catch {
      // The session may already be gone; closing must not fail on it.
    } finally {
      this.cookie = undefined;
      this.closeTransport();
    }
  }

  async serviceContent(): Promise<ServiceContent> {
    if (this.content) return this.content;
    const r = obj(await this.raw('RetrieveServiceContent', SERVICE_INSTANCE, []));
    const ref = (k: string) => {
      const m = moRef(r[k]);
      if (!m) throw new VsphereConnectionError(`vSphere's service content has no ${k}`);
      return m;
    };
    this.content = {
      rootFolder: ref('rootFolder'),
      propertyCollector: ref('propertyCollector'),
      searchIndex: ref('searchIndex'),
      sessionManager: ref('sessionManager'),
    };
    return this.content;
  }

  /** Logs in (again): one at a time, however many calls found the session gone. */
  login(): Promise<void> {
    this.loggingIn ??= (async () => {
      const sc = await this.serviceContent();
      this.cookie = undefined;
      await this.raw('Login', sc.sessionManager, [el('userName', this.opts.user), el('password', this.opts.password)]);
      if (!this.cookie) throw new VsphereConnectionError('vSphere accepted the login but set no session cookie');
    })().finally(() => {
      this.loggingIn = undefined;
    });
    return this.loggingIn;
  }

  /** A method call in the session; NotAuthenticated → one new login, then the call again. */
  async invoke(method: string, self: MoRef, args: (XmlNode | undefined)[]): Promise<XmlValue> {
    if (!this.cookie) await this.login();
    try {
      return await this.raw(method, self, args);
    } catch (err) {
      if (!(err instanceof VsphereFaultError) || err.fault !== 'NotAuthenticated') throw err;
      await this.login();
      return this.raw(method, self, args);
    }
  }

  async findByInventoryPath(path: string): Promise<MoRef | undefined> {
    const sc = await this.serviceContent();
    return moRef(await this.invoke('FindByInventoryPath', sc.searchIndex, [el('inventoryPath', path)]));
  }

  /** The direct child of a folder (or datacenter, resource pool) with this name. */
  async findChild(parent: MoRef, name: string): Promise<MoRef | undefined> {
    const sc = await this.serviceContent();
    return moRef(await this.invoke('FindChild', sc.searchIndex, [moEl('entity', parent), el('name', name)]));
  }

  async createFolder(parent: MoRef, name: string): Promise<MoRef> {
    const ref = moRef(await this.invoke('CreateFolder', parent, [el('name', name)]));
    if (!ref) throw new VsphereConnectionError(`CreateFolder '${name}' answered no folder`);
    return ref;
  }

  /** Clones `template` as `name` into `folder`, powered off, with `extraConfig`; resolves to the new VM. */
  async cloneVm(input: {
    template: MoRef;
    folder: MoRef;
    name: string;
    pool: MoRef;
    datastore?: MoRef;
    deviceChange?: XmlNode[];
    extraConfig: Record<string, string>;
  }): Promise<MoRef> {
    const location = [input.datastore ? moEl('datastore', input.datastore) : undefined, moEl('pool', input.pool)];
    const spec = el('spec', [
      el('location', [...location, ...(input.deviceChange ?? [])]),
      el('template', 'false'),
      el('config', extraConfigNodes(input.extraConfig)),
      el('powerOn', 'false'),
    ]);
    const task = await this.task('CloneVM_Task', input.template, [
      moEl('folder', input.folder),
      el('name', input.name),
      spec,
    ]);
    const vm = moRef(await this.waitTask(task, `clone ${input.name}`));
    if (!vm) throw new VsphereConnectionError(`CloneVM_Task for ${input.name} finished without a VM`);
    return vm;
  }

  async reconfigure(vm: MoRef, extraConfig: Record<string, string>): Promise<void> {
    await this.waitTask(
      await this.task('ReconfigVM_Task', vm, [el('spec', extraConfigNodes(extraConfig))]),
      'reconfigure',
    );
  }

  async powerOn(vm: MoRef): Promise<void> {
    await this.waitTask(await this.task('PowerOnVM_Task', vm, []), `power on ${vm.value}`);
  }

  async powerOff(vm: MoRef): Promise<void> {
    await this.waitTask(await this.task('PowerOffVM_Task', vm, []), `power off ${vm.value}`);
  }

  async destroy(vm: MoRef): Promise<void> {
    await this.waitTask(await this.task('Destroy_Task', vm, []), `destroy ${vm.value}`);
  }

  /** Properties of the objects of `type` under `root` (a folder's children, recursively), every page. */
  async retrieve(root: MoRef, type: string, paths: string[], maxObjects: number): Promise<ObjectContent[]> {
    const traverse = (name: string, t: string, path: string, next: string[]) =>
      el(
        'selectSet',
        [
          el('name', name),
          el('type', t),
          el('path', path),
          el('skip', 'false'),
          ...next.map((n) => el('selectSet', [el('name', n)])),
        ],
        { 'xsi:type': 'TraversalSpec' },
      );
    const objectSet = el('objectSet', [
      moEl('obj', root),
      el('skip', 'true'),
      traverse('folderChildren', 'Folder', 'childEntity', ['folderChildren']),
    ]);
    return this.collect(
      el('specSet', [el('propSet', [el('type', type), ...paths.map((p) => el('pathSet', p))]), objectSet]),
      maxObjects,
    );
  }

  /** Properties of one object; a property that is unset is absent from the map. */
  async properties(ref: MoRef, paths: string[]): Promise<Map<string, XmlValue>> {
    const spec = el('specSet', [
      el('propSet', [el('type', ref.type), ...paths.map((p) => el('pathSet', p))]),
      el('objectSet', [moEl('obj', ref), el('skip', 'false')]),
    ]);
    return (await this.collect(spec, 1))[0]?.props ?? new Map();
  }

  private async collect(spec: XmlNode, maxObjects: number): Promise<ObjectContent[]> {
    const pc = (await this.serviceContent()).propertyCollector;
    const out: ObjectContent[] = [];
    let page = obj(
      await this.invoke('RetrievePropertiesEx', pc, [spec, el('options', [el('maxObjects', String(maxObjects))])]),
    );
    for (;;) {
      for (const o of list(page.objects)) out.push(objectContent(o));
      const token = text(page.token);
      if (!token) return out;
      page = obj(await this.invoke('ContinueRetrievePropertiesEx', pc, [el('token', token)]));
    }
  }

  private async task(method: string, self: MoRef, args: XmlNode[]): Promise<MoRef> {
    const ref = moRef(await this.invoke(method, self, args));
    if (!ref) throw new VsphereConnectionError(`${method} answered no task`);
    return ref;
  }

  /** Polls a task until it succeeds (its result) or fails (its fault, as VsphereFaultError). */
  async waitTask(task: MoRef, what: string): Promise<XmlValue> {
    const bound = this.opts.taskTimeoutMs ?? VSPHERE_REMOTER_DEFAULTS.taskTimeoutMs;
    const started = Date.now();
    let wait = this.opts.taskPollMs ?? VSPHERE_REMOTER_DEFAULTS.taskPollMs;
    for (;;) {
      const info = await this.properties(task, ['info.state', 'info.error', 'info.result', 'info.descriptionId']);
      const state = text(info.get('info.state'));
      if (state === 'success') return info.get('info.result');
      if (state === 'error') {
        const error = obj(info.get('info.error'));
        const name = text(info.get('info.descriptionId')) ?? what;
        throw new VsphereFaultError(faultName(error.fault), `${name} (${what})`, text(error.localizedMessage) ?? '');
      }
      if (Date.now() - started > bound)
        throw new VsphereConnectionError(`vSphere task ${task.value} (${what}) did not finish within ${bound} ms`);
      await sleep(wait);
      wait = Math.min(2000, wait * 1.5);
    }
  }

  /** One POST: the returnval of `<Method>Response`, or the fault as VsphereFaultError. */
  private async raw(method: string, self: MoRef, args: (XmlNode | undefined)[]): Promise<XmlValue> {
    const res = await this.send({
      url: this.url,
      body: envelope(method, self, args),
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        soapaction: SOAP_ACTION,
        ...(this.cookie ? { cookie: this.cookie } : {}),
      },
    });
    if (res.cookie) this.cookie = res.cookie;
    let body: ReturnType<typeof parseBody>;
    try {
      body = parseBody(res.body);
    } catch (err) {
      if (!(err instanceof SoapParseError)) throw err;
      throw new VsphereConnectionError(`${method}: HTTP ${res.status} from ${this.url.host}: ${err.message}`);
    }
    const fault = obj(body.Fault);
    if (body.Fault !== undefined) {
      const detail = obj(fault.detail);
      const [element] = Object.keys(detail).filter((k) => !k.startsWith('@_'));
      const name = typeOf(detail[element ?? '']) ?? element?.replace(/Fault$/, '') ?? 'ServerFault';
      throw new VsphereFaultError(name, method, text(fault.faultstring) ?? '');
    }
    const returnval = obj(body[`${method}Response`]).returnval;
    if (sessionLost(returnval)) throw new VsphereFaultError('NotAuthenticated', method, '');
    return returnval;
  }
}
