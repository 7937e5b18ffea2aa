import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { CliRun } from '../fixtures/run-cli.ts';
import { generateKey } from '../fixtures/sshd.ts';
import { waitFor } from '../fixtures/wait.ts';
import type { SystemdNamespace } from './systemd-namespace.ts';

const run = promisify(execFile);

/** The unit that runs sshd in the namespace, and where its files live there. */
const SSHD_UNIT = 'poolparty-test-sshd';
const SSHD_DIR = '/etc/poolparty-test-sshd';

/**
 * The namespace as an ssh host of a pool: a real OpenSSH server run by the namespace's systemd as a
 * unit (so it dies with the namespace), on 127.0.0.1:22 of the namespace's own network, accepting a
 * user key generated in `dir` (on the host) for root. `poolparty bootstrap` reaches it from the
 * host's file system through the namespace's network (cli below) and installs the agent the way
 * it installs it on any ssh host with systemd: the real unit, enabled and started by systemctl.
 */
export async function startNamespaceSshd(
  ns: SystemdNamespace,
  dir: string,
  /** Where sshd listens besides (or instead of) 127.0.0.1: '0.0.0.0' for a pool of linked namespaces. */
  listenAddress = '127.0.0.1',
): Promise<{ keyFile: string }> {
  const user = await generateKey(dir, 'user_key');
  mkdirSync(ns.path(SSHD_DIR), { recursive: true, mode: 0o700 });
  const hostKey = `${SSHD_DIR}/ssh_host_ed25519_key`;
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'systemd-ns', '-f', ns.path(hostKey)]);
  writeFileSync(ns.path(`${SSHD_DIR}/authorized_keys`), `${user.publicKey}\n`, { mode: 0o600 });
  // Only what provisioning needs: root by key, and SFTP for the uploads.
  const sshdConfig = `Port 22\nListenAddress ${listenAddress}\nHostKey ${hostKey}\nAuthorizedKeysFile ${SSHD_DIR}/authorized_keys
StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nSubsystem sftp internal-sftp\n`;
  writeFileSync(ns.path(`${SSHD_DIR}/sshd_config`), sshdConfig);
  writeFileSync(
    ns.path(`/etc/systemd/system/${SSHD_UNIT}.service`),
    `[Unit]\nDescription=sshd of the test namespace\n[Service]\nRuntimeDirectory=sshd\nRuntimeDirectoryMode=0755\nExecStart=/usr/sbin/sshd -D -e -f ${SSHD_DIR}/sshd_config\n`,
  );
  const reload = ns.run('systemctl', ['daemon-reload']);
  if (reload.status !== 0) throw new Error(`daemon-reload: ${reload.out}`);
  const start = ns.run('systemctl', ['start', SSHD_UNIT]);
  if (start.status !== 0) throw new Error(`systemctl start ${SSHD_UNIT}: ${start.out}`);
  await waitFor(
    'sshd in the namespace to listen on 127.0.0.1:22',
    () =>
      ns.run(process.execPath, [
        '-e',
        "require('node:net').connect(22,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
      ]).status === 0,
    { timeoutMs: 20_000, everyMs: 200 },
  );
  return { keyFile: user.keyFile };
}

/**
 * Runs `node <args>` on the host's file system inside the namespace's network only (nsenter -n):
 * the CLI reads its clouds.ts and state dir where the test wrote them and reaches sshd, the
 * agent's monitor and its libp2p listener on the namespace's loopback. Bounded by `timeoutMs`.
 */
export function cliInNamespaceNetwork(
  ns: SystemdNamespace,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const nsenter = ['-t', String(ns.pid), '-n', process.execPath, ...args];
    const opts = { env, timeout: timeoutMs, killSignal: 'SIGKILL' as const, maxBuffer: 64 << 20 };
    const child = execFile('nsenter', nsenter, opts, (err, stdout, stderr) => {
      // A number is the CLI's exit code; anything else (killed at the timeout, not started) is not an answer.
      if (err && typeof err.code !== 'number')
        reject(new Error(`${args.join(' ')}: ${err.message}; stderr: ${stderr}`));
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}
