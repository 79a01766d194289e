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

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { makeExamples } = require('../examples/make-examples.js')
const api = require('../lib/api.js')
const { resolveFolder, expandWorkspaces } = require('../lib/folders.js')

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
