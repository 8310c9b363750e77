import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readKeyArgument } from '@tlog/client/node';
import { PUBLIC_FILE_MODE, SECRET_FILE_MODE, secretFileProblem, writeFileAtomic } from '@tlog/files';
import type { Cosigner, NoteVerifier } from '@tlog/merkle';
import { generateCosignatureKey, parseCosignerKey, parseVerifierKey } from '@tlog/merkle';
import { createWitnessApp } from '@tlog/witness';
import { FileWitnessState, serveWitness } from '@tlog/witness/node';
import type { Command } from 'commander';
import { errorMessage, UsageError } from '../failure.js';
import { collect, intOption } from '../options.js';

/** Parses --log values: "<origin>=<vkey or file>" or just a vkey (origin = its name). */
export function parseLogArguments(values: readonly string[]): Map<string, NoteVerifier[]> {
  const logs = new Map<string, NoteVerifier[]>();
  for (const v of values) {
    let origin: string;
    let verifier: NoteVerifier;
    try {
      verifier = parseVerifierKey(readKeyArgument(v));
      origin = verifier.name;
    } catch {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new UsageError(`--log must be <origin>=<verifier key or file>, got ${JSON.stringify(v)}`);
      origin = v.slice(0, eq);
      try {
        verifier = parseVerifierKey(readKeyArgument(v.slice(eq + 1)));
      } catch (e) {
        throw new UsageError(
          `--log ${JSON.stringify(v)}: ${JSON.stringify(v.slice(eq + 1))} is neither a file holding a verifier key nor a valid verifier key: ${errorMessage(e)}`,
        );
      }
    }
    logs.set(origin, [...(logs.get(origin) ?? []), verifier]);
  }
  return logs;
}

/** Reads the witness signer key file; a UsageError naming the fix if it is missing or not a key. */
async function readCosigner(path: string): Promise<Cosigner> {
  let keyText: string;
  try {
    keyText = (await readFile(path, 'utf8')).trim();
  } catch (e) {
    throw new UsageError(`cannot read the witness key ${path}: ${errorMessage(e)}; create one with \`tlog witness keygen\``);
  }
  try {
    return parseCosignerKey(keyText);
  } catch (e) {
    throw new UsageError(`${path} does not hold a cosignature/v1 witness signer key (from \`tlog witness keygen\`): ${errorMessage(e)}`);
  }
}

/** Registers `witness serve` and `witness keygen`. */
export function registerWitnessCommands(program: Command): void {
  const witness = program.command('witness').description('run a C2SP tlog-witness');

  witness
    .command('serve')
    .description(
      'serve POST /add-checkpoint, cosigning checkpoints consistent with the last one cosigned per log; warns if the key file is readable by others',
    )
    .requiredOption('--key <file>', 'the witness signer key file (from `tlog witness keygen`)')
    .requiredOption('--log <origin=vkey>', 'a log to witness: <origin>=<verifier key or file>, or just the key (repeatable)', collect, [])
    .option('--port <port>', 'port to listen on (0: any free port)', intOption('--port'), 8081)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--state <dir>', 'directory for the per-log state', './witness-state')
    .action(async (opts: { key: string; log: string[]; port: number; host: string; state: string }) => {
      const cosigner = await readCosigner(opts.key);
      // Anyone who can read the key can cosign in the witness's name: say so, loudly, but serve.
      const exposed = await secretFileProblem(opts.key);
      if (exposed !== undefined) process.stderr.write(`tlog: WARNING: ${exposed}\n`);
      const logs = parseLogArguments(opts.log);
      if (logs.size === 0) throw new UsageError('give at least one --log <origin>=<vkey>');
      const app = createWitnessApp({ cosigner, logs, state: new FileWitnessState(opts.state) });
      // Listen for the signals before saying we listen: whoever reads that line may stop us at once.
      const stopSignal = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      const serving = await serveWitness({ fetch: app.fetch, port: opts.port, host: opts.host });
      process.stdout.write(`witness ${cosigner.name} listening on ${serving.url} for ${[...logs.keys()].join(', ')}\n`);
      await stopSignal;
      await serving.close();
    });

  witness
    .command('keygen')
    .description('create a cosignature/v1 witness key; writes the signer key to --out and the verifier key to <out>.pub')
    .requiredOption('--name <name>', 'the witness name, e.g. witness.example.org')
    .requiredOption('--out <file>', 'where to write the signer key (mode 0600)')
    .option('--force', 'overwrite an existing key file')
    .action(async (opts: { name: string; out: string; force?: boolean }) => {
      if (existsSync(opts.out) && !opts.force) throw new UsageError(`${opts.out} exists; pass --force to overwrite it`);
      const { signerKey, verifierKey } = generateCosignatureKey(opts.name);
      await writeFileAtomic(opts.out, signerKey + '\n', { mode: SECRET_FILE_MODE });
      await writeFileAtomic(`${opts.out}.pub`, verifierKey + '\n', { mode: PUBLIC_FILE_MODE });
      process.stdout.write(verifierKey + '\n');
    });
}
