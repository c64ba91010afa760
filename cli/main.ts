/**
 * The `acme-renewer` bin (bundled by scripts/build.mjs into dist/cli/acme-renewer.cjs).
 * See cli/program.ts for the commands and exit codes.
 */
import { runCli } from './program.js';

runCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`acme-renewer: ${error.message}\n`);
    process.exitCode = 1;
  },
);
