/** `rsi-grad-cam demo`: the shipped model and images, offline, Grad-CAM vs RSI-Grad-CAM. */
import type { Command } from 'commander';
import { runDemo } from '../../node/demo-run.js';
import { intArg } from '../options.js';
import { progressBar } from '../progress.js';
import { interruptSignal } from '../interrupt.js';

export function registerDemo(program: Command): Command {
  return program
    .command('demo')
    .description('explain the shipped demo images with the shipped CNN (no network): writes <out>/demo.png and prints energy-in-box per method')
    .option('-o, --out <dir>', 'output folder', 'out')
    .option('--steps <n>', 'RSI-Grad-CAM path steps', intArg('--steps', 1), 50)
    .addHelpText('after', '\nExamples:\n  $ npx rsi-grad-cam demo\n  $ npx rsi-grad-cam demo --out /tmp/demo --steps 20')
    .action(async (o: { out: string; steps: number }) => {
      const bar = progressBar('demo', 'images');
      let result;
      try {
        result = await runDemo(o.out, { steps: o.steps, signal: interruptSignal, onImage: (i, n) => bar.update('', i, n) });
      } finally {
        bar.stop();
      }
      const heads = ['image', 'truth', 'p(truth)', ...result.rows[0]!.results.map((r) => `${r.label}: energy in box (cam max)`)];
      process.stdout.write(`| ${heads.join(' | ')} |\n|${heads.map(() => '---').join('|')}|\n`);
      for (const r of result.rows) {
        const cells = r.results.map((x) => (x.allZero ? 'cam all zero' : `${(x.energy * 100).toFixed(1)}% (${x.camMax.toExponential(1)})`));
        process.stdout.write(`| ${r.file} | ${r.label} | ${r.probability.toFixed(6)} | ${cells.join(' | ')} |\n`);
      }
      const means = result.rows[0]!.results.map((_, k) => result.rows.reduce((s, r) => s + r.results[k]!.energy, 0) / result.rows.length);
      process.stdout.write(`| mean | | | ${means.map((m) => `${(m * 100).toFixed(1)}%`).join(' | ')} |\n\n${result.picture}\n`);
    });
}
