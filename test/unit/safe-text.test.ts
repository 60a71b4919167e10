import { describe, expect, it } from 'vitest';
import { stripControl } from '../../src/text/safe-text.js';

describe('stripControl', () => {
  it.each([
    ['plain text stays', 'SELECT * FROM t WHERE a = $1', 'SELECT * FROM t WHERE a = $1'],
    ['tab and newline stay', 'a\tb\nc', 'a\tb\nc'],
    ['CRLF becomes a newline', 'a\r\nb', 'a\nb'],
    ['a lone carriage return (overwrites the line) goes', 'safe\rEVIL', 'safeEVIL'],
    ['a CSI colour sequence goes whole', 'a\u001b[31mred\u001b[0m b', 'ared b'],
    ['a CSI with private parameters (clear screen, hide cursor) goes whole', '\u001b[2J\u001b[?25lx', 'x'],
    ['an OSC title change ended by BEL goes whole', '\u001b]0;pwned\u0007after', 'after'],
    ['an OSC 52 clipboard write ended by ST goes whole', '\u001b]52;c;ZWNobyBwd25lZA==\u001b\\after', 'after'],
    ['an OSC 8 hyperlink goes, its text stays', '\u001b]8;;http://x.invalid/\u001b\\click\u001b]8;;\u001b\\', 'click'],
    ['an unterminated OSC (truncated text) goes to the end', 'x\u001b]0;title never ends', 'x'],
    ['a DCS string goes whole', '\u001bPq#0;2;0;0;0\u001b\\y', 'y'],
    ['a two-character escape (RIS: reset terminal) goes', 'a\u001bcb', 'ab'],
    ['a lone ESC at the end goes', 'a\u001b', 'a'],
    ['NUL, BEL, backspace, vertical tab, form feed go', 'a\u0000b\u0007c\u0008d\u000be\u000cf', 'abcdef'],
    ['DEL goes', 'a\u007fb', 'ab'],
    ['C1 CSI (U+009B) goes', 'a\u009b31mb', 'a31mb'],
    ['other C1 controls (NEL, ST) go', 'a\u0085b\u009cc', 'abc'],
    ['bidi overrides and isolates go (they reorder what a line shows)', 'ok\u202eexe.txt\u2066x\u2069', 'okexe.txtx'],
    ['zero-width characters go', 'ad\u200bmin\ufeff', 'admin'],
    ['non-ASCII text stays', 'café 😀 “quoted”', 'café 😀 “quoted”'],
  ])('%s', (_label, input, expected) => {
    expect(stripControl(input)).toBe(expected);
    expect(stripControl(expected)).toBe(expected);
  });
});
