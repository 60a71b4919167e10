import type { CommandIo } from '../report/emit.js';

/**
 * The contract between the CLI entry and a command: the CLI builds the
 * context, lazy-imports the command's module and maps what `run` returns (or
 * throws) to an exit code. Commands never exit.
 */

/** What a command reports back to the CLI entry, which alone exits. */
export type CommandOutcome = 'ok' | 'failed' | 'interrupted';

export interface CommandContext {
  io: CommandIo;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

export type CommandHandler<O> = (args: string[], options: O, context: CommandContext) => Promise<CommandOutcome>;
