// The words of the status (pure, unit-tested): the `reverie/status` payload and how it reads.

/** The `reverie/status` payload. */
export interface ServerStatus {
  state: 'indexing' | 'idle' | 'thinking' | 'ready' | 'error' | string;
  files: number;
  notes: number;
  stale: number;
  message: string;
  generation?: number;
  /** The semantic index as last built: definitions with a vector, of all (absent without an embedder). */
  semantic?: { embedded: number; definitions: number };
  /** Each idle job's last run, by job name (only in the answer to a `reverie/status` request). */
  jobs?: Record<string, JobRun>;
}

/** An idle job's last run (`jobs::JobRun` in the server). */
export interface JobRun {
  /** When it ended, in nanoseconds since the Unix epoch. */
  at_ns: number;
  seconds: number;
  done: number;
  pending: number;
  /** `done`, `cancelled`, or why it stopped. */
  outcome: string;
}

/** The idle jobs in the order they run. */
const JOBS = ['history', 'share', 'semantic', 'adapter', 'notes'];

/** `idle work: history done 2 min ago (31,012); semantic done (2,168); …`, or '' when none ran. */
export function describeJobs(s: ServerStatus, nowMs: number = Date.now()): string {
  if (!s.jobs) return '';
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = JOBS.filter((name) => s.jobs?.[name]).map((name) => {
    const run = s.jobs![name];
    const ago = ` ${describeAgo(nowMs - run.at_ns / 1e6)}`;
    const counts = run.pending > 0 ? ` (${n(run.done)}, ${n(run.pending)} left)` : ` (${n(run.done)})`;
    return `${name} ${run.outcome}${ago}${counts}`;
  });
  return parts.length ? `idle work: ${parts.join('; ')}` : '';
}

/** `just now`, `5 min ago`, `3 h ago`, `2 days ago`. */
function describeAgo(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** `semantic index: 2,168 of 2,168 definitions`, or '' before the index is built. */
export function describeSemantic(s: ServerStatus): string {
  if (!s.semantic) return '';
  const n = (x: number) => x.toLocaleString('en-US');
  return `semantic index: ${n(s.semantic.embedded)} of ${n(s.semantic.definitions)} definitions`;
}

/** The message without the state it may start with (`idle: no model configured, …` is told after
 * `reverie: idle`, so the state is said once, as the server's own status line says it). */
export function statusMessage(s: ServerStatus): string {
  const message = (s.message || '').trim();
  return message.startsWith(`${s.state}:`) ? message.slice(s.state.length + 1).trim() : message;
}

export function describeStatus(s: ServerStatus): string {
  const fresh = Math.max(0, s.notes - s.stale);
  const files = `${s.files} file${s.files === 1 ? '' : 's'}`;
  const notes = `${fresh} fresh note${fresh === 1 ? '' : 's'}, ${s.stale} stale`;
  const jobs = describeJobs(s);
  const message = statusMessage(s);
  return `reverie: ${s.state} — ${files}; ${notes}${message ? `. ${message}` : ''}${jobs ? `. ${jobs}` : ''}`;
}
