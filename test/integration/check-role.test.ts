import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';

/**
 * `--role` on explain and verify: the checks run after SET ROLE, with that
 * role's privileges, not the login role's (the test login is a superuser).
 */

const db = useTestDatabase();
const suffix = randomBytes(3).toString('hex');
const checker = `checker_${suffix}`;

interface ChecksJson {
  passed: boolean;
  checks: Array<{ name: string; status: string; reason?: string; error?: { code?: string; message: string } }>;
  error?: { code: string };
}

beforeAll(async () => {
  await db.query(`CREATE ROLE ${checker} NOLOGIN`);
  await db.query('CREATE TABLE public_items (id int PRIMARY KEY, v int)');
  await db.query('CREATE TABLE private_items (id int PRIMARY KEY, secret text)');
  await db.query(`GRANT SELECT ON public_items TO ${checker}`);
});

const CHECKS = `checks:
  - name: whoami
    # The cast fails, and PostgreSQL's message names the relation it looked for: the role the check ran as.
    query: SELECT current_user::text::regclass
    expect: { max_ms: 1000 }
  - name: granted table
    query: SELECT * FROM public_items WHERE id = 1
    expect: { max_ms: 1000 }
  - name: private table
    query: SELECT * FROM private_items WHERE id = 1
    expect: { max_ms: 1000 }
`;

describe('explain --role', () => {
  it('runs the checks as the role: current_user is the role, and what it may not read fails for lack of privilege', async () => {
    const file = await writeTempFile('checks.yaml', CHECKS);
    const result = await runCli(['explain', file, '--json', '--runs', '1', '--role', checker], { DATABASE_URL: db.url });
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as ChecksJson;
    const [whoami, granted, denied] = report.checks;
    expect(whoami!.error).toMatchObject({ code: '42P01' });
    expect(whoami!.error!.message).toContain(`"${checker}"`);
    expect(granted!.status).toBe('pass');
    expect(denied!.status).toBe('error');
    expect(denied!.error!.code).toBe('42501');

    const table = await runCli(['explain', file, '--runs', '1', '--role', checker], { DATABASE_URL: db.url });
    expect(table.stdout).toContain(`checks ran after SET ROLE "${checker}"`);
    expect(table.stdout).not.toMatch(/restricts nothing/);
    const superuser = await runCli(['explain', file, '--runs', '1', '--role', new URL(db.url).username], { DATABASE_URL: db.url });
    expect(superuser.stdout).toMatch(/a superuser or BYPASSRLS role: it restricts nothing/);

    // Without --role, the same checks run as the login role.
    const plain = JSON.parse((await runCli(['explain', file, '--json', '--runs', '1'], { DATABASE_URL: db.url })).stdout) as ChecksJson;
    expect(plain.checks[0]!.error!.message).not.toContain(checker);
    expect(plain.checks[2]!.status).toBe('pass');
  });

  it('refuses a role that does not exist, or that the login role may not SET, with exit 2 before any check runs', async () => {
    const file = await writeTempFile('checks.yaml', CHECKS);
    const missing = await runCli(['explain', file, '--json', '--role', `nobody_${suffix}`], { DATABASE_URL: db.url });
    expect(missing.code).toBe(2);
    expect((JSON.parse(missing.stdout) as ChecksJson).error!.code).toBe('USAGE');
    expect(missing.stderr).not.toMatch(/check whoami/);

    // A login role that is not a member of the checker role.
    const login = `login_${suffix}`;
    const password = randomBytes(9).toString('hex');
    await db.query(`CREATE ROLE ${login} LOGIN PASSWORD '${password}'`);
    const url = new URL(db.url);
    url.username = login;
    url.password = password;
    const refused = await runCli(['explain', file, '--json', '--role', checker], { DATABASE_URL: url.toString() });
    expect(refused.code, refused.stderr).toBe(2);
    expect((JSON.parse(refused.stdout) as ChecksJson).error!.code).toBe('USAGE');
    expect(refused.stderr).toContain(`may not SET ROLE "${checker}"`);
    expect(refused.stderr).not.toMatch(/check whoami/);
    expect(refused.stdout + refused.stderr).not.toContain(password);

    // A quoted name that would break out of the identifier is only ever a name.
    const odd = await runCli(['explain', file, '--json', '--role', '"x""; RESET ROLE; --"'], { DATABASE_URL: db.url });
    expect(odd.code).toBe(2);
  });
});

describe('verify --role', () => {
  it('reads the indexes as the login role and runs the checks as the role', async () => {
    const file = await writeTempFile(
      'set.yaml',
      `set: items
indexes:
  - { name: private_items_pkey, table: private_items, columns: [id], unique: true }
checks:
  - name: private table
    query: SELECT * FROM private_items WHERE id = 1
    expect: { max_ms: 1000 }
`,
    );
    const result = await runCli(['verify', file, '--json', '--runs', '1', '--role', checker], { DATABASE_URL: db.url });
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as ChecksJson & { indexes: Array<{ status: string }> };
    expect(report.indexes.map((i) => i.status)).toEqual(['ok']);
    expect(report.checks[0]).toMatchObject({ status: 'error', error: { code: '42501' } });

    const missing = await runCli(['verify', file, '--json', '--role', `nobody_${suffix}`], { DATABASE_URL: db.url });
    expect(missing.code).toBe(2);
  });
});
