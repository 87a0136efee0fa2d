/**
 * `node --env-file=.env.example --env-file=.env --import=<this file> …` (the Makefile's settings layer): fills
 * in the local ports and the endpoints that follow them (ports.mjs) before any module reads process.env, so
 * `PORT_BASE=24560` or `DYNAMODB_PORT=24571` in .env or the environment moves the processes and the URLs that
 * point at them together. Processes started from here inherit the filled-in values.
 */
import { PortBaseError, derivedSettings } from './ports.mjs';

try {
  Object.assign(process.env, derivedSettings(process.env));
} catch (err) {
  if (!(err instanceof PortBaseError)) throw err;
  console.error(err.message);
  process.exit(2);
}
