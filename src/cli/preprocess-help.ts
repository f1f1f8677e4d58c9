/** The `--preprocess` part of `--help`: what each preset computes and how the default is chosen. */
import { PRESET_FORMULAS, PRESET_NAMES } from '../image/preprocess.js';

export function preprocessHelp(): string {
  const width = Math.max(...PRESET_NAMES.map((n) => n.length));
  return [
    '',
    'Preprocessing presets (x = the pixel value 0-255 of each channel):',
    ...PRESET_NAMES.map((n) => `  ${n.padEnd(width)}  ${PRESET_FORMULAS[n]}`),
    'Other channel counts: 1 channel = the luminance L = 0.299 R + 0.587 G + 0.114 B; 2 channels =',
    "L and alpha; 4 channels = R, G, B (in the preset's order) and alpha. Alpha is the photo's own,",
    'or 255 (opaque) when it has none. L and alpha take the mean and std weighted 0.299, 0.587, 0.114',
    '(so an opaque pixel\'s alpha gets what a white grey pixel gets). 5 or more channels are refused.',
    'A JSON file gives {"size", "layout", "channelOrder", "mean", "std", "scale", "channels"} or a',
    '{"preset"} with overrides: value = (x * scale - mean) / std; mean and std list R, G, B, or one',
    'value per channel: [grey], [grey, alpha], [r, g, b, alpha].',
    'Default: a catalogue model carries its own; else <model>.preprocess.json (or preprocess.json)',
    'beside the model; else raw when a Keras Rescaling or Normalization layer takes the input (TF.js,',
    'or a tf2onnx export whose layer keeps Keras\'s name), else tf for TF.js models; any other ONNX',
    'model asks for --preprocess.',
  ].join('\n');
}
