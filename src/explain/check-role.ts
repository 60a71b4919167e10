import type { SqlSession } from '../db/client.js';
import { parseIdentifier, quoteIdent } from '../sql/identifiers.js';
import { DbtuneError } from '../errors.js';

/**
 * `--role`: checks run after `SET ROLE`, with that role's privileges instead
 * of the login role's. It narrows what a check can do by mistake; it is not a
 * sandbox against a hostile check file, which can switch back (`SELECT
 * set_config('role', 'none', false)`, allowed to any query) to the login
 * role — only a login role with few privileges bounds that.
 *
 * A role that does not exist or that the login role may not SET is bad usage
 * (exit 2): the database was reached, the value given is wrong for it, no
 * check has run, and retrying will not help — unlike exit 3.
 */
export async function resolveCheckRole(session: SqlSession, text: string): Promise<CheckRole> {
  const parsed = parseIdentifier(text);
  if (!parsed.ok) throw new DbtuneError('USAGE', `--role: ${parsed.error}`);
  const role = parsed.value;
  const [row] = await session.query<{ unrestricted: boolean }>('SELECT rolsuper OR rolbypassrls AS unrestricted FROM pg_roles WHERE rolname = $1', [role]);
  if (!row) throw new DbtuneError('USAGE', `--role: role ${quoteIdent(role)} does not exist`, { hint: 'names fold to lower case unless double-quoted, as in SQL' });
  const note = `checks ran after SET ROLE ${quoteIdent(role)}`;
  return { name: role, note: row.unrestricted ? `${note}, a superuser or BYPASSRLS role: it restricts nothing` : note };
}

/** A role checks may run as, and the report note that says so. */
export interface CheckRole {
  name: string;
  note: string;
}

/** `SET ROLE` for the rest of the session; a role the login role may not SET is bad usage (exit 2). */
export async function setCheckRole(session: SqlSession, role: string): Promise<void> {
  try {
    await session.query(`SET ROLE ${quoteIdent(role)}`);
  } catch (error) {
    if ((error as { code?: unknown }).code !== '42501') throw error;
    const [{ login }] = (await session.query<{ login: string }>('SELECT session_user::text AS login')) as [{ login: string }];
    throw new DbtuneError('USAGE', `--role: login role ${quoteIdent(login)} may not SET ROLE ${quoteIdent(role)}`, {
      hint: `GRANT ${quoteIdent(role)} TO ${quoteIdent(login)} (on PostgreSQL 16 and later, WITH SET TRUE, the default)`,
      cause: error,
    });
  }
}
