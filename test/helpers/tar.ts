import type { TarEntry } from '../../shared/bundle/tar.ts';
import { readTarGz } from '../../shared/bundle/tar-read.ts';

/** Every entry of a gzipped tar with its content, read by the bundle's own streaming reader. */
export async function tarEntries(tgz: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  await readTarGz(tgz, Number.MAX_SAFE_INTEGER, async ({ size: _size, ...header }, content) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of content) chunks.push(chunk);
    out.push(header.type === 'file' ? { ...header, data: Buffer.concat(chunks) } : header);
  });
  return out;
}
