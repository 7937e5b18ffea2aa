import { defineConfig } from 'vitest/config';

/**
 * The fault-injection suite (`npm run test:faults`): real agent pools under partitions, kill -9
 * mid-launch, a hostile key-holding peer and CPU starvation. Minutes per file, so not part of
 * `npm test` (test/faults-ci.test.ts runs a bounded sample there). Files run one at a time: they
 * all load the machine, and the partition files change iptables.
 */
export default defineConfig({
  test: {
    include: ['test/faults/*.test.ts'],
    setupFiles: ['shared/polyfill.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
