// Preloaded (NODE_OPTIONS=--import <this file>, as Node refuses --cpu-prof there) into every
// process of a cpu-per-op.ts run when it profiles: SIGUSR2 starts a V8 CPU profile, the next
// SIGUSR2 stops it and writes <OXIA_BENCH_PROFILE_DIR>/<pid>-<n>.cpuprofile (n counts the profiles). So the profile covers
// the measured loop only, not start-up, the key load or the warm-up.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.OXIA_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let taken = 0;
  const stopAndWrite = () => {
    running = false;
    // The inspector answers a session on the main thread synchronously, also in an exit handler.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}-${++taken}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  // A process that exits right after the measured loop (the load generator) may not see the second signal.
  process.on('exit', () => {
    if (running) stopAndWrite();
  });
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    stopAndWrite();
  });
}
