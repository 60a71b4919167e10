/**
 * `${NAME}` in a load scenario: filled from the environment at load time. A
 * missing variable is an error (never an empty string): a token that silently
 * became "" sends unauthenticated traffic and measures the wrong thing.
 * `$${X}` is a literal `${X}`.
 *
 * A value from the environment is literal text: it is inserted after the
 * scenario's `{{…}}` templates are parsed, so a token that happens to hold
 * `{{…}}` is sent as written and never read as a generator. It is also
 * treated as a secret: a message about it names the variable
 * (`the value of ${API_TOKEN}`), never the value.
 */

export type EnvLookup = (name: string) => string | undefined;

export type EnvPiece = { kind: 'text'; text: string } | { kind: 'env'; name: string };

const REFERENCE = /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const REFERENCE_AT = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/y;

/** The text as written, cut into literal text and references (`$${X}` is text `${X}`). */
export function splitEnvRefs(text: string): EnvPiece[] {
  const pieces: EnvPiece[] = [];
  let last = 0;
  const pushText = (t: string) => {
    if (!t) return;
    const previous = pieces.at(-1);
    if (previous?.kind === 'text') previous.text += t;
    else pieces.push({ kind: 'text', text: t });
  };
  for (const match of text.matchAll(REFERENCE)) {
    pushText(text.slice(last, match.index));
    if (match[0].startsWith('$$')) pushText(match[0].slice(1));
    else pieces.push({ kind: 'env', name: match[1]! });
    last = match.index + match[0].length;
  }
  pushText(text.slice(last));
  return pieces;
}

/** Names the text refers to, in order (repeats kept). */
export function envNames(text: string): string[] {
  return splitEnvRefs(text).flatMap((p) => (p.kind === 'env' ? [p.name] : []));
}

/** The text with every reference filled; an unset variable becomes "" here, and is the caller's to report. */
export function fillEnv(text: string, env: EnvLookup): string {
  return splitEnvRefs(text)
    .map((p) => (p.kind === 'text' ? p.text : (env(p.name) ?? '')))
    .join('');
}

/** Length of the reference starting at `index` (`${NAME}`), or 0. */
export function envRefLengthAt(text: string, index: number): number {
  REFERENCE_AT.lastIndex = index;
  return REFERENCE_AT.exec(text)?.[0].length ?? 0;
}

export function substituteEnv(text: string, env: NodeJS.ProcessEnv): { ok: true; text: string } | { ok: false; missing: string[] } {
  const missing = envNames(text).filter((name) => env[name] === undefined);
  if (missing.length) return { ok: false, missing };
  return { ok: true, text: fillEnv(text, (name) => env[name]) };
}

/**
 * How a message names a value that came from the environment: by the
 * variable (`the value of ${API_TOKEN}`), or by the text as written when the
 * variable is only part of it (`the value of "Bearer ${API_TOKEN}"`).
 */
export function describeEnvValue(written: string): string {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(written) ? `the value of ${written}` : `the value of ${JSON.stringify(written)}`;
}
