/**
 * The emulator's persistence: one JSON file per schedule group and per schedule under `dir`:
 *
 *   <dir>/groups/<group>.json
 *   <dir>/schedules/<group>/<name>.json
 *
 * Every write goes to a temp file in the same directory, then `rename` replaces the target: a kill at
 * any moment leaves either the old or the new file, never half of one. Writes and deletes of one file
 * run one after another (in call order), so a delete that follows a create cannot be undone by it.
 * Leftover temp files (a kill mid-write) are removed on load; an unreadable file is skipped and
 * reported, never fatal.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SchedulerStoreError } from './errors.js';
import type { StoredGroup, StoredSchedule } from './model.js';

const TMP = /\.tmp$/;

export class ScheduleStore {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string) {}

  private groupFile(name: string) {
    return path.join(this.dir, 'groups', `${name}.json`);
  }

  private scheduleFile(group: string, name: string) {
    return path.join(this.dir, 'schedules', group, `${name}.json`);
  }

  /** Runs fn after every earlier operation on the same file. */
  private serial<T>(file: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(file) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    this.chains.set(file, run);
    const clear = () => {
      if (this.chains.get(file) === run) this.chains.delete(file);
    };
    run.then(clear, clear);
    return run;
  }

  private write(file: string, value: unknown): Promise<void> {
    return this.serial(file, async () => {
      try {
        await fs.mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        const handle = await fs.open(tmp, 'w');
        try {
          await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
          await handle.datasync();
        } finally {
          await handle.close();
        }
        await fs.rename(tmp, file);
      } catch (cause) {
        throw new SchedulerStoreError(file, `cannot write: ${(cause as Error).message}`, { cause });
      }
    });
  }

  private remove(file: string): Promise<void> {
    return this.serial(file, async () => {
      try {
        await fs.rm(file, { force: true });
      } catch (cause) {
        throw new SchedulerStoreError(file, `cannot delete: ${(cause as Error).message}`, { cause });
      }
    });
  }

  putGroup(group: StoredGroup): Promise<void> {
    return this.write(this.groupFile(group.name), group);
  }

  deleteGroup(name: string): Promise<void> {
    return this.remove(this.groupFile(name));
  }

  putSchedule(schedule: StoredSchedule): Promise<void> {
    return this.write(this.scheduleFile(schedule.groupName, schedule.name), schedule);
  }

  deleteSchedule(group: string, name: string): Promise<void> {
    return this.remove(this.scheduleFile(group, name));
  }

  /** Everything stored; `problems` lists files that were skipped (unreadable or invalid). */
  async load(): Promise<{ groups: StoredGroup[]; schedules: StoredSchedule[]; problems: SchedulerStoreError[] }> {
    const problems: SchedulerStoreError[] = [];
    const readJson = async <T>(file: string, valid: (v: unknown) => v is T): Promise<T | undefined> => {
      try {
        const value: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
        if (valid(value)) return value;
        problems.push(new SchedulerStoreError(file, 'not a stored schedule or group; skipped'));
      } catch (cause) {
        problems.push(new SchedulerStoreError(file, `unreadable, skipped: ${(cause as Error).message}`, { cause }));
      }
      return undefined;
    };
    const jsonFiles = async (dir: string): Promise<string[]> => {
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new SchedulerStoreError(dir, `cannot list: ${(err as Error).message}`, { cause: err });
      }
      const out: string[] = [];
      for (const n of names) {
        const file = path.join(dir, n);
        if (TMP.test(n)) await fs.rm(file, { force: true });
        else if (n.endsWith('.json')) out.push(file);
      }
      return out;
    };

    const groups: StoredGroup[] = [];
    for (const file of await jsonFiles(path.join(this.dir, 'groups'))) {
      const g = await readJson(file, isGroup);
      if (g) groups.push(g);
    }
    const schedules: StoredSchedule[] = [];
    let groupDirs: string[] = [];
    try {
      groupDirs = await fs.readdir(path.join(this.dir, 'schedules'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const g of groupDirs) {
      for (const file of await jsonFiles(path.join(this.dir, 'schedules', g))) {
        const s = await readJson(file, isSchedule);
        if (s) schedules.push(s);
      }
    }
    return { groups, schedules, problems };
  }

  /** Resolves when every write and delete started so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size) await Promise.allSettled([...this.chains.values()]);
  }
}

function isGroup(v: unknown): v is StoredGroup {
  const g = v as StoredGroup;
  return typeof g === 'object' && g !== null && g.v === 1 && typeof g.name === 'string' && typeof g.arn === 'string';
}

function isSchedule(v: unknown): v is StoredSchedule {
  const s = v as StoredSchedule;
  return (
    typeof s === 'object' &&
    s !== null &&
    s.v === 1 &&
    typeof s.name === 'string' &&
    typeof s.groupName === 'string' &&
    Number.isFinite(s.atMs) &&
    typeof s.target?.Arn === 'string' &&
    typeof s.target?.Input === 'string' &&
    typeof s.target?.KinesisParameters?.PartitionKey === 'string'
  );
}
