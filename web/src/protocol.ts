/** Messages between the page and the engine worker. */
import type { FitMode, InputSpec, LayerListing, OptionInfo, Prediction, PresetName } from '../../src/core.js';

export type Backend = 'wasm' | 'webgpu';

/** Where onnxruntime-web's loader and wasm binary are (bundled by Vite from the package). */
export interface OrtUrls {
  mjs: string;
  wasm: string;
}

/** A file handed to the worker: its path relative to the model's folder and its bytes. */
export interface NamedBytes {
  name: string;
  bytes: ArrayBuffer;
}

export interface PhotoData {
  name: string;
  width: number;
  height: number;
  /** RGB, interleaved; transparency flattened onto white. */
  data: Uint8Array;
  /**
   * The photo's own colours (straight, not premultiplied) and alpha, when it has transparency:
   * what models with an alpha channel see, as in the CLI.
   */
  transparency?: { data: Uint8Array; alpha: Uint8Array };
}

export interface ExplainRequest {
  methods: string[];
  layer?: string;
  /** Class index; undefined: the top prediction. */
  target?: number;
  /** Options per method, by method name (what is not given takes the library's default). */
  methodOptions: Record<string, Record<string, unknown>>;
  /** Options for every method (the smoothing modifier); a method's own options win. */
  commonOptions?: Record<string, unknown>;
  /** Size of the photo as shown, for the heatmap over it. */
  displaySize: [number, number];
}

export type Request =
  | { type: 'init'; backend: Backend; urls: OrtUrls; cancelFlag?: SharedArrayBuffer }
  | { type: 'load-model'; main: string; files: NamedBytes[]; source: string; labels?: string[]; preset?: PresetName; fit?: FitMode }
  | { type: 'set-preprocess'; preset: PresetName | 'model'; fit: FitMode | 'model' }
  | { type: 'set-photo'; photo: PhotoData }
  | { type: 'explain'; request: ExplainRequest }
  | { type: 'bench-forwards'; count: number; batch?: number };

/** A registered method as the page needs it (from its capabilities). */
export interface MethodDescriptor {
  name: string;
  /** Display name from the method's capabilities. */
  label: string;
  /** false: attributes to the input pixels, takes no layer. */
  usesLayer: boolean;
  /** Where its map lies: the layer's grid or the input's pixels. */
  mapAt: 'layer' | 'input';
  /** Option names it takes besides the common ones. */
  options: string[];
  /** How to ask for the options a user sets (the rest are for programs). */
  optionInfo: Record<string, OptionInfo>;
  hasCompleteness: boolean;
  defaultScore: string;
}

export interface ModelSummary {
  source: string;
  inputSize: [number, number];
  numClasses: number;
  hasLabels: boolean;
  layers: LayerListing[];
  /** The preprocessing in use and where it came from. */
  spec?: InputSpec;
  specOrigin: 'model' | 'preset' | 'none';
  fit: FitMode;
  /** Seconds to import, prepare and open the first session. */
  loadMs: number;
  format: 'onnx' | 'tfjs';
  /** Every method the library has registered. */
  methods: MethodDescriptor[];
}

export interface BackendSummary {
  backend: Backend;
  threads: number;
  isolated: boolean;
  /** Set when WebGPU was asked for but is not available or failed. */
  note?: string;
}

export interface PhotoPredictions {
  top: (Prediction & { label: string })[];
  /** How the photo became the model's input channels (1-, 2- and 4-channel models): the CLI's note. */
  conversion?: string;
}

/** One method's result, ready to draw. */
export interface MethodResult {
  method: string;
  /** Heatmap over the photo as shown ([0, 1], displaySize). */
  heat: Float32Array;
  heatSize: [number, number];
  /** The `--raw` JSON of the CLI. */
  json: Record<string, unknown>;
  ms: number;
  evaluations: number;
  completenessError?: number;
  relativeCompletenessError?: number;
  pathTrace?: { alphas: number[]; scores: number[]; runningSum: number[] };
  backend: Backend;
  /** false: an attribution to the input pixels (no layer). */
  usesLayer: boolean;
}

export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string } }
  | { type: 'progress'; id: number; method: string; done: number; total: number }
  | { type: 'result'; id: number; result: MethodResult }
  | { type: 'notice'; id: number; message: string };
