import { RemoterError } from './types.ts';

/**
 * The EC2 remoter's failures, one class each (matched by `.name`). All extend RemoterError, so a
 * caller that only knows the remoter interface still catches them; callers that care (the
 * leader's backoff, the CLI's messages) match the specific name.
 */

/** Every subnet answered InsufficientInstanceCapacity (or had no free addresses). */
export class CapacityError extends RemoterError {
  override name = 'CapacityError';
  constructor(
    readonly instanceType: string,
    readonly subnetsTried: string[],
    detail: string,
  ) {
    super(
      `no ${instanceType} capacity in ${subnetsTried.length > 0 ? `subnet${subnetsTried.length > 1 ? 's' : ''} ${subnetsTried.join(', ')}` : 'the default subnet'}: ${detail}`,
    );
  }
}

/**
 * The credentials were refused (AuthFailure) or lack a permission (UnauthorizedOperation). The
 * remoter refuses every later call: retrying cannot fix a policy, only a config change can.
 */
export class AuthError extends RemoterError {
  override name = 'AuthError';
  constructor(
    readonly code: string,
    /** The EC2 action that was refused, e.g. 'RunInstances'. */
    readonly action: string,
    /** The principal's ARN when EC2's message names it. */
    readonly principal: string | undefined,
    detail: string,
  ) {
    super(
      `EC2 refused ${action} (${code})${principal ? ` for ${principal}` : ''}: ${detail}. ` +
        'Fix the credentials or the IAM policy (see docs/ec2.md), then recreate the remoter.',
    );
  }
}

/** A launch reused a client token with different parameters (count, image, …): a caller bug, not retried. */
export class IdempotencyMismatchError extends RemoterError {
  override name = 'IdempotencyMismatchError';
  constructor(readonly clientToken: string) {
    super(`client token '${clientToken}' was already used for a launch with different parameters`);
  }
}

/** EC2 kept throttling after every retry. */
export class ThrottledError extends RemoterError {
  override name = 'ThrottledError';
  constructor(
    readonly action: string,
    attempts: number,
  ) {
    super(`EC2 throttled ${action} (RequestLimitExceeded) through ${attempts} attempts; try again later`);
  }
}

/** terminate() was asked for instances that are not this pool's (or do not exist). */
export class TerminateRefusedError extends RemoterError {
  override name = 'TerminateRefusedError';
  constructor(
    readonly foreign: string[],
    readonly unknown: string[],
  ) {
    const parts: string[] = [];
    if (foreign.length > 0) parts.push(`not instances of this pool and cloud: ${foreign.join(', ')}`);
    if (unknown.length > 0) parts.push(`unknown instances: ${unknown.join(', ')}`);
    super(`refusing to terminate: ${parts.join('; ')}`);
  }
}

/** The generated user data is unusable: too large for EC2, or it would carry a credential. */
export class UserDataError extends RemoterError {
  override name = 'UserDataError';
}

/** Any other EC2 error, with its code. */
export class Ec2RequestError extends RemoterError {
  override name = 'Ec2RequestError';
  constructor(
    readonly code: string,
    readonly action: string,
    detail: string,
  ) {
    super(`EC2 ${action} failed (${code}): ${detail}`);
  }
}
