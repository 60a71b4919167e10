import type { CommandOutcome } from '../commands/context.js';
import type { ErrorClass } from '../errors.js';

/** Exit codes, the same for every command (README: Output and exit codes). */
export const ExitCode = {
  /** Everything asked for holds. */
  Ok: 0,
  /** The tool ran and something failed. */
  Failed: 1,
  /** Bad usage or bad input: nothing was executed. */
  BadInput: 2,
  /** Could not reach the database or target, or the server is unsupported. */
  Unreachable: 3,
  /** Interrupted (Ctrl-C). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForOutcome(outcome: CommandOutcome): ExitCode {
  switch (outcome) {
    case 'ok':
      return ExitCode.Ok;
    case 'failed':
      return ExitCode.Failed;
    case 'interrupted':
      return ExitCode.Interrupted;
  }
}

export function exitCodeForErrorClass(errorClass: ErrorClass): ExitCode {
  switch (errorClass) {
    case 'input':
      return ExitCode.BadInput;
    case 'unreachable':
      return ExitCode.Unreachable;
    case 'interrupted':
      return ExitCode.Interrupted;
    case 'failure':
      return ExitCode.Failed;
  }
}
