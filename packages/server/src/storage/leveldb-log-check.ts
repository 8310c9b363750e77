import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import crc32cModule from 'crc-32/crc32c.js';

/**
 * Checks LevelDB's write-ahead log files before LevelDB opens them.
 *
 * LevelDB (as classic-level builds it, with `paranoid_checks` off and no way to turn it on)
 * replays its `.log` files at open, silently drops any record whose checksum fails ("dropping N
 * bytes; Corruption" in its info LOG), writes what is left into a table and deletes the log. A
 * flipped byte in the newest log thus loses acknowledged commits without an error, and the
 * evidence is gone after the open. Verifying every record here first lets the server refuse to
 * open a damaged store while it is still untouched.
 *
 * The format (leveldb/doc/log_format.md): 32 KiB blocks of records, each a 7-byte header
 * (masked CRC-32C of type and data, uint16 LE length, type 1..4) and its data; fewer than 7
 * bytes left in a block are zero padding. A record cut short at the very end of the file is a
 * write the process did not finish (a crash): LevelDB ignores it and so does this check.
 */
export const LEVELDB_BLOCK_SIZE = 32768;
const HEADER_SIZE = 7;
const MASK_DELTA = 0xa282ead8;
const crc32c = crc32cModule.buf;

/** A damaged record in a LevelDB log file: where it is and what is wrong. */
export interface LogFileDamage {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
}

/** LevelDB's masked CRC of a record: CRC-32C over the type byte and the data, rotated and offset. */
export function maskedRecordCrc(type: number, data: Uint8Array): number {
  const crc = crc32c(data, crc32c(Uint8Array.of(type))) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** The first damaged record of one LevelDB log file's bytes, or undefined when every record is intact. */
export function findLogFileDamage(file: string, bytes: Uint8Array): LogFileDamage | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0; block < bytes.length; block += LEVELDB_BLOCK_SIZE) {
    const end = Math.min(block + LEVELDB_BLOCK_SIZE, bytes.length);
    let at = block;
    while (end - at >= HEADER_SIZE) {
      const crc = view.getUint32(at, true);
      const length = view.getUint16(at + 4, true);
      const type = bytes[at + 6]!;
      if (type === 0 && length === 0) {
        // Zeroed space (preallocation, padding): LevelDB skips it.
        at += HEADER_SIZE;
        continue;
      }
      const dataEnd = at + HEADER_SIZE + length;
      if (dataEnd > end) {
        if (end === bytes.length) return undefined; // a record the writer did not finish
        return { file, offset: at, reason: `a record of ${length} bytes runs past its 32 KiB block` };
      }
      if (type < 1 || type > 4) return { file, offset: at, reason: `unknown record type ${type}` };
      if (maskedRecordCrc(type, bytes.subarray(at + HEADER_SIZE, dataEnd)) !== crc) {
        return { file, offset: at, reason: 'checksum mismatch' };
      }
      at = dataEnd;
    }
  }
  return undefined;
}

/** Checks every write-ahead log and manifest file of the LevelDB database in `dir`; the first damage found, or undefined. */
export async function findLevelDbLogDamage(dir: string): Promise<LogFileDamage | undefined> {
  const names = (await readdir(dir)).filter((n) => /^[0-9]+\.log$/.test(n) || /^MANIFEST-[0-9]+$/.test(n)).sort();
  for (const name of names) {
    const damage = findLogFileDamage(name, await readFile(join(dir, name)));
    if (damage !== undefined) return damage;
  }
  return undefined;
}
