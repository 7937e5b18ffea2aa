/**
 * A V8 heap snapshot summed by what its nodes are: self size and count per node type and
 * constructor (objects), per type (strings, code, arrays, …), largest first; with two snapshots,
 * the difference B − A per group. For test/bench/memory-probe.ts's --snapshot output.
 *
 *   npx tsx test/bench/heap-summary.ts A.heapsnapshot [B.heapsnapshot] [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** kB and count per group: "object:Ctor" for objects and closures, the node type otherwise. */
function summary(file: string): Map<string, { kb: number; n: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { kb: number; n: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType] as number] as string;
    const name = s.strings[s.nodes[i + iName] as number] ?? '';
    const key =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${type}:${name.slice(0, 60)}`
        : type === 'hidden' || type === 'code' || type === 'array'
          ? `${type}:${name.replace(/\d+/g, '#').slice(0, 40)}`
          : type;
    const g = out.get(key) ?? { kb: 0, n: 0 };
    g.kb += (s.nodes[i + iSize] as number) / 1024;
    g.n += 1;
    out.set(key, g);
  }
  return out;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' } },
});
const top = Number(values.top);
const [a, b] = positionals.map(summary);
if (!a) throw new Error('usage: heap-summary.ts A.heapsnapshot [B.heapsnapshot] [--top 40]');
const total = (m: Map<string, { kb: number }>) => Math.round([...m.values()].reduce((t, g) => t + g.kb, 0));
if (!b) {
  console.log(`total ${total(a)} kB`);
  for (const [k, g] of [...a].sort((x, y) => y[1].kb - x[1].kb).slice(0, top))
    console.log(`${Math.round(g.kb).toString().padStart(7)} kB ${g.n.toString().padStart(7)}  ${k}`);
} else {
  console.log(`total A ${total(a)} kB, B ${total(b)} kB`);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((k) => {
    const x = a.get(k) ?? { kb: 0, n: 0 };
    const y = b.get(k) ?? { kb: 0, n: 0 };
    return { k, d: y.kb - x.kb, x, y };
  });
  for (const r of rows.sort((p, q) => Math.abs(q.d) - Math.abs(p.d)).slice(0, top))
    console.log(
      `${Math.round(r.d).toString().padStart(7)} kB  A ${Math.round(r.x.kb)} kB/${r.x.n}  B ${Math.round(r.y.kb)} kB/${r.y.n}  ${r.k}`,
    );
}
