/** The `rsi-grad-cam` command line. */
import { Command } from 'commander';
import { reportError } from './errors.js';
import { handleInterrupts } from './interrupt.js';
import { PACKAGE_VERSION } from '../node/package-root.js';
import { registerExplain } from './commands/explain.js';
import { registerLayers } from './commands/layers.js';
import { registerCompare } from './commands/compare.js';
import { registerDemo } from './commands/demo.js';
import { registerGenerate } from './commands/generate.js';
import { registerEval } from './commands/eval.js';
import { registerServe } from './commands/serve.js';

export function buildProgram(): Command {
  const program = new Command('rsi-grad-cam')
    .description('Explain what a convolutional image classifier looks at: RSI-Grad-CAM, Grad-CAM and metrics, on onnxruntime.')
    .version(PACKAGE_VERSION)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const register of [registerExplain, registerLayers, registerCompare, registerDemo, registerGenerate, registerEval, registerServe]) {
    const cmd = register(program);
    cmd.exitOverride();
  }
  return program;
}

const isMain = process.argv[1] && /rsi-grad-cam(\.js)?$|cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isMain) {
  handleInterrupts();
  buildProgram()
    .parseAsync(process.argv)
    .then(
      () => process.exit(process.exitCode ?? 0),
      (e) => process.exit(reportError(e)),
    );
}
