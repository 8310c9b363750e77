#!/usr/bin/env node
/**
 * The `tlog` command: checkpoint, submit, verify, monitor, audit and witness.
 * Exit status: 0 everything verified, 1 usage or network error, 3 the log misbehaved or a proof failed.
 */
import { Command, CommanderError } from 'commander';
import { registerBasicCommands } from './cli/basic.js';
import { registerMonitorCommands } from './cli/monitor.js';
import { registerWitnessCommands } from './cli/witness.js';
import { EXIT_ERROR, describeFailure } from './cli/common.js';

const program = new Command('tlog')
  .description('verifying client for tlog transparency logs')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
registerBasicCommands(program);
registerMonitorCommands(program);
registerWitnessCommands(program);
// Subcommands inherit exitOverride only when set on each.
for (const c of program.commands) {
  c.exitOverride();
  for (const s of c.commands) s.exitOverride();
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed the usage message; help and version exit 0.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_ERROR;
  } else {
    const f = describeFailure(e);
    process.stderr.write(`tlog: ${f.line}\n`);
    process.exitCode = f.status;
  }
}
