/** `rsi-grad-cam compare`: one picture, methods x layers, each tile captioned. */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { renderOverlay } from '../../image/overlay.js';
import { resizeRgb } from '../../image/resize-rgb.js';
import { heatmapToPhoto } from '../../image/fit.js';
import { camToHeatmap } from '../../methods/cam.js';
import type { RgbImage } from '../../image/types.js';
import { explainPrepared, preparePhoto } from '../../node/explain-files.js';
import { captionTile, grid, writeFileAtomic } from '../../node/render.js';
import { methodNames } from '../../methods/registry.js';
import { optionsFor } from '../../methods/method.js';
import {
  addMethodOptions, intArg, addModelOptions, addPictureOptions, loadFromOptions, methodSettings, noteUnusedFlags, parseMethod, parseTarget,
  type MethodOpts, type ModelOpts, type PictureOpts,
} from '../options.js';
import { progressBar } from '../progress.js';
import { OptionError } from '../../errors.js';
import { explanationWarning } from '../warnings.js';
import { autoStepsNote } from '../steps-note.js';
import { ConversionNotes } from '../conversion-note.js';

type CompareOpts = ModelOpts & MethodOpts & PictureOpts & { methods: string; layers?: string; out: string; tile: number; columns?: number };

export function registerCompare(program: Command): Command {
  const cmd = program.command('compare').description('one PNG grid comparing methods (rows) and layers (columns) on a photo').argument('<image>', 'a photo');
  addModelOptions(cmd);
  addMethodOptions(cmd);
  addPictureOptions(cmd);
  return cmd
    .option('--methods <list>', `comma-separated methods (${methodNames().join(', ')})`, 'gradcam,rsi-grad-cam')
    .option('--layers <list>', 'comma-separated layers, one column each, computed in the same runs (default: --layer, or the default layer)')
    .option('--tile <px>', 'longer side of each tile in pixels', (v) => Math.max(32, Number(v) || 224), 224)
    .option('--columns <n>', 'one layer: lay the tiles out n to a row, the photo first (many methods in a compact picture)', intArg('--columns', 1))
    .option('-o, --out <dir>', 'output folder', 'out')
    .addHelpText('after', '\nExamples:\n  $ rsi-grad-cam compare cat.jpg --model mobilenet_v1_0.25_224 --layers conv_pw_13_relu,conv_pw_11_relu\n  $ rsi-grad-cam compare x.png --model net.onnx --preprocess unit --methods gradcam,rsi-grad-cam --steps 20\n  $ rsi-grad-cam compare cat.jpg --model mobilenet_v1_0.75_224 --methods gradcam,scorecam,ig,rise --columns 2')
    .action(async (image: string, o: CompareOpts, command: Command) => {
      const methods = o.methods.split(',').map((m) => parseMethod(m.trim()));
      const classifier = await loadFromOptions(o);
      const names = o.layers ?? o.layer;
      const layers = [...new Set((names ? names.split(',').map((l) => l.trim()) : [undefined]).map((l) => classifier.model.layer(l).tensor))];
      if (o.columns !== undefined && layers.length > 1) {
        await classifier.dispose();
        throw new OptionError(`--columns lays out one layer's tiles; with ${layers.length} layers the columns are the layers`);
      }
      const targets = parseTarget(o.target, classifier);
      const instances = methods.map((m) => classifier.method(m));
      noteUnusedFlags(command, instances);
      const settings = methodSettings(o);
      const [ih, iw] = classifier.inputSize;
      const tiles: RgbImage[] = [];
      const warnings: string[] = [];
      let photo: RgbImage | undefined;
      const bar = progressBar('compare', 'tiles');
      const notes: string[] = [];
      const conversions = new ConversionNotes();
      try {
        // Decoded and fitted once for every method and layer.
        const prepared = await preparePhoto(classifier, image, o.fit);
        conversions.add(image, prepared.conversion);
        for (const [mi, method] of methods.entries()) {
          bar.update(method, mi * layers.length, methods.length * layers.length);
          // Every layer in the same session runs; each column shows its own layer's map. A method
          // that takes no layer (input attributions) shows its one map in every column.
          const layerOption = layers.length === 1 ? { layer: layers[0] } : { layers };
          const r = await explainPrepared<string>(classifier, prepared, { ...optionsFor(instances[mi]!, { ...settings, ...layerOption }), method, targets });
          photo ??= r.photo;
          const e = r.explanation;
          const own = instances[mi]!.capabilities.usesLayer !== false;
          // explain's warnings, one per map shown: per layer, or the input method's one map.
          const what = e.objective.kind === 'class' ? classifier.label(e.target) : classifier.describeTarget(e.objective);
          for (const l of own ? e.layers : [e]) {
            const warning = explanationWarning(image, e, what, l);
            if (warning) warnings.push(warning);
          }
          const note = autoStepsNote(`${image} ${method}`, e);
          if (note) notes.push(note);
          for (const [li, layer] of layers.entries()) {
            const l = e.layers[li]!;
            const heat = layers.length === 1 || !own ? r.photoHeatmap : heatmapToPhoto({ width: iw, height: ih, data: camToHeatmap(l.cam, l.camShape, [ih, iw]) }, prepared.geometry);
            const overlay = shrink(renderOverlay(r.photo, heat, { colormap: o.colormap, alpha: o.alpha }), o.tile);
            tiles.push(await captionTile(overlay, [`${method} @ ${own ? layer : 'input'}`, e.objective.kind === 'class' ? `${classifier.label(e.target).split(',')[0]} p=${e.probability.toFixed(3)}` : `${classifier.describeTarget(e.objective)} ${e.score.toPrecision(3)}`]));
          }
        }
      } finally {
        bar.stop();
        await classifier.dispose();
      }
      for (const n of [...conversions.lines(), ...notes]) process.stderr.write(`${n}\n`);
      await mkdir(o.out, { recursive: true });
      // --columns: the photo and the methods' tiles wrapped n to a row (each caption names its method).
      const png = o.columns
        ? await grid([await captionTile(shrink(photo!, o.tile), [path.basename(image), layers[0]!]), ...tiles], o.columns)
        : await grid(tiles, layers.length, { rowHeaders: methods, columnHeaders: layers, corner: shrink(photo!, Math.round(o.tile / 2)) });
      const file = path.join(o.out, `${path.parse(image).name}.compare.png`);
      await writeFileAtomic(file, png);
      process.stdout.write(`${file}: ${methods.length} methods x ${layers.length} layers\n`);
      for (const w of warnings) process.stderr.write(`${w}\n`);
    });
}

function shrink(img: RgbImage, longSide: number): RgbImage {
  const s = longSide / Math.max(img.width, img.height);
  if (s >= 1) return img;
  return resizeRgb(img, Math.max(1, Math.round(img.width * s)), Math.max(1, Math.round(img.height * s)));
}
