import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { Html } from './html.js';

/**
 * The report's charts: Vega-Lite specs compiled and rendered to SVG in Node (no browser, no script in
 * the page). Vega escapes every text it writes into the SVG.
 */
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
/**
 * The smallest text a chart draws, in px. The page draws charts at their own size (never scaled down: html.ts), so
 * this is the size a reader sees.
 */
export const MIN_FONT_PX = 12;
const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: MIN_FONT_PX, titleFontSize: MIN_FONT_PX, titleColor: '#5b6472', gridColor: '#eceff3' },
  legend: { labelFontSize: MIN_FONT_PX, titleFontSize: MIN_FONT_PX, orient: 'bottom' },
  text: { fontSize: MIN_FONT_PX },
  header: { labelFontSize: 13, titleFontSize: 13 },
} as const;

/** Renders a Vega-Lite spec to an SVG element (as trusted markup). */
export async function renderSvg(spec: TopLevelSpec, opts: { label: string }): Promise<Html> {
  const compiled = vl.compile({ config: CONFIG, background: 'white', ...spec } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // An accessible name for the chart (Vega writes its own markup; the label is escaped here).
    const label = opts.label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    // The figure is the chart's one accessible image; Vega's own ARIA roles on its marks would be unnamed images
    // inside it (axe: svg-img-alt, serious): the drawing itself is hidden from assistive technology.
    const hidden = svg.replace(/^<svg\b/, '<svg aria-hidden="true"');
    return new Html(`<figure class="chart" role="img" aria-label="${label}">${hidden}</figure>`);
  } finally {
    view.finalize();
  }
}

/** Steps drawn on a lane, in funnel order; `failed` and `escalated` are marked apart. */
export const STEP_ORDER = ['sent', 'delivered', 'opened/read', 'acked', 'failed'] as const;
export type LaneStep = (typeof STEP_ORDER)[number];
const STEP_COLOR: Record<LaneStep, string> = {
  sent: '#8c959f',
  delivered: '#0b5cad',
  'opened/read': '#8250df',
  acked: '#1a7f37',
  failed: '#cf222e',
};
const STEP_SHAPE: Record<LaneStep, string> = {
  sent: 'circle',
  delivered: 'square',
  'opened/read': 'diamond',
  acked: 'triangle-up',
  failed: 'cross',
};

export interface LanePoint {
  /** "Bob Diaz · SMS (level 1)". */
  lane: string;
  step: LaneStep;
  /** Seconds after the alarm opened. */
  t: number;
  /** What the point says ("delivered 12:00:05"). */
  text: string;
}
export interface Marker {
  t: number;
  /** "escalated to level 2 (deadline)". */
  text: string;
}

/** The page's column (html.ts: main's 1,180 px less its padding and the section's): a chart this wide is unscaled. */
export const PAGE_COLUMN_PX = 1074;
const LANE_LABEL_PX = 400;
/**
 * The timeline's plot width: what the column leaves beside the lane labels (as wide as Vega reckons them without a
 * canvas, 0.8 × font size per character, up to LANE_LABEL_PX) and room for an escalation's words past the last
 * point, so the chart is drawn at its own size and its text at MIN_FONT_PX.
 */
function timelineWidth(lanes: readonly string[]): number {
  const labels = Math.min(LANE_LABEL_PX, Math.ceil(0.8 * MIN_FONT_PX * Math.max(0, ...lanes.map((l) => l.length))));
  return Math.max(360, Math.min(820, PAGE_COLUMN_PX - labels - 140));
}

/** The incident's timeline: one lane per person and channel, steps as marks, escalations as rules. */
export function timelineSpec(points: LanePoint[], markers: Marker[]): TopLevelSpec {
  const lanes = [...new Set(points.map((p) => p.lane))];
  const x = {
    field: 't',
    type: 'quantitative',
    title: 'seconds after the alarm',
    scale: { zero: true, nice: true },
  } as const;
  const y = { field: 'lane', type: 'nominal', title: null, sort: lanes, axis: { labelLimit: LANE_LABEL_PX } } as const;
  const layers: unknown[] = [
    {
      data: { values: points },
      mark: { type: 'line', color: '#c5ccd6', strokeWidth: 2 },
      encoding: { x, y, detail: { field: 'lane' }, order: { field: 't' } },
    },
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 130, opacity: 1 },
      encoding: {
        x,
        y,
        color: {
          field: 'step',
          type: 'nominal',
          title: 'step',
          scale: { domain: [...STEP_ORDER], range: STEP_ORDER.map((s) => STEP_COLOR[s]) },
        },
        shape: {
          field: 'step',
          type: 'nominal',
          title: 'step',
          scale: { domain: [...STEP_ORDER], range: STEP_ORDER.map((s) => STEP_SHAPE[s]) },
        },
      },
    },
  ];
  if (markers.length > 0) {
    layers.push(
      {
        data: { values: markers },
        mark: { type: 'rule', color: '#d4a72c', strokeDash: [5, 3], strokeWidth: 2 },
        encoding: { x },
      },
      {
        data: { values: markers },
        mark: {
          type: 'text',
          align: 'left',
          dx: 4,
          dy: -4,
          baseline: 'bottom',
          color: '#9a6700',
          fontSize: MIN_FONT_PX,
          y: 0,
        },
        encoding: { x, text: { field: 'text' } },
      },
    );
  }
  return { width: timelineWidth(lanes), height: Math.max(90, lanes.length * 42), layer: layers } as TopLevelSpec;
}

export interface FunnelRow {
  channel: string;
  stage: 'sent' | 'delivered' | 'opened/read' | 'acked';
  pages: number;
}
/** Pages per channel at each stage of the delivery funnel. */
export function funnelSpec(rows: FunnelRow[]): TopLevelSpec {
  const stages = ['sent', 'delivered', 'opened/read', 'acked'];
  return {
    data: { values: rows },
    facet: {
      column: {
        field: 'channel',
        type: 'nominal',
        title: null,
        sort: [...new Set(rows.map((r) => r.channel))],
        header: { labelFontSize: 13, labelFontWeight: 600 },
      },
    },
    spec: {
      width: 220,
      height: 160,
      layer: [
        {
          mark: { type: 'bar', cornerRadiusEnd: 2 },
          encoding: {
            x: { field: 'pages', type: 'quantitative', title: 'pages' },
            y: { field: 'stage', type: 'ordinal', sort: stages, title: null },
            color: {
              field: 'stage',
              type: 'nominal',
              scale: { domain: stages, range: ['#8c959f', '#0b5cad', '#8250df', '#1a7f37'] },
              legend: null,
            },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: MIN_FONT_PX },
          encoding: {
            x: { field: 'pages', type: 'quantitative' },
            y: { field: 'stage', type: 'ordinal', sort: stages },
            text: { field: 'pages' },
          },
        },
      ],
    },
  } as TopLevelSpec;
}

export interface PercentileRow {
  metric: 'time to deliver' | 'time to open' | 'time to ack';
  /** "sms · P1": the channel and severity. */
  group: string;
  /** `one sample`: a group of one page, drawn once as a dot labelled n = 1 (its p50, p90 and p99 are one number). */
  p: 'p50' | 'p90' | 'p99' | 'one sample';
  seconds: number;
  /** Pages with that step in the group. */
  n: number;
}
const PERCENTILES = ['p50', 'p90', 'p99'];
const ONE = "datum.p === 'one sample'";
/** p50/p90/p99 of each latency per channel and severity; a group of one page as one dot, labelled n = 1. */
export function percentileSpec(rows: PercentileRow[]): TopLevelSpec {
  const x = { field: 'seconds', type: 'quantitative', title: 'seconds' } as const;
  const y = { field: 'group', type: 'nominal', title: null } as const;
  return {
    data: { values: rows },
    facet: {
      column: {
        field: 'metric',
        type: 'nominal',
        title: null,
        sort: ['time to deliver', 'time to open', 'time to ack'],
        header: { labelFontSize: 13, labelFontWeight: 600 },
      },
    },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 230,
      // a fixed height (not a step): the dots' layer and the bars' offset layer then share one y range
      height: 40 * new Set(rows.map((r) => r.group)).size,
      layer: [
        {
          transform: [{ filter: `!(${ONE})` }],
          mark: { type: 'bar' },
          encoding: {
            y,
            yOffset: { field: 'p', sort: PERCENTILES },
            x,
            color: {
              field: 'p',
              type: 'ordinal',
              title: 'percentile',
              sort: PERCENTILES,
              scale: { domain: PERCENTILES, range: ['#9ecae1', '#3182bd', '#08306b'] },
            },
          },
        },
        {
          transform: [{ filter: ONE }],
          mark: { type: 'point', filled: true, size: 90, color: '#08306b', opacity: 1 },
          encoding: { y, x },
        },
        {
          transform: [{ filter: ONE }],
          mark: { type: 'text', align: 'left', dx: 8, color: '#1d2430' },
          encoding: { y, x, text: { value: 'n = 1' } },
        },
      ],
    },
  } as TopLevelSpec;
}

/**
 * A horizontal bar per category (MTTA per team, failures per code). A row's `text` is its bar's label (the same
 * words its table says, e.g. `formatDuration`); without it the label is the value.
 */
export function barSpec(
  rows: { label: string; value: number; color?: string; text?: string }[],
  opts: { title: string; colorTitle?: string },
): TopLevelSpec {
  const order = [...rows].sort((a, b) => b.value - a.value).map((r) => r.label);
  return {
    data: { values: rows },
    width: 560,
    height: { step: 26 },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          y: { field: 'label', type: 'nominal', title: null, sort: order, axis: { labelLimit: 320 } },
          x: { field: 'value', type: 'quantitative', title: opts.title, axis: { tickMinStep: 1, format: 'd' } },
          ...(rows.some((r) => r.color)
            ? { color: { field: 'color', type: 'nominal', title: opts.colorTitle ?? null } }
            : { color: { value: '#0b5cad' } }),
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: MIN_FONT_PX },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: order },
          x: { field: 'value', type: 'quantitative' },
          text: rows.some((r) => r.text !== undefined) ? { field: 'text' } : { field: 'value', format: ',.4~r' },
        },
      },
    ],
  } as TopLevelSpec;
}
