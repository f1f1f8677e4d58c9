/** Progress bars on a terminal (cli-progress); silent when stderr is not a TTY (CI, pipes). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(label: string, value: number, total: number | undefined): void;
  stop(): void;
}

export function progressBar(what: string, unit = ''): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
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
