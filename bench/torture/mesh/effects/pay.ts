import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { defineEffect } from 'meshwarden';

/** Where each execution is written down; the torture suite sets it for the `up` or `run` it starts. */
const SIDE = process.env.MESHWARDEN_TORTURE_SIDE;

export default defineEffect({
  execute(request) {
    // request.id is the idempotency key a real payment API would be given. Written and fsynced
    // before the executor returns: what is in the file ran, whatever the process does next.
    if (SIDE !== undefined) {
      const fd = openSync(SIDE, 'a');
      try {
        writeSync(fd, `${JSON.stringify({ key: request.id, pid: process.pid })}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return { paid: request.data };
  },
});
