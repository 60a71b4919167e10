/**
 * Bench options: `--name N` or `--name=N` on the command line, else the env
 * var, else the default. A bad value stops the run before anything is
 * measured, with a message naming the flag, the env var and the rule.
 */

/**
 * @param {string[]} argv process.argv.slice(2)
 * @param {{ flag: string, env: string, fallback: number, min?: number }} spec
 * @returns {number}
 */
export function intOption(argv, { flag, env, fallback, min = 1 }) {
  const raw = flagValue(argv, flag) ?? process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${flag} / ${env} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * `--flag` / `--no-flag`, else the env var (`1`/`true` or `0`/`false`), else the default.
 * @param {string[]} argv
 * @param {{ flag: string, env: string, fallback: boolean }} spec
 * @returns {boolean}
 */
export function boolOption(argv, { flag, env, fallback }) {
  if (argv.includes(flag)) return true;
  if (argv.includes(flag.replace(/^--/, '--no-'))) return false;
  const raw = process.env[env];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new Error(`${env} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

function flagValue(argv, flag) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}
