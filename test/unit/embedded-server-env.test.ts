import { describe, expect, it } from 'vitest';
import { serverEnvironment } from '../../src/db/embedded-server.js';

describe('serverEnvironment', () => {
  it('keeps what initdb and postgres use and drops everything else (regression: DATABASE_URL, API_TOKEN… were handed to them)', () => {
    const env = serverEnvironment({
      PATH: '/usr/bin:/bin',
      TZ: 'Europe/Paris',
      LANG: 'de_DE.UTF-8',
      LC_MESSAGES: 'de_DE.UTF-8',
      DATABASE_URL: 'postgres://app:S3cretPw@db/app',
      PGPASSWORD: 'S3cretPw',
      API_TOKEN: 'live_SECRETPART',
      PGPORT: '6543',
      HOME: '/root',
    });
    expect(env).toEqual({ PATH: '/usr/bin:/bin', TZ: 'Europe/Paris', LANG: 'C', LC_ALL: 'C' });
  });
});
