/** `rsi-grad-cam generate`: synthetic images with ground-truth boxes and masks. */
import type { Command } from 'commander';
import { writeDataset } from '../../node/demo-io.js';
import { intArg } from '../options.js';

export function registerGenerate(program: Command): Command {
  return program
    .command('generate')
    .description('write seeded synthetic images (one shape of 6 classes on clutter) with boxes and masks, as annotations.json')
    .option('-n, --count <n>', 'number of images', intArg('--count', 1), 20)
    .option('-s, --seed <n>', 'seed: the same seed gives the same bytes on every machine', intArg('--seed', 0), 1)
    .option('--size <px>', 'image width = height', intArg('--size', 32), 128)
    .requiredOption('-o, --out <dir>', 'output folder')
    .addHelpText('after', '\nExamples:\n  $ rsi-grad-cam generate --count 200 --seed 7 --out data/shapes\n  $ rsi-grad-cam eval --model assets/demo/demo-cnn.onnx --images data/shapes --annotations data/shapes/annotations.json')
    .action(async (o: { count: number; seed: number; size: number; out: string }) => {
      const ann = await writeDataset(o.out, { count: o.count, seed: o.seed, size: o.size });
      process.stdout.write(`${ann.images.length} images (seed ${o.seed}, ${o.size}x${o.size}) and annotations.json written to ${o.out}\n`);
    });
}
