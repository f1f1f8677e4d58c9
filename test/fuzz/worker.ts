/**
 * Child process of the fuzz runner: evaluates the cases it is sent, one at a time, so a
 * case that hangs or crashes the process is caught by the parent (killed after a timeout).
 */
import { evaluate } from './evaluate.js';

interface Request {
  id: number;
  entry: string;
  dir: string;
  image: string;
  steps: number;
}

process.on('message', (req: Request) => {
  void evaluate(req.entry, req.dir, req.image, req.steps).then((outcome) => process.send!({ id: req.id, outcome }));
});
process.send!({ ready: true });
