#!/usr/bin/env node
import { runCli, usage } from './runCli.js';

try {
  const server = await runCli(process.argv.slice(2), (line) => console.log(line));
  if (server) {
    console.error(`spine-scripted-model: scripted stand-in (not a model) listening; set OPENAI_BASE_URL=${server.url}`);
    const stop = () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
} catch (error) {
  console.error(`spine-scripted-model: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
  process.exit(2);
}
