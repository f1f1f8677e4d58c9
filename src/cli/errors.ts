/**
 * How the CLI ends: exit 0 on success, 1 for user errors (one line), 2 for internal failures,
 * 130 when interrupted with Ctrl-C (one line saying what was written).
 */
import { CommanderError } from 'commander';
import { RsiGradCamError } from '../errors.js';
import { toOutputError } from '../node/output.js';
import { INTERRUPTED_EXIT, interruptedLine, isInterruption } from './interrupt.js';

/**
 * A file-system error the commands met while writing (a read-only or full folder, a file in
 * the way) becomes the user error it is; anything else is returned as it is.
 */
function userError(e: unknown): unknown {
  return e instanceof RsiGradCamError ? e : (toOutputError(e) ?? e);
}

export function exitCodeFor(e: unknown): number {
  if (isInterruption(e)) return INTERRUPTED_EXIT;
  e = userError(e);
  if (e instanceof RsiGradCamError) return 1;
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
  return 2;
}

/** Print an error the way the CLI does and return the exit code. */
export function reportError(e: unknown): number {
  e = userError(e);
  const code = exitCodeFor(e);
  if (e instanceof CommanderError) return code; // commander already printed it
  if (code === INTERRUPTED_EXIT) process.stderr.write(`${interruptedLine()}\n`);
  else if (code === 1) process.stderr.write(`error: ${(e as Error).message.split('\n')[0]}\n`);
  else {
    process.stderr.write(`internal error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.RSI_GRAD_CAM_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    else process.stderr.write('(set RSI_GRAD_CAM_DEBUG=1 for the stack trace; please report it)\n');
  }
  return code;
}
