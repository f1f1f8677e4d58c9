/**
 * VGG-16, ResNet-50 and MobileNetV2 at 224x224, built directly as engine graphs with seeded
 * random weights, so the benchmark needs no downloads, no Python and no large files.
 * Layer layouts follow torchvision's definitions.
 */
import { A } from '../src/engine/graph/attributes.js';
import { float32Tensor } from '../src/engine/graph/tensor-data.js';
import type { Graph, Node } from '../src/engine/graph/types.js';
import { readOnnxFile } from '../src/node/load-onnx.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

class NetBuilder {
  readonly graph: Graph;
  private n = 0;
  private s: number;

  constructor(name: string, seed: number) {
    this.s = seed;
    this.graph = {
      name,
      nodes: [],
      initializers: new Map(),
      inputs: [{ name: 'input', dataType: 'float32', shape: ['N', 3, 224, 224] }],
      outputs: [],
      valueInfo: new Map(),
      opset: 17,
      otherOpsets: [],
      irVersion: 8,
      producerName: 'rsi-grad-cam bench',
    };
  }

  /** Seeded approximately normal values (sum of uniforms). */
  private randn(count: number, std: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let u = 0;
      for (let k = 0; k < 4; k++) {
        this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
        u += this.s / 4294967296;
      }
      out[i] = (u - 2) * Math.sqrt(3) * std;
    }
    return out;
  }

  private param(base: string, data: Float32Array, dims: number[]): string {
    const name = `${base}.p${this.n++}`;
    this.graph.initializers.set(name, float32Tensor(data, dims));
    return name;
  }

  node(op: string, inputs: string[], scope: string, attrs: Node['attributes'] = {}): string {
    const out = `${scope}/${op}_${this.n++}`;
    this.graph.nodes.push({ name: `/${scope.replace(/\./g, '/')}/${op}_${this.n}`, opType: op, domain: '', inputs, outputs: [out], attributes: attrs });
    return out;
  }

  conv(x: string, cin: number, cout: number, k: number, scope: string, o: { stride?: number; group?: number; bias?: boolean } = {}): string {
    const group = o.group ?? 1;
    const fanIn = (cin / group) * k * k;
    const w = this.param(scope, this.randn(cout * (cin / group) * k * k, Math.sqrt(2 / fanIn)), [cout, cin / group, k, k]);
    const inputs = [x, w];
    if (o.bias !== false) inputs.push(this.param(scope, this.randn(cout, 0.01), [cout]));
    const p = Math.floor(k / 2);
    return this.node('Conv', inputs, scope, { kernel_shape: A.ints([k, k]), strides: A.ints([o.stride ?? 1, o.stride ?? 1]), pads: A.ints([p, p, p, p]), group: A.int(group) });
  }

  /** Inference BatchNormalization; `gamma` scales the weights (small on residual branches keeps deep nets finite). */
  bn(x: string, c: number, scope: string, gamma = 1): string {
    const ones = (v: number) => Float32Array.from({ length: c }, () => v);
    const scale = this.param(scope, this.randn(c, 0.1).map((v) => gamma * (1 + v)), [c]);
    const bias = this.param(scope, this.randn(c, 0.1), [c]);
    const mean = this.param(scope, this.randn(c, 0.1), [c]);
    const variance = this.param(scope, ones(1), [c]);
    return this.node('BatchNormalization', [x, scale, bias, mean, variance], scope, { epsilon: A.float(1e-5) });
  }

  relu = (x: string, scope: string) => this.node('Relu', [x], scope);
  relu6(x: string, scope: string): string {
    const lo = this.param(scope, Float32Array.of(0), []);
    const hi = this.param(scope, Float32Array.of(6), []);
    return this.node('Clip', [x, lo, hi], scope);
  }
  maxpool = (x: string, k: number, s: number, scope: string, pad = 0) =>
    this.node('MaxPool', [x], scope, { kernel_shape: A.ints([k, k]), strides: A.ints([s, s]), pads: A.ints([pad, pad, pad, pad]) });
  add = (a: string, b: string, scope: string) => this.node('Add', [a, b], scope);

  head(x: string, cin: number, classes: number, hidden: number[] = []): void {
    // VGG flattens its 7x7 maps; the others pool globally first.
    const pooled = hidden.length ? x : this.node('GlobalAveragePool', [x], 'avgpool');
    let h = this.node('Flatten', [pooled], 'flatten', { axis: A.int(1) });
    let c = cin;
    for (const [i, d] of hidden.entries()) {
      const w = this.param('fc', this.randn(d * c, Math.sqrt(2 / c)), [d, c]);
      h = this.relu(this.node('Gemm', [h, w, this.param('fc', this.randn(d, 0.01), [d])], `classifier.${i}`, { transB: A.int(1) }), `classifier.${i}`);
      c = d;
    }
    const w = this.param('fc', this.randn(classes * c, Math.sqrt(1 / c)), [classes, c]);
    const out = this.node('Gemm', [h, w, this.param('fc', this.randn(classes, 0.01), [classes])], 'fc', { transB: A.int(1) });
    this.graph.outputs = [{ name: out, dataType: 'float32', shape: ['N', classes] }];
  }
}

/** VGG-16 (configuration D): 13 convs with ReLU, 5 max-pools, classifier 4096-4096-1000. */
export function vgg16(): Graph {
  const b = new NetBuilder('vgg16', 16);
  const cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'] as const;
  let x = 'input';
  let c = 3;
  let i = 0; // torchvision's numbering: conv and ReLU are separate entries of `features`
  for (const v of cfg) {
    if (v === 'M') x = b.maxpool(x, 2, 2, `features.${i++}`);
    else {
      x = b.conv(x, c, v, 3, `features.${i++}`);
      x = b.relu(x, `features.${i++}`);
      c = v;
    }
  }
  // torchvision pools to 7x7 before the classifier; the input is already 7x7 here.
  b.head(x, 512 * 7 * 7, 1000, [4096, 4096]);
  return b.graph;
}

/** ResNet-50: bottleneck blocks [3, 4, 6, 3], BatchNorm after each conv. */
export function resnet50(): Graph {
  const b = new NetBuilder('resnet50', 50);
  let x = b.relu(b.bn(b.conv('input', 3, 64, 7, 'conv1', { stride: 2, bias: false }), 64, 'bn1'), 'relu');
  x = b.maxpool(x, 3, 2, 'maxpool', 1);
  let cin = 64;
  [3, 4, 6, 3].forEach((blocks, stage) => {
    const width = 64 * 2 ** stage;
    for (let i = 0; i < blocks; i++) {
      const scope = `layer${stage + 1}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      let y = b.relu(b.bn(b.conv(x, cin, width, 1, `${scope}.conv1`, { bias: false }), width, `${scope}.bn1`), `${scope}.relu`);
      y = b.relu(b.bn(b.conv(y, width, width, 3, `${scope}.conv2`, { stride, bias: false }), width, `${scope}.bn2`), `${scope}.relu`);
      y = b.bn(b.conv(y, width, width * 4, 1, `${scope}.conv3`, { bias: false }), width * 4, `${scope}.bn3`, 0.2);
      const shortcut = i === 0 ? b.bn(b.conv(x, cin, width * 4, 1, `${scope}.downsample.0`, { stride, bias: false }), width * 4, `${scope}.downsample.1`) : x;
      x = b.relu(b.add(y, shortcut, scope), `${scope}.relu`);
      cin = width * 4;
    }
  });
  b.head(x, 2048, 1000);
  return b.graph;
}

/** MobileNetV2 (width 1.0): inverted residuals with depthwise convs and ReLU6. */
export function mobilenetV2(): Graph {
  const b = new NetBuilder('mobilenetv2', 2);
  const cbr = (x: string, cin: number, cout: number, k: number, scope: string, stride = 1, group = 1, act = true) => {
    const y = b.bn(b.conv(x, cin, cout, k, `${scope}.0`, { stride, group, bias: false }), cout, `${scope}.1`);
    return act ? b.relu6(y, `${scope}.2`) : y;
  };
  let x = cbr('input', 3, 32, 3, 'features.0', 2);
  let cin = 32;
  let idx = 1;
  const settings = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ] as const;
  for (const [t, c, n, s] of settings) {
    for (let i = 0; i < n; i++) {
      const scope = `features.${idx++}`;
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      let y = x;
      if (t !== 1) y = cbr(y, cin, hidden, 1, `${scope}.conv.0`);
      y = cbr(y, hidden, hidden, 3, `${scope}.conv.1`, stride, hidden);
      y = cbr(y, hidden, c, 1, `${scope}.conv.2`, 1, 1, false);
      x = stride === 1 && cin === c ? b.add(x, y, scope) : y;
      cin = c;
    }
  }
  x = cbr(x, cin, 1280, 1, `features.${idx}`);
  b.head(x, 1280, 1000);
  return b.graph;
}

/**
 * torchvision's vit_b_16 (224x224, 12 blocks of 768, random weights), as torch.onnx writes it
 * (opset 17, dynamic batch): exported once by tools/export_transformer_fixtures.py --bench
 * with Debian's PyTorch into bench/.cache/ (gitignored; 330 MB), then read from there.
 */
async function vitB16(): Promise<Graph> {
  const dir = fileURLToPath(new URL('./.cache/', import.meta.url));
  const file = path.join(dir, 'vit_b_16.onnx');
  if (!existsSync(file)) {
    const tool = fileURLToPath(new URL('../tools/export_transformer_fixtures.py', import.meta.url));
    process.stderr.write(`exporting ViT-B/16 to ${file} with /usr/bin/python3 (torch) ...\n`);
    execFileSync('/usr/bin/python3', [tool, '--bench', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return readOnnxFile(file);
}

/** Transformers are benchmarked at their last layer with Grad-CAM and RSI-Grad-CAM only (unless BENCH_METHODS says). */
export const TRANSFORMERS = new Set(['ViT-B/16']);

export const ARCHITECTURES: Record<string, () => Graph | Promise<Graph>> = { 'VGG-16': vgg16, 'ResNet-50': resnet50, MobileNetV2: mobilenetV2, 'ViT-B/16': vitB16 };
