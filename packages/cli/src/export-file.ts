/**
 * The file `events export --out` writes: where an earlier run stopped (the index of its last
 * complete line), and writing whole lines only, so that a run cut at any point can be resumed
 * without a gap or a repeated event.
 */
import { once } from 'node:events';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { FeedFormat } from '@tlog/client';
import { MAX_FEED_LINE_BYTES, parseFeedLine } from '@tlog/client';
import { errorMessage, UsageError } from './failure.js';

/** Where an export file stands. */
export interface ExportFileState {
  /** The index of the event on its last complete line, or undefined if it has none. */
  readonly after: number | undefined;
  /** Bytes of an unterminated last line that were cut off (0 if none). */
  readonly truncated: number;
  /** The file's size in bytes, once truncated. */
  readonly size: number;
}

/**
 * Reads where the export file at `path` stopped, and cuts off an unterminated last line (what a
 * crash while writing leaves). A missing or empty file has no last line. Only the end of the
 * file is read (at most two lines' worth). A UsageError if the last line is not a line of
 * `format` (another file, or another --format).
 */
export async function resumeExportFile(path: string, format: FeedFormat): Promise<ExportFileState> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { after: undefined, truncated: 0, size: 0 };
    throw new UsageError(`--out: cannot open ${path}: ${errorMessage(e)}`);
  }
  try {
    const size = (await fh.stat()).size;
    if (size === 0) return { after: undefined, truncated: 0, size: 0 };
    // The last complete line and a partial one after it fit in two lines' worth.
    const window = Math.min(size, 2 * (MAX_FEED_LINE_BYTES + 1));
    const start = size - window;
    const buf = new Uint8Array(window);
    await fh.read(buf, 0, window, start);
    const lastNewline = buf.lastIndexOf(0x0a);
    if (lastNewline < 0) {
      if (start > 0) throw notAnExport(path, format, `no line ends in its last ${window} bytes`);
      await fh.truncate(0);
      return { after: undefined, truncated: size, size: 0 };
    }
    const kept = start + lastNewline + 1;
    if (kept < size) await fh.truncate(kept);
    const lineStart = buf.lastIndexOf(0x0a, lastNewline - 1) + 1;
    if (lineStart === 0 && start > 0) throw notAnExport(path, format, `its last line is longer than ${MAX_FEED_LINE_BYTES} bytes`);
    const text = new TextDecoder().decode(buf.subarray(lineStart, lastNewline));
    let index: number;
    try {
      index = parseFeedLine(format, text, { url: path, where: 'its last line' }).index;
    } catch (e) {
      throw notAnExport(path, format, errorMessage(e));
    }
    return { after: index, truncated: size - kept, size: kept };
  } finally {
    await fh.close();
  }
}

function notAnExport(path: string, format: FeedFormat, why: string): UsageError {
  return new UsageError(
    `--out: ${path} exists but does not end with a line of a ${format} export (${why}); give a new file, or the --format it was written with`,
  );
}

/** Where export lines go: a file (appended to) or standard output. */
export interface LineSink {
  /** Queues one line (without its `\n`); written in whole lines as the buffer fills. */
  write(line: string): Promise<void>;
  /** Writes what is queued (whole lines only) and, for a file, makes it durable. */
  flush(): Promise<void>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** Bytes buffered before a write: few system calls, and never more than this lost to a crash. */
const BUFFER_CHARS = 64 * 1024;

/**
 * A sink that appends lines to `path` (or writes them to standard output for `-`), each write
 * holding whole lines only: a crash can leave at most one partial line at the end, which
 * {@link resumeExportFile} cuts off.
 */
export async function openLineSink(path: string): Promise<LineSink> {
  const fh =
    path === '-'
      ? undefined
      : await open(path, 'a').catch((e: unknown) => {
          throw new UsageError(`--out: cannot open ${path} for writing: ${errorMessage(e)}`);
        });
  let queued: string[] = [];
  let chars = 0;
  const drain = async () => {
    if (queued.length === 0) return;
    const text = queued.join('');
    queued = [];
    chars = 0;
    if (fh !== undefined) await fh.write(text);
    else if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  };
  return {
    write: async (line) => {
      queued.push(line, '\n');
      chars += line.length + 1;
      if (chars >= BUFFER_CHARS) await drain();
    },
    flush: async () => {
      await drain();
      await fh?.datasync();
    },
    close: async () => {
      try {
        await drain();
        await fh?.datasync();
      } finally {
        await fh?.close();
      }
    },
  };
}
