#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`, run by `prepare` on install).
import module from 'node:module';

// Node 22.1+ keeps compiled code between runs (NODE_DISABLE_COMPILE_CACHE=1 turns it off): a short
// command spends much of its time compiling modules. Enabled before dist/ loads, so it covers it.
module.enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');

// `dbtune … | head`: the reader went away; stop quietly like other Unix tools.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
