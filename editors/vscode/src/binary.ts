// Finding the `reverie` binary: `reverie.serverPath`, else `reverie` on PATH, else ~/.cargo/bin (where
// `cargo install` puts it, often missing from the PATH of a VS Code started from a desktop menu).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type Resolved = { ok: true; path: string } | { ok: false; problem: string };

export const INSTALL_STEPS =
  'To install it, run "cargo install --path ." in a checkout of the reverie repository ' +
  '(needs Rust 1.90 or newer from https://rustup.rs; it puts reverie in ~/.cargo/bin), ' +
  'then make sure reverie is on your PATH or set the setting reverie.serverPath to the binary.';

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}

export function resolveServer(serverPath: string, env: NodeJS.ProcessEnv = process.env): Resolved {
  const exe = process.platform === 'win32' ? 'reverie.exe' : 'reverie';
  if (serverPath) {
    const file = expandHome(serverPath);
    if (isExecutableFile(file)) return { ok: true, path: file };
    const why = fs.existsSync(file) ? 'is not an executable file' : 'does not exist';
    return { ok: false, problem: `reverie.serverPath is set to ${file}, which ${why}.` };
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, exe);
    if (isExecutableFile(file)) return { ok: true, path: file };
  }
  const cargoHome = env.CARGO_HOME || path.join(os.homedir(), '.cargo');
  const cargoBin = path.join(cargoHome, 'bin', exe);
  if (isExecutableFile(cargoBin)) return { ok: true, path: cargoBin };
  return { ok: false, problem: 'The reverie language server (reverie) was not found on PATH or in ~/.cargo/bin.' };
}
