import { constants } from 'node:os';
import { runCleanupsNow } from '../process/cleanups.js';
import { ExitCode } from './exit-codes.js';

/**
 * The signals that stop a run: Ctrl-C, SIGTERM (what CI runners send on
 * cancel, and `kill`), SIGHUP (the terminal went away). All three stop the
 * run the same way; the exit code is 128 + the signal's number, as a shell
 * reports a process the signal ended: 130 for SIGINT ("interrupted" in
 * the README's exit codes), 143 for SIGTERM, 129 for SIGHUP.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export function exitCodeForSignal(signal: StopSignal): number {
  return signal === 'SIGINT' ? ExitCode.Interrupted : 128 + constants.signals[signal];
}

export interface StopHandling {
  /** The first stop signal received, if any: the run was interrupted. */
  readonly received: StopSignal | undefined;
  /** Removes every handler installed (after the command returned). */
  uninstall(): void;
}

/**
 * While a command runs:
 * - the first stop signal aborts `controller`: the command stops what it
 *   started, writes what it measured and returns;
 * - a second one (say, Ctrl-C twice) quits at once, but first stops every
 *   child still registered (cleanups.ts) and removes its temp data;
 * - an uncaught exception or unhandled rejection is reported as an internal
 *   error, the registered cleanups run, exit 1;
 * - any other exit (process.exit elsewhere, e.g. on EPIPE) runs them too.
 */
export function handleStopSignals(controller: AbortController, stderr: NodeJS.WritableStream): StopHandling {
  let received: StopSignal | undefined;
  const say = (line: string) => void stderr.write(`${line}\n`);
  const quit = (code: number): never => {
    runCleanupsNow(say);
    process.exit(code);
  };

  const onSignal = (signal: StopSignal) => {
    if (received === undefined) {
      received = signal;
      const again = signal === 'SIGINT' ? 'Ctrl-C again' : `${signal} again`;
      say(`\ninterrupted${signal === 'SIGINT' ? '' : ` (${signal})`}: stopping, cleaning up and writing what was measured (${again} to quit at once)`);
      controller.abort();
    } else {
      say(`\n${signal} again: stopping what dbtune started and quitting`);
      quit(exitCodeForSignal(received));
    }
  };
  const onFault = (error: unknown) => {
    say(`internal error: ${(error as Error)?.stack ?? String(error)}`);
    quit(ExitCode.Failed);
  };
  const onExit = () => runCleanupsNow(say);

  const handlers = STOP_SIGNALS.map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  process.on('uncaughtException', onFault);
  process.on('unhandledRejection', onFault);
  process.on('exit', onExit);
  return {
    get received() {
      return received;
    },
    uninstall() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      process.off('uncaughtException', onFault);
      process.off('unhandledRejection', onFault);
      process.off('exit', onExit);
    },
  };
}
