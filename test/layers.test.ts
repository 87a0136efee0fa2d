import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The folders follow the dependency direction (.dependency-cruiser.cjs): the real tree has no
 * violation, and the rules do fire — an upward import and a cycle in a small tree of their own.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const LAYERS = ['platform', 'schemas', 'shared', 'producers', 'processors', 'analysis', 'infra', 'test'];

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

async function cruise(cwd: string, dirs: string[]): Promise<Violation[]> {
  const args = [...dirs, '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json'];
  // depcruise exits non-zero when it finds a violation; the JSON is on stdout either way.
  const out = await promisify(execFile)(DEPCRUISE, args, { cwd, maxBuffer: 64 << 20 }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  return (JSON.parse(out.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-layers-'));
  tmp.push(dir);
  cpSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('layers', () => {
  it('the tree imports only downward, with no cycle', async () => {
    const found = await cruise(ROOT, LAYERS);
    expect(found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 60_000);

  // producers/ read the lake through analysis/ (the incident API's history, the console's analytics); processors/ not
  it('an upward import fails, a test may import anything, a type-only back edge closes no cycle', async () => {
    const dir = tree({
      'platform/clock.ts': "import { escalate } from '../processors/paging/engine.js';\nexport const now = escalate;\n",
      'platform/clock.test.ts':
        "import { escalate } from '../processors/paging/engine.js';\nexport const t = escalate;\n",
      'processors/paging/engine.ts': 'export const escalate = 1;\n',
      'analysis/report/data.ts': 'export const lake = 1;\n',
      'producers/receiver/api/lake.ts':
        "import { lake } from '../../../analysis/report/data.js';\nexport const l = lake;\n",
      'processors/paging/lake.ts': "import { lake } from '../../analysis/report/data.js';\nexport const l = lake;\n",
      'analysis/report/back.ts': "import { l } from '../../producers/receiver/api/lake.js';\nexport const b = l;\n",
      'shared/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'shared/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'schemas/x.ts': "import type { Y } from './y.js';\nexport interface X { y?: Y }\nexport const x = 1;\n",
      'schemas/y.ts': "import { x } from './x.js';\nexport interface Y { n: typeof x }\n",
    });
    const found = await cruise(dir, ['platform', 'processors', 'shared', 'schemas', 'producers', 'analysis']);
    const names = found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(names.filter((n) => n.startsWith('platform-'))).toEqual([
      'platform-imports-only-below: platform/clock.ts → processors/paging/engine.ts',
    ]);
    // the value cycle is reported (once, from one of its edges); the type-only one is not
    expect(names.filter((n) => n.startsWith('no-circular'))).toHaveLength(1);
    expect(names.find((n) => n.startsWith('no-circular'))).toMatch(
      /^no-circular: shared\/[ab]\.ts → shared\/[ab]\.ts$/,
    );
    expect(
      names.filter((n) => n.startsWith('processors-') || n.startsWith('analysis-') || n.startsWith('producers-')),
    ).toEqual([
      'analysis-imports-only-below: analysis/report/back.ts → producers/receiver/api/lake.ts',
      'processors-imports-only-below: processors/paging/lake.ts → analysis/report/data.ts',
    ]);
    expect(names).toHaveLength(4);
  }, 60_000);
});
