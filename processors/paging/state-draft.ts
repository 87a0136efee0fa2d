import { remember, type Effect, type IncidentState, type PageState } from './incident-state.js';

type Lookup = 'dispatches' | 'messages';

/**
 * The working copy of an incident's state that the escalation engine writes while it applies one
 * record. The state it starts from is never written: the top level is copied at once (a few dozen
 * fields), the outbox, `seen`, the page maps and each page only when first written (copy-on-write),
 * so the cost does not grow with the incident. Every write that changes a value sets `changed`:
 * whether there is anything to save is known without comparing states.
 *
 * `inPlace` writes the given state itself: a state the caller owns (a new incident's, or the one the
 * effect runner is carrying out and saves afterwards).
 */
export class StateDraft {
  readonly state: IncidentState;
  /** A write changed a value. */
  changed = false;
  private readonly inPlace: boolean;
  private readonly copied = new Set<'pages' | Lookup | 'outbox' | 'seen'>();
  private readonly copiedPages = new Set<string>();

  constructor(base: IncidentState, options: { inPlace?: boolean } = {}) {
    this.inPlace = options.inPlace ?? false;
    this.state = this.inPlace ? base : { ...base };
  }

  /** Sets a top-level field. */
  set<K extends keyof IncidentState>(key: K, value: IncidentState[K]): void {
    if (this.state[key] === value) return;
    this.state[key] = value;
    this.changed = true;
  }

  /** Sets a field of an existing page. */
  setPage<K extends keyof PageState>(stepKey: string, key: K, value: PageState[K]): void {
    const page = this.state.pages[stepKey];
    if (page[key] === value) return;
    this.writablePage(stepKey)[key] = value;
    this.changed = true;
  }

  /** Adds a new page, findable by its dispatch id. */
  addPage(page: PageState): void {
    this.own('pages')[page.stepKey] = page;
    this.copiedPages.add(page.stepKey);
    this.setLookup('dispatches', page.dispatchId, page.stepKey);
    this.changed = true;
  }

  /** Points a dispatch id or a provider message id at a page's step key. */
  setLookup(map: Lookup, id: string, stepKey: string): void {
    if (this.state[map][id] === stepKey) return;
    this.own(map)[id] = stepKey;
    this.changed = true;
  }

  /** Appends an effect to the outbox. */
  push(effect: Effect): void {
    this.own('outbox').push(effect);
    this.changed = true;
  }

  /** Remembers a record's event id as applied. Not a change by itself: a record that changed nothing is not saved. */
  remember(eventId: string): void {
    this.own('seen');
    remember(this.state, eventId);
  }

  private own<P extends 'pages' | Lookup | 'outbox' | 'seen'>(part: P): IncidentState[P] {
    if (!this.inPlace && !this.copied.has(part)) {
      const value = this.state[part];
      this.state[part] = (Array.isArray(value) ? [...value] : { ...value }) as IncidentState[P];
      this.copied.add(part);
    }
    return this.state[part];
  }

  private writablePage(stepKey: string): PageState {
    const pages = this.own('pages');
    if (!this.inPlace && !this.copiedPages.has(stepKey)) {
      pages[stepKey] = { ...pages[stepKey] };
      this.copiedPages.add(stepKey);
    }
    return pages[stepKey];
  }
}
