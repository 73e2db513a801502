import type fc from 'fast-check';
import { settle } from './marbles.js';

/**
 * Runs each op through `run` in an order fast-check's scheduler `s` picks, and waits until
 * nothing is left: neither an op nor anything the ops scheduled on `s` in turn (a source
 * call that settles later, say). A failing property then shows the order that broke it.
 * Throws if an op never ran, so that a property cannot hold because nothing happened.
 */
export async function interleave<Op extends { kind: string }>(s: fc.Scheduler, ops: readonly Op[], run: (op: Op) => void): Promise<void> {
  let ran = 0;
  for (const o of ops) {
    void s.schedule(Promise.resolve(o), o.kind).then((op) => {
      run(op);
      ran += 1;
    });
  }
  do {
    await s.waitIdle();
    await settle();
  } while (s.count() > 0);
  if (ran !== ops.length) throw new Error(`${ops.length - ran} of ${ops.length} ops never ran`);
}
