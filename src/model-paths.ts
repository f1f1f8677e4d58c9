/**
 * Files a model names by path (TF.js weight files, ONNX external data) are looked up in the
 * model's own folder (or its download cache entry) and never elsewhere: a model that names
 * `../../x`, `/etc/x`, `C:\x`, a URL or `..%2Fx` is refused, so loading a model cannot read or
 * write files outside its folder. Browser-safe: paths are '/'-separated strings here.
 */
import { ModelFormatError } from './errors.js';

/**
 * `p` as a path inside the model's folder, '/'-separated, without '.' or '..' steps (a step
 * down and back up is fine). `what` names the entry in the error, e.g. "weights manifest entry
 * 'x.bin'"; `source` the model.
 */
export function modelRelativePath(p: string, what: string, source: string): string {
  if (p === '' || p.includes('\0') || /^[\\/]/.test(p) || /^[a-z][a-z0-9+.-]*:/i.test(p)) {
    throw new ModelFormatError(`${source}: ${what} is not a path relative to the model's folder; refused`);
  }
  const steps: string[] = [];
  for (const step of p.split(/[\\/]/)) {
    if (step === '' || step === '.') continue;
    if (step !== '..') steps.push(step);
    else if (steps.pop() === undefined) throw new ModelFormatError(`${source}: ${what} names a file outside the model's folder; refused`);
  }
  if (steps.length === 0) throw new ModelFormatError(`${source}: ${what} names the model's folder itself, not a file; refused`);
  return steps.join('/');
}

/**
 * The relative paths a TF.js weights-manifest path may stand for: as written and, when
 * percent-encoded (converters may encode; TF.js appends the path to the model's folder URL),
 * decoded. Each is checked with `modelRelativePath`.
 */
export function weightFileNames(manifestPath: string, source: string): string[] {
  const what = `weights manifest entry '${manifestPath}'`;
  let decoded: string;
  try {
    decoded = decodeURIComponent(manifestPath);
  } catch {
    throw new ModelFormatError(`${source}: ${what} is not a valid URL path (bad percent-encoding)`);
  }
  const names = decoded === manifestPath ? [manifestPath] : [manifestPath, decoded];
  return [...new Set(names.map((n) => modelRelativePath(n, what, source)))];
}
