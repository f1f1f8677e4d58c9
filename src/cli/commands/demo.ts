import type { Command } from 'commander';

export function registerDemo(program: Command): Command {
  return program.command('demo').description('(not yet available)');
}
