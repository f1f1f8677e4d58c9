/** What the CLI says about a `--steps auto` result: its cost in the summary, and a note when it fell short of --tolerance. */
import type { Explanation } from '../methods/types.js';

/** ' [auto: 15 evaluations, estimated error 0.004]' for a steps 'auto' result; '' otherwise. */
export function autoStepsSummary(e: Explanation): string {
  return e.tolerance === undefined ? '' : ` [auto: ${e.evaluations} evaluations, estimated error ${e.estimatedError!.toPrecision(2)}]`;
}

/** One line for stderr when a steps 'auto' result did not meet its tolerance; undefined when it did. */
export function autoStepsNote(what: string, e: Explanation): string | undefined {
  if (e.tolerance === undefined || !(e.estimatedError! > e.tolerance)) return undefined;
  const stopped = e.evaluationCapReached ? `reached --max-evaluations (${e.evaluations})` : `could not refine the path further (${e.evaluations} evaluations)`;
  const layers = e.layers.filter((l) => l.estimatedError! > e.tolerance!);
  // The heatmap converged but the completeness sum did not: the layer does not carry the whole score.
  const sumOnly = layers.every((l) => l.estimatedHeatmapError! <= e.tolerance! && l.estimatedCompletenessError! > e.tolerance!);
  const why = sumOnly
    ? '; the heatmap met it but the completeness sum did not (at a layer that not all of the score passes through, e.g. inside a residual block, it cannot)'
    : '; raise --max-evaluations or --tolerance';
  return `note: ${what}: --steps auto ${stopped} with estimated error ${e.estimatedError!.toPrecision(2)} above --tolerance ${e.tolerance}${why}`;
}
