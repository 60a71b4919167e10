import { appendFile } from 'node:fs/promises';
import type { Report, OutputFormat } from './model.js';
import { ansiPaint, plainPaint, renderTable } from './render-table.js';
import { renderJunit } from './render-junit.js';
import { renderMarkdown } from './render-markdown.js';
import { stripControlReplacer } from '../text/safe-text.js';

/** Where a command writes: stdout carries the report only; progress and logs go to stderr. */
export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export async function renderReport(report: Report, format: OutputFormat, io: CommandIo): Promise<string> {
  switch (format) {
    case 'json':
      // JSON escapes C0 controls but not DEL or C1 (U+009B is a CSI): strip them all from strings.
      return `${JSON.stringify(report.document, stripControlReplacer, 2)}\n`;
    case 'junit':
      return renderJunit(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'table':
      return renderTable(report, colorWanted(io.stdout, io.env) ? ansiPaint : plainPaint);
  }
}

/**
 * Writes the report in the chosen format on stdout, and appends the Markdown
 * form to `$GITHUB_STEP_SUMMARY` when that is set, whatever the format.
 */
export async function emitReport(report: Report, format: OutputFormat, io: CommandIo): Promise<void> {
  await write(io.stdout, await renderReport(report, format, io));
  const summaryFile = io.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) {
    try {
      await appendFile(summaryFile, `${renderMarkdown(report)}\n`);
    } catch (error) {
      await write(io.stderr, `warning: could not append to GITHUB_STEP_SUMMARY (${summaryFile}): ${(error as Error).message}\n`);
    }
  }
}

export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
