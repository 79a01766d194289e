// --export runs the repository's exporter in each plugin folder (a stub
// rhdh-cli/janus-cli installed in node_modules/.bin, as a repository has it)
// and packs what it wrote; failures name the plugin and show the log's tail;
// a hang is stopped with dynpack. Stale exports are refused or told; the
// bundle/ of `backstage-cli package bundle` is a plugin's export like
// dist-dynamic/, packed as npm packs it and installed from an image as that.
//
// The real @red-hat-developer-hub/cli is not installed here: it pins
// @backstage/cli (webpack, rollup, swc, esbuild, eslint, jest: hundreds of
// packages) and its backend export runs `yarn install` in dist-dynamic/, so it
// needs the network at run time and a Backstage monorepo; see docs/cli.md.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree, npmPack } from './helpers/tree.mjs'
import { which, rhdhExtract, tgzFiles, treeFiles } from './helpers/oci.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const api = require('../lib/api.js')
const { resolveFolder } = require('../lib/folders.js')

let root
before(() => { root = tempDir('dynpack-export-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))

let counter = 0
function fresh (name) {
  const dir = path.join(root, `${++counter}-${name}`)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

function dynpack (args, cwd, env = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/**
 * A stand-in exporter: writes dist-dynamic/ as rhdh-cli does for a backend
 * plugin (name + `-dynamic`, the source's version, dist/ copied), and records
 * its argv and folder in $STUB_RECORD. $STUB_MODE: fail (prints 30 lines,
 * exits 3), nowrite (exits 0, writes nothing), hang (writes its pid to
 * $STUB_PID and waits forever).
 */
const STUB = `#!/usr/bin/env node
const fs = require('fs'); const path = require('path')
const mode = process.env.STUB_MODE || 'ok'
if (process.env.STUB_RECORD) fs.appendFileSync(process.env.STUB_RECORD, JSON.stringify({ bin: path.basename(process.argv[1]), argv: process.argv.slice(2), cwd: process.cwd(), start: Date.now() }) + '\\n')
if (mode === 'fail') { for (let i = 1; i <= 30; i++) console.log('webpack: compiling line ' + i); console.error('ERROR in ./src/index.ts: boom'); process.exit(3) }
if (mode === 'nowrite') process.exit(0)
if (mode === 'hang') { fs.writeFileSync(process.env.STUB_PID, String(process.pid)); setInterval(() => {}, 1000); return }
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'))
fs.rmSync('dist-dynamic', { recursive: true, force: true })
fs.mkdirSync('dist-dynamic/dist', { recursive: true })
fs.writeFileSync('dist-dynamic/dist/index.cjs.js', "'use strict';\\nexports.default = { $$type: '@backstage/BackendFeature' }; // " + pkg.version + '\\n')
fs.writeFileSync('dist-dynamic/package.json', JSON.stringify({ name: pkg.name + '-dynamic', version: pkg.version, main: 'dist/index.cjs.js', license: 'Apache-2.0', backstage: pkg.backstage, files: ['dist'] }, null, 2) + '\\n')
const wait = Number(process.env.STUB_SLEEP_MS || 0); const until = Date.now() + wait; while (Date.now() < until) {}
if (process.env.STUB_RECORD) fs.appendFileSync(process.env.STUB_RECORD, JSON.stringify({ end: Date.now(), cwd: process.cwd() }) + '\\n')
`

/** A small Backstage backend plugin's sources (what `backstage-cli new` gives, trimmed). */
function pluginSource (name, version = '1.0.0') {
  return {
    'package.json': JSON.stringify({
      name,
      version,
      main: 'src/index.ts',
      types: 'src/index.ts',
      license: 'Apache-2.0',
      publishConfig: { access: 'public', main: 'dist/index.cjs.js', types: 'dist/index.d.ts' },
      backstage: { role: 'backend-plugin', pluginId: name.split('/').pop() },
      scripts: { build: 'backstage-cli package build', 'export-dynamic': 'rhdh-cli plugin export' },
      dependencies: { '@backstage/backend-plugin-api': '^1.0.0' },
      files: ['dist', 'config.d.ts'],
    }, null, 2) + '\n',
    'src/index.ts': "export { helloPlugin as default } from './plugin';\n",
    'src/plugin.ts': "import { createBackendPlugin } from '@backstage/backend-plugin-api';\nexport const helloPlugin = createBackendPlugin({ pluginId: 'hello', register () {} });\n",
    'config.d.ts': 'export interface Config { hello?: { greeting?: string } }\n',
  }
}

/** A repository: root package.json with workspaces, the stub exporter(s) installed, plugin sources. */
function repo (name, { bins = ['rhdh-cli'], plugins = ['hello'] } = {}) {
  const dir = fresh(name)
  const spec = { 'package.json': JSON.stringify({ name: 'root', private: true, workspaces: ['plugins/*'] }) }
  for (const p of plugins) for (const [f, text] of Object.entries(pluginSource(`@acme/plugin-${p}-backend`))) spec[`plugins/${p}-backend/${f}`] = text
  writeTree(dir, spec)
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true })
  for (const b of bins) {
    const file = path.join(dir, 'node_modules', '.bin', b)
    fs.writeFileSync(file, STUB, { mode: 0o755 })
  }
  return dir
}

function records (file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []
}

describe('--export', () => {
  test('pack --export runs the repository\'s rhdh-cli `plugin export` in the plugin folder, then packs the export as npm does', () => {
    const dir = repo('pack')
    const plugin = path.join(dir, 'plugins', 'hello-backend')
    const record = path.join(dir, 'record.jsonl')
    const out = path.join(dir, 'out')
    const r = dynpack(['pack', '--export', '--pack-destination', out], plugin, { STUB_RECORD: record })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'acme-plugin-hello-backend-dynamic-1.0.0.tgz')
    const [call] = records(record)
    assert.deepEqual([call.bin, call.argv, call.cwd], ['rhdh-cli', ['plugin', 'export'], plugin])
    const npm = npmPack(path.join(plugin, 'dist-dynamic'), path.join(dir, 'npm'))
    assert.ok(fs.readFileSync(path.join(out, npm.filename)).equals(fs.readFileSync(path.join(dir, 'npm', npm.filename))), 'the tarball is npm pack\'s, byte for byte')

    // a second --export finds the export up to date and runs nothing
    const again = dynpack(['pack', '--export', '--dry-run'], plugin, { STUB_RECORD: record })
    assert.equal(again.status, 0, again.stderr)
    assert.equal(records(record).length, 2, 'the exporter did not run again (one start and one end record)')
    assert.match(again.stderr, /every export is up to date \(1 plugin\)/)
    // --force-export (rhdh-cli's name) runs it anyway
    const forced = dynpack(['pack', '--force-export', '--dry-run'], plugin, { STUB_RECORD: record })
    assert.equal(forced.status, 0, forced.stderr)
    assert.equal(records(record).filter((x) => x.argv).length, 2)
  })

  test('package --export at a monorepo root exports the plugins without an export, --jobs at a time, and packages them', () => {
    const dir = repo('mono', { plugins: ['a', 'b', 'c'] })
    const record = path.join(dir, 'record.jsonl')
    // plugin c is exported already and fresh: it is left alone
    spawnSync(path.join(dir, 'node_modules', '.bin', 'rhdh-cli'), [], { cwd: path.join(dir, 'plugins', 'c-backend') })
    const r = dynpack(['package', '--export', '--jobs', '2', '--tag', 'localhost/acme/plugins:1.0.0', '--json'], dir, { STUB_RECORD: record, STUB_SLEEP_MS: '400' })
    assert.equal(r.status, 0, r.stderr)
    const calls = records(record)
    const starts = calls.filter((c) => c.argv)
    assert.deepEqual(starts.map((c) => path.basename(c.cwd)).sort(), ['a-backend', 'b-backend'])
    const report = JSON.parse(r.stdout)
    assert.deepEqual(report.plugins.map((p) => p.directory).sort(), ['acme-plugin-a-backend', 'acme-plugin-b-backend', 'acme-plugin-c-backend'])
    // both ran side by side: each started before the other ended
    const ends = calls.filter((c) => c.end)
    assert.ok(starts.every((s) => ends.every((e) => s.start < e.end)), 'the two exports overlapped')

    const serial = repo('serial', { plugins: ['a', 'b'] })
    const rec2 = path.join(serial, 'record.jsonl')
    const r2 = dynpack(['pack', '--export', '--jobs', '1', '--dry-run'], serial, { STUB_RECORD: rec2, STUB_SLEEP_MS: '200' })
    assert.equal(r2.status, 0, r2.stderr)
    const c2 = records(rec2)
    assert.ok(c2[2].start >= c2[1].end, '--jobs 1: the second export starts after the first ended')
  })

  test('janus-cli `package export-dynamic-plugin` is used when rhdh-cli is not installed; rhdh-cli wins when both are', () => {
    const janus = repo('janus', { bins: ['janus-cli'] })
    const rec = path.join(janus, 'record.jsonl')
    assert.equal(dynpack(['pack', '--export', '--dry-run'], path.join(janus, 'plugins', 'hello-backend'), { STUB_RECORD: rec }).status, 0)
    assert.deepEqual([records(rec)[0].bin, records(rec)[0].argv], ['janus-cli', ['package', 'export-dynamic-plugin']])
    const both = repo('both', { bins: ['janus-cli', 'rhdh-cli'] })
    const rec2 = path.join(both, 'record.jsonl')
    assert.equal(dynpack(['pack', '--export', '--dry-run'], path.join(both, 'plugins', 'hello-backend'), { STUB_RECORD: rec2 }).status, 0)
    assert.equal(records(rec2)[0].bin, 'rhdh-cli')
  })

  test('--exporter runs any command in the plugin folder, with the repository\'s bins on PATH', () => {
    const dir = repo('custom', { bins: ['my-exporter'] })
    const rec = path.join(dir, 'record.jsonl')
    const r = dynpack(['pack', '--export', '--exporter', 'my-exporter --flag "a b"', '--dry-run'], path.join(dir, 'plugins', 'hello-backend'), { STUB_RECORD: rec })
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(records(rec)[0].argv, ['--flag', 'a b'])
    const alone = dynpack(['pack', '--exporter', 'x'], dir)
    assert.equal(alone.status, 2)
    assert.match(alone.stderr, /--exporter needs --export/)
    const jobs = dynpack(['pack', '--export', '--jobs', '0'], dir)
    assert.equal(jobs.status, 2)
  })

  test('no exporter installed: E_NO_EXPORTER says how to add one, nothing is downloaded', () => {
    const dir = repo('none', { bins: [] })
    const r = dynpack(['pack', '--export'], path.join(dir, 'plugins', 'hello-backend'))
    assert.equal(r.status, 1)
    assert.match(r.stderr, /E_NO_EXPORTER: .*hello-backend: no exporter installed \(looked for rhdh-cli and janus-cli in node_modules\/\.bin/)
    assert.match(r.stderr, /npm install --save-dev @red-hat-developer-hub\/cli/)
    assert.match(r.stderr, /--exporter 'backstage-cli package bundle'/)
  })

  test('an exporter that fails: E_EXPORT_FAILED names the plugin, its log, and the log\'s last lines; the others still export', () => {
    const dir = repo('fail')
    const plugin = path.join(dir, 'plugins', 'hello-backend')
    const r = dynpack(['pack', '--export'], plugin, { STUB_MODE: 'fail' })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /E_EXPORT_FAILED: .*hello-backend: the export \(`rhdh-cli plugin export`\) exited with status 3; its output is in (\S+\.log), which ends with:/)
    assert.match(r.stderr, /ERROR in \.\/src\/index\.ts: boom/)
    assert.match(r.stderr, /compiling line 30/)
    assert.doesNotMatch(r.stderr, /compiling line 5\n/, 'only the tail')
    const log = /its output is in (\S+\.log)/.exec(r.stderr)[1]
    assert.match(fs.readFileSync(log, 'utf8'), /compiling line 1\n/, 'the whole output is in the log')
    fs.rmSync(path.dirname(log), { recursive: true, force: true })

    const none = dynpack(['pack', '--export'], plugin, { STUB_MODE: 'nowrite' })
    assert.equal(none.status, 1)
    assert.match(none.stderr, /E_EXPORT_FAILED: .*hello-backend: the export \(`rhdh-cli plugin export`\) exited 0 but wrote no dist-dynamic\/package\.json/)
    fs.rmSync(path.dirname(/its output is in (\S+\.log)/.exec(none.stderr)[1]), { recursive: true, force: true })
  })

  test('a hanging exporter: SIGTERM to dynpack stops it (its whole process group) and dynpack exits 143', async () => {
    const dir = repo('hang')
    const pidFile = path.join(dir, 'stub.pid')
    const child = spawn(process.execPath, [BIN, 'pack', '--export'], { cwd: path.join(dir, 'plugins', 'hello-backend'), env: { ...process.env, STUB_MODE: 'hang', STUB_PID: pidFile }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += d })
    const deadline = Date.now() + 20_000
    while (!fs.existsSync(pidFile) || fs.readFileSync(pidFile, 'utf8') === '') {
      assert.ok(Date.now() < deadline, 'the stub exporter started')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const stubPid = Number(fs.readFileSync(pidFile, 'utf8'))
    const started = Date.now()
    child.kill('SIGTERM')
    const status = await new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    assert.equal(status, 143, stderr)
    assert.ok(Date.now() - started < 10_000, 'dynpack stopped promptly')
    assert.throws(() => process.kill(stubPid, 0), /ESRCH/, 'the exporter is gone')
  })
})

describe('stale exports', () => {
  function exported (name, { source = '1.0.0', exportVersion = source } = {}) {
    const dir = repo(name)
    const plugin = path.join(dir, 'plugins', 'hello-backend')
    spawnSync(path.join(dir, 'node_modules', '.bin', 'rhdh-cli'), [], { cwd: plugin })
    if (exportVersion !== source) {
      const file = path.join(plugin, 'dist-dynamic', 'package.json')
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`"version": "${source}"`, `"version": "${exportVersion}"`))
    }
    // the export was written an hour after the sources
    const hourAgo = new Date(Date.now() - 3600_000)
    for (const f of ['package.json', 'config.d.ts', 'src/index.ts', 'src/plugin.ts']) fs.utimesSync(path.join(plugin, f), hourAgo, hourAgo)
    return { dir, plugin }
  }

  test('an export of another version is refused in every command and API call (E_STALE_EXPORT); --allow-stale and --export fix it', async () => {
    const { dir, plugin } = exported('version', { exportVersion: '0.9.0' })
    for (const args of [['pack', '--dry-run'], ['package', '--tag', 'localhost/acme/hello:1.0.0'], ['publish', '--dry-run', '--registry', 'http://127.0.0.1:9/']]) {
      const r = dynpack(args, plugin)
      assert.equal(r.status, 1, args.join(' '))
      assert.match(r.stderr, /E_STALE_EXPORT: .*dist-dynamic: exported from version 0\.9\.0, but .*package\.json is version 1\.0\.0; export the plugin again \(run dynpack with --export\), or pass --allow-stale/, args.join(' '))
    }
    const atRoot = dynpack(['pack', '--dry-run'], dir)
    assert.equal(atRoot.status, 1)
    assert.match(atRoot.stderr, /E_STALE_EXPORT/)
    await assert.rejects(api.packDynamic(plugin, { dryRun: true }), { code: 'E_STALE_EXPORT' })
    await assert.rejects(api.sbomOf(plugin), { code: 'E_STALE_EXPORT' })
    await assert.rejects(api.buildOciLayout(dir, { output: path.join(dir, 'oci'), tag: 'localhost/acme/hello:1.0.0' }), { code: 'E_STALE_EXPORT' })
    await assert.rejects(api.publishDynamic(plugin, { dryRun: true, registry: 'http://127.0.0.1:9/' }), { code: 'E_STALE_EXPORT' })
    // the export folder named directly is used as given
    assert.equal((await api.packDynamic(path.join(plugin, 'dist-dynamic'), { dryRun: true })).version, '0.9.0')

    const allowed = dynpack(['pack', '--dry-run', '--allow-stale'], plugin)
    assert.equal(allowed.status, 0, allowed.stderr)
    assert.equal(allowed.stdout.trim(), 'acme-plugin-hello-backend-dynamic-0.9.0.tgz')
    assert.equal((await api.packDynamic(plugin, { dryRun: true, allowStale: true })).version, '0.9.0')

    const reexported = dynpack(['pack', '--dry-run', '--export'], plugin)
    assert.equal(reexported.status, 0, reexported.stderr)
    assert.equal(reexported.stdout.trim(), 'acme-plugin-hello-backend-dynamic-1.0.0.tgz')
  })

  test('a source changed after its export is told (the newest file named); a fresh export is not', async () => {
    const { plugin } = exported('newer')
    const fine = dynpack(['pack', '--dry-run'], plugin)
    assert.equal(fine.status, 0, fine.stderr)
    assert.doesNotMatch(fine.stderr, /warning/)
    const soon = new Date(Date.now() + 60_000)
    fs.utimesSync(path.join(plugin, 'config.d.ts'), new Date(Date.now() + 30_000), new Date(Date.now() + 30_000))
    fs.utimesSync(path.join(plugin, 'src', 'plugin.ts'), soon, soon)
    const r = dynpack(['pack', '--dry-run'], plugin)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /warning: src\/plugin\.ts in .*hello-backend changed after dist-dynamic\/ was exported .*run with --export to export again/)
    const seen = []
    const on = (w) => seen.push(w)
    process.on('warning', on)
    try {
      await api.packDynamic(plugin, { dryRun: true })
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', on)
    }
    assert.ok(seen.some((w) => w.code === 'DYNPACK_STALE_EXPORT' && /src\/plugin\.ts/.test(w.message)), 'the API warns too')
    assert.equal(dynpack(['pack', '--dry-run', '--allow-stale'], plugin).stderr.includes('warning'), false)
    const record = path.join(plugin, 'record.jsonl')
    const fixed = dynpack(['pack', '--dry-run', '--export'], plugin, { STUB_RECORD: record })
    assert.equal(fixed.status, 0, fixed.stderr)
    assert.equal(records(record).length, 2, '--export exported it again')
  })
})

/**
 * A plugin folder with bundle/ as `backstage-cli package bundle` writes it
 * for a backend plugin (packages/cli/src/modules/build/commands/package/bundle):
 * `.gitignore` (`*`), the empty `.bundle-output` marker, `.yarnrc.yml`, the
 * yarn-packed plugin at the root (package.json with empty scripts and
 * devDependencies, `bundleDependencies: true`, resolutions, configSchema),
 * dist/ with `.config-schema.json`, embedded/ local packages, yarn.lock and
 * the private node_modules/.
 */
function upstreamBundle (dir, name = '@acme/plugin-hello-backend', version = '1.0.0') {
  const source = pluginSource(name, version)
  const pkg = JSON.parse(source['package.json'])
  const bundled = {
    ...pkg,
    main: 'dist/index.cjs.js',
    types: 'dist/index.d.ts',
    scripts: {},
    devDependencies: {},
    dependencies: { ...pkg.dependencies, '@acme/hello-common': '^1.0.0', 'left-pad': '^1.3.0' },
    bundleDependencies: true,
    resolutions: { '@acme/hello-common': 'file:./embedded/plugins/hello-common' },
    configSchema: 'dist/.config-schema.json',
  }
  delete bundled.publishConfig
  writeTree(dir, {
    ...source,
    'bundle/.gitignore': '*\n',
    'bundle/.bundle-output': '',
    'bundle/.yarnrc.yml': 'nodeLinker: node-modules\n',
    'bundle/package.json': JSON.stringify(bundled, null, 2) + '\n',
    'bundle/config.d.ts': source['config.d.ts'],
    'bundle/dist/index.cjs.js': "'use strict';\nvar plugin = require('./plugin.cjs.js');\nexports.default = plugin.helloPlugin;\n",
    'bundle/dist/plugin.cjs.js': "'use strict';\nexports.helloPlugin = { $$type: '@backstage/BackendFeature' };\n",
    'bundle/dist/index.d.ts': 'export {}\n',
    'bundle/dist/.config-schema.json': JSON.stringify({ backstageConfigSchemaVersion: 1, schemas: [] }, null, 2) + '\n',
    'bundle/embedded/plugins/hello-common/package.json': JSON.stringify({ name: '@acme/hello-common', version: '1.0.0', main: 'dist/index.cjs.js' }),
    'bundle/embedded/plugins/hello-common/dist/index.cjs.js': "'use strict';\nexports.x = 1;\n",
    'bundle/yarn.lock': '# yarn lockfile v1\n\n"left-pad@^1.3.0":\n  version "1.3.0"\n',
    'bundle/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0', main: 'index.js', license: 'WTFPL' }),
    'bundle/node_modules/left-pad/index.js': 'module.exports = (s) => s\n',
    'bundle/node_modules/@acme/hello-common/package.json': JSON.stringify({ name: '@acme/hello-common', version: '1.0.0', main: 'dist/index.cjs.js' }),
    'bundle/node_modules/@acme/hello-common/dist/index.cjs.js': "'use strict';\nexports.x = 1;\n",
  })
  const hourAgo = new Date(Date.now() - 3600_000)
  for (const f of Object.keys(source)) fs.utimesSync(path.join(dir, f), hourAgo, hourAgo)
  return path.join(dir, 'bundle')
}

describe('upstream bundles (backstage-cli package bundle)', () => {
  test('a plugin folder with bundle/ resolves to it, in a monorepo too, and packs npm-identically', async () => {
    const dir = fresh('bundle')
    writeTree(dir, { 'package.json': JSON.stringify({ name: 'root', private: true, workspaces: ['plugins/**'] }) })
    const plugin = path.join(dir, 'plugins', 'hello-backend')
    const bundle = upstreamBundle(plugin)
    assert.deepEqual(resolveFolder(plugin).folders, [{ dir: bundle, source: plugin }])
    assert.equal(resolveFolder(plugin).mode, 'plugin')
    assert.deepEqual(resolveFolder(bundle).folders, [{ dir: bundle, source: plugin }], 'the bundle named directly knows its source')
    const mono = resolveFolder(dir)
    assert.equal(mono.mode, 'monorepo')
    assert.deepEqual(mono.folders, [{ dir: bundle, source: plugin }], 'found, and its package.json is not taken for a workspace')
    // npm itself refuses `plugins/**` here (two workspaces named alike), so npm pack runs under `plugins/*`
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'root', private: true, workspaces: ['plugins/*'] }))

    const out = path.join(dir, 'out')
    const r = dynpack(['pack', '--pack-destination', out], plugin)
    assert.equal(r.status, 0, r.stderr)
    const npm = npmPack(bundle, path.join(dir, 'npm'))
    assert.equal(r.stdout.trim(), npm.filename)
    assert.ok(fs.readFileSync(path.join(out, npm.filename)).equals(fs.readFileSync(path.join(dir, 'npm', npm.filename))), 'byte for byte npm pack\'s')
    const files = Object.keys(tgzFiles(path.join(out, npm.filename)))
    assert.ok(files.includes('dist/index.cjs.js') && files.includes('node_modules/left-pad/index.js'), files.join(' '))

    // a stale bundle is refused like a stale dist-dynamic
    const file = path.join(bundle, 'package.json')
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"version": "1.0.0"', '"version": "0.1.0"'))
    const stale = dynpack(['pack', '--dry-run'], plugin)
    assert.equal(stale.status, 1)
    assert.match(stale.stderr, /E_STALE_EXPORT: .*bundle: exported from version 0\.1\.0/)
  })

  test('a bundle installed from an image holds exactly its npm pack content', async (t) => {
    if (!which('python3')) {
      if (process.env.CI === 'true') assert.fail('python3 is needed (RHDH\'s installer is Python)')
      t.skip('python3 is not installed: RHDH\'s extraction cannot be run')
      return
    }
    const dir = fresh('bundle-image')
    const plugin = path.join(dir, 'hello-backend')
    const bundle = upstreamBundle(plugin)
    const output = path.join(dir, 'oci')
    const r = dynpack(['package', '--tag', 'localhost/acme/hello:1.0.0', '--output', output, '--json'], plugin)
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.plugins[0].distDynamic, bundle)
    const directory = report.plugins[0].directory
    assert.equal(directory, 'acme-plugin-hello-backend')
    const layer = path.join(output, 'blobs', 'sha256', report.image.layerDigest.slice('sha256:'.length))
    const dest = path.join(dir, 'installed')
    fs.mkdirSync(dest)
    rhdhExtract(layer, directory, dest)
    const npm = npmPack(bundle, path.join(dir, 'npm'))
    assert.deepEqual(treeFiles(path.join(dest, directory)), tgzFiles(path.join(dir, 'npm', npm.filename)))
  })

  test('--exporter \'backstage-cli package bundle\': what the upstream exporter writes is packaged (the docs/cli.md commands)', () => {
    const dir = repo('upstream', { bins: [] })
    // a stand-in for backstage-cli: `package bundle` writes bundle/ in the upstream shape
    fs.writeFileSync(path.join(dir, 'node_modules', '.bin', 'backstage-cli'), `#!/usr/bin/env node
const fs = require('fs')
if (process.argv.slice(2).join(' ') !== 'package bundle') process.exit(64)
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'))
fs.mkdirSync('bundle/dist', { recursive: true })
fs.writeFileSync('bundle/.gitignore', '*\\n')
fs.writeFileSync('bundle/.bundle-output', '')
fs.writeFileSync('bundle/dist/index.cjs.js', 'exports.default = {}\\n')
fs.writeFileSync('bundle/package.json', JSON.stringify({ ...pkg, main: 'dist/index.cjs.js', scripts: {}, devDependencies: {}, files: ['dist'] }, null, 2))
`, { mode: 0o755 })
    const plugin = path.join(dir, 'plugins', 'hello-backend')
    const shell = (cmd) => spawnSync('bash', ['-c', cmd.replace(/^npx dynpack /, `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} `)], { cwd: plugin, encoding: 'utf8' })
    const r = shell("npx dynpack package --force-export --exporter 'backstage-cli package bundle' --tag quay.io/acme/hello:1.0.0")
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /oci:\/\/quay\.io\/acme\/hello:1\.0\.0!acme-plugin-hello-backend/)
    assert.match(r.stderr, /using bundle, the dynamic plugin exported from \./)
    const p = shell('npx dynpack pack --export --jobs 2 --pack-destination out')
    assert.equal(p.status, 0, p.stderr)
    assert.equal(p.stdout.trim(), 'acme-plugin-hello-backend-1.0.0.tgz')
    assert.match(p.stderr, /every export is up to date/)
  })

  test('a bundle written under --output-destination stands alone, packed as it is', async () => {
    const dir = fresh('bundle-dest')
    const bundle = upstreamBundle(path.join(dir, 'src-plugin'))
    const elsewhere = path.join(dir, 'bundles', 'acme-plugin-hello-backend')
    fs.mkdirSync(path.dirname(elsewhere), { recursive: true })
    fs.renameSync(bundle, elsewhere)
    const resolved = resolveFolder(elsewhere)
    assert.deepEqual([resolved.mode, resolved.folders], ['dist-dynamic', [{ dir: elsewhere, source: null }]])
    const r = await api.packDynamic(elsewhere, { dryRun: true })
    assert.equal(r.name, '@acme/plugin-hello-backend')
  })
})

describe('an entry point that exists (E_ENTRY_MISSING)', () => {
  /** A backend dist-dynamic with the given package.json fields and files. */
  function exportWith (name, fields, files) {
    const dir = fresh(name)
    writeTree(dir, {
      'package.json': { json: { name: '@acme/plugin-x-backend-dynamic', version: '1.0.0', main: 'dist/index.cjs.js', backstage: { role: 'backend-plugin' }, ...fields } },
      ...files,
    })
    return dir
  }

  test('a main that names no file, and a main an ignore rule drops, are refused before anything is written', async () => {
    const wrong = exportWith('wrong-main', {}, { 'dist/index.js': 'module.exports = 1\n' })
    const out = path.join(wrong, 'out')
    const r = dynpack(['pack', '--pack-destination', out], wrong)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /E_ENTRY_MISSING: .*package\.json: the entry point dist\/index\.cjs\.js \(its `main`\) is not in the files to pack: there is no such file in .*wrong-main: the export did not write it/)
    assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0, 'nothing written')
    await assert.rejects(api.buildOciLayout(wrong, { output: path.join(wrong, 'oci'), tag: 'localhost/acme/x:1.0.0' }), { code: 'E_ENTRY_MISSING' })
    assert.ok(!fs.existsSync(path.join(wrong, 'oci')), 'no image written')

    const ignored = exportWith('ignored-main', {}, { 'dist/index.cjs.js': 'module.exports = 1\n', 'dist/.npmignore': '# generated\n*.cjs.js\n' })
    const e = await api.packDynamic(ignored, { dryRun: true }).then(() => null, (err) => err)
    assert.equal(e?.code, 'E_ENTRY_MISSING')
    assert.match(e.message, /dist\/index\.cjs\.js \(its `main`\) is not in the files to pack: it is excluded by the rule `\*\.cjs\.js` of dist\/\.npmignore/)
    // npm drops it too: the message is about npm's own list
    const npm = npmPack(ignored, path.join(ignored, 'npm'))
    assert.ok(!npm.files.some((f) => f.path === 'dist/index.cjs.js'), 'npm pack leaves it out as well')

    const files = exportWith('files-main', { files: ['lib'] }, { 'dist/index.cjs.js': '1\n', 'lib/x.js': '1\n', 'dist/.gitignore': '*\n' })
    const f = await api.packDynamic(files, { dryRun: true }).then(() => null, (err) => err)
    assert.equal(f?.code, 'E_ENTRY_MISSING')
    assert.match(f.message, /it is excluded by the rule `\*` of dist\/\.gitignore \(npm reads \.gitignore where there is no \.npmignore\)/)
  })

  test('a frontend plugin without its scalprum plugin manifest: the `files` list or a bundle\'s own .gitignore named', async () => {
    const frontend = exportWith('scalprum-files', { main: 'dist/index.esm.js', files: ['dist'], backstage: { role: 'frontend-plugin' }, scalprum: { name: 'acme.plugin-x', exposedModules: { PluginRoot: './src/index.ts' } } }, {
      'dist/index.esm.js': 'export {}\n',
      'dist-scalprum/plugin-manifest.json': '{"name":"acme.plugin-x"}\n',
    })
    const r = dynpack(['package', '--tag', 'localhost/acme/x:1.0.0', '--output', path.join(frontend, 'oci')], frontend)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /E_ENTRY_MISSING: .*: the entry point dist-scalprum\/plugin-manifest\.json \(its `scalprum`\) is not in the files to pack: its folder dist-scalprum\/ is excluded by the `files` list of .*package\.json \(it does not name it\)/)
    assert.ok(!fs.existsSync(path.join(frontend, 'oci')))

    // a frontend bundle without `files`: its own .gitignore (`*`) drops everything but package.json,
    // even main when written `./dist/…` (npm's always-packed rule is `!/./dist/…`, which matches nothing)
    const plugin = fresh('frontend-bundle')
    writeTree(plugin, {
      'package.json': { json: { name: '@acme/plugin-y', version: '1.0.0', backstage: { role: 'frontend-plugin' } } },
      'bundle/.gitignore': '*\n',
      'bundle/.bundle-output': '',
      'bundle/package.json': { json: { name: '@acme/plugin-y', version: '1.0.0', main: './dist/remoteEntry.js', backstage: { role: 'frontend-plugin' }, scalprum: { name: 'acme.plugin-y' }, scripts: {}, devDependencies: {} } },
      'bundle/dist/remoteEntry.js': 'var y;\n',
      'bundle/dist-scalprum/plugin-manifest.json': '{}\n',
    })
    const b = dynpack(['pack', '--dry-run'], plugin)
    assert.equal(b.status, 1)
    assert.match(b.stderr, /E_ENTRY_MISSING: .*bundle\/package\.json: the entry point dist\/remoteEntry\.js \(its `main`\) is not in the files to pack: its folder dist\/ is excluded by the rule `\*` of \.gitignore \(npm reads \.gitignore where there is no \.npmignore\)/)
    const npm = npmPack(path.join(plugin, 'bundle'), path.join(plugin, 'npm'))
    assert.deepEqual(npm.files.map((f) => f.path), ['package.json'], 'npm packs nothing else either')
    // with `main` written plainly, the scalprum manifest is the entry point the .gitignore drops
    const file = path.join(plugin, 'bundle', 'package.json')
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('./dist/remoteEntry.js', 'dist/remoteEntry.js'))
    const c = dynpack(['pack', '--dry-run'], plugin)
    assert.equal(c.status, 1)
    assert.match(c.stderr, /the entry point dist-scalprum\/plugin-manifest\.json \(its `scalprum`\) is not in the files to pack: its folder dist-scalprum\/ is excluded by the rule `\*` of \.gitignore/)
  })

  test('entry points that are there pass: main without its extension, or a folder with index.js; a package that is no plugin is packed as npm packs it', async () => {
    const bare = exportWith('bare-main', { main: './dist/index' }, { 'dist/index.js': '1\n' })
    assert.equal((await api.packDynamic(bare, { dryRun: true })).name, '@acme/plugin-x-backend-dynamic')
    const folder = exportWith('folder-main', { main: 'dist' }, { 'dist/index.js': '1\n' })
    assert.equal((await api.packDynamic(folder, { dryRun: true })).name, '@acme/plugin-x-backend-dynamic')
    const plain = fresh('plain')
    writeTree(plain, { 'package.json': { json: { name: 'plain', version: '1.0.0', main: 'missing.js' } }, 'index.js': '1\n' })
    const out = fresh('plain-out')
    const r = await api.packDynamic(plain, { destination: out })
    const npm = npmPack(plain, fresh('plain-npm'))
    assert.equal(r.integrity, npm.integrity)
  })
})
