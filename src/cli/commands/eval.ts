/** `rsi-grad-cam eval`: explanation metrics over an annotated image folder (being written). */
import type { Command } from 'commander';
import { addMethodOptions, addModelOptions } from '../options.js';

export function registerEval(program: Command): Command {
  return addMethodOptions(addModelOptions(program.command('eval').description('evaluate explanation methods with faithfulness and localisation metrics')))
    .requiredOption('--images <dir>', 'folder of images')
    .action(async () => {
      throw new Error('eval: not implemented yet');
    });
}
