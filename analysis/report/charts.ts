import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { Html } from './html.js';

/**
 * The report's charts: Vega-Lite specs compiled and rendered to SVG in Node (no browser, no script in
 * the page). Vega escapes every text it writes into the SVG.
 */
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 12, titleFontSize: 12, titleColor: '#5b6472', gridColor: '#eceff3' },
  legend: { labelFontSize: 12, titleFontSize: 12, orient: 'bottom' },
} as const;

/** Renders a Vega-Lite spec to an SVG element (as trusted markup). */
export async function renderSvg(spec: TopLevelSpec, opts: { label: string }): Promise<Html> {
  const compiled = vl.compile({ config: CONFIG, background: 'white', ...spec } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // An accessible name for the chart (Vega writes its own markup; the label is escaped here).
    const label = opts.label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    return new Html(`<figure class="chart" role="img" aria-label="${label}">${svg}</figure>`);
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

/** The incident's timeline: one lane per person and channel, steps as marks, escalations as rules. */
export function timelineSpec(points: LanePoint[], markers: Marker[]): TopLevelSpec {
  const lanes = [...new Set(points.map((p) => p.lane))];
  const x = {
    field: 't',
    type: 'quantitative',
    title: 'seconds after the alarm',
    scale: { zero: true, nice: true },
  } as const;
  const y = { field: 'lane', type: 'nominal', title: null, sort: lanes, axis: { labelLimit: 400 } } as const;
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
        mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'bottom', color: '#9a6700', fontSize: 11, y: 0 },
        encoding: { x, text: { field: 'text' } },
      },
    );
  }
  return { width: 820, height: Math.max(90, lanes.length * 42), layer: layers } as TopLevelSpec;
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
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 11 },
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
  group: string;
  p: 'p50' | 'p90' | 'p99';
  seconds: number;
}
/** p50/p90/p99 of each latency per channel and severity. */
export function percentileSpec(rows: PercentileRow[]): TopLevelSpec {
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
      height: { step: 12 },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'group', type: 'nominal', title: null },
        yOffset: { field: 'p', sort: ['p50', 'p90', 'p99'] },
        x: { field: 'seconds', type: 'quantitative', title: 'seconds' },
        color: {
          field: 'p',
          type: 'ordinal',
          title: 'percentile',
          sort: ['p50', 'p90', 'p99'],
          scale: { range: ['#9ecae1', '#3182bd', '#08306b'] },
        },
      },
    },
  } as TopLevelSpec;
}

/** A horizontal bar per category (MTTA per team, failures per code). */
export function barSpec(
  rows: { label: string; value: number; color?: string }[],
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
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 11 },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: order },
          x: { field: 'value', type: 'quantitative' },
          text: { field: 'value', format: ',.4~r' },
        },
      },
    ],
  } as TopLevelSpec;
}
