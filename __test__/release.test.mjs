// The release tarballs install and run without Rust: `npm run release:pack`
// writes the main package, this machine's platform package and the standalone
// tarball (both in one, no optionalDependencies) into release/; a fresh
// project installs the first two, another the standalone one alone (npm offline: nothing but the two tarballs,
// dynpack's runtime dependencies packed from this checkout's node_modules, and
// npm's cache), with no cargo or rustc on PATH, then runs the CLI and the API.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { packRuntimeDependencies } from './helpers/runtime-dependencies.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { platformId } = createRequire(import.meta.url)('../lib/addon.js')
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version

let tmp
let project
let env
let tarballs
let standalone
let dependencies
const STANDALONE = `dynpack-${VERSION}-${platformId()}-standalone.tgz`

/** PATH with this Node (and its npm/npx beside /usr/bin) but no Rust toolchain. */
function pathWithoutRust () {
  const dirs = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin']
  return [...new Set(dirs)].filter((d) => !fs.existsSync(path.join(d, 'cargo')) && !fs.existsSync(path.join(d, 'rustc'))).join(path.delimiter)
}

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: project, env, encoding: 'utf8', ...opts })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-release-'))
  const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'release-pack.mjs')], { cwd: ROOT, encoding: 'utf8' })
  tarballs = out.trim().split('\n').map((line) => path.join(ROOT, line))
  standalone = tarballs.find((f) => path.basename(f) === STANDALONE)
  tarballs = tarballs.filter((f) => f !== standalone)
  // Offline, npm resolves a range only from a cached packument, which `npm ci` does not leave
  // on a fresh machine: the runtime dependencies go in as tarballs of what this checkout installed.
  dependencies = [...packRuntimeDependencies(ROOT, path.join(tmp, 'deps')).values()]
  project = path.join(tmp, 'consumer')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
  env = {
    HOME: tmp,
    PATH: pathWithoutRust(),
    npm_config_cache: process.env.npm_config_cache || path.join(os.homedir(), '.npm'),
    npm_config_offline: 'true', // npm and npx use the tarballs and the cache, never the network
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  }
})

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

test('release:pack writes the main, this platform\'s and the standalone tarball into release/', () => {
  const names = tarballs.map((f) => path.basename(f)).sort()
  assert.deepEqual(names, [`dynpack-${VERSION}.tgz`, `dynpack-${platformId()}-${VERSION}.tgz`].sort())
  assert.ok(standalone, `release/${STANDALONE} is written`)
  const list = execFileSync('tar', ['-tzf', tarballs.find((f) => path.basename(f) === `dynpack-${VERSION}.tgz`)], { encoding: 'utf8' })
  assert.ok(list.includes('package/bin/dynpack.js') && list.includes('package/index.js'))
  assert.ok(!/\.node$/m.test(list), 'the main package carries no addon')
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarballs.find((f) => path.basename(f) === `dynpack-${VERSION}.tgz`), 'package/package.json'], { encoding: 'utf8' }))
  assert.equal(manifest.scripts, undefined, 'no build script runs on install')
  assert.equal(Object.keys(manifest.optionalDependencies).length, manifest.napi.targets.length)
  for (const v of Object.values(manifest.optionalDependencies)) assert.equal(v, VERSION)
})

test('the tarballs install offline with no cargo or rustc on PATH', () => {
  assert.notEqual(spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env }).status, 0, 'PATH still has Rust')
  run('npm', ['install', '--save-dev', '--offline', ...dependencies, ...tarballs])
  const installed = fs.readdirSync(path.join(project, 'node_modules')).filter((n) => n.startsWith('dynpack')).sort()
  assert.equal(installed.length, 2, `installed: ${installed}`)
})

test('npx dynpack --version', () => {
  assert.equal(run('npx', ['dynpack', '--version']).stdout, `${VERSION}\n`)
})

test('npx dynpack pack packs a plugin as npm pack does', () => {
  const plugin = path.join(project, 'plugins', 'hello', 'dist-dynamic')
  fs.mkdirSync(path.join(plugin, 'dist'), { recursive: true })
  fs.writeFileSync(path.join(plugin, 'package.json'), JSON.stringify({ name: 'hello-backend-dynamic', version: '0.0.1', main: 'dist/index.cjs.js' }, null, 2))
  fs.writeFileSync(path.join(plugin, 'dist', 'index.cjs.js'), 'module.exports = {}\n')
  run('npx', ['dynpack', 'pack', plugin, '--pack-destination', path.join(project, 'ours')])
  fs.mkdirSync(path.join(project, 'npm'))
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', path.join(project, 'npm')], { cwd: plugin })
  const file = 'hello-backend-dynamic-0.0.1.tgz'
  assert.ok(fs.readFileSync(path.join(project, 'ours', file)).equals(fs.readFileSync(path.join(project, 'npm', file))), 'the bytes npm pack writes')
})

test("require('dynpack').packDynamic works in the project", () => {
  const script = `
    const { packDynamic } = require('dynpack')
    packDynamic('plugins/hello/dist-dynamic', { destination: 'api-out' })
      .then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1) })`
  fs.mkdirSync(path.join(project, 'api-out'))
  const r = run(process.execPath, ['-e', script])
  assert.match(r.stdout, /sha512-/)
  assert.ok(fs.existsSync(path.join(project, 'api-out', 'hello-backend-dynamic-0.0.1.tgz')))
})

test('without its platform package the CLI names the platform and the package to install', () => {
  const bare = path.join(tmp, 'bare')
  fs.mkdirSync(bare)
  fs.writeFileSync(path.join(bare, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }))
  const main = tarballs.find((f) => path.basename(f) === `dynpack-${VERSION}.tgz`)
  run('npm', ['install', '--save-dev', '--offline', ...dependencies, main], { cwd: bare })
  const r = spawnSync('npx', ['dynpack', 'integrity', 'package.json'], { cwd: bare, env, encoding: 'utf8' })
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`^dynpack: E_NO_ADDON: .*\\(${platformId()}\\): the package dynpack-${platformId()} holds it`))
  assert.equal(r.stderr.split('\n').length, 2, 'one line, no stack trace')
})

test('the standalone tarball holds the addon and names no platform package', () => {
  const list = execFileSync('tar', ['-tzf', standalone], { encoding: 'utf8' }).split('\n')
  assert.ok(list.includes(`package/dynpack.${platformId()}.node`), 'the addon beside index.js')
  assert.ok(list.includes('package/index.js') && list.includes('package/bin/dynpack.js') && list.includes('package/lib/folders.js'))
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', standalone, 'package/package.json'], { encoding: 'utf8' }))
  assert.equal(manifest.name, 'dynpack')
  assert.equal(manifest.version, VERSION)
  assert.equal(manifest.optionalDependencies, undefined)
  assert.equal(manifest.scripts, undefined)
  const platform = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', platformId(), 'package.json'), 'utf8'))
  assert.deepEqual([manifest.os, manifest.cpu, manifest.libc], [platform.os, platform.cpu, platform.libc])
})

test('npm install ./<standalone>.tgz alone gives a working CLI and API, offline, no Rust', () => {
  const alone = path.join(tmp, 'standalone')
  fs.mkdirSync(alone)
  fs.writeFileSync(path.join(alone, 'package.json'), JSON.stringify({ name: 'alone', version: '1.0.0', private: true }))
  fs.copyFileSync(standalone, path.join(alone, STANDALONE))
  run('npm', ['install', '--save-dev', '--offline', ...dependencies, `./${STANDALONE}`], { cwd: alone })
  const installed = fs.readdirSync(path.join(alone, 'node_modules')).filter((n) => n.startsWith('dynpack'))
  assert.deepEqual(installed, ['dynpack'], 'no platform package')
  assert.equal(run('npx', ['dynpack', '--version'], { cwd: alone }).stdout, `${VERSION}\n`)
  const plugin = path.join(project, 'plugins', 'hello', 'dist-dynamic')
  const r = run(process.execPath, ['-e', `require('dynpack').packDynamic(${JSON.stringify(plugin)}, { dryRun: true }).then((p) => console.log(p.integrity))`], { cwd: alone })
  const theirs = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: plugin })
  assert.equal(r.stdout.trim(), JSON.parse(theirs.stdout)[0].integrity)
})

test('a standalone dynpack for another platform says which one it holds', () => {
  const alone = path.join(tmp, 'standalone')
  const other = platformId() === 'darwin-arm64' ? 'linux-x64-gnu' : 'darwin-arm64'
  const dir = path.join(alone, 'node_modules', 'dynpack')
  fs.renameSync(path.join(dir, `dynpack.${platformId()}.node`), path.join(dir, `dynpack.${other}.node`))
  const r = spawnSync('npx', ['dynpack', 'integrity', 'package.json'], { cwd: alone, env, encoding: 'utf8' })
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`^dynpack: E_NO_ADDON: .*\\(${platformId()}\\): this dynpack holds the addon for ${other} only \\(a standalone tarball\\); install dynpack-<version>-${platformId()}-standalone\\.tgz`))
})
