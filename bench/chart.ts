// Why: every sweep must leave a picture that can be read without running anything, so figures are
// rendered server-side to SVG by vega-lite (spec → vega) and vega's headless View (no browser, no
// canvas). One helper draws the figure shape the sweeps need — lines of points, one colour per
// series, titled, with unit-bearing axis labels and a legend — so all charts look alike.

import fs from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A data point: plain fields, named by the chart's encodings. */
export type Datum = Record<string, number | string | boolean | null>;

/** An axis of a line chart. */
export interface Axis {
  field: string;
  /** Axis title, with its unit, e.g. "write rate (ops/s)". */
  title: string;
  /** Logarithmic scale (e.g. parameters swept by powers of two). */
  log?: boolean;
  /** Start the scale at zero (default: true for linear y axes). */
  zero?: boolean;
}

/** A line chart: one line per value of `series`. */
export interface LineChart {
  title: string;
  subtitle?: string;
  x: Axis;
  y: Axis;
  /** Field naming the series (one colour each), with its legend title. */
  series: { field: string; title: string };
  /** Optional dash by a second field (e.g. measured vs fitted): its first `domain` value solid, the second dashed. */
  dash?: { field: string; title: string; domain: [string, string] };
  data: Datum[];
}

/** Renders a vega-lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile(spec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One colour per system in every chart (engines, baselines, peers), so a legend reads the same everywhere. */
const SYSTEM_COLORS: Record<string, string> = {
  Map: '#4c78a8', memonly: '#b279a2', lsm: '#e45756', appendlog: '#f58518', hybridlog: '#54a24b', lmdb: '#9d755d', 'classic-level': '#72b7b2',
};

/** The colour scale: fixed colours when every series is a known system, vega's default otherwise. */
function colorScale(c: LineChart): Record<string, unknown> | undefined {
  const names = [...new Set(c.data.map((d) => String(d[c.series.field])))];
  if (!names.every((n) => n in SYSTEM_COLORS)) return undefined;
  const domain = Object.keys(SYSTEM_COLORS).filter((n) => names.includes(n));
  return { domain, range: domain.map((n) => SYSTEM_COLORS[n]!) };
}

/** The vega-lite spec of a line chart. */
export function lineSpec(c: LineChart): TopLevelSpec {
  const scale = (a: Axis, dfltZero: boolean): Record<string, unknown> => (a.log ? { type: 'log', nice: false, padding: 12 } : { zero: a.zero ?? dfltZero });
  const encoding: Record<string, unknown> = {
    x: { field: c.x.field, type: 'quantitative', title: c.x.title, scale: scale(c.x, false) },
    y: { field: c.y.field, type: 'quantitative', title: c.y.title, scale: scale(c.y, true) },
    color: { field: c.series.field, type: 'nominal', title: c.series.title, ...(colorScale(c) ? { scale: colorScale(c) } : {}) },
    shape: { field: c.series.field, type: 'nominal', title: c.series.title },
  };
  if (c.dash) {
    encoding.strokeDash = { field: c.dash.field, type: 'nominal', title: c.dash.title, scale: { domain: c.dash.domain, range: [[1, 0], [6, 4]] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 2, encode: { symbols: { update: { stroke: { value: '#333' }, fill: { value: 'transparent' } } } } } };
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.subtitle ? { text: c.title, subtitle: c.subtitle } : c.title,
    width: 560,
    height: 320,
    background: 'white',
    padding: 12,
    data: { values: c.data },
    mark: { type: 'line', point: true },
    encoding,
    config: { font: 'sans-serif', title: { fontSize: 15 }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } },
  } as TopLevelSpec;
}

/** Writes `c` as an SVG file (directories created); returns the path. */
export async function writeLineChart(file: string, c: LineChart): Promise<string> {
  if (c.data.length === 0) throw new Error(`chart ${file}: no data points`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await renderSvg(lineSpec(c)));
  return file;
}
