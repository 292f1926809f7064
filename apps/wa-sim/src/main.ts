import { WaSimServer } from './wa-sim.server';

/** Standalone sim for e2e tests and benches: one JSON line per event on stdout, the port first. */
async function main(): Promise<void> {
  const rawPort = process.env.WA_SIM_PORT ?? '0';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`WA_SIM_PORT must be a port number from 0 to 65535 (0 = any free port); got "${rawPort}"\n`);
    process.exit(1);
  }
  const rawIdle = process.env.WA_SIM_IDLE_TIMEOUT_MS ?? '0';
  const idleTimeoutMs = Number(rawIdle);
  if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < 0) {
    process.stderr.write(`WA_SIM_IDLE_TIMEOUT_MS must be a whole number of milliseconds (0 = never drop a quiet connection); got "${rawIdle}"\n`);
    process.exit(1);
  }
  const server = new WaSimServer({ port, idleTimeoutMs, log: (event) => process.stdout.write(`${JSON.stringify(event)}\n`) });
  const boundPort = await server.start();
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: boundPort })}\n`);
  const shutdown = () => void server.stop().then(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

void main();
