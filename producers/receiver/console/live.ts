import type { IncidentStateView } from '../../../shared/incident-view.js';

/**
 * The console's live updates: one poll of the paging state shared by every connected browser (Server-Sent Events),
 * every `pollMs` (default 2 s) while at least one is connected, none otherwise. A poll reads what its streams show:
 * the open incidents if a stream shows the list, and each incident an incident page's stream shows. Each subscriber
 * renders its fragment (the open incidents, or one incident) from the poll's answer and gets an `update` event only
 * when its HTML changed; every `heartbeatMs` (default 15 s) a comment line keeps proxies from closing the stream.
 * Bounded: at most `maxClients` streams (default 200) and `maxPerSession` per session (default 6): past either, the
 * route answers 429.
 * A stream ends when its session expires, when the session signs out (`closeSession`; on another receiver task or by
 * a revocation: at the first poll after the session check's cache window, `alive`), or when the browser leaves.
 */
/** What a poll reads: the open incidents (a stream shows the list), and these incidents (incident pages). */
export interface LiveWant {
  open: boolean;
  incidents: ReadonlySet<string>;
}

export interface LiveOptions {
  read: (want: LiveWant) => Promise<IncidentStateView[]>;
  now: () => number;
  pollMs?: number;
  heartbeatMs?: number;
  maxClients?: number;
  maxPerSession?: number;
  onError?: (err: unknown) => void;
}

export interface Subscriber {
  sessionId: string;
  /** The incident the stream shows (an incident page); absent: the list of open incidents. */
  incidentId?: string;
  expiresAt: number;
  /** The fragment's HTML from the poll's answer (undefined: nothing to send, e.g. an incident gone from the table). */
  render: (states: IncidentStateView[], now: number) => string | undefined;
  /**
   * Whether the stream's session is still on record (auth/session-store.ts: cached a few seconds), asked every poll:
   * a session signed out on another receiver task, or revoked, ends its streams here too. Rejects when it cannot be
   * told (the stream stays). Default: always.
   */
  alive?: () => Promise<boolean>;
  /** Writes SSE text; returns false when the stream is closed. */
  write: (text: string) => boolean;
  close: () => void;
}

interface Entry extends Subscriber {
  last?: string;
}

/** One SSE event (data lines split on newlines, as the format requires). */
export const sseEvent = (event: string, data: string) =>
  `event: ${event}\n${data
    .split('\n')
    .map((l) => `data: ${l}`)
    .join('\n')}\n\n`;

export class LiveHub {
  private readonly subs = new Set<Entry>();
  private poll?: ReturnType<typeof setInterval>;
  private beat?: ReturnType<typeof setInterval>;
  private polling?: Promise<void>;
  /** Paging-state reads made (for tests and the log). */
  reads = 0;

  constructor(private readonly opts: LiveOptions) {}

  get size() {
    return this.subs.size;
  }

  /** Whether one more stream for `sessionId` fits the bounds. */
  admits(sessionId: string): boolean {
    const max = this.opts.maxClients ?? 200;
    const perSession = this.opts.maxPerSession ?? 6;
    let mine = 0;
    for (const s of this.subs) if (s.sessionId === sessionId) mine++;
    return this.subs.size < max && mine < perSession;
  }

  /** Adds a stream, sends it its first fragment at once, and starts the shared poll if it was idle. */
  async add(sub: Subscriber): Promise<() => void> {
    const entry: Entry = { ...sub };
    this.subs.add(entry);
    this.start();
    try {
      const states = await this.read([entry]);
      this.push(entry, states, this.opts.now());
    } catch (err) {
      this.opts.onError?.(err);
    }
    return () => this.remove(entry);
  }

  /** Ends every stream of a session (sign-out). */
  closeSession(sessionId: string): void {
    for (const s of [...this.subs]) if (s.sessionId === sessionId) this.end(s, 'signed-out');
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const s of [...this.subs]) this.end(s, 'closing');
  }

  /** One poll now (what the timer does): reads the paging state once for every subscriber. */
  async tick(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = (async () => {
      try {
        const states = await this.read([...this.subs]);
        const now = this.opts.now();
        for (const s of [...this.subs]) {
          if (s.expiresAt <= now) this.end(s, 'expired');
          else if (!(await this.alive(s))) this.end(s, 'signed-out');
          else this.push(s, states, now);
        }
      } catch (err) {
        this.opts.onError?.(err);
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private async read(subs: Subscriber[]) {
    this.reads++;
    const incidents = new Set<string>();
    let open = false;
    for (const s of subs) {
      if (s.incidentId === undefined) open = true;
      else incidents.add(s.incidentId);
    }
    return this.opts.read({ open, incidents });
  }

  private async alive(s: Entry): Promise<boolean> {
    try {
      return (await s.alive?.()) ?? true;
    } catch (err) {
      this.opts.onError?.(err);
      return true;
    }
  }

  private push(s: Entry, states: IncidentStateView[], now: number) {
    const html = s.render(states, now);
    if (html === undefined || html === s.last) return;
    s.last = html;
    if (!s.write(sseEvent('update', JSON.stringify({ html })))) this.remove(s);
  }

  private end(s: Entry, why: string) {
    s.write(sseEvent(why === 'signed-out' ? 'signed-out' : 'end', JSON.stringify({ why })));
    s.close();
    this.remove(s);
  }

  private remove(s: Entry) {
    this.subs.delete(s);
    if (this.subs.size === 0) this.stop();
  }

  private start() {
    if (this.poll) return;
    this.poll = setInterval(() => void this.tick(), this.opts.pollMs ?? 2000);
    this.beat = setInterval(() => {
      for (const s of [...this.subs]) if (!s.write(': heartbeat\n\n')) this.remove(s);
    }, this.opts.heartbeatMs ?? 15_000);
    this.poll.unref?.();
    this.beat.unref?.();
  }

  private stop() {
    clearInterval(this.poll);
    clearInterval(this.beat);
    this.poll = undefined;
    this.beat = undefined;
  }
}
