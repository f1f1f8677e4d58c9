/** `rsi-grad-cam serve`: the web page on localhost, with the headers that let it use threads. */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { startPageServer } from '../../node/page-server.js';
import { intArg } from '../options.js';

export function registerServe(program: Command): Command {
  return program
    .command('serve')
    .description('serve the web page (explanations computed in the browser; nothing is uploaded)')
    .option('-p, --port <n>', 'port (0: any free port)', intArg('--port', 0), 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--open', 'open the page in the default browser')
    .addHelpText('after', '\nExamples:\n  $ rsi-grad-cam serve --open\n  $ rsi-grad-cam serve --port 9000')
    .action(async (o: { port: number; host: string; open?: boolean }) => {
      const page = await startPageServer({ port: o.port, host: o.host });
      process.stdout.write(`rsi-grad-cam page at ${page.url} (Ctrl+C to stop)\n`);
      if (o.open) openBrowser(page.url);
      await new Promise<void>((resolve) => {
        const stop = () => void page.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`could not open a browser (${cmd}); open ${url} yourself\n`));
  child.unref();
}
