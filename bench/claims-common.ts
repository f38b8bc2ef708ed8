// Why: every `bench/*-claims.ts` measures an issue's "Must show" list the same way — a timed loop,
// the same number formats, and a table of claims with PASS/FAIL — so those pieces are written once.

/** One line of a claims table. */
export interface Claim {
  what: string;
  measured: string;
  target: string;
  pass: boolean;
}

/** Seconds taken by `n` calls of `op(i)`. */
export function timed(n: number, op: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** An integer with thousands separators. */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A ratio as a whole percentage. */
export const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

/** The markdown table of `claims`. */
export function claimsTable(claims: readonly Claim[]): string[] {
  return ['| claim | measured | target | result |', '|---|---|---|---|', ...claims.map((c) => `| ${c.what} | ${c.measured} | ${c.target} | ${c.pass ? 'PASS' : 'FAIL'} |`)];
}
