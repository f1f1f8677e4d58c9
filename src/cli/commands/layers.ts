/** `rsi-grad-cam layers`: the layers a user can explain at. */
import type { Command } from 'commander';
import { addModelOptions, loadFromOptions, type ModelOpts } from '../options.js';

export function registerLayers(program: Command): Command {
  return addModelOptions(program.command('layers').description('list the layers (tensors) you can explain at; * marks the default'))
    .option('--all', 'also list non-spatial layers (after the head)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ rsi-grad-cam layers --model mobilenet_v1_0.25_224\n  $ rsi-grad-cam layers --model resnet.onnx --json')
    .action(async (o: ModelOpts & { all?: boolean; json?: boolean }) => {
      const classifier = await loadFromOptions(o);
      const layers = classifier.layers().filter((l) => o.all || l.shape.length === 4);
      if (o.json) {
        const json = layers.map((l) => ({ name: l.tensor, node: l.node, op: l.op, shape: l.shape, layout: l.layout, tokens: l.tokens, spatial: l.spatial, modules: l.modules, default: l.isDefault }));
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        // Shapes are [N, C, H, W] as the cam sees them; `layout` says how the graph stores the map
        // (tokens+K: transformer tokens [N, K + H*W, C], the K leading ones dropped).
        const rows = layers.map((l) => [
          l.isDefault ? '*' : ' ', l.tensor, l.op, `[${l.shape.join(', ')}]`, l.spatial ? `${l.spatial[0]}x${l.spatial[1]}` : '', l.tokens ? `tokens+${l.tokens.drop}` : l.layout ?? '', l.modules.join(', '),
        ]);
        const head = [' ', 'name', 'op', 'shape', 'HxW', 'layout', 'module'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      }
      await classifier.dispose();
    });
}
