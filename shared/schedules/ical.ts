import ICAL from 'ical.js';
import { DateTime, IANAZone } from 'luxon';

/**
 * An iCalendar (RFC 5545) rota parsed with ical.js: recurring events (RRULE/RDATE), EXDATE exceptions,
 * moved occurrences (RECURRENCE-ID) and time zones (the file's VTIMEZONEs, else the IANA zone named by
 * TZID, else — floating times — the schedule's zone).
 */
export interface IcalCalendar {
  readonly events: readonly ICAL.Event[];
  /** VTIMEZONEs declared by the file, by TZID. */
  readonly zones: ReadonlyMap<string, ICAL.Timezone>;
}

/** Who an event names, as a person id (see `personOf`). */
export interface PeopleDirectory {
  readonly people: Readonly<Record<string, { email?: string; name?: string }>>;
}

/** Parses .ics text; throws (ical.js ParserError or Error) when it is not an iCalendar. */
export function parseIcal(text: string): IcalCalendar {
  const root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  if (root.name !== 'vcalendar') throw new Error(`not an iCalendar (top component ${root.name})`);
  const zones = new Map<string, ICAL.Timezone>();
  for (const vtz of root.getAllSubcomponents('vtimezone')) {
    const tz = new ICAL.Timezone(vtz);
    zones.set(tz.tzid, tz);
  }
  const vevents = root.getAllSubcomponents('vevent');
  const masters = new Map<string, ICAL.Event>();
  const exceptions: ICAL.Event[] = [];
  const singles: ICAL.Event[] = [];
  for (const vevent of vevents) {
    const ev = new ICAL.Event(vevent, { strictExceptions: false });
    if (ev.isRecurrenceException()) exceptions.push(ev);
    else if (ev.uid && !masters.has(ev.uid)) masters.set(ev.uid, ev);
    else singles.push(ev);
  }
  for (const ex of exceptions) {
    const master = masters.get(ex.uid);
    if (master) master.relateException(ex);
    else singles.push(ex);
  }
  return { events: [...masters.values(), ...singles], zones };
}

/** Epoch ms of an ical.js time: its own zone, a VTIMEZONE of the file, an IANA TZID, else `fallbackZone`. */
export function epochOf(t: ICAL.Time, cal: IcalCalendar, fallbackZone: string, tzid?: string): number {
  if (t.zone === ICAL.Timezone.utcTimezone) return t.toUnixTime() * 1000;
  const id = tzid ?? (t.zone && t.zone !== ICAL.Timezone.localTimezone ? t.zone.tzid : undefined);
  const declared = id ? cal.zones.get(id) : undefined;
  if (declared) {
    const copy = t.clone();
    copy.zone = declared;
    return copy.toUnixTime() * 1000;
  }
  const zone = id && IANAZone.isValidZone(id) ? id : fallbackZone;
  return DateTime.fromObject(
    {
      year: t.year,
      month: t.month,
      day: t.day,
      hour: t.isDate ? 0 : t.hour,
      minute: t.isDate ? 0 : t.minute,
      second: t.isDate ? 0 : t.second,
    },
    { zone },
  ).toMillis();
}

const tzidOf = (ev: ICAL.Event, prop: 'dtstart' | 'dtend'): string | undefined => {
  const p = ev.component.getFirstProperty(prop);
  const v = p?.getParameter('tzid');
  return typeof v === 'string' ? v : undefined;
};

/**
 * The person an event names: X-ONCALL-PERSON, else SUMMARY, else an ATTENDEE's CN or e-mail; undefined when none is a
 * person.
 */
export function personOf(ev: ICAL.Event, dir: PeopleDirectory): string | undefined {
  const byEmail = (email: string) =>
    Object.entries(dir.people).find(([, p]) => p.email?.toLowerCase() === email.toLowerCase())?.[0];
  const candidates: string[] = [];
  const x = ev.component.getFirstPropertyValue('x-oncall-person');
  if (typeof x === 'string') candidates.push(x);
  if (ev.summary) candidates.push(ev.summary);
  for (const a of ev.attendees) {
    const cn = a.getParameter('cn');
    if (typeof cn === 'string') candidates.push(cn);
    const v = a.getFirstValue();
    if (typeof v === 'string') candidates.push(v.replace(/^mailto:/i, ''));
  }
  for (const c of candidates) {
    const id = c.trim().toLowerCase();
    if (id in dir.people) return id;
    const mail = byEmail(id);
    if (mail) return mail;
    const byName = Object.entries(dir.people).find(([, p]) => p.name?.toLowerCase() === id)?.[0];
    if (byName) return byName;
  }
  return undefined;
}

/** Longest an iteration walks (occurrences) before giving up: a rota's events are at most hourly. */
const MAX_OCCURRENCES = 200_000;

/** One occurrence of an event: its start and end (epoch ms) and the item (the event, or its moved occurrence). */
export interface IcalSpan {
  start: number;
  end: number;
  item: ICAL.Event;
}

/**
 * Every occurrence of the calendar's events that may start up to `until` (a recurring event's walk stops once an
 * occurrence starts after `until` and its recurrence id is a day past it), event by event, each event in order.
 */
export function* icalSpans(cal: IcalCalendar, until: number, zone: string): Generator<IcalSpan> {
  for (const ev of cal.events) {
    const startTz = tzidOf(ev, 'dtstart');
    const endTz = tzidOf(ev, 'dtend') ?? startTz;
    const span = (start: ICAL.Time, end: ICAL.Time, item: ICAL.Event): IcalSpan => ({
      start: epochOf(start, cal, zone, item === ev ? startTz : tzidOf(item, 'dtstart')),
      end: epochOf(end, cal, zone, item === ev ? endTz : (tzidOf(item, 'dtend') ?? tzidOf(item, 'dtstart'))),
      item,
    });
    if (!ev.isRecurring()) {
      if (ev.startDate && ev.endDate) yield span(ev.startDate, ev.endDate, ev);
      continue;
    }
    const it = ev.iterator();
    for (let n = 0, next = it.next(); next && n < MAX_OCCURRENCES; n++, next = it.next()) {
      const d = ev.getOccurrenceDetails(next);
      const s = span(d.startDate, d.endDate, d.item);
      yield s;
      // Occurrences come in order of their recurrence id; a moved one may start later, so stop only
      // once the recurrence id itself is a day past `until`.
      if (s.start > until && epochOf(next, cal, zone, startTz) > until + 86_400_000) break;
    }
  }
}

/**
 * The person of the event covering `at` (start <= at < end). When several cover it, the one that
 * started last wins (a shorter swap inside a long shift). Events naming nobody known are skipped.
 */
export function icalPersonAt(cal: IcalCalendar, at: number, zone: string, dir: PeopleDirectory): string | undefined {
  let best: { start: number; person: string } | undefined;
  for (const { start, end, item } of icalSpans(cal, at, zone)) {
    if (start <= at && at < end && (!best || start >= best.start)) {
      const person = personOf(item, dir);
      if (person) best = { start, person };
    }
  }
  return best?.person;
}
