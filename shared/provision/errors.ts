/**
 * One error class per provisioning failure, matched by `.name`. Messages are one line that names
 * the host and what to do; callers print them as they are.
 */

/** Base class: anything that stops provisioning a host. */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

/** Nothing answered SSH at host:port within the wait timeout (refused, unroutable, no banner). */
export class SshUnreachableError extends ProvisionError {
  override name = 'SshUnreachableError';
}

/** The server rejected our key for the user. */
export class SshAuthError extends ProvisionError {
  override name = 'SshAuthError';
}

/** The local private key file is missing, unreadable, encrypted or not a key. */
export class SshKeyFileError extends ProvisionError {
  override name = 'SshKeyFileError';
}

/** The host presented a key other than the one recorded in known_hosts. */
export class HostKeyMismatchError extends ProvisionError {
  override name = 'HostKeyMismatchError';
  constructor(
    readonly host: string,
    readonly expected: string,
    readonly got: string,
    readonly knownHostsFile: string,
    advice = 'If the machine was replaced, provision again with acceptNewHostKey; otherwise this may be an attack.',
  ) {
    super(`host key of ${host} changed: expected ${expected}, got ${got} (recorded in ${knownHostsFile}). ${advice}`);
  }
}

/** `node` is not installed (or not on PATH) on the target. */
export class NodeMissingError extends ProvisionError {
  override name = 'NodeMissingError';
}

/** The target's node is older than the agent needs. */
export class NodeTooOldError extends ProvisionError {
  override name = 'NodeTooOldError';
}

/** A remote command failed (install, start, stop); the message carries its output's tail. */
export class RemoteCommandError extends ProvisionError {
  override name = 'RemoteCommandError';
}

/** The agent artifact is missing or does not match its manifest. */
export class ArtifactError extends ProvisionError {
  override name = 'ArtifactError';
}

/** Strict checking found no recorded key for the host (nothing is trusted on first use). */
export class UnknownHostKeyError extends ProvisionError {
  override name = 'UnknownHostKeyError';
}

/** A remote file could not be read over SFTP: missing, larger than allowed, or unreadable. */
export class RemoteFileError extends ProvisionError {
  override name = 'RemoteFileError';
  constructor(
    message: string,
    readonly reason: 'missing' | 'too-large' | 'unreadable',
  ) {
    super(message);
  }
}
