import { spawnSync } from 'node:child_process';
import type { SystemdNamespace } from './systemd-namespace.ts';

/**
 * A point-to-point link between the private networks of two systemd namespaces
 * (systemd-namespace.ts): a veth pair created inside the first namespace's network with its peer
 * moved straight into the second's, so neither end ever exists in the host's network and the
 * host's interfaces are untouched. Each end gets an address of `subnet` (a /24 used only inside
 * these namespaces). The link dies with either namespace; unlink() removes it earlier.
 */
export const NS_LINK_SUBNET = '10.213.77';
const IFACE = 'pp-link0';

function ip(ns: SystemdNamespace, args: string[]): void {
  // nsenter -n only: the host's `ip` in the namespace's network.
  const r = spawnSync('nsenter', ['-t', String(ns.pid), '-n', 'ip', ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} in namespace ${ns.pid}: ${r.stderr || r.error}`);
}

/** Links `a` and `b`; returns their addresses on the link (`<subnet>.1` and `<subnet>.2`). */
export function linkNamespaces(a: SystemdNamespace, b: SystemdNamespace, subnet = NS_LINK_SUBNET): [string, string] {
  const [addrA, addrB] = [`${subnet}.1`, `${subnet}.2`];
  ip(a, ['link', 'add', IFACE, 'type', 'veth', 'peer', 'name', IFACE, 'netns', String(b.pid)]);
  for (const [ns, addr] of [
    [a, addrA],
    [b, addrB],
  ] as const) {
    ip(ns, ['addr', 'add', `${addr}/24`, 'dev', IFACE]);
    ip(ns, ['link', 'set', IFACE, 'up']);
  }
  return [addrA, addrB];
}

/** Removes the link (both ends go with it); quiet when it, or the namespace, is gone already. */
export function unlinkNamespaces(a: SystemdNamespace): void {
  spawnSync('nsenter', ['-t', String(a.pid), '-n', 'ip', 'link', 'del', IFACE], { timeout: 10_000 });
}
