/**
 * Progress bars on a terminal (cli-progress). When stderr is not a TTY (a log file, CI) a
 * plain line every `LOG_INTERVAL_MS` instead, so long runs still show how far they are.
 * Every command reports each item (image, tile) before starting it, which makes `update` the
 * place where a Ctrl-C stops a command between items.
 */
import cliProgress from 'cli-progress';
import { stopIfInterrupted } from './interrupt.js';

export interface Progress {
  /**
   * `value` of `total` items done, the next one `label`. Throws InterruptedError when Ctrl-C
   * was pressed and items remain, so the command stops between items.
   */
  update(label: string, value: number, total: number | undefined): void;
  stop(): void;
}

/** A progress display whose updates are also the command's stopping points. */
function stoppable(p: Progress): Progress {
  return {
    update(label, value, total) {
      if (total === undefined || value < total) stopIfInterrupted();
      p.update(label, value, total);
    },
    stop: () => p.stop(),
  };
}

const LOG_INTERVAL_MS = 30_000;

export function progressBar(what: string, unit = '', logIntervalMs = LOG_INTERVAL_MS): Progress {
  return stoppable(process.stderr.isTTY ? terminalBar(what, unit) : progressLines(what, unit, logIntervalMs));
}

function terminalBar(what: string, unit: string): Progress {
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(label, value, total) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${what} {label} [{bar}] {percentage}% {value}/{total} ${unit} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total ?? value, value, { label });
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(value, { label });
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Progress as occasional lines: `eval 45/150 images (30%), ETA 12 min | file`. */
function progressLines(what: string, unit: string, intervalMs: number): Progress {
  const started = Date.now();
  let last = started;
  return {
    update(label, value, total) {
      const now = Date.now();
      if (now - last < intervalMs || total === undefined || total === 0) return;
      last = now;
      const eta = value > 0 ? ((now - started) / value) * (total - value) / 60_000 : NaN;
      const etaText = Number.isFinite(eta) ? `, ETA ${eta < 1 ? '<1' : eta.toFixed(0)} min` : '';
      process.stderr.write(`${what} ${value}/${total}${unit ? ` ${unit}` : ''} (${((100 * value) / total).toFixed(0)}%)${etaText}${label ? ` | ${label}` : ''}\n`);
    },
    stop() {},
  };
}
