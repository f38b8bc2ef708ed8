// Why: a full run or a sweep takes minutes; a progress line on stderr shows it is alive and how far
// it got, without a dependency and without polluting the table printed on stdout. On a terminal
// the line is redrawn in place; in a pipe or log a plain line is written at most every 10 s.

const WIDTH = 24;

/** A progress bar for `total` units of work, drawn on stderr. */
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly t0 = performance.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(private label: string, private readonly total: number) {
    this.draw(true);
  }

  /** Adds `n` finished units; redraws at most every 100 ms (terminal) or 10 s (pipe). */
  tick(n = 1): void {
    this.done += n;
    const now = performance.now();
    if (now - this.lastDraw >= (this.tty ? 100 : 10_000)) this.draw(false);
  }

  /** Sets the finished units to `done` (for callers that count themselves). */
  update(done: number): void {
    this.tick(done - this.done);
  }

  /** Changes the label (e.g. to name the current step). */
  relabel(label: string): void {
    this.label = label;
    this.draw(true);
  }

  /** Draws the final state and ends the line. */
  finish(note = ''): void {
    this.done = this.total;
    this.draw(true);
    const s = ((performance.now() - this.t0) / 1000).toFixed(1);
    process.stderr.write(this.tty ? ` ${s}s ${note}\n` : `${this.label}: done in ${s}s ${note}\n`);
  }

  private draw(force: boolean): void {
    this.lastDraw = performance.now();
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    if (this.tty) {
      const full = Math.round(frac * WIDTH);
      process.stderr.write(`\r${this.label} [${'#'.repeat(full)}${'.'.repeat(WIDTH - full)}] ${(frac * 100).toFixed(0).padStart(3)}%`);
    } else if (!force || frac === 0) {
      process.stderr.write(`${this.label}: ${(frac * 100).toFixed(0)}%\n`);
    }
  }
}
