import { ServerError, startServer, type ServerOptions, type SpineServer } from '@spine/server';
import { CliError } from './CliError.js';

/**
 * Starts the studio server for a command, turning the errors a person can fix into one line:
 * a port in use (another studio, or `npm start` still running) and a refused host.
 *
 * @throws CliError when the port is taken, cannot be used, or the server refuses its options.
 */
export async function startStudio(options: ServerOptions): Promise<SpineServer> {
  try {
    return await startServer(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${options.host ?? '127.0.0.1'}:${options.port ?? 0}`;
    if (code === 'EADDRINUSE') {
      throw new CliError(`port ${options.port} is already in use on ${options.host ?? '127.0.0.1'} (another studio or \`npm start\` still running?): stop it, or choose another port with --port N`);
    }
    if (code === 'EACCES') throw new CliError(`not allowed to listen on ${where}: choose a port above 1023 with --port N`);
    if (code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${where}: this machine has no such address (--host)`);
    if (error instanceof ServerError) throw new CliError(error.message);
    throw error;
  }
}
