// Why: a data file's name carries a generation number that is never reused for other content;
// that is what makes "files the replica lacks" a set difference of names. The name also tells
// which files are ours, so stray files after a crash can be swept without touching anything else.

/** Generation numbers are zero-padded to this many digits so names sort by generation. */
const GEN_DIGITS = 12;
const GEN_RE = /\.g(\d{12})\./;

/** `<prefix>.g<generation>.<ext>`, e.g. fileName('L1.0', 42, 'run') → 'L1.0.g000000000042.run'. */
export function fileName(prefix: string, generation: number, ext: string): string {
  return `${prefix}.g${String(generation).padStart(GEN_DIGITS, '0')}.${ext}`;
}

/** The generation in a snapkv file name, or -1 if the name is not one of ours. */
export function generationOf(name: string): number {
  const m = GEN_RE.exec(name);
  return m ? Number(m[1]) : -1;
}
