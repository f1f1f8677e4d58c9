/** How the CLI ends: exit 0 on success, 1 for user errors (one line), 2 for internal failures. */
import { CommanderError } from 'commander';
import { RsiGradCamError } from '../errors.js';

export function exitCodeFor(e: unknown): number {
  if (e instanceof RsiGradCamError) return 1;
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
  return 2;
}

/** Print an error the way the CLI does and return the exit code. */
export function reportError(e: unknown): number {
  const code = exitCodeFor(e);
  if (e instanceof CommanderError) return code; // commander already printed it
  if (code === 1) process.stderr.write(`error: ${(e as Error).message.split('\n')[0]}\n`);
  else {
    process.stderr.write(`internal error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.RSI_GRAD_CAM_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    else process.stderr.write('(set RSI_GRAD_CAM_DEBUG=1 for the stack trace; please report it)\n');
  }
  return code;
}
