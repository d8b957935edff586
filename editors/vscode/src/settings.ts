// VS Code settings -> the server's configuration shape. Pure (no `vscode` import) so it is unit-tested.
//
// The server layers its configuration: config.toml, then reverie.toml, then initializationOptions, then
// workspace/didChangeConfiguration, later layers winning key by key. So only settings the user actually
// set are sent: an empty setting leaves the key to reverie.toml instead of overriding it with a default.

/** The `reverie.*` settings this extension reads (VS Code names). */
export interface ReverieSettings {
  serverPath: string;
  provider: string;
  model: string;
  baseUrl: string;
  apiKeyEnv: string;
  idleAfter: string;
  tokensPerHour: number | null;
  tokensPerDay: number | null;
  logLevel: string;
}

/** The server's configuration keys, as in reverie.toml (only those that are set). */
export interface ServerConfig {
  llm?: { provider?: string; model?: string; base_url?: string; api_key_env?: string };
  server?: { idle_after?: string };
  sleep?: { tokens_per_hour?: number; tokens_per_day?: number };
}

/** Reads the settings through `get(key)` (`vscode.workspace.getConfiguration('reverie').get`). */
export function readSettings(get: (key: string) => unknown): ReverieSettings {
  const text = (key: string): string => {
    const value = get(key);
    return typeof value === 'string' ? value.trim() : '';
  };
  const count = (key: string): number | null => {
    const value = get(key);
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : null;
  };
  return {
    serverPath: text('serverPath'),
    provider: text('llm.provider'),
    model: text('llm.model'),
    baseUrl: text('llm.baseUrl'),
    apiKeyEnv: text('llm.apiKeyEnv'),
    idleAfter: text('server.idleAfter'),
    tokensPerHour: count('sleep.tokensPerHour'),
    tokensPerDay: count('sleep.tokensPerDay'),
    logLevel: text('logLevel') || 'info',
  };
}

/** The server configuration for these settings: `initializationOptions`, and the `reverie` section
 * of `workspace/didChangeConfiguration`. */
export function serverConfig(s: ReverieSettings): ServerConfig {
  const config: ServerConfig = {};
  const llm: NonNullable<ServerConfig['llm']> = {};
  if (s.provider) llm.provider = s.provider;
  if (s.model) llm.model = s.model;
  if (s.baseUrl) llm.base_url = s.baseUrl;
  if (s.apiKeyEnv) llm.api_key_env = s.apiKeyEnv;
  if (Object.keys(llm).length) config.llm = llm;
  if (s.idleAfter) config.server = { idle_after: s.idleAfter };
  const sleep: NonNullable<ServerConfig['sleep']> = {};
  if (s.tokensPerHour !== null) sleep.tokens_per_hour = s.tokensPerHour;
  if (s.tokensPerDay !== null) sleep.tokens_per_day = s.tokensPerDay;
  if (Object.keys(sleep).length) config.sleep = sleep;
  return config;
}

/** The `workspace/didChangeConfiguration` params for a configuration. */
export function didChangeConfigurationParams(config: ServerConfig): { settings: { reverie: ServerConfig } } {
  return { settings: { reverie: config } };
}

/** Dotted keys set in `before` but not in `after`. The server cannot unset a key through
 * didChangeConfiguration (the initializationOptions layer would still hold it), so a removal needs a
 * restart with fresh initializationOptions. */
export function removedKeys(before: ServerConfig, after: ServerConfig): string[] {
  const flat = (config: ServerConfig): Set<string> => {
    const keys = new Set<string>();
    for (const [section, values] of Object.entries(config)) {
      for (const key of Object.keys(values ?? {})) keys.add(`${section}.${key}`);
    }
    return keys;
  };
  const now = flat(after);
  return [...flat(before)].filter((key) => !now.has(key));
}

/** The settings after a configuration change. `serverPathChanged` is whether the change touched
 * `reverie.serverPath` (`event.affectsConfiguration`): when it did not, the path in use is kept. In a
 * remote window VS Code may stop reporting a machine-scoped value that was readable at start (one
 * written in User rather than Remote settings) when another setting changes; the server must not
 * lose its binary over an unrelated change. */
export function afterChange(before: ReverieSettings, read: ReverieSettings, serverPathChanged: boolean): ReverieSettings {
  return serverPathChanged ? read : { ...read, serverPath: before.serverPath };
}

/** What needs a restart rather than a didChangeConfiguration: the binary and its environment. */
export function needsRestart(before: ReverieSettings, after: ReverieSettings): boolean {
  return (
    before.serverPath !== after.serverPath ||
    before.logLevel !== after.logLevel ||
    removedKeys(serverConfig(before), serverConfig(after)).length > 0
  );
}

/** The environment of the server process: ours, with the log level. */
export function serverEnv(s: ReverieSettings, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, REVERIE_LOG: s.logLevel };
}
