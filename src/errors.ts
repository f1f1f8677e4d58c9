/**
 * Errors the library raises on purpose. Each carries a one-line message naming the file,
 * layer or option at fault; the CLI prints `message` alone and exits 1 for these.
 */
export class RsiGradCamError extends Error {
  /** Short machine-readable category. */
  readonly code: string;
  constructor(code: string, message: string) {
    // One line, always: messages quoting a parser's error (JSON.parse quotes the input) may carry newlines.
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = new.target.name;
    this.code = code;
  }
}

/** The model file is missing, truncated, not ONNX / TF.js, or uses something we cannot read. */
export class ModelFormatError extends RsiGradCamError {
  constructor(message: string) {
    super('model-format', message);
  }
}

/** A layer name that matches nothing, or more than one thing. */
export class UnknownLayerError extends RsiGradCamError {
  constructor(message: string) {
    super('unknown-layer', message);
  }
}

/** An operator on the gradient path has no gradient rule. */
export class UnsupportedOperatorError extends RsiGradCamError {
  constructor(message: string) {
    super('unsupported-operator', message);
  }
}

/** An option or argument with a bad value. */
export class OptionError extends RsiGradCamError {
  constructor(message: string) {
    super('bad-option', message);
  }
}

/** The graph cannot be run with a batch size other than the one it was exported with. */
export class BatchingError extends RsiGradCamError {
  constructor(message: string) {
    super('batching', message);
  }
}

/** An image that cannot be read or used. */
export class ImageError extends RsiGradCamError {
  constructor(message: string) {
    super('image', message);
  }
}

/** A folder that cannot take the output: read-only, under a file, a file in the way, a full disk. */
export class OutputError extends RsiGradCamError {
  constructor(message: string) {
    super('output', message);
  }
}

/** The runtime was disposed while a call was using it; the call ends with this error. */
export class RuntimeDisposedError extends RsiGradCamError {
  constructor(message: string) {
    super('disposed', message);
  }
}

/** A long run cancelled through its AbortSignal (between batches of model evaluations). */
export class AbortError extends RsiGradCamError {
  constructor(message: string) {
    super('aborted', message);
  }
}

/** Up to `limit` candidates closest to `name` (by edit distance, then substring match). */
export function closeMatches(name: string, candidates: Iterable<string>, limit = 5): string[] {
  const lower = name.toLowerCase();
  const scored: { c: string; d: number }[] = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d = cl.includes(lower) || lower.includes(cl) ? 0 : editDistance(lower, cl);
    scored.push({ c, d });
  }
  scored.sort((a, b) => a.d - b.d || a.c.length - b.c.length);
  const cutoff = Math.max(3, Math.ceil(name.length / 2));
  return scored.filter((s) => s.d <= cutoff).slice(0, limit).map((s) => s.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
