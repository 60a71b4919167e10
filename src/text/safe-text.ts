/**
 * Text that came from the database (another session's query, an error
 * message, a table name, application_name) is written by whoever can connect,
 * not by the person reading the report. Printed raw it can drive the reader's
 * terminal: ESC sequences recolour, move the cursor, rewrite the window title
 * or (OSC 52) the clipboard; a carriage return overwrites the line it is on.
 */

/** Escape sequences as terminals read them (ECMA-48): CSI, OSC/DCS/SOS/PM/APC strings, then two-character escapes. */
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCES = /\u001b\[[0-?]*[ -/]*[@-~]?|\u001b[\]PX^_][\s\S]*?(?:\u0007|\u001b\\|$)|\u001b[ -/]*[0-~]?/g;
/** C0 controls but tab and newline, DEL, and C1 (U+0080–U+009F, whose U+009B is a one-character CSI). */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Bidirectional overrides and isolates and zero-width characters: they reorder or hide what a line shows. */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * The text without control characters or escape sequences; tab and newline
 * stay (a CRLF becomes a newline), other controls and whole escape sequences
 * go. Pure and idempotent.
 */
export function stripControl(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(ESCAPE_SEQUENCES, '').replace(CONTROLS, '').replace(INVISIBLE, '');
}

/** Strings anywhere in a JSON-like value, stripped (a `JSON.stringify` replacer). */
export function stripControlReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? stripControl(value) : value;
}
