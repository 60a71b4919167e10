import { readFile } from 'node:fs/promises';
import { platform } from 'node:os';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/db/embedded-server.js';

/**
 * The embedded server (dbtune demo, this suite) runs as another OS user when
 * dbtune runs as root, and a process's environment is readable in /proc by
 * its user: it must not get dbtune's secrets. Started here with some in the
 * environment, on this project's major; the postmaster's /proc environ is read.
 */
const major = inject('pgMajor');
const SECRETS = { DATABASE_URL: 'postgres://app:S3cretPw@db.internal/app', API_TOKEN: 'live_SECRETPART', PGPASSWORD: 'S3cretPw' };
let server: EmbeddedServer | undefined;

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(!major || platform() !== 'linux')('embedded server environment', () => {
  it('hands initdb and postgres none of the secrets in dbtune\'s environment, and still starts (regression: the whole environment was passed)', async () => {
    const saved = Object.fromEntries(Object.keys(SECRETS).map((k) => [k, process.env[k]]));
    Object.assign(process.env, SECRETS);
    try {
      server = await startEmbeddedServer({ major });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const environ = (await readFile(`/proc/${server.pid}/environ`, 'utf8')).split('\0').filter(Boolean);
    expect(environ.map((e) => e.split('=')[0]).sort()).toEqual(expect.arrayContaining(['LANG', 'LC_ALL', 'PATH']));
    for (const secret of Object.values(SECRETS)) expect(environ.join('\n')).not.toContain(secret);
    expect(environ.some((e) => /^(DATABASE_URL|API_TOKEN|PGPASSWORD|HOME)=/.test(e))).toBe(false);

    const session = await connect(resolveConnectionOptions({ databaseUrl: server.url, env: {} }));
    try {
      expect(await session.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(Math.floor(session.serverVersionNum / 10000)).toBe(major);
    } finally {
      await session.close();
    }
  });
});
