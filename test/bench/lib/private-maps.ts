import { readFileSync } from 'node:fs';

const MIB64 = 64 * 1024 * 1024;

/**
 * Resident kB of a process's private memory by kind, from /proc/PID/smaps: glibc's main heap
 * (`[heap]`), glibc's thread arenas (anonymous mappings at a 64 MiB boundary, where glibc places
 * them), 8 MiB thread stacks (`stacks`, with the main `[stack]` apart), other anonymous mappings
 * (`anon`: V8's heap and code pages, WebAssembly memories, large malloc blocks) and the private
 * pages of file mappings (`file`: relocated data of the node binary and libraries).
 */
export function privateMaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const [start, end] = [Number.parseInt(head[1] as string, 16), Number.parseInt(head[2] as string, 16)];
      const name = head[3] ?? '';
      if (name.startsWith('[')) kind = name;
      else if (name) kind = 'file';
      else if (start % MIB64 === 0) kind = 'arenas';
      else kind = end - start === 8 * 1024 * 1024 ? 'stacks' : 'anon';
      continue;
    }
    const m = (kind === 'file' ? /^Anonymous:\s+(\d+) kB/ : /^Rss:\s+(\d+) kB/).exec(line);
    if (m) out[kind] = (out[kind] ?? 0) + Number(m[1]);
  }
  return out;
}
