import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['shared/polyfill.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real agents and sshd take seconds to converge; the machine is shared and noisy.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Spawned processes are cleaned up by each file's afterAll; keep files isolated.
    pool: 'forks',
  },
});
