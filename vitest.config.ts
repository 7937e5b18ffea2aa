import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs apart (npm run test:faults); test/faults-ci.test.ts samples it here.
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    setupFiles: ['shared/polyfill.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real agents and sshd take seconds to converge; the machine is shared and noisy.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Spawned processes are cleaned up by each file's afterAll; keep files isolated.
    pool: 'forks',
  },
});
