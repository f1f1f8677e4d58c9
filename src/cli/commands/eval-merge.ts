/** `rsi-grad-cam eval merge OUT DIR...`: one eval folder from the folders of a sharded eval. */
import type { Command } from 'commander';
import { mergeShards } from '../../node/eval/shards.js';

export function registerEvalMerge(evalCmd: Command): Command {
  // Commander demands a parent's required options of its subcommands too: eval's --model and
  // --annotations are not merge's.
  evalCmd.hook('preSubcommand', (cmd) => {
    for (const option of cmd.options) option.mandatory = false;
  });
  return evalCmd
    .command('merge')
    .description('merge the shard folders of one `eval --shard K/N` run into one eval folder (run.json, results.jsonl, summary tables and plots)')
    .argument('<out>', 'output folder (new, or an earlier merge)')
    .argument('<dirs...>', 'the shard folders (<out>/shard-K-of-N of every shard)')
    .addHelpText(
      'after',
      `
The shards must come from one run: the same settings (run.json), all N shards, each one
finished. The merged summary is the one a single process would have written.

Example:
  $ rsi-grad-cam eval merge eval-out/merged eval-out/shard-*-of-8`,
    )
    .action(async (out: string, dirs: string[]) => {
      const r = await mergeShards(out, dirs);
      process.stdout.write(r.markdown);
      process.stdout.write(`\n${r.shards} shards merged: summary over ${r.images} images in ${out} (${r.files.join(', ')})\n`);
    });
}
