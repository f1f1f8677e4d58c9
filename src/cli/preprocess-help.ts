/** The `--preprocess` part of `--help`: what each preset computes and how the default is chosen. */
import { PRESET_FORMULAS, PRESET_NAMES } from '../image/preprocess.js';

export function preprocessHelp(): string {
  const width = Math.max(...PRESET_NAMES.map((n) => n.length));
  return [
    '',
    'Preprocessing presets (x = the pixel value 0-255 of each channel; a one-channel model gets the',
    'luminance 0.299 R + 0.587 G + 0.114 B, with mean and std weighted the same way):',
    ...PRESET_NAMES.map((n) => `  ${n.padEnd(width)}  ${PRESET_FORMULAS[n]}`),
    'A JSON file gives {"size", "layout", "channelOrder", "mean", "std", "scale", "channels"} or a',
    '{"preset"} with overrides: value = (x * scale - mean) / std.',
    'Default: a catalogue model carries its own; else <model>.preprocess.json (or preprocess.json)',
    'beside the model; else raw when a Keras Rescaling or Normalization layer takes the input (TF.js,',
    'or a tf2onnx export whose layer keeps Keras\'s name), else tf for TF.js models; any other ONNX',
    'model asks for --preprocess.',
  ].join('\n');
}
