import { describe, expect, it } from 'vitest';
import { compareSequenceNumbers } from './sequence-number.js';

const sign = (n: number) => Math.sign(n);

describe('compareSequenceNumbers', () => {
  it('orders decimal strings of different lengths numerically, not as strings', () => {
    expect(sign(compareSequenceNumbers('9', '10'))).toBe(-1);
    expect(sign(compareSequenceNumbers('100', '99'))).toBe(1);
    const seq = '49590338271490256608559692538361571095921575989136588898';
    expect(compareSequenceNumbers(seq, seq)).toBe(0);
  });

  it('agrees with BigInt on Kinesis-sized numbers (56 digits, up to 128)', () => {
    const big = [
      '49590338271490256608559692538361571095921575989136588898',
      '49590338271490256608559692538361571095921575989136588899',
      '49590338271490256608559692540779422735150834338548990050',
      '1' + '0'.repeat(127),
      '9'.repeat(128),
      '21269319989653637946712965403778482371',
    ];
    for (const a of big) {
      for (const b of big) {
        const want = BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
        expect(sign(compareSequenceNumbers(a, b)), `${a} vs ${b}`).toBe(want);
      }
    }
  });

  it('sorts with Array.prototype.sort', () => {
    expect(['100', '20', '3', '1000'].sort(compareSequenceNumbers)).toEqual(['3', '20', '100', '1000']);
  });
});
