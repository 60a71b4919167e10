import { describe, expect, it } from 'vitest';
import { redactRowValues, safeErrorFields } from '../../src/text/safe-error.js';

describe('redactRowValues', () => {
  it.each([
    ['unique violation on insert', 'Key (email)=(alice@example.com) already exists.', 'Key (email)=(…) already exists.'],
    ['unique index build over duplicates', 'Key (email)=(u1@example.com) is duplicated.', 'Key (email)=(…) is duplicated.'],
    ['several columns', 'Key (tenant_id, email)=(7, bob@example.com) already exists.', 'Key (tenant_id, email)=(…) already exists.'],
    ['an expression key', 'Key (lower(email))=(alice@example.com) already exists.', 'Key (lower(email))=(…) already exists.'],
    ['a value that looks like the end of the key', 'Key (note)=(x) already exists.) already exists.', 'Key (note)=(…) already exists.'],
    ['a foreign key', 'Key (customer_id)=(42) is not present in table "customers".', 'Key (customer_id)=(…) is not present in table "customers".'],
    ['a referenced key', 'Key (id)=(42) is still referenced from table "orders".', 'Key (id)=(…) is still referenced from table "orders".'],
    ['an exclusion constraint', 'Key (room, during)=(1, [2024-01-01,2024-01-02)) conflicts with existing key (room, during)=(1, [2024-01-01,2024-01-03)).', 'Key (room, during)=(…) conflicts with existing key (room, during)=(…).'],
    ['a key of an unknown shape keeps its columns only', 'Key (email)=(alice@example.com) something new', 'Key (email)=(…)'],
    ['a not-null or check violation', 'Failing row contains (1, alice@example.com, s3cret).', 'Failing row contains (…).'],
    ['no partition for the row', 'Partition key of the failing row contains (created_at) = (2031-01-01).', 'Partition key of the failing row contains (created_at) = (…).'],
    ['anything else is withheld', 'Row (alice@example.com) is odd.', '(detail withheld: it may quote row values)'],
  ])('%s', (_label, detail, expected) => {
    expect(redactRowValues(detail)).toBe(expected);
  });
});

describe('safeErrorFields', () => {
  it('redacts the detail of integrity errors (class 23) only, and strips control characters from every field', () => {
    expect(safeErrorFields({ code: '23505', message: 'could not create unique index "i"', detail: 'Key (email)=(a@b.c) is duplicated.' })).toEqual({
      code: '23505',
      message: 'could not create unique index "i"',
      detail: 'Key (email)=(…) is duplicated.',
    });
    expect(safeErrorFields({ code: '42P01', message: 'relation "x\u001b[2J" does not exist', detail: 'd\u0007', hint: 'h\u009b' })).toEqual({
      code: '42P01',
      message: 'relation "x" does not exist',
      detail: 'd',
      hint: 'h',
    });
    expect(safeErrorFields({ message: 'no code' })).toEqual({ message: 'no code' });
  });
});

describe('safeErrorFields on data exceptions (class 22)', () => {
  it('keeps the message but not the value it quotes', () => {
    expect(safeErrorFields({ code: '22P02', message: 'invalid input syntax for type integer: "alice@example.com"' })).toEqual({
      code: '22P02',
      message: 'invalid input syntax for type integer: "(…)"',
    });
    expect(safeErrorFields({ code: '42703', message: 'column "a" does not exist' }).message).toBe('column "a" does not exist');
  });
});
