// What the output channel shows of the language client's own lines. Pure (no `vscode` import) so it
// is unit-tested.
//
// vscode-languageclient logs every exit of the server process as an error ("[Error - 10:01:02 AM]
// Server process exited with code 0."), including the normal one after a stop or a restart (shutdown,
// then exit, code 0). That line is rewritten as information; any other exit code stays an error.

const NORMAL_EXIT = /^\[Error( - [^\]]*)?\] Server process exited with code 0\.?$/;

/** The line to show for a line the language client writes. */
export function clientLogLine(line: string): string {
  const m = NORMAL_EXIT.exec(line);
  return m ? `[Info${m[1] ?? ''}] The server exited normally (code 0).` : line;
}
