import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OnCallConfig } from '../../schemas/oncall/config.js';
import { parseIcal, type IcalCalendar } from './ical.js';

export interface IcalFeedOptions {
  /**
   * Directory relative file paths are resolved against: the on-call file's directory. Default the working directory.
   */
  baseDir?: string;
  /** Where the last good copy of each feed is kept. Default `$DATA_DIR/oncall-ical` (DATA_DIR default `.data`). */
  cacheDir?: string;
  /** Timeout of one URL fetch (ms). Default 5000. */
  timeoutMs?: number;
  /** Called when a feed cannot be read (then its last good copy, if any, is used). Default: nothing. */
  onWarning?: (warning: { source: string; usedCache: boolean; error: string }) => void;
  fetch?: typeof globalThis.fetch;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

async function readSource(source: string, o: IcalFeedOptions): Promise<string> {
  if (!isUrl(source)) return readFile(path.resolve(o.baseDir ?? '.', source), 'utf8');
  const res = await (o.fetch ?? globalThis.fetch)(source, { signal: AbortSignal.timeout(o.timeoutMs ?? 5000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.text();
}

/**
 * Reads and parses every iCalendar layer of the on-call file, keyed by its `ical` source. A feed read
 * and parsed is saved as its last good copy; a feed that cannot be read or parsed falls back to that
 * copy (warning), else is left out (its layer has nobody, warning).
 */
export async function loadIcalFeeds(
  cfg: Pick<OnCallConfig, 'schedules'>,
  o: IcalFeedOptions = {},
): Promise<Map<string, IcalCalendar>> {
  const cacheDir = o.cacheDir ?? path.join(process.env.DATA_DIR?.trim() || '.data', 'oncall-ical');
  const sources = new Set<string>();
  for (const s of Object.values(cfg.schedules)) for (const l of s.layers) if ('ical' in l) sources.add(l.ical);
  const out = new Map<string, IcalCalendar>();
  await Promise.all(
    [...sources].map(async (source) => {
      const cacheFile = path.join(cacheDir, `${createHash('sha256').update(source).digest('hex').slice(0, 24)}.ics`);
      let text: string;
      let cal: IcalCalendar;
      try {
        text = await readSource(source, o);
        cal = parseIcal(text);
      } catch (cause) {
        const error = cause instanceof Error ? cause.message : String(cause);
        let usedCache = false;
        try {
          out.set(source, parseIcal(await readFile(cacheFile, 'utf8')));
          usedCache = true;
        } catch {
          // no usable last good copy: the layer has nobody
        }
        o.onWarning?.({ source, usedCache, error });
        return;
      }
      out.set(source, cal);
      try {
        await mkdir(cacheDir, { recursive: true });
        await writeFile(`${cacheFile}.tmp`, text);
        await rename(`${cacheFile}.tmp`, cacheFile);
      } catch (cause) {
        o.onWarning?.({
          source,
          usedCache: false,
          error:
            `read, but its copy could not be kept in ${cacheDir}: ` +
            `${cause instanceof Error ? cause.message : String(cause)}`,
        });
      }
    }),
  );
  return out;
}
