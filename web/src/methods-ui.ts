/**
 * How the page shows the library's methods. The worker lists every registered method with
 * its capabilities (a method added to the library appears here without a page change); each
 * gets a checkbox, and a control for every option it declares with `optionInfo` (an integer,
 * a number, a choice or a named baseline). The smoothing modifiers, which every method takes,
 * get one set of controls from the library's SMOOTHING_OPTION_INFO. Titles come from the
 * capabilities; one-line descriptions are given for the built-in methods.
 */
import { SMOOTHING_OPTION_INFO, type OptionInfo } from '../../src/core.js';
import type { MethodDescriptor } from './protocol.js';

export interface OptionControl {
  /** The option's name in the method's options. */
  name: string;
  label: string;
  kind: 'int' | 'number' | 'choice';
  /** '' : the method's own default (computed from the model, e.g. occlusion's window). */
  default: string | number;
  choices?: { value: string; label: string }[];
  min?: number;
  max?: number;
  /** The option's description (the control's tooltip). */
  description?: string;
  /** Words taken instead of a number ('auto' steps): the control takes text. */
  keywords?: string[];
  /** Shown and sent only while these options (of the same method, or the same group) have these values. */
  when?: Record<string, string>;
}

export interface MethodUi {
  name: string;
  title: string;
  description: string;
  /** false: attributes to the input pixels (the layer picker does not apply). */
  usesLayer: boolean;
  options: OptionControl[];
  checked: boolean;
}

const DESCRIPTIONS: Record<string, string> = {
  'rsi-grad-cam': 'Gradients integrated along the path from a baseline (a black image by default) to the photo; complete up to the error shown.',
  gradcam: 'Channel weights from the gradient at the photo (Selvaraju et al., 2017).',
  'gradcam++': 'Higher-order gradient weights; better with several objects.',
  xgradcam: 'Gradients weighted by normalised activations.',
  layercam: 'Element-wise positive gradients times activations.',
  hirescam: 'Element-wise gradients times activations, then summed.',
  ablationcam: 'Score drop when each channel is zeroed; no gradients (slow on large layers).',
  scorecam: 'Score of the photo masked by each upsampled channel; no gradients (one evaluation per channel).',
  eigencam: 'First principal component of the activations; no gradients, no class.',
  eigengradcam: 'First principal component of gradient-weighted activations.',
  saliency: 'Absolute gradient of the score at each input pixel (Captum Saliency).',
  'input-x-gradient': 'Input times its gradient, per pixel (Captum InputXGradient).',
  ig: 'Integrated Gradients at the input pixels (Captum), with its convergence delta.',
  'layer-ig': 'Integrated Gradients in the layer’s activations (Captum LayerIntegratedGradients).',
  conductance: 'Layer conductance (Captum LayerConductance).',
  occlusion: 'Score drop when a square window of the photo is greyed out, window by window (Captum Occlusion).',
  rise: 'Score under random masks, averaged by where each mask kept the photo (RISE).',
  'guided-backprop': 'Gradients through ReLUs that pass only positive gradients (Captum GuidedBackprop).',
  'guided-gradcam': 'Guided backprop times the upsampled Grad-CAM (Captum GuidedGradCam).',
};

const SCORE_LABEL: Record<string, string> = { softmax: 'probability', logit: 'logit' };

/** The form's label for an option name: 'occlusionValue' -> 'Occlusion value'. */
function labelOf(name: string): string {
  if (name === 'steps') return 'Steps m';
  if (name === 'smooth') return 'Mode';
  const words = name.replace(/([A-Z])/g, ' $1').toLowerCase();
  return words[0]!.toUpperCase() + words.slice(1);
}

/** A control for an option the method describes (optionInfo); none for those a form cannot give (booleans). */
function control(name: string, d: MethodDescriptor): OptionControl | undefined {
  if (name === 'score') {
    return {
      name,
      label: 'Score',
      kind: 'choice',
      default: '',
      choices: [{ value: '', label: `default (${SCORE_LABEL[d.defaultScore] ?? d.defaultScore})` }, ...Object.entries(SCORE_LABEL).map(([value, label]) => ({ value, label }))],
    };
  }
  const info = d.optionInfo[name];
  return info && optionControl(name, info);
}

/** A control from an option's description (the library's OptionInfo). */
function optionControl(name: string, info: OptionInfo): OptionControl | undefined {
  const base = { name, label: labelOf(name), description: info.description, ...(info.when ? { when: { ...info.when } } : {}) };
  switch (info.type) {
    case 'integer':
    case 'number':
      return {
        ...base,
        kind: info.type === 'integer' ? 'int' : 'number',
        default: typeof info.default === 'number' ? info.default : '',
        min: info.min,
        max: info.max,
        ...(info.keywords?.length ? { keywords: [...info.keywords] } : {}),
      };
    // A named baseline (black, blur) is a choice; the worker makes the image from the photo.
    case 'choice':
    case 'baseline': {
      const choices = (info.choices ?? []).map((c) => ({ value: c, label: c === info.default ? `${c} (default)` : c }));
      // Without a default the option is off unless chosen (smoothing: none).
      if (info.default === undefined) return { ...base, kind: 'choice', default: '', choices: [{ value: '', label: 'none' }, ...choices] };
      return { ...base, kind: 'choice', default: String(info.default), choices };
    }
    default:
      return undefined;
  }
}

/** Controls for the smoothing modifiers, which apply to every chosen method. */
export function smoothingUi(): OptionControl[] {
  return Object.entries(SMOOTHING_OPTION_INFO).flatMap(([name, info]) => optionControl(name, info) ?? []);
}

/** Whether a control applies, given the values of the controls beside it (`when`). */
export function applies(o: OptionControl, value: (name: string) => string | undefined): boolean {
  return Object.entries(o.when ?? {}).every(([k, v]) => value(k) === v);
}

export function methodsUi(methods: MethodDescriptor[]): MethodUi[] {
  return methods.map((d) => ({
    name: d.name,
    title: d.label || d.name,
    description: DESCRIPTIONS[d.name] ?? '',
    usesLayer: d.usesLayer,
    // Its own options in the order it lists them, then the score (an option of every method).
    options: [...d.options, 'score'].flatMap((o) => control(o, d) ?? []),
    checked: d.name === 'rsi-grad-cam' || d.name === 'gradcam',
  }));
}
