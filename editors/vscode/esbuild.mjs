// Bundles the extension (and the libraries it uses: vscode-languageclient, marked) into one file,
// so the .vsix ships no node_modules. `node esbuild.mjs` (minified unless --dev).
import * as esbuild from 'esbuild';

const dev = process.argv.includes('--dev');
await esbuild.build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'out/extension.js',
  external: ['vscode'],
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  sourcemap: dev,
  minify: !dev,
  logLevel: 'warning',
});
// The pure modules, unbundled from vscode, for the unit tests (test/unit/).
await esbuild.build({
  entryPoints: ['src/settings.ts', 'src/render.ts', 'src/log.ts', 'src/statusText.ts'],
  bundle: true,
  outdir: 'out/pure',
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  logLevel: 'warning',
});
