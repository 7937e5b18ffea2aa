import { createGunzip, type Gunzip } from 'node:zlib';
import type { Extract, Header } from 'tar-stream';
import { BundleFormatError, BundleTooLargeError, UnsafeArchiveError } from './errors.ts';
import type { TarEntry, TarEntryType } from './tar.ts';

/** One entry's header as the reader hands it over; its content follows as a stream. */
export type TarHeader = Omit<TarEntry, 'data'> & { size: number };

/** Called once per entry, in archive order; the next entry is read only when it resolves. */
export type TarEntryHandler = (header: TarHeader, content: AsyncIterable<Uint8Array>) => Promise<void>;

/**
 * Reads a gzipped tar as a stream: gunzip (zlib's streaming inflater, off the event loop) feeds
 * tar-stream's parser, and each entry is handed to `onEntry` with its content as a stream, so
 * neither the uncompressed archive nor a whole file is ever held in memory. Reading stops as soon
 * as more than `maxBytes` have been inflated (a gzip bomb costs `maxBytes`, not the whole
 * expansion). Resolves with the number of bytes inflated.
 *
 * pax and GNU long names are applied by tar-stream; every type is reported, so the caller can see
 * (and refuse) what a hostile archive holds. A corrupt gzip or tar is a BundleFormatError; an error
 * of `onEntry` is passed through as it is.
 */
export async function readTarGz(bytes: Uint8Array, maxBytes: number, onEntry: TarEntryHandler): Promise<number> {
  // Loaded on first use: an idle agent never unpacks, so it never holds the parser.
  const { extract } = await import('tar-stream');
  const gunzip = createGunzip();
  const tar = extract();
  const read = { bytes: 0 };
  let failure: { error: unknown } | undefined;
  const feeding = feed(bytes, gunzip, tar, maxBytes, read).catch((error: unknown) => {
    failure ??= { error: streamError(error) };
    tar.destroy(error as Error);
  });
  try {
    for await (const entry of tar) {
      try {
        // A streamx Readable: async-iterable at run time, though its typings do not say so.
        await onEntry(tarHeader(entry.header), entry as unknown as AsyncIterable<Uint8Array>);
      } catch (error) {
        failure ??= { error };
        break;
      }
      entry.resume(); // whatever the handler left unread
    }
  } catch (error) {
    failure ??= { error: streamError(error) };
  } finally {
    gunzip.destroy();
    await feeding;
  }
  if (failure) throw failure.error;
  return read.bytes;
}

/** Inflates `bytes` into the tar parser, counting, and waiting whenever the parser is full. */
async function feed(bytes: Uint8Array, gunzip: Gunzip, tar: Extract, maxBytes: number, read: { bytes: number }) {
  gunzip.end(bytes);
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    read.bytes += chunk.length;
    if (read.bytes > maxBytes) throw new BundleTooLargeError(`bundle unpacks to more than ${maxBytes} bytes`);
    if (!tar.write(chunk)) {
      if (tar.destroyed) return;
      await drainedOrClosed(tar);
    }
  }
  tar.end(undefined); // streamx's typings want an argument; undefined writes nothing
}

function drainedOrClosed(tar: Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      tar.off('drain', done);
      tar.off('close', done);
      resolve();
    };
    tar.on('drain', done);
    tar.on('close', done);
  });
}

/** The bundle's own errors stay; zlib's become "not a gzip archive", tar-stream's "corrupt archive". */
function streamError(error: unknown): unknown {
  if (
    error instanceof BundleTooLargeError ||
    error instanceof BundleFormatError ||
    error instanceof UnsafeArchiveError
  ) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (
    typeof (error as NodeJS.ErrnoException | null)?.code === 'string' &&
    /^Z_/.test((error as NodeJS.ErrnoException).code!)
  ) {
    return new BundleFormatError(`not a gzip archive: ${message}`);
  }
  return new BundleFormatError(`corrupt archive: ${message}`);
}

/** tar-stream names types; device and fifo entries keep their ustar flag for error messages. */
const OTHER_FLAGS: Record<string, string> = { 'character-device': '3', 'block-device': '4', fifo: '6' };

function tarHeader(h: Header): TarHeader {
  const raw = h.name;
  const type: TarEntryType =
    h.type === 'file' || h.type === 'contiguous-file'
      ? raw.endsWith('/')
        ? 'directory'
        : 'file'
      : h.type === 'directory'
        ? 'directory'
        : h.type === 'symlink'
          ? 'symlink'
          : h.type === 'link'
            ? 'hardlink'
            : 'other';
  const header: TarHeader = { path: raw.replace(/\/+$/, ''), type, mode: h.mode, size: h.size };
  if (type === 'other') header.typeflag = OTHER_FLAGS[h.type ?? ''] ?? String(h.type ?? '?');
  if (type === 'symlink' || type === 'hardlink') header.linkname = h.linkname ?? '';
  return header;
}
