import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN_ENTRIES, REPO_ROOT } from './bin.js';

describe('built entry points', () => {
  it('every entry names a source that exists (a moved module moves its entry too)', () => {
    const missing = Object.entries(BIN_ENTRIES).filter(([, src]) => !existsSync(path.join(REPO_ROOT, src)));
    expect(missing).toEqual([]);
  });
});
