import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type NoteVerifier, parseVerifierKey, toBase64, verifierKeyOf } from '@tlog/merkle';
import { Presets, SingleBar } from 'cli-progress';
import { Command, CommanderError } from 'commander';
import { CHECKPOINT_FILE_NAME, DB_DIR_NAME, nodeHasher } from './index.js';
import { KEY_FILE_NAME, VKEY_FILE_NAME } from './signing/keys.js';
import { CheckpointFile } from './storage/checkpoint-file.js';
import { LevelLogStore } from './storage/level-store.js';
import { StorageCorruptError } from './storage/store.js';
import { verifyStorage } from './verify-storage.js';

/** Exit status of `verify`: the storage is intact. */
export const VERIFY_OK = 0;
/** Exit status of `verify`: it could not run (usage, no such data dir, server running, no key). */
export const VERIFY_ERROR = 1;
/** Exit status of `verify`: the storage is damaged (what and where is printed). */
export const VERIFY_CORRUPT = 3;

interface VerifyOptions {
  dataDir: string;
  vkey?: string;
  key?: string;
  writeCheckpoint?: boolean;
  json?: boolean;
}

/** The log's verifier key: --vkey (key or file), else the data dir's log.vkey, else derived from the signer key file. */
async function findVerifier(opts: VerifyOptions, dataDir: string): Promise<{ verifier: NoteVerifier; vkey: string }> {
  const read = async (path: string) => (await readFile(path, 'utf8')).trim();
  let vkey: string | undefined;
  if (opts.vkey !== undefined) vkey = opts.vkey.includes('+') ? opts.vkey : await read(opts.vkey);
  if (vkey === undefined) vkey = await read(join(dataDir, VKEY_FILE_NAME)).catch(() => undefined);
  if (vkey === undefined) {
    const keyPath = opts.key ?? join(dataDir, KEY_FILE_NAME);
    const signer = await read(keyPath).catch(() => undefined);
    if (signer === undefined)
      throw new Error(`no key to verify with: give --vkey, or keep ${join(dataDir, VKEY_FILE_NAME)} or the signing key in the data dir`);
    vkey = verifierKeyOf(signer);
  }
  return { verifier: parseVerifierKey(vkey), vkey };
}

/**
 * `tlog-server verify --data-dir <dir>`: re-derives every tile and the root from the stored
 * entries and checks them, the leaf index, the signed checkpoint and the checkpoint record (see
 * verifyStorage). Run it with the server stopped (LevelDB allows one process). Prints one line;
 * returns the exit status. With `--write-checkpoint`, a missing checkpoint record is written from
 * the verified store, for a store known never to have published anything larger.
 */
export async function runVerifyCommand(argv: readonly string[]): Promise<number> {
  const program = new Command('tlog-server verify')
    .description('check the stored log: recompute every tile and the root from the entries and compare')
    .option('--data-dir <dir>', 'the data directory [./data]', process.env.DATA_DIR || './data')
    .option('--vkey <key>', 'the log verifier key or a file holding it [<data-dir>/log.vkey]')
    .option('--key <file>', 'the signer key file, when there is no log.vkey [<data-dir>/log.key]')
    .option('--write-checkpoint', 'when the checkpoint record is missing and the store verifies, record its checkpoint')
    .option('--json', 'print the result as JSON')
    .exitOverride()
    .allowExcessArguments(false);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? VERIFY_OK : VERIFY_ERROR;
    throw err;
  }
  const opts = program.opts<VerifyOptions>();
  const dataDir = resolve(opts.dataDir);
  const say = (ok: boolean, line: string, fields: Record<string, unknown>) => {
    if (opts.json) process.stdout.write(`${JSON.stringify({ ok, message: line, ...fields })}\n`);
    else (ok ? process.stdout : process.stderr).write(`${ok ? '' : 'tlog: '}${line}\n`);
  };
  let store: LevelLogStore | undefined;
  let record: CheckpointFile | undefined;
  const bar =
    process.stderr.isTTY && !opts.json
      ? new SingleBar({ format: 'verify [{bar}] {percentage}% {value}/{total} entries', stream: process.stderr }, Presets.shades_classic)
      : undefined;
  try {
    const { verifier, vkey } = await findVerifier(opts, dataDir);
    const dbDir = join(dataDir, DB_DIR_NAME);
    if ((await readdir(dbDir).catch(() => [])).length === 0) throw new Error(`${dbDir} holds no database`);
    record = await CheckpointFile.open(join(dataDir, CHECKPOINT_FILE_NAME));
    store = await LevelLogStore.open(dbDir);
    let started = false;
    const report = await verifyStorage(store, {
      hasher: nodeHasher(),
      verifier,
      origin: verifier.name,
      ...(record.current === undefined ? {} : { recorded: record.current }),
      onProgress: (n, total) => {
        if (!started) bar?.start(total, 0);
        started = true;
        bar?.update(n);
      },
    });
    bar?.stop();
    let recordNote = record.current === undefined ? 'no checkpoint record' : `the checkpoint record (size ${report.recordedSize}) agrees`;
    if (record.current === undefined && opts.writeCheckpoint && report.size > 0) {
      const state = await store.readState();
      await record.record(state!.checkpoint);
      recordNote = `checkpoint record written for size ${report.size}`;
    }
    say(
      true,
      `storage OK: ${report.size} entries of ${verifier.name} hash to root ${toBase64(report.root)}, as signed; ${report.bundles} entry bundles, ${report.tiles} tiles and the leaf index checked; ${recordNote}`,
      {
        size: report.size,
        root: toBase64(report.root),
        vkey,
      },
    );
    return VERIFY_OK;
  } catch (err) {
    bar?.stop();
    const message = err instanceof Error ? err.message : String(err);
    say(false, message, {});
    return err instanceof StorageCorruptError ? VERIFY_CORRUPT : VERIFY_ERROR;
  } finally {
    await store?.close().catch(() => {});
    await record?.close();
  }
}
