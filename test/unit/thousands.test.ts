import { describe, expect, it } from 'vitest';
import { withThousands } from '../../src/text/thousands.js';

describe('withThousands', () => {
  it.each([0, 7, 999, 1000, 12_345, 150_050, 1_500_000, 1_234_567_890, -1, -1000, -1_500_000, 2 ** 53 - 1])('writes %d as toLocaleString("en-US") does', (n) => {
    expect(withThousands(n)).toBe(n.toLocaleString('en-US'));
  });

  it('rounds to a whole number, as the counts and milliseconds it writes are', () => {
    expect(withThousands(1234.6)).toBe('1,235');
    expect(withThousands(-0.2)).toBe('0');
  });
});
