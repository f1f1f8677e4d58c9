/**
 * Ctrl-C (SIGINT): the first stops the command cleanly at the next stopping point (between
 * images: see progress.ts), keeping every file already written (writes are atomic); the
 * second stops at once. Either way the command ends with exit 130 and one line saying what
 * was written.
 */
import path from 'node:path';
import { RsiGradCamError } from '../errors.js';
import { removePartialFiles, writtenFiles } from '../node/output.js';

/** The command was interrupted by the user (Ctrl-C). */
export class InterruptedError extends RsiGradCamError {
  constructor() {
    super('interrupted', 'interrupted (Ctrl-C)');
  }
}

const controller = new AbortController();

/** Fires on the first Ctrl-C; its reason is an InterruptedError. */
export const interruptSignal: AbortSignal = controller.signal;

/** Exit code of an interrupted command (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

/** Start handling Ctrl-C (the CLI's entry point calls this; tests of commands in-process do not). */
export function handleInterrupts(): void {
  process.on('SIGINT', () => {
    if (controller.signal.aborted) {
      removePartialFiles();
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${interruptedLine()}\n`);
      process.exit(INTERRUPTED_EXIT);
    }
    controller.abort(new InterruptedError());
  });
}

/** Throws the InterruptedError once Ctrl-C was pressed: called where a command may stop. */
export function stopIfInterrupted(): void {
  if (controller.signal.aborted) throw controller.signal.reason;
}

/** Whether `e` ends the command because of Ctrl-C. */
export function isInterruption(e: unknown): boolean {
  return e instanceof InterruptedError || (controller.signal.aborted && (e as Error)?.name === 'AbortError');
}

/** `interrupted (Ctrl-C): stopped after writing 3 files in out` (or before writing any). */
export function interruptedLine(): string {
  const files = writtenFiles();
  if (files.length === 0) return 'interrupted (Ctrl-C): stopped before writing any file';
  const folders = [...new Set(files.map((f) => path.dirname(f)))];
  const last = path.basename(files[files.length - 1]!);
  return `interrupted (Ctrl-C): stopped after writing ${files.length} file${files.length === 1 ? '' : 's'} in ${folders.join(', ')} (last: ${last})`;
}
