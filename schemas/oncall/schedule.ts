import { IANAZone } from 'luxon';
import { z } from 'zod';
import { Drill } from './drill.js';

/**
 * The `schedules` section of the on-call file: who is on call when. A schedule has a time zone, layers
 * listed top first (the first layer that has someone at a given time wins, as PagerDuty's top layer)
 * and overrides (an override wins over every layer). A layer is a rotation or an iCalendar feed.
 */
export const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 09:00 (HH:MM, 24 h)');
export const WeekdayShort = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export const WeekdayLong = z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);

export const Restriction = z.strictObject({
  /** Days the window opens on (a window ending at or before it starts runs past midnight). */
  days: z.array(WeekdayShort).min(1),
  from: HHMM,
  to: HHMM,
});
export type Restriction = z.infer<typeof Restriction>;

const RotationLayer = z.strictObject({
  name: z.string().min(1).optional(),
  /** Person ids, in rotation order. */
  participants: z.array(z.string().min(1)).min(1),
  /** `daily` and `weekly` follow the wall clock of the schedule's zone; `{hours: N}` is N elapsed hours. */
  rotation: z.union([
    z.enum(['daily', 'weekly']),
    z.strictObject({
      hours: z
        .number()
        .int()
        .positive()
        .max(24 * 366),
    }),
  ]),
  /** Local time of the hand-off. Default 00:00. */
  handoff: HHMM.default('00:00'),
  /** Weekly rotations: the day of the hand-off (default the weekday of `start`). */
  handoff_day: WeekdayLong.optional(),
  /** Local date the rotation begins (its first shift starts at the first hand-off on or after it). */
  start: z.iso.date('an ISO date like 2026-11-30'),
  /** Windows the layer covers; outside them the layer has nobody (a lower layer answers). */
  restrictions: z.array(Restriction).min(1).optional(),
});
export type RotationLayer = z.infer<typeof RotationLayer>;

const IcalLayer = z.strictObject({
  name: z.string().min(1).optional(),
  /**
   * An .ics file (relative to the on-call file) or an http(s) URL. Each VEVENT names its person by
   * an `X-ONCALL-PERSON` property, else its SUMMARY, else an ATTENDEE (CN or e-mail), matched to a
   * person id (or a person's e-mail).
   */
  ical: z.string().min(1),
});
export type IcalLayer = z.infer<typeof IcalLayer>;

export const Layer = z.union([RotationLayer, IcalLayer]);
export type Layer = z.infer<typeof Layer>;

const Override = z.strictObject({
  person: z.string().min(1),
  from: z.iso.datetime({ offset: true, message: 'an ISO time with an offset, like 2026-12-01T09:00:00+01:00' }),
  to: z.iso.datetime({ offset: true, message: 'an ISO time with an offset, like 2026-12-01T18:00:00+01:00' }),
});
export type Override = z.infer<typeof Override>;

export const Schedule = z
  .strictObject({
    time_zone: z.string().refine((tz) => IANAZone.isValidZone(tz), 'an IANA time zone like Europe/Berlin'),
    layers: z.array(Layer).default([]),
    overrides: z.array(Override).default([]),
    /** A reachability drill before each shift (schemas/oncall/drill.ts); none when absent. */
    drill: Drill.optional(),
  })
  .superRefine((s, ctx) => {
    s.layers.forEach((layer, i) => {
      if (!('participants' in layer)) return;
      if (layer.handoff_day && layer.rotation !== 'weekly')
        ctx.addIssue({
          code: 'custom',
          path: ['layers', i, 'handoff_day'],
          message: 'only a weekly rotation has a hand-off day',
        });
    });
    s.overrides.forEach((o, i) => {
      if (Date.parse(o.to) <= Date.parse(o.from))
        ctx.addIssue({
          code: 'custom',
          path: ['overrides', i, 'to'],
          message: `ends (${o.to}) before it starts (${o.from})`,
        });
    });
  });
export type Schedule = z.infer<typeof Schedule>;

/** Issues for person ids a schedule names that are not in `people` (paths relative to the schedule). */
export function unknownPeopleIn(
  schedule: Schedule,
  people: Record<string, unknown>,
): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  schedule.layers.forEach((layer, i) => {
    if ('participants' in layer)
      layer.participants.forEach((p, j) => {
        if (!(p in people)) out.push({ path: ['layers', i, 'participants', j], message: `unknown person "${p}"` });
      });
  });
  schedule.overrides.forEach((o, i) => {
    if (!(o.person in people)) out.push({ path: ['overrides', i, 'person'], message: `unknown person "${o.person}"` });
  });
  return out;
}
