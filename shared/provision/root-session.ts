import { connectSsh, type SshSession } from './connect.ts';
import { ProvisionError, RemoteCommandError } from './errors.ts';
import { KnownHosts } from './known-hosts.ts';
import type { SessionOptions } from './provision-types.ts';

/** The provisioner's SSH session and how it runs scripts as root on it. */

export function openSession(opts: SessionOptions): Promise<SshSession> {
  return connectSsh({
    ...opts.target,
    knownHosts: opts.hostKeys ?? new KnownHosts(opts.knownHostsFile),
    acceptNewHostKey: opts.acceptNewHostKey,
    timeouts: opts.timeouts,
    onProgress: opts.onProgress,
  });
}

/** `sh -s` as root, or through `sudo -n` for another user (which must not need a password). */
export async function rootRunner(session: SshSession): Promise<string> {
  const id = await session.exec('id -u');
  if (id.stdout.trim() === '0') return 'sh -s';
  const sudo = await session.exec('sudo -n true');
  if (sudo.code !== 0) {
    const { user, host } = session.target;
    throw new ProvisionError(
      `${user}@${host} is not root and cannot use sudo without a password: log in as root or allow '${user}' passwordless sudo`,
    );
  }
  return 'sudo -n sh -s';
}

export async function runScript(session: SshSession, runner: string, script: string, what: string) {
  const r = await session.exec(runner, script);
  if (r.code !== 0) {
    const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-20).join(' | ');
    throw new RemoteCommandError(`${session.target.host}: could not ${what} (exit ${r.code ?? r.signal}): ${tail}`);
  }
  return r;
}
