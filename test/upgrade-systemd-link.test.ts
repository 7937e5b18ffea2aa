import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../agent/upgrade/store.ts';
import { readUnitTemplate, remoteLayout, renderUnit } from '../shared/provision/layout.ts';
import type { SignedManifest } from '../shared/upgrade/manifest.ts';

// The installed systemd unit and the upgrade supervisor name the same file: the unit execs the
// store's stable link current.mjs, which its ExecStartPre makes (pointing at the installed
// artifact) only when missing, so an activation's link survives the next start and a reboot runs
// the upgraded artifact itself.
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The unit's ExecStartPre and ExecStart, rendered for a host installed under `root`. */
async function unitFor(root: string) {
  const layout = remoteLayout(root);
  const unit = renderUnit(await readUnitTemplate(), layout, process.execPath);
  const pre = /^ExecStartPre=\/bin\/sh -c '(.*)'$/m.exec(unit)?.[1];
  const start = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(' ');
  return { layout, unit, pre: pre as string, script: start?.find((w) => w.endsWith('.mjs')) as string };
}

const runPre = (pre: string) => spawnSync('/bin/sh', ['-c', pre], { encoding: 'utf8' });

describe('systemd unit and upgrade store agree on what runs', () => {
  it('execs the store link; ExecStartPre links the installed artifact once and leaves an upgrade alone', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pp-upgrade19-unit-'));
    dirs.push(root);
    const { layout, pre, script, unit } = await unitFor(root);
    const store = new ArtifactStore(layout.dataDir);
    expect(script).toBe(store.currentLink);
    expect(pre).toBeDefined();
    await mkdir(layout.optDir, { recursive: true });
    await writeFile(layout.artifact, '// installed agent\n');

    // A fresh install: the link is made, to the installed artifact.
    expect(runPre(pre).status).toBe(0);
    expect(await readlink(store.currentLink)).toBe(layout.artifact);

    // An upgrade moves it; the next start (a restart, a reboot) keeps it, and the installed
    // artifact is what a rollback returns to.
    const sha = 'c'.repeat(64);
    const signed: SignedManifest = {
      manifest: { pool: 'p', version: 'v2', sha256: sha, size: 1, builtAt: 0, issuedAt: 0 },
      signature: 'x',
    };
    await store.put(signed, Buffer.from('// upgraded agent\n'));
    await store.activate(sha, layout.artifact, 1000, 0);
    expect(runPre(pre).status).toBe(0);
    expect(await readlink(store.currentLink)).toBe(store.artifactPath(sha));
    expect(await readlink(store.previousLink)).toBe(layout.artifact);
    await store.rollback();
    expect(runPre(pre).status).toBe(0);
    expect(await readlink(store.currentLink)).toBe(layout.artifact);

    // The unit still names the installed artifact, which is how provisioning recognises it.
    expect(unit).toContain(layout.artifact);
  });
});
