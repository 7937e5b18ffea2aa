/**
 * How every agent process is started, by every launcher: the systemd unit
 * (systemd/poolparty-agent.service, checked against these by a test), the detached start of
 * `init: 'none'` (shared/provision/scripts.ts), the local remoter (shared/remoter/local-process.ts)
 * and the benchmarks (which measure what ships). Measured on an idle follower of the single-file
 * artifact, RSS from /proc/<pid>/status after 60 s (BENCHMARKS.md, "RSS per idle follower").
 *
 * `--max-semi-space-size=2` (MiB): V8 sizes the young generation for throughput, up to 16 MiB per
 * semi-space; an idle agent allocates little and often, so 2 MiB costs no measurable CPU and cut
 * idle RSS from ~174 MB to ~140 MB per agent (the source build of 2026-12-02).
 *
 * `--optimize-for-size`: V8 grows the old generation less eagerly and keeps less code and feedback
 * around; about −4 MB of heap on an idle follower, idle CPU unchanged within noise.
 *
 * `--no-sparkplug`: no baseline machine code for warm functions; −2 to −3 MB of code space and of
 * the binary's compiler pages, idle CPU unchanged within noise.
 *
 * `--no-opt`: no TurboFan either, so JavaScript stays in the interpreter. An agent's hot paths are
 * short and native underneath (hashing, signatures, the noise cipher: OpenSSL), and an idle
 * follower kept re-optimizing and deoptimizing the same framing code: −2.2 MB RSS and less CPU on an
 * idle follower (1.05–1.13 % vs 1.26–1.45 %), and less CPU on a leader of 10 too (1.99 % vs 3.40 %),
 * in same-window runs (BENCHMARKS.md, "RSS and CPU per idle follower", 2026-12-06).
 * `--lite-mode`/`--jitless` would go further but disable WebAssembly, which node's own fetch needs
 * (undici's HTTP parser: custom metrics, the EC2 instance metadata, verifiers).
 *
 * `--compact-on-every-full-gc`: an idle follower's RSS grows with its connections and the traffic
 * on them (about +0.4 MB per connection over 21 followers of three pools), not with live per-peer
 * state: heap snapshots of one follower in a pool of 10 and one of 50 (13 and 17 connections) held
 * the same ~22 MB of live objects. The growth is old-space pages left part empty by every frame's
 * garbage (committed up to 4–7 MB above used); V8 compacts only the most fragmented pages, and its
 * memory reducer, which would, does not run while an agent allocates steadily. Compacting on
 * every full GC returns them (≤ 0.7 MB above used): median 67.7 MB (65.3–71.9) vs 70.9 (69.9–73.0)
 * per follower with 13–21 connections, 7 of each in three pools, idle CPU unchanged within noise;
 * garbage made since the last full GC still counts (BENCHMARKS.md, "RSS per idle
 * follower grows with its connections", 2026-12-06; `test/bench/memory-probe.ts --mixed 6
 * --variant=FLAGS` measures it). A full GC evacuates its live pages: a few ms on a ~20 MB heap.
 *
 * `--bytecode-old-age=1`: V8 drops a function's bytecode (recompiled from the kept source on its next
 * call) once it has not run between two full GCs, instead of five. An idle follower makes few full
 * GCs (the memory reducer's two or three ~10 s after start, then none for minutes at N=3, about one a
 * minute at N=50), so at five the bytecode of start-up (config, wiring, the join) stays for good:
 * −1.9 to −2.3 MB of V8 heap and RSS per idle follower at N=3, idle CPU unchanged within noise
 * (BENCHMARKS.md, session 19, "bytecode age"). A function used less often than once per full-GC
 * interval pays a lazy compile again (tens of µs to a few ms) when it next runs.
 *
 * `--expose-gc`: for agent/settle-gc.ts's one full GC a minute after start, which makes that drop
 * happen in a small pool too (after the memory reducer's GCs ~10 s in, it may see no full GC for
 * many minutes). Nothing else calls `gc`.
 *
 * Tried against these in the same pools and not kept (BENCHMARKS.md, "An idle follower's RSS is
 * garbage between GCs", 2026-12-06; N=24–50, loads 16–80): `--single-threaded` (mean RSS not lower,
 * idle CPU perhaps 0.1–0.3 % lower, within noise), `--heap-growing-percent=10` (one more
 * mark-compact a minute at most, RSS within noise), `--v8-pool-size=1` with UV_THREADPOOL_SIZE=1
 * (thread stacks and arenas are 0.3–0.5 MB in all), and an artifact that loads node:http2 and
 * node:https only on use (RssFile unchanged). What is left above a follower's ~62 MB floor is garbage
 * between mark-compacts (old space and dead Buffers' backing stores in malloc), which only a GC
 * takes back.
 */
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--optimize-for-size',
  '--no-sparkplug',
  '--no-opt',
  '--compact-on-every-full-gc',
  '--bytecode-old-age=1',
  '--expose-gc',
];

/**
 * Environment every agent process starts with, before the user's own settings (agent.env for the
 * unit and `init: 'none'`, the launcher's environment for the local remoter), which override it.
 *
 * GLIBC_TUNABLES (read by glibc's malloc at exec; other C libraries ignore it): the agent's threads
 * (V8's compiler and GC workers, libuv) would each get a malloc arena, and start-up's compile of the
 * 2 MB artifact peaks at ~10 MB of malloc that, freed, stays in those arenas because glibc raises
 * its trim threshold after large frees. Two arenas and fixed 128 KiB mmap/trim thresholds (large
 * blocks are mapped and unmapped, the heap's free top is returned) cut ~6 MB of RSS per agent.
 */
export const AGENT_NODE_ENV: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072',
};

/** `env` with AGENT_NODE_ENV added where `env` does not set the variable itself. */
export function agentNodeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...AGENT_NODE_ENV, ...env };
}
