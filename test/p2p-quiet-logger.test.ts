import { describe, expect, it } from 'vitest';
import { libp2pLogger } from '../agent/p2p/quiet-logger.ts';
import { unstartedNode } from './helpers/pool-node.ts';

describe("libp2p's logger in the agent", () => {
  it('is one silent logger without DEBUG, and every scope of it is that logger', () => {
    const components = libp2pLogger({});
    expect(components).toBeDefined();
    const log = components?.forComponent('libp2p:connection');
    expect(log?.enabled).toBe(false);
    expect(log?.newScope('outbound')).toBe(log);
    expect(components?.forComponent('libp2p:gossipsub')).toBe(log);
    expect(() => log?.('dial %s', 'x')).not.toThrow();
    expect(() => log?.error('failed %e', new Error('x'))).not.toThrow();
  });

  it("leaves libp2p's own logger in place when DEBUG asks for logs", () => {
    expect(libp2pLogger({ DEBUG: 'libp2p:*' })).toBeUndefined();
  });

  it.skipIf(Boolean(process.env.DEBUG))("is what the agent's node hands its components", async () => {
    const node = await unstartedNode();
    const log = node.logger.forComponent('libp2p:test');
    expect(log.enabled).toBe(false);
    expect(log.newScope('x')).toBe(log);
  });
});
