/** `rsi-grad-cam explain`: heatmaps over photos, and the raw numbers with --raw. */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Classifier } from '../../classifier.js';
import { renderOverlay } from '../../image/overlay.js';
import { explanationJson } from '../../explanation-json.js';
import { explainFile, type PhotoExplanation } from '../../node/explain-files.js';
import { encodePng, writeFileAtomic } from '../../node/render.js';
import { optionsFor } from '../../methods/method.js';
import {
  addMethodOptions, addModelOptions, addPictureOptions, layerOption, loadFromOptions, methodOption, methodSettings, noteUnusedFlags, parseMethod, parseTarget,
  type MethodOpts, type ModelOpts, type PictureOpts,
} from '../options.js';
import { progressBar } from '../progress.js';
import { explanationWarning } from '../warnings.js';
import { expandInputs } from '../../node/input-files.js';
import { shardFolder, shardItems } from '../../node/shard.js';
import { shardOption, type Shard } from '../shard.js';
import { autoStepsNote, autoStepsSummary } from '../steps-note.js';
import { ConversionNotes } from '../conversion-note.js';

type ExplainOpts = ModelOpts & MethodOpts & PictureOpts & { method: string; out: string; raw?: boolean; shard?: Shard };

export function registerExplain(program: Command): Command {
  const cmd = program.command('explain').description('write a heatmap over each photo: <out>/<stem>.<method>.png (and .json with --raw)').argument('<images...>', 'photos (JPEG, PNG, WebP, GIF, ...), or folders: the image files in them');
  addModelOptions(cmd);
  cmd.addOption(methodOption());
  addMethodOptions(cmd);
  addPictureOptions(cmd);
  return cmd
    .option('-o, --out <dir>', 'output folder', 'out')
    .option('--raw', 'also write the numbers as JSON (cam, weights, scores, completeness, timings)')
    .addOption(shardOption())
    .addHelpText(
      'after',
      `
Examples:
  $ rsi-grad-cam explain cat.jpg --model mobilenet_v1_0.25_224
  $ rsi-grad-cam explain photos/*.jpg --model resnet50.onnx --preprocess imagenet --fit crop --raw
  $ rsi-grad-cam explain dog.png --model model.json --method gradcam --layer conv_pw_11_relu --target "golden retriever"
  $ rsi-grad-cam explain dog.png --model model.json --method gradcam --layer conv_pw_11_relu,conv_pw_13_relu --target "golden retriever-tabby"`,
    )
    .action(async (inputs: string[], o: ExplainOpts, command: Command) => {
      const method = parseMethod(o.method);
      const files = await expandInputs(inputs);
      const images = o.shard ? shardItems(files, o.shard, (f) => f) : files;
      const out = o.shard ? shardFolder(o.out, o.shard) : o.out;
      const t0 = performance.now();
      const classifier = await loadFromOptions(o);
      const loadMs = performance.now() - t0;
      const targets = parseTarget(o.target, classifier);
      const m = classifier.method(method);
      noteUnusedFlags(command, [m]);
      const settings = optionsFor(m, methodSettings(o));
      await mkdir(out, { recursive: true });
      const bar = progressBar('explain', 'images');
      const started = performance.now();
      const summaries: string[] = [];
      const warnings: string[] = [];
      const notes: string[] = [];
      const conversions = new ConversionNotes();
      try {
        for (const [i, file] of images.entries()) {
          bar.update(path.basename(file), i, images.length);
          const t1 = performance.now();
          const r = await explainFile<string>(classifier, file, { ...settings, method, fit: o.fit, ...layerOption(o.layer), targets });
          const explainMs = performance.now() - t1;
          const stem = path.join(out, `${path.parse(file).name}.${method}`);
          const overlay = renderOverlay(r.photo, r.photoHeatmap, { colormap: o.colormap, alpha: o.alpha });
          await writeFileAtomic(`${stem}.png`, await encodePng(overlay));
          if (o.raw) await writeFileAtomic(`${stem}.json`, new TextEncoder().encode(`${JSON.stringify(rawJson(classifier, r, loadMs, explainMs))}\n`));
          const e = r.explanation;
          const what = e.objective.kind === 'class' ? classifier.label(e.target) : classifier.describeTarget(e.objective);
          const value = e.objective.kind === 'class' ? `p=${e.probability.toFixed(3)}` : `score=${e.score.toPrecision(4)}`;
          summaries.push(`${file}: ${what} (${value})${autoStepsSummary(e)} -> ${stem}.png`);
          const warning = explanationWarning(file, e, what);
          if (warning) warnings.push(warning);
          const note = autoStepsNote(file, e);
          if (note) notes.push(note);
          conversions.add(file, r.conversion);
        }
        bar.update('', images.length, images.length);
      } finally {
        bar.stop();
        await classifier.dispose();
      }
      for (const n of [...conversions.lines(), ...notes]) process.stderr.write(`${n}\n`);
      for (const s of summaries) process.stdout.write(`${s}\n`);
      for (const w of warnings) process.stderr.write(`${w}\n`);
      process.stdout.write(`${images.length} image${images.length === 1 ? '' : 's'} explained with ${method} in ${((performance.now() - started) / 1000).toFixed(1)} s (model load ${(loadMs / 1000).toFixed(1)} s)\n`);
    });
}

/** The --raw JSON of one photo. */
function rawJson(c: Classifier, r: PhotoExplanation, loadMs: number, explainMs: number) {
  return explanationJson(c, r.explanation, {
    image: r.file,
    imageSize: [r.photo.width, r.photo.height],
    fit: r.geometry.fit,
    ...(r.conversion ? { conversion: r.conversion } : {}),
    timings: { load: loadMs, explain: explainMs },
  });
}
