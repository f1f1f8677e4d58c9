/**
 * Warnings about explanations that ran but probably do not show what the user wants: an
 * all-zero cam (nothing at the layer raises the score), or an RSI-Grad-CAM path sum that is
 * far from the score change it should add up to. One line per image, saying what to try.
 */
import type { Explanation, LayerExplanation } from '../methods/types.js';

/** Relative completeness error above which RSI-Grad-CAM's sum is called inaccurate. */
export const COMPLETENESS_WARNING = 0.1;

/**
 * One warning line for the explanation of `file`, or undefined when nothing looks wrong; `layer`
 * picks one of the explanation's layers (`compare` warns per tile), by default the explanation
 * as a whole.
 */
export function explanationWarning(file: string, e: Explanation, label = `class ${e.target}`, layer: LayerExplanation = e): string | undefined {
  const issues: string[] = [];
  if (!layer.cam.some((v) => v > 0)) {
    const score = e.scoreMode === 'output' ? 'score' : e.scoreMode;
    issues.push(`the ${e.method} cam at layer '${layer.layer}' is all zero (nothing there raises the ${score} of '${label}'); try another layer (--layer; \`rsi-grad-cam layers\` lists them)`);
  }
  const rel = layer.relativeCompletenessError;
  if (rel !== undefined && rel > COMPLETENESS_WARNING) {
    issues.push(
      Number.isFinite(rel)
        ? `the completeness error is ${rel.toPrecision(2)} of the score change (above ${COMPLETENESS_WARNING}), so the path sum is inaccurate; try more --steps (now ${e.steps ?? '?'}) or another layer`
        : `the score is the same at the baseline and the image, so the path explains nothing; try another --baseline or layer`,
    );
  }
  return issues.length ? `warning: ${file}: ${issues.join('; ')}` : undefined;
}
