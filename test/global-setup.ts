import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ once before any test file runs: tests that start real agent or CLI processes use
 * the built entry points, and parallel files must not rebuild them under each other's feet.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'pipe' });
}
