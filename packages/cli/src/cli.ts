#!/usr/bin/env node
/**
 * The `tlog` command: checkpoint, submit, verify, monitor, audit, event, events, keys, sinks and witness.
 * Exit status: 0 everything verified, 1 usage, configuration, file or network error, 3 the log
 * misbehaved or a proof failed. Every failure is reported as one line on stderr.
 */
import { Command, CommanderError } from 'commander';
import { registerAuditCommand } from './commands/audit.js';
import { registerCheckpointCommand } from './commands/checkpoint.js';
import { registerEventCommands } from './commands/event.js';
import { registerEventsCommand } from './commands/events.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerMonitorCommand } from './commands/monitor.js';
import { registerSinksCommands } from './commands/sinks.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerWitnessCommands } from './commands/witness.js';
import { describeFailure, EXIT_ERROR } from './failure.js';
import { cliVersion } from './version.js';

const program = new Command('tlog')
  .description('verifying client for tlog transparency logs')
  .version(cliVersion(), '-V, --version', 'print the version');
registerCheckpointCommand(program);
registerSubmitCommand(program);
registerVerifyCommand(program);
registerMonitorCommand(program);
registerAuditCommand(program);
registerEventCommands(program);
registerEventsCommand(program);
registerKeysCommands(program);
registerSinksCommands(program);
registerWitnessCommands(program);

/**
 * Makes commander throw instead of exiting (so the exit status is ours) and print its usage
 * errors as one line pointing at the command's help. Settings are per command, so walk them all.
 */
function configure(cmd: Command, path: string): void {
  cmd.exitOverride();
  cmd.configureOutput({
    outputError: (message, write) => write(`tlog: ${message.trim().replace(/\s*\n\s*/g, ' ')} (see \`${path} --help\`)\n`),
  });
  for (const sub of cmd.commands) configure(sub, `${path} ${sub.name()}`);
}
configure(program, 'tlog');

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed the message; help and version exit 0.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_ERROR;
  } else {
    const f = describeFailure(e);
    process.stderr.write(`tlog: ${f.line}\n`);
    process.exitCode = f.status;
  }
}
