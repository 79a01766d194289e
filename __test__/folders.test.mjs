// The same folder means the same thing to every command and API function:
// a dist-dynamic folder, a plugin folder holding dist-dynamic/ (used, and
// said), or a monorepo root (every exported plugin workspace); and workspace
// discovery neither hangs on link loops nor calls a bad glob a bug.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree } from './helpers/tree.mjs'
import { startVerdaccio, verdaccioAvailable } from './helpers/verdaccio.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { makeExamples } = require('../examples/make-examples.js')
const api = require('../lib/api.js')
const { resolveFolder, classifyFolder, expandWorkspaces } = require('../lib/folders.js')

const BACKEND_TGZ = 'acme-plugin-todo-backend-dynamic-1.2.0.tgz'
const FRONTEND_TGZ = 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz'

function dynpack (args, cwd) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Runs `fn` and collects the process warnings it emits. */
async function warningsOf (fn) {
  const seen = []
  const on = (w) => seen.push(w)
  process.on('warning', on)
  try {
    const value = await fn()
    await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
    return { value, warnings: seen }
  } finally {
    process.off('warning', on)
  }
}

let root
let ex
before(() => {
  root = tempDir('dynpack-folders-')
  ex = makeExamples(path.join(root, 'examples'))
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

describe('one rule for a folder', () => {
  test('resolveFolder: dist-dynamic, plugin, monorepo, plain package', () => {
    assert.equal(resolveFolder(ex.frontendDistDynamic).mode, 'dist-dynamic')
    assert.deepEqual(resolveFolder(ex.frontendDistDynamic).folders, [{ dir: ex.frontendDistDynamic, source: ex.frontend }])
    assert.deepEqual(resolveFolder(ex.frontend).folders, [{ dir: ex.frontendDistDynamic, source: ex.frontend }])
    const mono = resolveFolder(ex.root)
    assert.equal(mono.mode, 'monorepo')
    assert.deepEqual(mono.folders.map((f) => f.dir), [ex.backendDistDynamic, ex.frontendDistDynamic])
    assert.deepEqual(mono.skipped.map((s) => s.path), ['plugins/todo-common'])
    assert.equal(resolveFolder(ex.common).mode, 'package')
  })

  test('packDynamic on a plugin folder packs its dist-dynamic and says so with a warning', async () => {
    const dest = tempDir('dynpack-folders-pd-')
    try {
      const { value, warnings } = await warningsOf(() => api.packDynamic(ex.frontend, { destination: dest }))
      assert.equal(value.filename, FRONTEND_TGZ)
      const direct = await api.packDynamic(ex.frontendDistDynamic, { dryRun: true })
      assert.equal(value.integrity, direct.integrity)
      const ours = warnings.filter((w) => w.code === 'DYNPACK_DIST_DYNAMIC')
      assert.equal(ours.length, 1)
      assert.match(ours[0].message, /packing .*todo-frontend\/dist-dynamic, the dynamic plugin exported from .*todo-frontend$/)
    } finally {
      fs.rmSync(dest, { recursive: true, force: true })
    }
  })

  test('packDynamic and publishDynamic on a monorepo root fail with E_MONOREPO listing the plugins', async () => {
    for (const fn of [api.packDynamic, api.publishDynamic]) {
      await assert.rejects(fn(ex.root, { dryRun: true }), (e) => {
        assert.equal(e.code, 'E_MONOREPO')
        assert.match(e.message, /monorepo root \(2 exported plugins: .*todo-backend\/dist-dynamic, .*todo-frontend\/dist-dynamic\)/)
        assert.deepEqual(e.plugins, [ex.backendDistDynamic, ex.frontendDistDynamic])
        return true
      })
    }
  })

  test('dynpack pack at a monorepo root packs every exported plugin, with notes', () => {
    const dest = path.join(root, 'mono-out')
    const r = dynpack(['pack', '--pack-destination', dest], ex.root)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, `${BACKEND_TGZ}\n${FRONTEND_TGZ}\n`)
    assert.deepEqual(fs.readdirSync(dest).sort(), [BACKEND_TGZ, FRONTEND_TGZ])
    assert.match(r.stderr, /^dynpack: skipping plugins\/todo-common: backstage\.role 'common-library' is not a plugin role$/m)
    assert.match(r.stderr, /^dynpack: monorepo \.: 2 exported plugins: plugins\/todo-backend, plugins\/todo-frontend$/m)
    const quiet = dynpack(['pack', '--dry-run', '--quiet'], ex.root)
    assert.equal(quiet.stderr, '')
  })

  test('pack, package and the API agree on a plugin folder', async () => {
    const packed = JSON.parse(dynpack(['pack', '--dry-run', '--json'], ex.backend).stdout)
    const pkg = JSON.parse(dynpack(['package', '--export-to', path.join(root, 'exp'), '--json'], ex.backend).stdout)
    const api1 = await api.packDynamic(ex.backend, { dryRun: true })
    assert.equal(packed[0].integrity, api1.integrity)
    assert.equal(pkg.plugins[0].distDynamic, ex.backendDistDynamic)
    assert.equal(pkg.plugins[0].name, api1.name)
  })
})

describe('workspace discovery', () => {
  test('a symlink loop under ** does not hang it; links are not followed by **', () => {
    const mono = path.join(root, 'loop')
    writeTree(mono, {
      'package.json': { json: { name: 'r', private: true, workspaces: ['packages/**'] } },
      'packages/a/package.json': { json: { name: 'a' } },
      'packages/b/c/package.json': { json: { name: 'c' } },
    })
    fs.symlinkSync('..', path.join(mono, 'packages/a/up'))
    fs.symlinkSync('.', path.join(mono, 'packages/b/self'))
    const found = expandWorkspaces(mono, ['packages/**'])
    assert.deepEqual(found, [path.join(mono, 'packages/a'), path.join(mono, 'packages/b/c')])
    // a link named by a glob segment is still a workspace (yarn `link:` style layouts)
    fs.symlinkSync(path.join(mono, 'packages/a'), path.join(mono, 'packages/linked'))
    assert.deepEqual(expandWorkspaces(mono, ['packages/*']), [path.join(mono, 'packages/a'), path.join(mono, 'packages/linked')])
  })

  test('an invalid workspaces glob is E_INVALID_WORKSPACES naming the glob, not E_INTERNAL', async () => {
    const mono = path.join(root, 'badglob')
    writeTree(mono, {
      'package.json': { json: { name: 'r', private: true, workspaces: ['plugins/[z-a]*'] } },
    })
    const r = dynpack(['package', '--export-to', 'out'], mono)
    assert.equal(r.status, 1)
    assert.match(r.stderr, /^dynpack: E_INVALID_WORKSPACES: .*package\.json: the workspaces glob "plugins\/\[z-a\]\*" is invalid \(range out of order in character class\); fix it in package\.json\n$/)
    await assert.rejects(api.packDynamic(mono), { code: 'E_INVALID_WORKSPACES' })
  })
})

test('buildOciLayout on a monorepo root builds the image of its exported plugins', async () => {
  const a = await api.buildOciLayout(ex.root, { output: path.join(root, 'oci-root'), tag: 'quay.io/acme/p:1' })
  const b = await api.buildOciLayout([ex.backendDistDynamic, ex.frontend], { output: path.join(root, 'oci-list'), tag: 'quay.io/acme/p:1' })
  assert.deepEqual(a.plugins.map((p) => p.directory), ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
  assert.equal(a.manifestDigest, b.manifestDigest)
})

test('lib/ has no require cycle, and no library module requires lib/cli', () => {
  const lib = path.join(here, '..', 'lib')
  const files = [...fs.readdirSync(lib).map((f) => path.join(lib, f)), ...fs.readdirSync(path.join(lib, 'cli')).map((f) => path.join(lib, 'cli', f))]
    .filter((f) => f.endsWith('.js'))
  const edges = new Map(files.map((f) => {
    const text = fs.readFileSync(f, 'utf8')
    const deps = [...text.matchAll(/require\('(\.{1,2}\/[^']+)'\)/g)]
      .map((m) => require.resolve(path.resolve(path.dirname(f), m[1])))
      .filter((d) => d.startsWith(lib + path.sep))
    return [f, deps]
  }))
  for (const [f, deps] of edges) {
    if (path.dirname(f) !== lib) continue
    assert.deepEqual(deps.filter((d) => d.startsWith(path.join(lib, 'cli') + path.sep)), [], `${path.relative(lib, f)} requires lib/cli`)
  }
  // depth-first search; a module met again while on the stack closes a cycle
  const state = new Map()
  const visit = (f, stack) => {
    if (state.get(f) === 'done') return
    if (state.get(f) === 'open') assert.fail(`require cycle: ${[...stack.slice(stack.indexOf(f)), f].map((x) => path.relative(lib, x)).join(' → ')}`)
    state.set(f, 'open')
    for (const d of edges.get(f) ?? []) visit(d, [...stack, f])
    state.set(f, 'done')
  }
  for (const f of files) visit(f, [])
})

/** `npm pack --ignore-scripts` of `dir` into `dest`: the tarball's path. */
function npmPack (dir, dest) {
  fs.mkdirSync(dest, { recursive: true })
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } })
  assert.equal(r.status, 0, r.stderr)
  return path.join(dest, JSON.parse(r.stdout)[0].filename)
}

describe('a folder is judged by what it holds', () => {
  let dirs
  let registry
  let env
  before(async () => {
    const base = path.join(root, 'held')
    dirs = {
      // a plugin's sources, not exported: src/ and a plugin role, no dist-dynamic/
      source: path.join(base, 'plugin-hello'),
      // the same with only a build configuration left to tell (sources elsewhere)
      sourceByConfig: path.join(base, 'plugin-config-only'),
      // `npm pack` of RHDH's dynamic-home-page 1.14.0, unpacked: built output only,
      // not named *-dynamic, in a folder named `package` (not dist-dynamic)
      published: path.join(base, 'unpacked', 'package'),
      // a published backend plugin unpacked: dist/ and bundled node_modules/ only
      publishedBackend: path.join(base, 'unpacked-backend', 'package'),
      // `backstage-cli package bundle` output: its marker decides, whatever else is there
      bundle: path.join(base, 'bundle', 'acme-plugin-b'),
    }
    writeTree(dirs.source, {
      'package.json': { json: { name: '@acme/plugin-hello', version: '0.1.0', main: 'src/index.ts', backstage: { role: 'frontend-plugin' }, scripts: { build: 'backstage-cli package build' } } },
      'src/index.ts': 'export const x = 1\n',
      'dist/index.esm.js': 'export const x = 1\n', // built, but still a source folder
    })
    writeTree(dirs.sourceByConfig, {
      'package.json': { json: { name: '@acme/plugin-config-only', version: '0.1.0', main: 'lib/index.js', backstage: { role: 'backend-plugin' } } },
      'tsconfig.json': { json: { extends: '@backstage/cli/config/tsconfig.json' } },
      'lib/index.js': 'module.exports = {}\n',
    })
    writeTree(dirs.published, {
      'package.json': {
        json: {
          name: '@red-hat-developer-hub/backstage-plugin-dynamic-home-page',
          version: '1.14.0',
          main: 'dist/index.cjs.js',
          module: 'dist/index.esm.js',
          backstage: { role: 'frontend-plugin', pluginId: 'dynamic-home-page' },
          files: ['dist', 'dist-scalprum', 'app-config.dynamic.yaml'],
          scripts: { build: 'backstage-cli package build' },
        },
      },
      'dist/index.cjs.js': 'module.exports = {}\n',
      'dist/index.esm.js': 'export {}\n',
      'dist-scalprum/plugin-manifest.json': { json: { name: 'red-hat-developer-hub.backstage-plugin-dynamic-home-page', version: '1.14.0' } },
      'app-config.dynamic.yaml': 'dynamicPlugins: {}\n',
    })
    writeTree(dirs.publishedBackend, {
      'package.json': { json: { name: '@acme/plugin-catalog-backend-module-x', version: '3.1.0', main: 'dist/index.cjs.js', backstage: { role: 'backend-plugin-module' }, bundleDependencies: true, dependencies: { leftpad: '1.0.0' }, files: ['dist'] } },
      'dist/index.cjs.js': 'module.exports = require("leftpad")\n',
      'node_modules/leftpad/package.json': { json: { name: 'leftpad', version: '1.0.0', main: 'index.js' } },
      'node_modules/leftpad/index.js': 'module.exports = (s) => s\n',
    })
    writeTree(dirs.bundle, {
      '.bundle-output': '',
      '.gitignore': '*\n',
      'package.json': { json: { name: '@acme/plugin-b', version: '2.0.0', main: 'dist/index.cjs.js', backstage: { role: 'backend-plugin' }, bundleDependencies: true, files: ['dist', 'src'] } },
      'dist/index.cjs.js': 'module.exports = {}\n',
      'src/index.ts': 'export {}\n', // shipped by its `files`: the marker still says "artifact"
    })
    if (verdaccioAvailable()) {
      registry = await startVerdaccio()
      const token = await registry.addUser('folders', 'folders-pass')
      const npmrc = path.join(root, 'folders.npmrc')
      fs.writeFileSync(npmrc, `${registry.url.replace(/^http:/, '')}:_authToken=${token}\n`)
      env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k))), NPM_CONFIG_USERCONFIG: npmrc, npm_config_cache: path.join(root, 'npm-cache'), npm_config_update_notifier: 'false' }
    }
  })
  after(async () => { if (registry) await registry.stop() })

  test('classifyFolder: sources, built output, the bundle marker', () => {
    const kind = (d) => classifyFolder(d, JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')))
    assert.deepEqual(kind(dirs.source), { kind: 'source', evidence: 'src/' })
    assert.deepEqual(kind(dirs.sourceByConfig), { kind: 'source', evidence: 'tsconfig.json' })
    assert.deepEqual(kind(dirs.published), { kind: 'artifact', evidence: 'dist-scalprum/' })
    assert.deepEqual(kind(dirs.publishedBackend), { kind: 'artifact', evidence: "backstage.role 'backend-plugin-module', dist, node_modules, no sources" })
    assert.deepEqual(kind(dirs.bundle), { kind: 'artifact', evidence: '.bundle-output' })
    assert.equal(kind(ex.frontend).kind, 'plugin')
    assert.equal(kind(ex.backendDistDynamic).kind, 'artifact')
  })

  test('a plugin source without dist-dynamic/ is refused with E_NO_DIST_DYNAMIC by every command and API function', async () => {
    for (const dir of [dirs.source, dirs.sourceByConfig]) {
      const out = path.join(root, 'refused-out')
      for (const args of [['pack', '--pack-destination', out], ['package', '--export-to', out], ['publish', '--dry-run', '--registry', 'http://127.0.0.1:9/']]) {
        const r = dynpack(args, dir)
        assert.equal(r.status, 1, `${args[0]}: ${r.stdout}${r.stderr}`)
        assert.match(r.stderr, /E_NO_DIST_DYNAMIC: .*a Backstage plugin's source folder \((src\/|tsconfig\.json)\) with no dist-dynamic\/ folder.*plugin export/, args[0])
        assert.equal(fs.existsSync(out), false, `${args[0]} wrote nothing`)
      }
      const calls = {
        packDynamic: () => api.packDynamic(dir, { dryRun: true }),
        buildOciLayout: () => api.buildOciLayout(dir, { output: path.join(root, 'refused-oci'), tag: 'quay.io/acme/x:1' }),
        publishDynamic: () => api.publishDynamic(dir, { dryRun: true, registry: 'http://127.0.0.1:9/' }),
        sbomOf: () => api.sbomOf(dir),
      }
      for (const [name, call] of Object.entries(calls)) {
        await assert.rejects(call(), (e) => { assert.equal(e.code, 'E_NO_DIST_DYNAMIC', `${name}: ${e.message}`); return true })
      }
      assert.equal(fs.existsSync(path.join(root, 'refused-oci')), false)
    }
  })

  test('an unpacked published plugin and a bundle are artifacts for every command and API function', async (t) => {
    for (const dir of [dirs.published, dirs.publishedBackend, dirs.bundle]) {
      const name = path.basename(path.dirname(dir))
      const theirs = npmPack(dir, path.join(root, `npm-${name}`))
      const r = dynpack(['pack', '--pack-destination', path.join(root, `ours-${name}`)], dir)
      assert.equal(r.status, 0, r.stderr)
      assert.ok(fs.readFileSync(path.join(root, `ours-${name}`, path.basename(theirs))).equals(fs.readFileSync(theirs)), 'npm pack bytes')
      const packed = await api.packDynamic(dir, { dryRun: true })
      assert.equal(packed.filename, path.basename(theirs))
      const exp = dynpack(['package', '--export-to', path.join(root, `exp-${name}`), '--json'], dir)
      assert.equal(exp.status, 0, exp.stderr)
      assert.equal(JSON.parse(exp.stdout).plugins[0].distDynamic, dir)
      const image = await api.buildOciLayout(dir, { output: path.join(root, `oci-${name}`), tag: 'quay.io/acme/x:1' })
      assert.equal(image.plugins.length, 1)
      assert.equal((await api.sbomOf(dir)).metadata.component.name, JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name.split('/').pop())
      if (!registry) { t.diagnostic('publishDynamic not tried: verdaccio is not installed'); continue }
      const published = await api.publishDynamic(dir, { registry: registry.url, env, dryRun: true })
      assert.equal(published.integrity, packed.integrity)
    }
  })
})

describe('a package with workspaces but no Backstage workspaces is packed as itself', () => {
  test('packDynamic and dynpack pack give npm pack\'s bytes; package refuses it as no plugin', async () => {
    const dir = path.join(root, 'npm-like')
    writeTree(dir, {
      'package.json': { json: { name: 'npm-like', version: '11.6.2', bin: { 'npm-like': 'bin/cli.js' }, files: ['bin', 'lib'], workspaces: ['docs', 'smoke-tests', 'workspaces/*'] } },
      'bin/cli.js': '#!/usr/bin/env node\nrequire("../lib")\n',
      'lib/index.js': 'module.exports = {}\n',
      'workspaces/arborist/package.json': { json: { name: '@npmcli/arborist', version: '9.0.0' } },
      'docs/package.json': { json: { name: 'docs', version: '1.0.0', private: true } },
    })
    assert.equal(resolveFolder(dir).mode, 'package')
    const theirs = npmPack(dir, path.join(root, 'npm-like-npm'))
    fs.mkdirSync(path.join(root, 'npm-like-ours'))
    const ours = await api.packDynamic(dir, { destination: path.join(root, 'npm-like-ours') })
    assert.ok(fs.readFileSync(ours.path).equals(fs.readFileSync(theirs)))
    const r = dynpack(['pack', '--dry-run', '--json'], dir)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout)[0].integrity, ours.integrity)
    const pkg = dynpack(['package', '--export-to', path.join(root, 'npm-like-exp')], dir)
    assert.equal(pkg.status, 1)
    assert.match(pkg.stderr, /E_NO_DIST_DYNAMIC: .*not a dynamic plugin/)
  })

  test('npm\'s own package (the installed npm) packs as npm pack packs it', async (t) => {
    const npmDir = path.join(path.dirname(fs.realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim())), '..')
    const manifest = path.join(npmDir, 'package.json')
    if (!fs.existsSync(manifest) || JSON.parse(fs.readFileSync(manifest, 'utf8')).name !== 'npm') return t.skip(`no npm package folder at ${npmDir}`)
    assert.ok(JSON.parse(fs.readFileSync(manifest, 'utf8')).workspaces, 'npm\'s package.json lists workspaces')
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: npmDir, encoding: 'utf8', maxBuffer: 64 << 20 })
    assert.equal(r.status, 0, r.stderr)
    const ours = await api.packDynamic(npmDir, { dryRun: true })
    assert.equal(ours.integrity, JSON.parse(r.stdout)[0].integrity)
  })
})
