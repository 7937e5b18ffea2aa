#!/usr/bin/env node
// Thin launcher: the code lives in dist/, built from TypeScript by `npm run build` (run by npm ci).
import { existsSync } from 'node:fs';

const target = new URL('../dist/poolparty-agent.mjs', import.meta.url);
if (!existsSync(target)) {
  console.error('poolparty-agent: dist/ is missing — run `npm run build` (npm ci runs it for you)');
  process.exit(1);
}
await import(target.href);
