import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/redact-url.js';

describe('redactUrl', () => {
  it.each<[string, string]>([
    // Nothing to hide: unchanged, not normalised.
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['https://API.example.com/v1/', 'https://API.example.com/v1/'],
    ['postgres://alice@db:5432/app', 'postgres://***@db:5432/app'],
    ['http://host/users/@me', 'http://host/users/@me'],
    // Userinfo: the user name stays when a password follows; a lone userinfo may be a token.
    ['http://alice:S3cretPw@host/?token=abc', 'http://alice:***@host/?token=***'],
    ['https://ghp_abc123@github.example/x', 'https://***@github.example/x'],
    ['postgres://app:pw@db.internal:6432/prod?sslmode=require', 'postgres://app:***@db.internal:6432/prod?sslmode=***'],
    ['http://alice:@host', 'http://alice:@host'],
    ['http://a:p@ss@host:80/', 'http://a:***@host:80/'],
    // Query values and fragments; keys stay.
    ['http://host:8080/api?token=abc&page=2', 'http://host:8080/api?token=***&page=***'],
    ['http://host/?flag&empty=&=v', 'http://host/?***&empty=&=***'],
    ['http://host/#access_token=xyz', 'http://host/#***'],
    ['http://host/?', 'http://host/?'],
    // Not a valid URL: a password with an unencoded / ? or # must not leak either.
    ['postgres://u:pa/ss#w@db/app', 'postgres://u:***@db/app'],
    ['http://alice:S3cret Pw@host/?token=abc', 'http://alice:***@host/?token=***'],
    ['alice:pw@host/db', 'alice:***@host/db'],
    // Valid, but only as host `user`, port 12: the password runs to the @ in the "path".
    ['http://user:12/s3cr3t@host/api', 'http://user:***@host/api'],
    ['not a url', 'not a url'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('never returns the password or a query value of the issue example', () => {
    const shown = redactUrl('http://alice:S3cretPw@host/?token=abc');
    expect(shown).not.toContain('S3cretPw');
    expect(shown).not.toContain('abc');
  });
});
