/**
 * Evaluation reports shared by the evaluation commands (docs/metrics.md, "Report format"):
 *
 *   { "scenes": { "<scene>": { "<method>": { "<metric>": number | null } } },
 *     "mean":   { "<method>": { "<metric>": number | null } },
 *     "median": { ... } }
 *
 * Generic over methods and metrics: every scene row carries every declared method × metric, `null` where
 * the value could not be computed (never left out). Means and medians are over the scenes whose value is
 * a finite number; null when there is none.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type MetricValue = number | null;
export type MethodMetrics = Record<string, MetricValue>;
export type SceneResults = Record<string, MethodMetrics>;

export interface Report {
  scenes: Record<string, SceneResults>;
  mean: Record<string, MethodMetrics>;
  median: Record<string, MethodMetrics>;
}

/** Which methods carry which metrics (the harmonized method of §1 carries extra ones). */
export interface ReportSchema {
  methods: readonly string[];
  /** Metrics every method carries. */
  metrics: readonly string[];
  /** Extra metrics per method. */
  extra?: Readonly<Record<string, readonly string[]>>;
}

function metricsOf(schema: ReportSchema, method: string): string[] {
  return [...schema.metrics, ...(schema.extra?.[method] ?? [])];
}

function finite(v: MetricValue | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Arithmetic mean of the finite values; null when none. */
export function meanOf(values: readonly MetricValue[]): MetricValue {
  const v = values.filter(finite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** Median of the finite values (mean of the two middle ones for an even count); null when none. */
export function medianOf(values: readonly MetricValue[]): MetricValue {
  const v = values.filter(finite).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/**
 * Builds a report from per-scene results: fills every missing method/metric with null (and turns NaN and
 * ±∞ into null), then adds the mean and median rows.
 */
export function buildReport(schema: ReportSchema, scenes: Record<string, Partial<Record<string, Partial<MethodMetrics>>>>): Report {
  const out: Report = { scenes: {}, mean: {}, median: {} };
  for (const [scene, results] of Object.entries(scenes)) {
    const row: SceneResults = {};
    for (const method of schema.methods) {
      const m: MethodMetrics = {};
      for (const metric of metricsOf(schema, method)) {
        const v = results[method]?.[metric];
        m[metric] = finite(v) ? v : null;
      }
      row[method] = m;
    }
    out.scenes[scene] = row;
  }
  const rows = Object.values(out.scenes);
  for (const method of schema.methods) {
    out.mean[method] = {};
    out.median[method] = {};
    for (const metric of metricsOf(schema, method)) {
      const values = rows.map((r) => r[method]![metric]!);
      out.mean[method]![metric] = meanOf(values);
      out.median[method]![metric] = medianOf(values);
    }
  }
  return out;
}

/**
 * Writes the report as pretty JSON (creating the folder). Extra top-level keys (e.g. `depthMode`, a
 * `summary`) travel with it, in the object's key order.
 */
export function writeReport(path: string, report: Report | object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
}

/** Formats a number for a table cell: `digits` significant decimals, '—' for null. */
export function formatValue(v: MetricValue | undefined, digits: number): string {
  if (!finite(v)) return '—';
  return v.toFixed(digits);
}

/**
 * One text table for one metric: a row per scene, then mean and median rows; a column per method.
 *
 * @param title caption printed above the table.
 */
export function formatMetricTable(report: Report, metric: string, methods: readonly string[], digits = 4, title = metric): string {
  const header = ['scene', ...methods];
  const body: string[][] = [];
  for (const [scene, row] of Object.entries(report.scenes)) {
    body.push([scene, ...methods.map((m) => formatValue(row[m]?.[metric], digits))]);
  }
  const summary: string[][] = [
    ['mean', ...methods.map((m) => formatValue(report.mean[m]?.[metric], digits))],
    ['median', ...methods.map((m) => formatValue(report.median[m]?.[metric], digits))],
  ];
  const all = [header, ...body, ...summary];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const rule = widths.map((wd) => '-'.repeat(wd)).join('  ');
  return [title, line(header), rule, ...body.map(line), rule, ...summary.map(line)].join('\n');
}

/**
 * A compact wide table: a row per scene (then mean and median), a column per (method, metric) pair, with
 * `label` giving each column's short header.
 */
export function formatWideTable(
  report: Report,
  columns: readonly { method: string; metric: string; label: string; digits?: number }[],
): string {
  const header = ['scene', ...columns.map((c) => c.label)];
  const cells = (row: SceneResults | Record<string, MethodMetrics>): string[] =>
    columns.map((c) => formatValue(row[c.method]?.[c.metric], c.digits ?? 4));
  const body = Object.entries(report.scenes).map(([scene, row]) => [scene, ...cells(row)]);
  const summary = [
    ['mean', ...cells(report.mean)],
    ['median', ...cells(report.median)],
  ];
  const all = [header, ...body, ...summary];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const rule = widths.map((wd) => '-'.repeat(wd)).join('  ');
  return [line(header), rule, ...body.map(line), rule, ...summary.map(line)].join('\n');
}

/** One acceptance check: a PASS/FAIL line, SKIP when an operand is null, INFO for a comparison only reported. */
export interface Check {
  name: string;
  pass: boolean | null;
  detail: string;
  /** Report-only line (printed as INFO whatever `pass` is). */
  info?: boolean;
}

/** Formats checks as `PASS  name  (detail)` lines. */
export function formatChecks(checks: readonly Check[]): string {
  const tag = (c: Check): string => (c.info ? 'INFO' : c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL');
  return checks.map((c) => `${tag(c)}  ${c.name}  (${c.detail})`).join('\n');
}
