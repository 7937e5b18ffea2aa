import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DescribeInstancesCommandInput,
  type EC2Client,
  type Instance,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import type { Logger } from '../log.ts';
import { AuthError, Ec2RequestError, ThrottledError } from './ec2-errors.ts';
import type { Ec2RemoterTunables } from './ec2-options.ts';
import { AUTH_CODES, errorCode, errorMessage, principalIn, shortAuthMessage, THROTTLING_CODES } from './ec2-request.ts';
import { RemoterError } from './types.ts';

/**
 * How the EC2 remoter base calls EC2: the SDK's own retries, then rounds of backoff while EC2
 * throttles; an auth failure is sticky (every later call fails at once, since retrying with the
 * same credentials only fills CloudTrail); errors become our named errors with EC2's code.
 */
export class Ec2Calls {
  private authFailure: AuthError | undefined;

  constructor(
    private readonly client: EC2Client,
    private readonly tunables: Ec2RemoterTunables,
    private readonly log: Logger,
  ) {}

  async describe(input: DescribeInstancesCommandInput, pageSize?: number): Promise<Instance[]> {
    try {
      return await this.send('DescribeInstances', async () => {
        const out: Instance[] = [];
        const pages = paginateDescribeInstances({ client: this.client, ...(pageSize ? { pageSize } : {}) }, input);
        for await (const page of pages) {
          for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
        }
        return out;
      });
    } catch (err) {
      throw this.wrap(err, 'DescribeInstances');
    }
  }

  /** One EC2 call: SDK retries, then rounds of backoff on throttling; auth failures become sticky. */
  async send<T>(action: string, call: () => Promise<T>): Promise<T> {
    const { throttleRetries, throttleBackoff, throttleBackoffMax } = this.tunables;
    for (let round = 0; ; round++) {
      try {
        return await call();
      } catch (err) {
        const code = errorCode(err);
        if (THROTTLING_CODES.has(code)) {
          if (round >= throttleRetries) throw new ThrottledError(action, round + 1);
          const wait = Math.min(throttleBackoffMax, throttleBackoff * 2 ** round);
          this.log.warn('throttled by EC2, backing off', { action, round, waitMs: wait });
          await sleep(wait);
          continue;
        }
        if (AUTH_CODES.has(code)) {
          const message = errorMessage(err);
          this.authFailure = new AuthError(code, action, principalIn(message), shortAuthMessage(message));
          this.log.error('EC2 refused our credentials; no further calls', { action, code });
          throw this.authFailure;
        }
        throw err;
      }
    }
  }

  refuseAfterAuthFailure(): void {
    if (this.authFailure) throw this.authFailure;
  }

  /** Our own errors pass through; SDK and network errors become Ec2RequestError with EC2's code. */
  wrap(err: unknown, action: string): Error {
    if (err instanceof RemoterError) return err;
    const code = errorCode(err);
    if (code === 'CredentialsProviderError') {
      return new AuthError('NoCredentials', action, undefined, errorMessage(err));
    }
    return new Ec2RequestError(code, action, errorMessage(err));
  }
}
