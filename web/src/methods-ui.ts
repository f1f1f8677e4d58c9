/**
 * How the page shows the library's methods: every name in the registry gets a checkbox (a
 * method added to the library appears here without a page change); titles, one-line
 * descriptions and option controls are given for the methods that have them.
 */
import { DEFAULT_WEIGHTING, METHOD_NAMES, WEIGHTINGS } from '../../src/core.js';

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

const KNOWN: Record<string, Omit<MethodUi, 'name' | 'options' | 'checked'>> = {
  'rsi-grad-cam': { title: 'RSI-Grad-CAM', description: 'Gradients integrated along the path from a black image to the photo; complete up to the error shown.' },
  gradcam: { title: 'Grad-CAM', description: 'Channel weights from the gradient at the photo (Selvaraju et al., 2017).' },
  'gradcam++': { title: 'Grad-CAM++', description: 'Higher-order gradient weights; better with several objects.' },
  xgradcam: { title: 'XGrad-CAM', description: 'Gradients weighted by normalised activations.' },
  layercam: { title: 'LayerCAM', description: 'Element-wise positive gradients times activations.' },
  hirescam: { title: 'HiResCAM', description: 'Element-wise gradients times activations, then summed.' },
  ablationcam: { title: 'Ablation-CAM', description: 'Score drop when each channel is zeroed; no gradients (slow on large layers).' },
};

const OPTIONS: Record<string, OptionControl[]> = {
  'rsi-grad-cam': [
    { name: 'steps', label: 'Steps m', kind: 'int', default: 50, min: 1, max: 1000 },
    {
      name: 'weighting',
      label: 'Weighting',
      kind: 'choice',
      default: DEFAULT_WEIGHTING,
      choices: WEIGHTINGS.map((w) => ({ value: w, label: w === DEFAULT_WEIGHTING ? `${w} (default)` : w })),
    },
    {
      name: 'score',
      label: 'Score',
      kind: 'choice',
      default: '',
      choices: [
        { value: '', label: 'default' },
        { value: 'softmax', label: 'probability' },
        { value: 'logit', label: 'logit' },
      ],
    },
  ],
};

export function methodsUi(): MethodUi[] {
  return METHOD_NAMES.map((name) => ({
    name,
    title: KNOWN[name]?.title ?? name,
    description: KNOWN[name]?.description ?? '',
    options: OPTIONS[name] ?? [],
    checked: name === 'rsi-grad-cam' || name === 'gradcam',
  }));
}
