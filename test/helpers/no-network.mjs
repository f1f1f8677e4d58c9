// Preloaded (node --import) into a CLI run that must not touch the network: any TCP
// connection or fetch fails loudly, naming what was attempted. Unix-socket IPC (tsx uses a
// local pipe) is still allowed: it never leaves the machine.
import net from 'node:net';

const refuse = (what) => {
  process.stderr.write(`no-network: attempted ${what}\n`);
  throw new Error(`no-network: attempted ${what}`);
};
globalThis.fetch = (url) => refuse(`fetch ${String(url)}`);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guarded(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const ipc = typeof first === 'string' || (first && typeof first === 'object' && 'path' in first && first.path);
  if (!ipc) refuse(`a network connection ${JSON.stringify(first)}`);
  return connect.apply(this, args);
};
