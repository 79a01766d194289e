// dynpack in a Backstage-style Yarn 4 monorepo, installed as users install it:
// the release tarballs are published to a verdaccio on 127.0.0.1 (the only
// registry the monorepo knows, so nothing leaves the machine), then
// `yarn install` (nodeLinker: node-modules, plugins/* workspaces), each
// plugin's `export-dynamic` script (a stand-in for the exporter that writes
// dist-dynamic/), `yarn dynpack package` at the root and
// `yarn workspaces foreach` over a workspace script that calls dynpack.
//
// Then the file install a new user tries first: a second monorepo runs
// `yarn add -D ./dynpack-<version>-<platform>-standalone.tgz` at its root (no
// `resolutions`, no stand-ins: that tarball names no platform package), and
// dynpack runs as `yarn dynpack …` at the root and `yarn run -T dynpack …` in
// a plugin workspace, which does not list dynpack itself (plain `yarn dynpack`
// there is "Couldn't find a script named "dynpack"").
//
// Yarn 4 fails resolution when any optionalDependencies platform package is
// missing from the registry, so the platforms this machine cannot build are
// published as stand-ins (their package.json, an empty addon): Yarn reads their
// manifests but never installs them here (os/cpu/libc do not match).
//
// Yarn comes from the npm package @yarnpkg/cli-dist (.ci/run installs it into
// ~/.cache/dynpack-yarn; YARN_BIN overrides). Without it the test skips, and
// fails when CI=true.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startVerdaccio, verdaccioAvailable } from './helpers/verdaccio.mjs'
import { packRuntimeDependencies, runtimeDependencies } from './helpers/runtime-dependencies.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
const { platformId } = createRequire(import.meta.url)('../lib/addon.js')
const CI = process.env.CI === 'true'

/** The Yarn 4 executable, or null. */
function findYarn () {
  const candidates = [process.env.YARN_BIN, path.join(os.homedir(), '.cache', 'dynpack-yarn', 'bin', 'yarn')]
  for (const c of candidates) {
    if (!c || !fs.existsSync(c)) continue
    const v = spawnSync(process.execPath, [c, '--version'], { encoding: 'utf8', cwd: os.tmpdir() })
    if (v.status === 0 && /^4\./.test(v.stdout)) return c
  }
  return null
}

const YARN = findYarn()
function skipReason () {
  const missing = []
  if (!YARN) missing.push('Yarn 4 (npm install -g --prefix ~/.cache/dynpack-yarn @yarnpkg/cli-dist@4, or set YARN_BIN)')
  if (!verdaccioAvailable()) missing.push('verdaccio (npm install)')
  if (missing.length === 0) return false
  if (CI) throw new Error(`the Yarn monorepo test needs ${missing.join(' and ')} in CI`)
  return `needs ${missing.join(' and ')}`
}
const skip = skipReason()

let tmp
let registry
let repo
let env

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: repo, env, encoding: 'utf8', ...opts })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r
}

function yarn (args, opts) {
  return run(process.execPath, [YARN, ...args], opts)
}

function writeJson (file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n')
}

const STANDALONE = `dynpack-${VERSION}-${platformId()}-standalone.tgz`
let standalone

/** Publishes the release tarballs, plus stand-ins for the platforms not built here. */
function publishRelease (npmrc) {
  const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'release-pack.mjs')], { cwd: ROOT, encoding: 'utf8' })
  let tarballs = out.trim().split('\n').map((line) => path.join(ROOT, line))
  // the standalone tarball is a release asset, never published (it is `dynpack` too)
  standalone = path.join(tmp, STANDALONE)
  fs.copyFileSync(path.join(ROOT, 'release', STANDALONE), standalone)
  tarballs = tarballs.filter((f) => path.basename(f) !== STANDALONE)
  const publish = (target, cwd = tmp) => run('npm', ['publish', target, '--registry', registry.url, '--userconfig', npmrc, '--ignore-scripts'], { cwd })
  for (const dir of fs.readdirSync(path.join(ROOT, 'npm'))) {
    if (dir === platformId()) continue
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', dir, 'package.json'), 'utf8'))
    const stage = path.join(tmp, 'stand-ins', dir)
    writeJson(path.join(stage, 'package.json'), { ...pkg, description: `test stand-in for ${pkg.name}` })
    fs.writeFileSync(path.join(stage, pkg.main), '')
    publish('.', stage)
  }
  // dynpack's runtime dependencies, packed from this checkout's node_modules: the loopback registry has nothing else
  for (const tarball of packRuntimeDependencies(ROOT, path.join(tmp, 'runtime-dependencies')).values()) publish(tarball)
  // platform package first, main package last, as the release workflow does
  for (const t of tarballs.sort((a, b) => path.basename(b).length - path.basename(a).length)) publish(t)
}

/** The packages dynpack depends on at run time, and theirs (Yarn's age gate must let them through). */
const RUNTIME_DEPENDENCIES = runtimeDependencies(ROOT)

/** A plugin workspace whose export-dynamic script stands in for the exporter; `dynpack: false` leaves dynpack to the root. */
function writePlugin (dir, name, role, { dynpack = true } = {}) {
  writeJson(path.join(dir, 'package.json'), {
    name,
    version: '0.1.0',
    main: 'src/index.js',
    backstage: { role },
    scripts: {
      'export-dynamic': 'node export-dynamic.js',
      ...(dynpack ? { 'pack-dynamic': 'dynpack pack dist-dynamic --pack-destination ../../packed' } : {}),
    },
    ...(dynpack ? { devDependencies: { dynpack: `^${VERSION}` } } : {}),
  })
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'src', 'index.js'), `module.exports = { name: ${JSON.stringify(name)} }\n`)
  fs.writeFileSync(path.join(dir, 'export-dynamic.js'), `
const fs = require('node:fs')
const pkg = require('./package.json')
fs.rmSync('dist-dynamic', { recursive: true, force: true })
fs.mkdirSync('dist-dynamic/dist', { recursive: true })
fs.copyFileSync('src/index.js', 'dist-dynamic/dist/index.cjs.js')
fs.writeFileSync('dist-dynamic/package.json', JSON.stringify({
  name: pkg.name + '-dynamic', version: pkg.version, main: 'dist/index.cjs.js',
  backstage: pkg.backstage, files: ['dist'],
}, null, 2))
`)
}

before(async () => {
  if (skip) return
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-yarn-'))
  registry = await startVerdaccio()
  const token = await registry.addUser('release', 'release-pass')
  const npmrc = path.join(tmp, 'npmrc')
  fs.writeFileSync(npmrc, `//127.0.0.1:${registry.port}/:_authToken=${token}\n`)
  env = {
    HOME: tmp,
    PATH: [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
    npm_config_update_notifier: 'false',
    YARN_ENABLE_TELEMETRY: '0',
    YARN_ENABLE_GLOBAL_CACHE: '0',
    YARN_ENABLE_PROGRESS_BARS: '0',
  }
  publishRelease(npmrc)

  repo = path.join(tmp, 'backstage')
  writeJson(path.join(repo, 'package.json'), {
    name: 'root',
    private: true,
    workspaces: { packages: ['packages/*', 'plugins/*'] },
    scripts: {
      'export-dynamic': 'yarn workspaces foreach -A --topological run export-dynamic',
      'pack-dynamic': 'yarn workspaces foreach -A run pack-dynamic',
    },
    devDependencies: { dynpack: `^${VERSION}` },
  })
  fs.writeFileSync(path.join(repo, '.yarnrc.yml'), [
    'nodeLinker: node-modules',
    `npmRegistryServer: "${registry.url.replace(/\/$/, '')}"`,
    'unsafeHttpWhitelist: ["127.0.0.1"]',
    // a fresh release is quarantined by Yarn's age gate unless preapproved, platform packages included
    // (and, in this test only, the runtime dependencies, just published to the loopback registry)
    `npmPreapprovedPackages: ${JSON.stringify(['dynpack', 'dynpack-*', ...RUNTIME_DEPENDENCIES])}`,
    '',
  ].join('\n'))
  writePlugin(path.join(repo, 'plugins', 'hello-backend'), '@internal/plugin-hello-backend', 'backend-plugin')
  writePlugin(path.join(repo, 'plugins', 'greeting'), '@internal/plugin-greeting', 'frontend-plugin')
  writeJson(path.join(repo, 'packages', 'backend', 'package.json'), {
    name: 'backend', version: '0.0.0', private: true, dependencies: { '@internal/plugin-hello-backend': 'workspace:^' },
  })
})

after(async () => {
  if (registry) await registry.stop()
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

test('yarn install takes dynpack and this platform\'s addon from the registry', { skip }, () => {
  yarn(['install'])
  const lock = fs.readFileSync(path.join(repo, 'yarn.lock'), 'utf8')
  assert.match(lock, new RegExp(`"dynpack-${platformId()}@npm:${VERSION.replace(/\./g, '\\.')}"`))
  assert.ok(fs.existsSync(path.join(repo, 'node_modules', `dynpack-${platformId()}`, `dynpack.${platformId()}.node`)))
  assert.equal(yarn(['dynpack', '--version']).stdout.trim(), VERSION)
  assert.equal(yarn(['dynpack', '--version'], { cwd: path.join(repo, 'plugins', 'greeting') }).stdout.trim(), VERSION)
})

test('yarn export-dynamic runs every plugin\'s exporter stand-in', { skip }, () => {
  yarn(['export-dynamic'])
  for (const p of ['greeting', 'hello-backend']) {
    assert.ok(fs.existsSync(path.join(repo, 'plugins', p, 'dist-dynamic', 'package.json')), p)
  }
})

test('yarn dynpack package at the root builds one image of every exported plugin', { skip }, () => {
  const r = yarn(['dynpack', 'package', '--tag', 'localhost/acme/plugins:1.0.0', '--output', 'dist-oci', '--json'])
  const report = JSON.parse(r.stdout)
  const text = JSON.stringify(report)
  assert.match(text, /plugin-hello-backend-dynamic/)
  assert.match(text, /plugin-greeting-dynamic/)
  const index = JSON.parse(fs.readFileSync(path.join(repo, 'dist-oci', 'index.json'), 'utf8'))
  assert.equal(index.manifests.length, 1)
})

test('yarn workspaces foreach runs a workspace script that calls dynpack; npm pack bytes', { skip }, () => {
  fs.mkdirSync(path.join(repo, 'packed'))
  yarn(['pack-dynamic'])
  fs.mkdirSync(path.join(tmp, 'npm-packed'))
  for (const [p, name] of [['greeting', 'internal-plugin-greeting-dynamic-0.1.0.tgz'], ['hello-backend', 'internal-plugin-hello-backend-dynamic-0.1.0.tgz']]) {
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', path.join(tmp, 'npm-packed')], { cwd: path.join(repo, 'plugins', p, 'dist-dynamic') })
    assert.ok(fs.readFileSync(path.join(repo, 'packed', name)).equals(fs.readFileSync(path.join(tmp, 'npm-packed', name))), name)
  }
})

describe('the standalone tarball in a Yarn 4 monorepo: yarn add -D ./…-standalone.tgz at the root', { skip }, () => {
  let mono
  const yarnIn = (args, cwd = mono) => yarn(args, { cwd })
  before(() => {
    if (skip) return
    mono = path.join(tmp, 'backstage-standalone')
    writeJson(path.join(mono, 'package.json'), {
      name: 'root',
      private: true,
      workspaces: ['plugins/*'],
      scripts: { 'export-dynamic': 'yarn workspaces foreach -A run export-dynamic' },
    })
    fs.writeFileSync(path.join(mono, '.yarnrc.yml'), [
      'nodeLinker: node-modules',
      `npmRegistryServer: "${registry.url.replace(/\/$/, '')}"`,
      'unsafeHttpWhitelist: ["127.0.0.1"]',
      // dynpack comes from the file; only its runtime dependencies, just published here, need preapproval
      `npmPreapprovedPackages: ${JSON.stringify(RUNTIME_DEPENDENCIES)}`,
      '',
    ].join('\n'))
    writePlugin(path.join(mono, 'plugins', 'hello-backend'), '@internal/plugin-hello-backend', 'backend-plugin', { dynpack: false })
    writePlugin(path.join(mono, 'plugins', 'greeting'), '@internal/plugin-greeting', 'frontend-plugin', { dynpack: false })
    fs.copyFileSync(standalone, path.join(mono, STANDALONE))
  })

  test(`yarn add -D ./${STANDALONE}: no resolutions, no platform package`, () => {
    yarnIn(['add', '-D', `./${STANDALONE}`])
    const pkg = JSON.parse(fs.readFileSync(path.join(mono, 'package.json'), 'utf8'))
    assert.equal(pkg.resolutions, undefined)
    assert.match(pkg.devDependencies.dynpack, new RegExp(STANDALONE.replace(/\./g, '\\.')))
    assert.ok(fs.existsSync(path.join(mono, 'node_modules', 'dynpack', `dynpack.${platformId()}.node`)))
    assert.equal(fs.existsSync(path.join(mono, 'node_modules', `dynpack-${platformId()}`)), false)
    assert.doesNotMatch(fs.readFileSync(path.join(mono, 'yarn.lock'), 'utf8'), /dynpack-(linux|darwin|win32)/)
  })

  test('yarn dynpack at the root; yarn run -T dynpack in a plugin workspace', () => {
    assert.equal(yarnIn(['dynpack', '--version']).stdout.trim(), VERSION)
    const greeting = path.join(mono, 'plugins', 'greeting')
    const plain = spawnSync(process.execPath, [YARN, 'dynpack', '--version'], { cwd: greeting, env, encoding: 'utf8' })
    assert.notEqual(plain.status, 0)
    assert.match(plain.stdout + plain.stderr, /Couldn't find a script named "dynpack"/)
    assert.equal(yarnIn(['run', '-T', 'dynpack', '--version'], greeting).stdout.trim(), VERSION)
  })

  test('the README commands: yarn dynpack package at the root, yarn run -T dynpack pack in a plugin', () => {
    // exactly the commands docs/cli.md shows (its readme-test skip names this test and checks the text)
    const words = (command) => command.split(' ').slice(1)
    yarnIn(words('yarn export-dynamic'))
    const report = JSON.parse(yarnIn([...words('yarn dynpack package --tag localhost/acme/plugins:1.0.0 --output dist-oci'), '--json']).stdout)
    assert.deepEqual(report.plugins.map((p) => p.name).sort(), ['@internal/plugin-greeting-dynamic', '@internal/plugin-hello-backend-dynamic'])
    const greeting = path.join(mono, 'plugins', 'greeting')
    const out = yarnIn(words('yarn run -T dynpack pack --pack-destination ../../packed'), greeting)
    const file = 'internal-plugin-greeting-dynamic-0.1.0.tgz'
    assert.equal(out.stdout.trim(), file)
    fs.mkdirSync(path.join(tmp, 'npm-packed-standalone'))
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', path.join(tmp, 'npm-packed-standalone')], { cwd: path.join(greeting, 'dist-dynamic') })
    assert.ok(fs.readFileSync(path.join(mono, 'packed', file)).equals(fs.readFileSync(path.join(tmp, 'npm-packed-standalone', file))), 'npm pack bytes')
  })
})
