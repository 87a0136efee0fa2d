import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogFilesError, logFiles, logServiceNames } from './logs.js';
import { SERVICES } from './services.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const logDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-'));
  dirs.push(d);
  return d;
};
const failure = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof LogFilesError) return { message: err.message, exitCode: err.exitCode };
    throw err;
  }
  throw new Error('no LogFilesError');
};

describe('make logs: which files', () => {
  it('an unknown SERVICE lists the valid ones and exits 2', () => {
    const dir = logDir();
    fs.writeFileSync(path.join(dir, 'paging.log'), '{}\n');
    expect(logServiceNames()).toEqual(SERVICES.map((s) => s.name));
    expect(logServiceNames()).toEqual(expect.arrayContaining(['kinesis', 'receiver', 'lake', 'paging']));
    expect(failure(() => logFiles({ logDir: dir }, 'nope'))).toEqual({
      message: `no service "nope"; SERVICE is one of: ${SERVICES.map((s) => s.name).join(', ')}`,
      exitCode: 2,
    });
  });

  it("a known SERVICE gives its file; none: every service's that exists; no file: says make up, exits 1", () => {
    const dir = logDir();
    expect(failure(() => logFiles({ logDir: dir }))).toMatchObject({ exitCode: 1 });
    expect(failure(() => logFiles({ logDir: dir }, 'paging')).message).toMatch(/ for paging \(make up starts/);
    for (const n of ['paging', 'receiver']) fs.writeFileSync(path.join(dir, `${n}.log`), '{}\n');
    fs.writeFileSync(path.join(dir, 'stray.txt'), '');
    expect(logFiles({ logDir: dir }, 'paging')).toEqual([path.join(dir, 'paging.log')]);
    expect(logFiles({ logDir: dir }, '')).toEqual([path.join(dir, 'receiver.log'), path.join(dir, 'paging.log')]);
  });
});
