import { AGENT_NODE_ENV, AGENT_NODE_FLAGS } from '../agent-node-flags.ts';
import { type RemoteLayout, UNIT_NAME } from './layout.ts';

/**
 * The POSIX sh scripts run on a host. They are fed on stdin to `sh -s` (or `sudo -n sh -s`), so no
 * path of ours appears on any command line but the agent's own: that is how the scripts find "our"
 * agent in /proc — the command line `<artifact> --config <config> ` — without matching themselves.
 *
 * Keeping the agent running without systemd (init 'none'): the agent is started as
 * `setsid nohup node <artifact> --config <config> >>agent.log 2>&1 </dev/null &` from the data
 * dir, its pid written to agent.pid. setsid gives it its own session (no SIGHUP when the SSH
 * session ends, and a process group of its own so stopping it also stops its metric commands),
 * and nothing of the SSH channel stays open in it. It does not restart on crash or reboot: that
 * is what systemd is for.
 */

/** Single-quotes a value for sh. */
export function shq(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function header(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${shq(v)}`)
    .join('\n');
}

/** What every script knows: paths, and helpers to find, lock and stop our agent. */
function common(layout: RemoteLayout, stopGraceS: number): string {
  return `${header({
    opt_dir: layout.optDir,
    etc_dir: layout.etcDir,
    data_dir: layout.dataDir,
    log_dir: layout.logDir,
    artifact: layout.artifact,
    manifest: layout.manifest,
    config: layout.configFile,
    env_file: layout.envFile,
    pid_file: layout.pidFile,
    log_file: layout.logFile,
    lock_file: layout.lockFile,
    unit_file: layout.unitFile,
    unit: UNIT_NAME,
  })}
stop_grace=${Math.max(1, Math.round(stopGraceS))}
nap() { sleep 0.2 2>/dev/null || sleep 1; }
is_agent() {
  c=$(tr '\\000' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  case "$c" in *"$artifact --config $config "*) return 0 ;; esac
  return 1
}
parent_of() {
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  set -- \${st##*) }
  echo "$2"
}
# One grep over all command lines (cheap even on a busy host), then the exact check per candidate;
# grep's own command line holds only the config path, so it never passes is_agent. A child the
# agent has forked but not yet exec'd (it runs commands to sample metrics) shows the agent's own
# command line for a moment: a match whose parent is a match is not another agent.
find_agent_pids() {
  for f in $(grep -lF -- "$config" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=\${f#/proc/}
    p=\${p%/cmdline}
    if is_agent "$p"; then
      pp=$(parent_of "$p") || continue
      if ! is_agent "$pp"; then echo "$p"; fi
    fi
  done
}
take_lock() {
  mkdir -p "$(dirname "$lock_file")"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock_file"
    flock -w 120 9 || { echo "another provisioning run holds $lock_file" >&2; exit 6; }
  fi
}
# Sends signal $1 to each agent in $left (to its process group, so its metric commands go too),
# then waits up to $2 naps; $left keeps those still running.
signal_left() {
  for p in $left; do kill "-$1" "-$p" 2>/dev/null || kill "-$1" "$p" 2>/dev/null || true; done
  i=0
  while [ -n "$left" ] && [ "$i" -lt "$2" ]; do
    nap
    i=$((i + 1))
    next=""
    for p in $left; do if is_agent "$p"; then next="$next $p"; fi; done
    left=$next
  done
}
# Stops detached agents: the one in the pid file, plus (scan) any other process running our
# artifact with our config, e.g. after a lost pid file. TERM, KILL after the grace period.
stop_detached() {
  pids=""
  if [ -f "$pid_file" ]; then
    p=$(cat "$pid_file" 2>/dev/null || true)
    case "$p" in ''|*[!0-9]*) ;; *) if is_agent "$p"; then pids="$p"; fi ;; esac
  fi
  if [ "$1" = scan ]; then pids="$pids $(find_agent_pids)"; fi
  pids=$(for p in $pids; do echo "$p"; done | sort -u)
  left="$pids"
  signal_left TERM $((stop_grace * 5))
  signal_left KILL 25
  rm -f "$pid_file"
  if [ -n "$left" ]; then echo "agent still running after SIGKILL: $left" >&2; exit 7; fi
  for p in $pids; do echo "stopped=$p"; done
}
systemd_ours() { [ -f "$unit_file" ] && grep -qF "$artifact" "$unit_file"; }
`;
}

/**
 * Prints key=value lines: uid, node path and version, init system (and whether the agent's unit
 * runs), existing peer key, artifact sha.
 */
export function probeScript(layout: RemoteLayout): string {
  return `${header({ data_dir: layout.dataDir, manifest: layout.manifest })}
node=$(command -v node 2>/dev/null || true)
if [ -z "$node" ]; then
  for c in /usr/local/bin/node /usr/bin/node /opt/node/bin/node /snap/bin/node; do
    if [ -x "$c" ]; then node=$c; break; fi
  done
fi
echo "uid=$(id -u)"
echo "node=$node"
if [ -n "$node" ]; then echo "node_version=$("$node" -p process.versions.node 2>/dev/null || true)"; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo init=systemd
  if systemctl is-active --quiet ${UNIT_NAME}.service 2>/dev/null; then echo unit_active=1; fi
else
  echo init=none
fi
if [ -r "$data_dir/peer-key" ]; then echo "peer_key=$(base64 < "$data_dir/peer-key" | tr -d '\\n')"; fi
if [ -r "$manifest" ]; then echo "artifact_sha256=$(sed -n 's/.*"sha256": *"\\([0-9a-f]*\\)".*/\\1/p' "$manifest")"; fi
echo "path=$PATH"
`;
}

export interface InstallScriptOptions {
  layout: RemoteLayout;
  /** Staging dir holding the uploaded files; removed by the script. */
  stage: string;
  init: 'systemd' | 'none';
  node: string;
  /** Where the agent's monitor answers on the host itself. */
  healthUrl: string;
  healthTimeoutS: number;
  stopGraceS: number;
  /** sha256 of the bundle uploaded as `bundle.tar.gz`, cached where the agent looks for it. */
  bundleSha256?: string;
}

/**
 * Installs the staged files and (re)starts the agent, printing `pid=` and `health=` (the monitor's
 * /health body) once it answers. Idempotent: an agent already running from this layout is stopped
 * first, under a lock, so a host never runs two.
 */
export function installScript(o: InstallScriptOptions): string {
  const { layout } = o;
  return `set -eu
umask 077
${common(layout, o.stopGraceS)}
${header({ stage: o.stage, init: o.init, node: o.node, health_url: o.healthUrl, bundle_sha: o.bundleSha256 ?? '' })}
health_tries=${Math.max(1, Math.round(o.healthTimeoutS * 5))}
take_lock
mkdir -p "$opt_dir" "$etc_dir" "$data_dir" "$log_dir"
chmod 755 "$opt_dir"
chmod 700 "$etc_dir" "$data_dir" "$log_dir"
put() { cp "$1" "$2.new"; chmod "$3" "$2.new"; mv -f "$2.new" "$2"; }
if [ -f "$stage/poolparty-agent.mjs" ]; then
  put "$stage/poolparty-agent.mjs" "$artifact" 644
  put "$stage/poolparty-agent.json" "$manifest" 644
fi
if [ ! -f "$artifact" ]; then echo "no agent artifact at $artifact" >&2; exit 3; fi
put "$stage/agent.json" "$config" 600
put "$stage/agent.env" "$env_file" 600
put "$stage/pool.key" "$etc_dir/pool.key" 600
if [ -f "$stage/peer-key" ] && [ ! -f "$data_dir/peer-key" ]; then put "$stage/peer-key" "$data_dir/peer-key" 600; fi
if [ -n "$bundle_sha" ] && [ -f "$stage/bundle.tar.gz" ]; then
  mkdir -p "$data_dir/bundles"
  chmod 700 "$data_dir/bundles"
  put "$stage/bundle.tar.gz" "$data_dir/bundles/$bundle_sha.tar.gz" 600
fi
stop_detached "$([ "$init" = none ] && echo scan || echo pidfile)"
if [ "$init" = systemd ]; then
  put "$stage/$unit.service" "$unit_file" 644
  rm -rf "$stage"
  systemctl daemon-reload
  systemctl enable "$unit" >/dev/null 2>&1 || systemctl enable "$unit"
  systemctl restart "$unit"
  running() { systemctl is-active --quiet "$unit"; }
  log_tail() { journalctl -u "$unit" -n 20 --no-pager 2>&1 || true; }
else
  rm -rf "$stage"
  cd "$data_dir"
  (
    exec 9>&-
    # What every agent process starts with (shared/agent-node-flags.ts); agent.env may override it.
${Object.entries(AGENT_NODE_ENV)
  .map(([k, v]) => `    export ${k}=${shq(v)}\n`)
  .join('')}    set -a
    . "$env_file"
    set +a
    if command -v setsid >/dev/null 2>&1; then
      exec setsid nohup "$node" ${AGENT_NODE_FLAGS.join(' ')} "$artifact" --config "$config" >>"$log_file" 2>&1 </dev/null
    fi
    exec nohup "$node" ${AGENT_NODE_FLAGS.join(' ')} "$artifact" --config "$config" >>"$log_file" 2>&1 </dev/null
  ) &
  running() { [ -n "$(find_agent_pids)" ]; }
  log_tail() { tail -n 20 "$log_file" 2>&1 || true; }
fi
check='fetch(process.argv[1],{signal:AbortSignal.timeout(2000)}).then(r=>r.ok?r.text():Promise.reject(new Error(String(r.status)))).then(t=>process.stdout.write(t.replace(/\\n/g," ")),()=>process.exit(1))'
i=0
while :; do
  if [ "$i" -gt 2 ] && ! running; then echo "the agent exited right after starting; last log lines:" >&2; log_tail >&2; exit 4; fi
  if out=$("$node" -e "$check" "$health_url" 2>/dev/null); then break; fi
  i=$((i + 1))
  if [ "$i" -ge "$health_tries" ]; then echo "the agent did not answer $health_url; last log lines:" >&2; log_tail >&2; exit 5; fi
  nap
done
if [ "$init" = systemd ]; then
  echo "pid=$(systemctl show -p MainPID --value "$unit" 2>/dev/null || true)"
else
  pids=$(find_agent_pids)
  set -- $pids
  if [ "$#" -ne 1 ]; then echo "expected one agent, found: $pids" >&2; exit 8; fi
  echo "$1" > "$pid_file"
  echo "pid=$1"
fi
echo "health=$out"
`;
}

/** Stops the agent (systemd unit or detached) and removes everything the install put there. */
export function deprovisionScript(layout: RemoteLayout, stopGraceS: number): string {
  return `set -eu
${common(layout, stopGraceS)}
take_lock
if systemd_ours; then
  systemctl disable --now "$unit" >/dev/null 2>&1 || systemctl stop "$unit" || true
  rm -f "$unit_file"
  systemctl daemon-reload || true
  echo "unit_removed=1"
fi
stop_detached scan
rm -rf "$opt_dir" "$etc_dir" "$data_dir" "$log_dir"
rm -f "$lock_file"
echo "removed=1"
`;
}

/** Parses the key=value lines the scripts print (later lines win; repeated keys collected). */
export function parseKv(stdout: string): { last: Record<string, string>; all: Record<string, string[]> } {
  const last: Record<string, string> = {};
  const all: Record<string, string[]> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    last[key] = value;
    all[key] = [...(all[key] ?? []), value];
  }
  return { last, all };
}
