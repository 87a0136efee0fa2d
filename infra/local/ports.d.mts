/** Types of ports.mjs (plain JavaScript so the Makefile can preload it without tsx). */
export interface LocalPort {
  /** The setting that chooses the port. */
  variable: string;
  /** Its port is PORT_BASE + this when PORT_BASE is set. */
  offset: number;
  /** Its port when neither it nor PORT_BASE is set. */
  default: number;
  /** The settings that point at it, `http://127.0.0.1:<port>` unless set. */
  endpoints: readonly string[];
}
export const LOCAL_PORTS: readonly LocalPort[];
export const MAX_OFFSET: number;
export class PortBaseError extends Error {
  constructor(raw: string);
}
export function portBase(env: NodeJS.ProcessEnv): number | undefined;
export function localPort(row: LocalPort, env: NodeJS.ProcessEnv): string;
export function derivedSettings(env: NodeJS.ProcessEnv): Record<string, string>;
export function endpointsOf(variable: string): readonly string[];
