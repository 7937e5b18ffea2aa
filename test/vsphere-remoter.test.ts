import { describe, expect, it } from 'vitest';
import { VsphereConnectionError } from '../shared/remoter/vsphere-errors.ts';
import { MARK } from '../shared/remoter/vsphere-records.ts';
import { decodeGuestinfo } from '../shared/remoter/vsphere-user-data.ts';
import { optionValues } from '../shared/remoter/vsphere-values.ts';
import { list, obj, text } from '../shared/remoter/vsphere-xml.ts';
import { useSimRemoters } from './vsphere-sim/remoters.ts';
import { counting, methodOf } from './vsphere-sim/sim.ts';

/**
 * The vsphere remoter base against govmomi's vSphere simulator (a real implementation of the
 * vim25 API): clone + power on with guestinfo, listing in pages, terminate, a session ended
 * behind the remoter's back, a launch retried after its answer was lost, and TLS policies.
 */

const UNIT =
  '[Unit]\nDescription=test unit\n[Service]\nExecStart=/usr/bin/env node /opt/poolparty/poolparty-agent.mjs\n';
const vs = useSimRemoters(
  { folder: 'poolparty/tests', max: 50, unit: UNIT, bootstrap: ['/ip4/127.0.0.1/tcp/8643'] },
  'pp-vsphere-',
);

/** The VM's extraConfig and power state, read by another session. */
async function vmOf(name: string) {
  const c = vs.sim.client();
  const ref = await c.findByInventoryPath(`DC0/vm/poolparty/tests/${name}`);
  if (!ref) return undefined;
  const props = await c.properties(ref, ['config.extraConfig', 'runtime.powerState']);
  return { config: optionValues(props.get('config.extraConfig')), power: text(props.get('runtime.powerState')) };
}

describe('vsphere remoter base against the vSphere simulator', () => {
  it('launch clones the template into the pool folder with guestinfo and marks, and powers it on', async () => {
    const r = await vs.remoter(vs.pool('web'));
    const [vm, ...rest] = await r.launch({
      cloud: 'app',
      count: 1,
      clientToken: 'tok-1',
      tags: { 'poolparty:term': '3' },
    });
    expect(rest).toEqual([]);
    if (!vm) throw new Error('nothing launched');
    expect(vm.tags).toMatchObject({
      'poolparty:pool': 'web',
      'poolparty:cloud': 'app',
      'poolparty:token': 'tok-1',
      'poolparty:term': '3',
    });
    const seen = await vmOf(vm.id);
    expect(seen?.power).toBe('poweredOn');
    expect(seen?.config).toMatchObject({ [MARK.pool]: 'web', [MARK.cloud]: 'app', [MARK.token]: 'tok-1' });
    const cfg = seen?.config ?? {};
    expect(cfg['guestinfo.userdata.encoding']).toBe('gzip+base64');
    const script = decodeGuestinfo(cfg['guestinfo.userdata'] ?? '', cfg['guestinfo.userdata.encoding']);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain(`INSTANCE_ID=${vm.id}\n`);
    expect(script).toContain('systemctl enable --now poolparty-agent.service');
    const metadata = JSON.parse(decodeGuestinfo(cfg['guestinfo.metadata'] ?? '', cfg['guestinfo.metadata.encoding']));
    expect(metadata).toEqual({ 'instance-id': vm.id, 'local-hostname': vm.id });
    // The definition nodes carry has no credential: the URL's user info never reaches guestinfo.
    expect(script).not.toContain(vs.sim.password);
    const listed = await r.list({ pool: 'web', cloud: 'app' });
    expect(listed.map((i) => i.id)).toEqual([vm.id]);
    // Powered on, no VMware Tools heartbeat yet: booting.
    expect(listed[0]).toMatchObject({ state: 'pending' });
    expect(listed[0]?.privateIp).toBeUndefined();
    // Once Tools report an address and a green heartbeat (set in the simulator as Tools would): running.
    const c = vs.sim.client();
    const ref = await c.findByInventoryPath(`DC0/vm/poolparty/tests/${vm.id}`);
    if (!ref) throw new Error('VM not found');
    await c.reconfigure(ref, { 'SET.guest.ipAddress': '127.0.0.42', 'SET.guestHeartbeatStatus': 'green' });
    expect((await r.list({ pool: 'web', cloud: 'app' }))[0]).toMatchObject({
      state: 'running',
      privateIp: '127.0.0.42',
      monitor: 'http://127.0.0.42:8642',
    });
    // A task's fault is one line naming it: powering off a VM that is off.
    await c.powerOff(ref);
    await expect(c.powerOff(ref)).rejects.toThrow(
      /^vSphere .*power off .* failed: InvalidPowerState.*: the VM is not in the power state the operation needs$/,
    );
    expect((await r.list({ pool: 'web', cloud: 'app' }))[0]?.state).toBe('stopping');
    await c.powerOn(ref);
  });

  it('lists 30+ VMs of the pool across PropertyCollector pages, and not another pool in the same folder', async () => {
    const made = await (await vs.remoter(vs.pool('big'))).launch({ cloud: 'app', count: 31, clientToken: 'big-1' });
    expect(made).toHaveLength(31);
    await (await vs.remoter(vs.pool('other'))).launch({ cloud: 'app', count: 2, clientToken: 'other-1' });
    const { send, calls } = counting(vs.https.send);
    const listed = await (await vs.remoter(vs.pool('big'), { transport: send, pageSize: 5 })).list({ pool: 'big' });
    expect(listed.map((i) => i.id).sort()).toEqual(made.map((i) => i.id).sort());
    // 31 + 2 + web's 1 VM under the folder, 5 per page: one RetrievePropertiesEx and six continuations.
    expect(calls.filter((c) => c === 'RetrievePropertiesEx')).toHaveLength(1);
    expect(calls.filter((c) => c === 'ContinueRetrievePropertiesEx')).toHaveLength(6);
  }, 120_000);

  it('terminate powers off and destroys only this pool’s VMs; another pool’s are refused, gone ones skipped', async () => {
    const r = await vs.remoter(vs.pool('big'));
    const [a, b] = (await r.list({ pool: 'big' })).map((i) => i.id);
    if (!a || !b) throw new Error('nothing to terminate');
    const [foreign] = (await (await vs.remoter(vs.pool('other'))).list({ pool: 'other' })).map((i) => i.id);
    await expect(r.terminate([a, foreign as string])).rejects.toThrow(/not this pool's and cloud's: .*other/);
    expect(await vmOf(a)).toBeDefined();
    await r.terminate([a, b]);
    expect(await vmOf(a)).toBeUndefined();
    expect(await vmOf(b)).toBeUndefined();
    await r.terminate([a]);
    expect((await r.list({ pool: 'big' })).map((i) => i.id)).not.toContain(a);
  }, 60_000);

  it('logs in again once when its session was ended behind its back', async () => {
    const { send, calls } = counting(vs.https.send);
    const r = await vs.remoter(vs.pool('web'), { transport: send });
    expect(await r.list({ pool: 'web' })).toHaveLength(1);
    const admin = vs.sim.client();
    const sm = (await admin.serviceContent()).sessionManager;
    const props = await admin.properties(sm, ['currentSession', 'sessionList']);
    const current = text(obj(props.get('currentSession')).key);
    const keys = list(obj(props.get('sessionList')).UserSession).map((s) => text(obj(s).key));
    const others = keys.filter((k): k is string => k !== undefined && k !== current);
    expect(others.length).toBeGreaterThan(0);
    await admin.invoke(
      'TerminateSession',
      sm,
      others.map((k) => ({ name: 'sessionId', children: k })),
    );
    expect(await r.list({ pool: 'web' })).toHaveLength(1);
    expect(calls.filter((c) => c === 'Login')).toHaveLength(2);
  });

  it('a launch retried after its answer was lost finds the VM it made instead of cloning another', async () => {
    let armed = false;
    let dropped = 0;
    const { send, calls } = counting(async (req) => {
      if (methodOf(req.body) === 'CloneVM_Task') armed = true;
      const res = await vs.https.send(req);
      // The clone finished on the server; the answer saying so is lost on the way back.
      if (armed && methodOf(req.body) === 'RetrievePropertiesEx' && />success</.test(res.body)) {
        armed = false;
        dropped++;
        throw new VsphereConnectionError('connection reset (test)');
      }
      return res;
    });
    const r = await vs.remoter(vs.pool('retry'), { transport: send });
    await expect(r.launch({ cloud: 'app', count: 1, clientToken: 'lost-1' })).rejects.toThrow(/connection reset/);
    expect(dropped).toBe(1);
    const [vm] = await r.launch({ cloud: 'app', count: 1, clientToken: 'lost-1' });
    expect(calls.filter((c) => c === 'CloneVM_Task')).toHaveLength(1);
    const listed = await r.list({ pool: 'retry' });
    expect(listed.map((i) => i.id)).toEqual([vm?.id]);
    expect((await vmOf(vm?.id ?? ''))?.power).toBe('poweredOn');
  });

  it('verifies TLS: the self-signed certificate is refused unless insecure or its thumbprint is pinned', async () => {
    const strict = await vs.remoter(vs.pool('web', { insecure: false }), {});
    await expect(strict.list({ pool: 'web' })).rejects.toThrow(/cannot reach vSphere .*(self.signed|certificate)/i);
    for (const thumbprint of [vs.sim.sha1, vs.sim.sha256]) {
      const pinned = await vs.remoter(vs.pool('web', { insecure: false, thumbprint }));
      expect(await pinned.list({ pool: 'web' })).toHaveLength(1);
    }
    const wrong = await vs.remoter(
      vs.pool('web', {
        insecure: false,
        thumbprint: vs.sim.sha1.replace(/^../, vs.sim.sha1.startsWith('00') ? '11' : '00'),
      }),
    );
    await expect(wrong.list({ pool: 'web' })).rejects.toThrow(/not the pinned thumbprint/);
  });

  it('bad credentials and missing inventory paths are one-line errors naming what is wrong', async () => {
    const bad = await vs.remoter(vs.pool('web'), { env: { VSPHERE_USER: 'user', VSPHERE_PASSWORD: 'wrong' } });
    await expect(bad.list({ pool: 'web' })).rejects.toThrow(/^vSphere Login failed: InvalidLogin.*VSPHERE_USER/);
    // Without the variables, the user info clouds.ts gave the URL (kept beside the laptop's parse).
    const withUserInfo = new URL(vs.sim.url);
    withUserInfo.username = vs.sim.user;
    withUserInfo.password = vs.sim.password;
    const fromUrl = await vs.remoter(vs.pool('web', { url: withUserInfo.toString() }), { env: {} });
    expect(await fromUrl.list({ pool: 'web' })).toHaveLength(1);
    const none = await vs.remoter(vs.pool('web'), { env: {} });
    await expect(none.list({ pool: 'web' })).rejects.toThrow(/no vCenter credentials: set VSPHERE_USER/);
    const missing = await vs.remoter(vs.pool('web', { template: 'no-such-template' }));
    await expect(missing.launch({ cloud: 'app', count: 1, clientToken: 'x' })).rejects.toThrow(
      "using.template: 'DC0/vm/no-such-template' does not exist in vCenter",
    );
  });
});
