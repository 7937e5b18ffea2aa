/**
 * Node.js flags every agent process is started with, by every launcher: the systemd unit
 * (systemd/poolparty-agent.service, checked against this list by a test), the detached start of
 * `init: 'none'`, the local remoter and the benchmarks (which measure what ships).
 *
 * `--max-semi-space-size=2` (MiB): V8 sizes the young generation for throughput, up to 16 MiB per
 * semi-space; an idle agent allocates little and often, so 2 MiB costs no measurable CPU and cut
 * idle RSS from ~174 MB to ~140 MB per agent (BENCHMARKS.md, process mode, N=5).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
