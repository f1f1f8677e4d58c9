/**
 * How the page shows the library's methods. The worker lists every registered method with
 * its capabilities (a method added to the library appears here without a page change); each
 * gets a checkbox, and a control for every option it declares that the page knows how to
 * ask for. Titles and one-line descriptions are given for the built-in methods.
 */
import { DEFAULT_STEPS, DEFAULT_WEIGHTING, MAX_STEPS, STIELTJES_RULES, WEIGHTINGS } from '../../src/core.js';
import type { MethodDescriptor } from './protocol.js';

export interface OptionControl {
  /** The option's name in the method's options. */
  name: string;
  label: string;
  kind: 'int' | 'choice';
  default: string | number;
  choices?: { value: string; label: string }[];
  min?: number;
  max?: number;
}

export interface MethodUi {
  name: string;
  title: string;
  description: string;
  options: OptionControl[];
  checked: boolean;
}

const KNOWN: Record<string, { title: string; description: string }> = {
  'rsi-grad-cam': { title: 'RSI-Grad-CAM', description: 'Gradients integrated along the path from a black image to the photo; complete up to the error shown.' },
  gradcam: { title: 'Grad-CAM', description: 'Channel weights from the gradient at the photo (Selvaraju et al., 2017).' },
  'gradcam++': { title: 'Grad-CAM++', description: 'Higher-order gradient weights; better with several objects.' },
  xgradcam: { title: 'XGrad-CAM', description: 'Gradients weighted by normalised activations.' },
  layercam: { title: 'LayerCAM', description: 'Element-wise positive gradients times activations.' },
  hirescam: { title: 'HiResCAM', description: 'Element-wise gradients times activations, then summed.' },
  ablationcam: { title: 'Ablation-CAM', description: 'Score drop when each channel is zeroed; no gradients (slow on large layers).' },
};

const SCORE_LABEL: Record<string, string> = { softmax: 'probability', logit: 'logit' };

/** Controls for the options the page can ask for, by option name. */
function control(name: string, d: MethodDescriptor): OptionControl | undefined {
  switch (name) {
    case 'steps':
      return { name, label: 'Steps m', kind: 'int', default: DEFAULT_STEPS, min: 1, max: MAX_STEPS };
    case 'weighting':
      return { name, label: 'Weighting', kind: 'choice', default: DEFAULT_WEIGHTING, choices: WEIGHTINGS.map((w) => ({ value: w, label: w === DEFAULT_WEIGHTING ? `${w} (default)` : w })) };
    case 'rule':
      return { name, label: 'Rule', kind: 'choice', default: STIELTJES_RULES[0]!, choices: STIELTJES_RULES.map((r) => ({ value: r, label: r })) };
    case 'score':
      return {
        name,
        label: 'Score',
        kind: 'choice',
        default: '',
        choices: [{ value: '', label: `default (${SCORE_LABEL[d.defaultScore] ?? d.defaultScore})` }, ...Object.entries(SCORE_LABEL).map(([value, label]) => ({ value, label }))],
      };
    default:
      return undefined;
  }
}

export function methodsUi(methods: MethodDescriptor[]): MethodUi[] {
  return methods.map((d) => ({
    name: d.name,
    title: KNOWN[d.name]?.title ?? d.name,
    description: KNOWN[d.name]?.description ?? '',
    // Score is an option of every method; path options next (steps, rule), then the rest.
    options: ['steps', 'weighting', 'score', 'rule'].filter((o) => o === 'score' || d.options.includes(o)).flatMap((o) => control(o, d) ?? []),
    checked: d.name === 'rsi-grad-cam' || d.name === 'gradcam',
  }));
}
