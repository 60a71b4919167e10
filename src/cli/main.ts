import { CommanderError } from 'commander';
import { ExitCode, exitCodeForErrorClass, exitCodeForOutcome } from './exit-codes.js';
import type { CommandContext } from '../commands/context.js';
import { buildProgram, type Loader } from './program.js';

/**
 * The CLI only wires commands: each command module is imported when it runs,
 * so `dbtune --help` loads commander and nothing else (no pg, yaml, zod).
 */

/** The one place that turns outcomes and errors into exit codes. */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const controller = new AbortController();

  const runCommand = async (load: Loader, args: string[], options: object) => {
    // Installed for the command's run only: --help and bad usage keep Node's defaults.
    const { handleStopSignals, exitCodeForSignal } = await import('./signals.js');
    const stop = handleStopSignals(controller, process.stderr);
    // Interrupted by SIGINT, SIGTERM or SIGHUP: 128 + the signal's number (130 for Ctrl-C).
    const interrupted = () => exitCodeForSignal(stop.received ?? 'SIGINT');
    const context: CommandContext = { io: { stdout: process.stdout, stderr: process.stderr, env: process.env }, signal: controller.signal };
    try {
      const { run } = await load();
      const outcome = await run(args, options as never, context);
      exitCode = controller.signal.aborted || outcome === 'interrupted' ? interrupted() : exitCodeForOutcome(outcome);
    } catch (error) {
      const { reportError } = await import('./report-error.js');
      const errorClass = await reportError(error, context, options);
      exitCode = controller.signal.aborted || errorClass === 'interrupted' ? interrupted() : exitCodeForErrorClass(errorClass);
    } finally {
      stop.uninstall();
    }
  };

  const program = buildProgram(runCommand);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; every other parse error is bad usage.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    }
    throw error;
  }
  return exitCode;
}
