// RHDH Extensions catalog entities (lib/catalog.js): every generated entity
// validated with ajv against the published Extensions JSON schemas
// (lib/schemas/, source in its README), the E_CATALOG_*
// errors, merging into an existing folder, and the catalog index image pushed
// to a real docker-registry and read back with skopeo.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const Ajv = require('ajv')
const YAML = require('yaml')
const { makeExamples } = require('../examples/make-examples.js')
const catalog = require('../lib/catalog.js')
const api = require('../lib/api.js')

const SCHEMAS = path.join(here, '..', 'lib', 'schemas')
const ajv = new Ajv({ allErrors: true, strict: false })
const validatePackage = ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'packages.json'), 'utf8')))
const validatePlugin = ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'plugins.json'), 'utf8')))

/** Asserts `entity` validates against its published schema (ajv), with ajv's errors in the message. */
function assertSchema (entity) {
  const validate = entity.kind === 'Package' ? validatePackage : validatePlugin
  assert.ok(validate(entity), `${entity.kind} ${entity.metadata?.name}: ${ajv.errorsText(validate.errors)}`)
  // Backstage entity names: letters, digits, -_. , at most 63, alphanumeric at both ends.
  assert.match(entity.metadata.name, /^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/)
}

function dynpack (args, { cwd, env } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const FIXED_LAYER_DIGEST = 'sha256:0914e0b5e690a1cd1189e3fa458f67a78e95eb4b24f63727257cb35e4782ed9e'
const FIXED_MANIFEST_DIGEST = 'sha256:756f1be8b1274855007aad5a67aaef8b327e0b5ba5dec0c93f4487a91e2fb704'
const SIGNING = { COSIGN_PASSWORD: 'test passphrase' }

let root
let ex
before(() => {
  root = tempDir('dynpack-catalog-')
  ex = makeExamples(path.join(root, 'examples'))
  fs.writeFileSync(path.join(ex.root, 'backstage.json'), JSON.stringify({ version: '1.39.1' }) + '\n')
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

const backend = () => path.join(ex.root, 'plugins', 'todo-backend', 'dist-dynamic')
const frontend = () => path.join(ex.root, 'plugins', 'todo-frontend', 'dist-dynamic')
const DIGEST = 'sha256:' + 'ab'.repeat(32)

function items () {
  return [
    { dir: backend(), dynamicArtifact: `oci://127.0.0.1:5000/acme/todo-backend@${DIGEST}!acme-plugin-todo-backend` },
    { dir: frontend(), dynamicArtifact: 'https://plugins.example.com/acme-plugin-todo-frontend-dynamic-1.2.0.tgz', integrity: 'sha512-' + 'A'.repeat(86) + '==' },
  ]
}

/** A copy of a plugin folder (source + dist-dynamic) whose package.json files `edit` changes. */
function variant (name, edit) {
  const dir = path.join(root, 'variants', name)
  fs.cpSync(path.join(ex.root, 'plugins', 'todo-backend'), dir, { recursive: true })
  for (const f of [path.join(dir, 'package.json'), path.join(dir, 'dist-dynamic', 'package.json')]) {
    const m = JSON.parse(fs.readFileSync(f, 'utf8'))
    edit(m, f.includes('dist-dynamic'))
    fs.writeFileSync(f, JSON.stringify(m, null, 2))
  }
  return path.join(dir, 'dist-dynamic')
}

describe('catalogEntities', () => {
  test('every generated Package and Plugin entity validates against the published Extensions schemas', () => {
    const g = catalog.catalogEntities(items(), { support: { provider: 'Acme platform team', level: 'production' }, lifecycle: 'production' })
    assert.equal(g.packages.length, 2)
    assert.equal(g.plugins.length, 1)
    for (const e of [...g.packages, ...g.plugins]) assertSchema(e)
    const [b, f] = g.packages
    assert.equal(b.metadata.name, 'acme-plugin-todo-backend')
    assert.equal(b.spec.packageName, '@acme/plugin-todo-backend')
    assert.equal(b.spec.version, '1.2.0')
    assert.deepEqual(b.spec.backstage, { role: 'backend-plugin', supportedVersions: '1.39.1' })
    assert.equal(b.spec.dynamicArtifact, items()[0].dynamicArtifact)
    assert.equal(b.spec.integrity, undefined)
    assert.deepEqual(b.spec.partOf, ['todo'])
    assert.deepEqual(b.spec.appConfigExamples[0].content.todo.tags, ['TODO', 'FIXME'])
    assert.deepEqual(b.metadata.tags, ['backstage', 'dynamic-plugin', 'todo'])
    assert.deepEqual(b.metadata.links.map((l) => l.title), ['Homepage', 'Repository'])
    assert.equal(f.spec.integrity, items()[1].integrity)
    assert.equal(f.spec.backstage.role, 'frontend-plugin')
    const plugin = g.plugins[0]
    assert.equal(plugin.metadata.name, 'todo')
    assert.deepEqual(plugin.spec.packages, ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
    assert.deepEqual(plugin.spec.support, { provider: 'Acme platform team', level: 'generally-available' })
    // Entity refs agree: every partOf names a Plugin, every Plugin package a Package.
    const names = new Set(g.packages.map((e) => e.metadata.name))
    for (const p of g.plugins) for (const n of p.spec.packages) assert.ok(names.has(n))
    for (const e of g.packages) assert.ok(g.plugins.some((p) => e.spec.partOf.includes(p.metadata.name)))
    assert.deepEqual(g.defaults.map((d) => d.disabled), [true, true])
    assert.deepEqual(catalog.catalogEntities(items(), { enable: true }).defaults.map((d) => d.disabled), [false, false])
  })

  test('the catalog section of package.json gives the Plugin title, description, categories and icon', () => {
    const dir = variant('curated', (m, dist) => {
      if (!dist) m.catalog = { title: 'TODO finder', description: 'Finds TODOs', categories: ['Productivity'], icon: 'data:image/svg+xml;base64,PHN2Zy8+', highlights: ['Fast'], support: { provider: 'Acme', level: 'generally-available' }, lifecycle: 'production' }
    })
    const g = catalog.catalogEntities([{ dir, dynamicArtifact: 'acme-plugin-todo-backend-dynamic@1.2.0', integrity: 'sha512-x' }])
    const p = g.plugins[0]
    assert.equal(p.metadata.title, 'TODO finder')
    assert.equal(p.metadata.description, 'Finds TODOs')
    assert.deepEqual(p.spec.categories, ['Productivity'])
    assert.equal(p.spec.icon, 'data:image/svg+xml;base64,PHN2Zy8+')
    assert.deepEqual(p.spec.support, { provider: 'Acme', level: 'generally-available' })
    assert.deepEqual(g.packages[0].spec.support, { provider: 'Acme', level: 'production' }, 'the Package schema says production')
    assert.equal(g.packages[0].spec.lifecycle, 'production')
    for (const e of [...g.packages, ...g.plugins]) assertSchema(e)
  })

  test('supportedVersions is omitted when no backstage.json says the Backstage release', () => {
    const mk = makeExamples(path.join(root, 'no-backstage-json'))
    const g = catalog.catalogEntities([{ dir: path.join(mk.root, 'plugins', 'todo-backend', 'dist-dynamic'), dynamicArtifact: 'x@1.0.0' }])
    assert.deepEqual(g.packages[0].spec.backstage, { role: 'backend-plugin' })
    assertSchema(g.packages[0])
  })

  test('bad input: E_CATALOG_NO_VERSION, E_CATALOG_INVALID_NAME, E_CATALOG_DUPLICATE_NAME, naming the file and field', () => {
    const noVersion = variant('no-version', (m, dist) => { if (dist) delete m.version })
    assert.throws(() => catalog.catalogEntities([{ dir: noVersion, dynamicArtifact: 'x' }]),
      (e) => e.code === 'E_CATALOG_NO_VERSION' && e.message.includes(path.join(noVersion, 'package.json')) && /version/.test(e.message))
    const longName = variant('long-name', (m) => { m.name = '@acme/' + 'x'.repeat(70) + (m.name.endsWith('-dynamic') ? '-dynamic' : '') })
    assert.throws(() => catalog.catalogEntities([{ dir: longName, dynamicArtifact: 'x' }]),
      (e) => e.code === 'E_CATALOG_INVALID_NAME' && e.message.includes(path.join(path.dirname(longName), 'package.json')) && /name/.test(e.message))
    const badPluginId = variant('bad-plugin-id', (m) => { m.backstage.pluginId = 'to do!' })
    assert.throws(() => catalog.catalogEntities([{ dir: badPluginId, dynamicArtifact: 'x' }]),
      (e) => e.code === 'E_CATALOG_INVALID_NAME' && /backstage\.pluginId/.test(e.message))
    const twin = variant('twin', () => {})
    assert.throws(() => catalog.catalogEntities([{ dir: backend(), dynamicArtifact: 'a' }, { dir: twin, dynamicArtifact: 'b' }]),
      (e) => e.code === 'E_CATALOG_DUPLICATE_NAME' && e.message.includes(backend()) && e.message.includes(twin) && /acme-plugin-todo-backend/.test(e.message))
    const badCatalog = variant('bad-catalog', (m, dist) => { if (!dist) m.catalog = { categories: 'Productivity' } })
    assert.throws(() => catalog.catalogEntities([{ dir: badCatalog, dynamicArtifact: 'x' }]),
      (e) => e.code === 'E_CATALOG_INVALID_FIELD' && /catalog\.categories/.test(e.message))
  })

  test("dynpack's own entity checks agree with ajv on the published schemas", () => {
    const g = catalog.catalogEntities(items())
    const good = [...g.packages, ...g.plugins]
    const clone = (e) => JSON.parse(JSON.stringify(e))
    const broken = []
    for (const e of good) {
      let x = clone(e); delete x.spec; broken.push(x)
      x = clone(e); x.metadata.owner = 'me'; broken.push(x)
      x = clone(e); x.metadata.links = [{ url: 'https://x' }]; broken.push(x)
      x = clone(e); x.metadata.tags = [1]; broken.push(x)
      x = clone(e); x.extra = true; broken.push(x)
      x = clone(e); x.spec.support = { provider: 'p', level: 'gold' }; broken.push(x)
      x = clone(e); delete x.metadata.name; broken.push(x)
    }
    let x = clone(g.packages[0]); delete x.spec.packageName; broken.push(x)
    x = clone(g.packages[0]); x.spec.backstage.owner = 'x'; broken.push(x)
    x = clone(g.packages[0]); x.spec.appConfigExamples = [{ title: 't', content: 3 }]; broken.push(x)
    x = clone(g.plugins[0]); x.spec.categories = 'x'; broken.push(x)
    x = clone(g.plugins[0]); x.spec.history = {}; broken.push(x)
    for (const e of good) assert.equal(catalog.entityProblem(e), null)
    for (const e of broken) {
      const validate = e.kind === 'Plugin' ? validatePlugin : validatePackage
      assert.equal(validate(e), false, `ajv refuses ${JSON.stringify(e).slice(0, 200)}`)
      assert.notEqual(catalog.entityProblem(e), null, `dynpack refuses ${JSON.stringify(e).slice(0, 200)}`)
    }
  })
})

describe('writeCatalog', () => {
  test('writes the folder; re-running merges: other plugins kept, the same plugin replaced', () => {
    const out = path.join(root, 'merge')
    const [b, f] = items()
    catalog.writeCatalog(out, catalog.catalogEntities([b]))
    const base = path.join(out, 'catalog-entities', 'extensions')
    assert.deepEqual(fs.readdirSync(path.join(base, 'packages')), ['acme-plugin-todo-backend.yaml'])
    catalog.writeCatalog(out, catalog.catalogEntities([f], { enable: true }))
    const b2 = { ...b, dynamicArtifact: b.dynamicArtifact.replace(DIGEST, 'sha256:' + 'cd'.repeat(32)) }
    catalog.writeCatalog(out, catalog.catalogEntities([b2]))
    assert.deepEqual(fs.readdirSync(path.join(base, 'packages')).sort(), ['acme-plugin-todo-backend.yaml', 'acme-plugin-todo-frontend.yaml'])
    assert.deepEqual(fs.readdirSync(out).sort(), ['catalog-entities', 'dynamic-plugins.default.yaml'], 'no temporary folder left')
    const read = catalog.readCatalog(out)
    for (const e of [...read.packages, ...read.plugins]) assertSchema(e)
    assert.equal(read.packages.find((e) => e.metadata.name === 'acme-plugin-todo-backend').spec.dynamicArtifact, b2.dynamicArtifact)
    assert.deepEqual(read.plugins[0].spec.packages, ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
    assert.deepEqual(read.defaults.map((d) => [d.package, d.disabled]).sort(), [[b2.dynamicArtifact, true], [f.dynamicArtifact, false]].sort())
    const all = YAML.parse(fs.readFileSync(path.join(base, 'all.yaml'), 'utf8'))
    assert.equal(all.kind, 'Location')
    assert.deepEqual(all.spec.targets, ['./packages/acme-plugin-todo-backend.yaml', './packages/acme-plugin-todo-frontend.yaml', './plugins/todo.yaml'])
    for (const t of all.spec.targets) assert.ok(fs.existsSync(path.join(base, t)), t)
  })

  test('runs writing one folder at the same time: each waits for the lock, no plugin is lost', async () => {
    const out = path.join(root, 'concurrent')
    const dirs = Array.from({ length: 6 }, (_, i) => variant(`concurrent-${i}`, (m) => { m.name = `@acme/plugin-concurrent-${i}-backend${m.name.endsWith('-dynamic') ? '-dynamic' : ''}` }))
    const script = (d, n) => `const c = require(${JSON.stringify(path.join(here, '..', 'lib', 'catalog.js'))})
      for (let i = 0; i < 3; i++) c.writeCatalog(${JSON.stringify(out)}, c.catalogEntities([{ dir: ${JSON.stringify(d)}, dynamicArtifact: 'oci://127.0.0.1:5000/acme/p${n}@${DIGEST}!r' + i }]))`
    const runs = dirs.map((d, n) => new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', script(d, n)], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (b) => { stderr += b })
      child.on('close', (status) => resolve({ status, stderr }))
    }))
    for (const r of await Promise.all(runs)) assert.equal(r.status, 0, r.stderr)
    const read = catalog.readCatalog(out)
    assert.equal(read.packages.length, 6, read.packages.map((e) => e.metadata.name).join(', '))
    assert.equal(read.defaults.length, 6)
    assert.deepEqual(fs.readdirSync(out).sort(), ['catalog-entities', 'dynamic-plugins.default.yaml'], 'no temporary folder left')

    // a run that dies holding the lock leaves none behind (flock ends with the process)
    const dead = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(here, '..', 'lib', 'addon.js'))}).loadAddon().lockFolder(${JSON.stringify(out)}); process.exit(0)`])
    assert.equal(dead.status, 0)
    catalog.writeCatalog(out, catalog.catalogEntities([items()[0]]))
    assert.equal(catalog.readCatalog(out).packages.length, 7)
  })

  test('a hand-curated entity that fails the schema: E_CATALOG_INVALID_ENTITY naming the file and field', () => {
    const out = path.join(root, 'curated-bad')
    catalog.writeCatalog(out, catalog.catalogEntities(items()))
    const file = path.join(out, 'catalog-entities', 'extensions', 'packages', 'acme-plugin-todo-backend.yaml')
    const entity = YAML.parse(fs.readFileSync(file, 'utf8'))
    entity.metadata.owner = 'team-a'
    assert.equal(validatePackage(entity), false, 'ajv refuses it too')
    fs.writeFileSync(file, YAML.stringify(entity))
    assert.throws(() => catalog.readCatalog(out), (e) => e.code === 'E_CATALOG_INVALID_ENTITY' && e.message.includes(file) && /metadata\.owner/.test(e.message))
    const r = dynpack(['catalog-index', out, '--tag', '127.0.0.1:1/acme/index:1'])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /^dynpack: E_CATALOG_INVALID_ENTITY: .*metadata\.owner/m)
  })
})

describe('--catalog on pack and package, and the API', () => {
  test('pack --base-url --catalog: tgz URLs with the integrity npm pack gives, the RHDH settings printed', () => {
    const dest = path.join(root, 'pack-dest')
    const cat = path.join(root, 'pack-catalog')
    const r = dynpack(['pack', ex.root, '--base-url', 'https://plugins.example.com/acme', '--pack-destination', dest, '--catalog', cat, '--json'])
    assert.equal(r.status, 0, r.stderr)
    const packed = JSON.parse(r.stdout)
    assert.match(r.stderr, /CATALOG_INDEX_IMAGE=/)
    assert.match(r.stderr, /EXTRA_CATALOG_INDEX_IMAGES=/)
    const read = catalog.readCatalog(cat)
    assert.equal(read.packages.length, 2)
    for (const e of read.packages) {
      assertSchema(e)
      const p = packed.find((x) => x.package === e.spec.dynamicArtifact)
      assert.ok(p, e.spec.dynamicArtifact)
      assert.equal(e.spec.integrity, p.integrity)
    }
    const text = dynpack(['pack', ex.root, '--base-url', 'https://plugins.example.com/acme', '--pack-destination', dest, '--catalog', cat, '--enable'])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^ {2}CATALOG_INDEX_IMAGE=REGISTRY\/REPOSITORY:TAG$/m)
    assert.deepEqual(catalog.readCatalog(cat).defaults.map((d) => d.disabled), [false, false])
    const noUrl = dynpack(['pack', ex.root, '--pack-destination', dest, '--catalog', cat])
    assert.equal(noUrl.status, 2)
    assert.match(noUrl.stderr, /E_USAGE: --catalog needs --base-url/)
  })

  test('package --catalog with bad input fails with E_CATALOG_* before anything is built', () => {
    const mk = makeExamples(path.join(root, 'bad-package'))
    const f = path.join(mk.root, 'plugins', 'todo-backend', 'package.json')
    const m = JSON.parse(fs.readFileSync(f, 'utf8'))
    m.backstage.pluginId = 'not a name'
    fs.writeFileSync(f, JSON.stringify(m))
    const r = dynpack(['package', mk.root, '--tag', 'quay.io/acme/plugins:1', '--catalog', path.join(root, 'bad-package-catalog')])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /^dynpack: E_CATALOG_INVALID_NAME: .*todo-backend\/package\.json: backstage\.pluginId/m)
    assert.equal(fs.existsSync(path.join(mk.root, 'dist-oci')), false, 'no image built')
    assert.equal(fs.existsSync(path.join(root, 'bad-package-catalog')), false, 'no catalog written')
    const idx = dynpack(['package', mk.root, '--tag', 'quay.io/acme/plugins:1', '--catalog-index', 'quay.io/acme/index:1'])
    assert.equal(idx.status, 2)
    assert.match(idx.stderr, /E_USAGE: --catalog-index .* needs --push/)
  })

  test('package --catalog without --push: entities pinned to the digest of the image built, the summary says how to push', () => {
    const cat = path.join(root, 'package-catalog')
    const out = path.join(root, 'package-oci')
    const r = dynpack(['package', ex.root, '--tag', 'registry.example.com/acme/{dir}:{version}', '--output', out, '--catalog', cat, '--enable'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /dynpack catalog-index .*package-catalog --tag REGISTRY\/REPOSITORY:TAG --push/)
    const read = catalog.readCatalog(cat)
    for (const e of read.packages) {
      assertSchema(e)
      const [, dir] = /!(.+)$/.exec(e.spec.dynamicArtifact)
      const index = JSON.parse(fs.readFileSync(path.join(out, dir, 'index.json'), 'utf8'))
      assert.equal(e.spec.dynamicArtifact, `oci://registry.example.com/acme/${dir}@${index.manifests[0].digest}!${dir}`)
    }
    assert.deepEqual(read.defaults.map((d) => d.disabled), [false, false])
  })

  test('package --push --catalog to a registry that does not answer: the catalog is not written, and it says so', () => {
    const cat = path.join(root, 'dead-catalog')
    const r = dynpack(['package', ex.root, '--tag', '127.0.0.1:1/acme/{dir}:1', '--push', '--tls-verify=false', '--catalog', cat,
      '--catalog-index', '127.0.0.1:1/acme/index:1', '--output', path.join(root, 'dead-oci')])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /warning: the catalog was not written \(nor its index pushed\)/)
    assert.match(r.stderr, /E_REGISTRY_UNREACHABLE/)
    assert.equal(fs.existsSync(cat), false)
  })

  test('a curated folder with two files of one entity name: E_CATALOG_DUPLICATE_NAME naming both files', () => {
    const out = path.join(root, 'curated-twins')
    catalog.writeCatalog(out, catalog.catalogEntities(items()))
    const packages = path.join(out, 'catalog-entities', 'extensions', 'packages')
    fs.copyFileSync(path.join(packages, 'acme-plugin-todo-backend.yaml'), path.join(packages, 'copy.yaml'))
    assert.throws(() => catalog.readCatalog(out), (e) => e.code === 'E_CATALOG_DUPLICATE_NAME' &&
      e.message.includes(path.join(packages, 'acme-plugin-todo-backend.yaml')) && e.message.includes(path.join(packages, 'copy.yaml')) && /metadata\.name/.test(e.message))
  })

  test('the API: catalogEntities and buildCatalogIndex reject (never throw) with E_ codes', async () => {
    const g = await api.catalogEntities(items())
    assert.equal(g.packages.length, 2)
    await assert.rejects(api.catalogEntities([{ dir: backend() }]), { code: 'E_INVALID_OPTION' })
    await assert.rejects(api.buildCatalogIndex(path.join(root, 'nothing-here'), { tag: 'q.io/a/b:1' }), { code: 'E_CATALOG_EMPTY' })
    await assert.rejects(api.buildCatalogIndex(root, { tag: 'no-repository' }), { code: 'E_INVALID_TAG' })
  })
})

describe('the index layer', () => {
  test('written by the core: gzip of the pinned zlib-rs deflate, the same digest for fixed files on every machine', async () => {
    const zlib = require('node:zlib')
    const { readTar } = await import('./helpers/oci.mjs')
    // A folder of fixed files: the deflate is the core's (zlib-rs), not the host's zlib.
    const dir = path.join(root, 'fixed-index')
    const base = path.join(dir, 'catalog-entities', 'extensions')
    fs.mkdirSync(path.join(base, 'packages'), { recursive: true })
    fs.mkdirSync(path.join(base, 'plugins'), { recursive: true })
    const pkg = { apiVersion: 'extensions.backstage.io/v1alpha1', kind: 'Package', metadata: { name: 'acme-x' }, spec: { packageName: '@acme/x', dynamicArtifact: 'oci://r.example/acme/x@sha256:' + '0'.repeat(64) + '!acme-x', partOf: ['x'] } }
    // JSON is YAML: literal text, whatever the yaml library's version.
    fs.writeFileSync(path.join(base, 'packages', 'acme-x.yaml'), JSON.stringify(pkg) + '\n')
    fs.writeFileSync(path.join(base, 'plugins', 'x.yaml'), JSON.stringify({ apiVersion: pkg.apiVersion, kind: 'Plugin', metadata: { name: 'x' }, spec: { packages: ['acme-x'] } }) + '\n')
    fs.writeFileSync(path.join(dir, 'dynamic-plugins.default.yaml'), `plugins:\n  - package: ${pkg.spec.dynamicArtifact}\n    disabled: true\n`)
    const a = await api.buildCatalogIndex(dir, { tag: 'r.example/acme/index:1', output: path.join(root, 'fixed-a') })
    const b = await api.buildCatalogIndex(dir, { tag: 'r.example/acme/index:1', output: path.join(root, 'fixed-b') })
    assert.equal(a.manifestDigest, b.manifestDigest)
    assert.equal(a.layerDigest, FIXED_LAYER_DIGEST)
    assert.equal(a.manifestDigest, FIXED_MANIFEST_DIGEST)
    assert.equal(a.refName, '1')
    assert.deepEqual(a.files, ['catalog-entities/extensions/packages/acme-x.yaml', 'catalog-entities/extensions/plugins/x.yaml', 'dynamic-plugins.default.yaml'])
    // Real deflate (smaller than the tar), and Node's gunzip reads it back to the files.
    const layer = fs.readFileSync(path.join(root, 'fixed-a', 'blobs', 'sha256', a.layerDigest.slice(7)))
    const tar = zlib.gunzipSync(layer)
    assert.ok(layer.length < tar.length / 4, `${layer.length} of ${tar.length} bytes`)
    const entries = readTar(tar)
    assert.deepEqual(entries.map((e) => `${e.type} ${e.path}`), [
      '5 catalog-entities/', '5 catalog-entities/extensions/', '5 catalog-entities/extensions/packages/',
      '0 catalog-entities/extensions/packages/acme-x.yaml', '5 catalog-entities/extensions/plugins/',
      '0 catalog-entities/extensions/plugins/x.yaml', '0 dynamic-plugins.default.yaml',
    ])
    assert.equal(entries.find((e) => e.path === 'dynamic-plugins.default.yaml').data.toString(), fs.readFileSync(path.join(dir, 'dynamic-plugins.default.yaml'), 'utf8'))
    const config = JSON.parse(fs.readFileSync(path.join(root, 'fixed-a', 'blobs', 'sha256', JSON.parse(fs.readFileSync(path.join(root, 'fixed-a', 'blobs', 'sha256', a.manifestDigest.slice(7)))).config.digest.slice(7))))
    assert.deepEqual(config.config.Labels, { 'io.backstage.catalog-index': 'extensions' })
    assert.equal(config.history[0].created_by, 'dynpack catalog-index')
    // Tags are read by the core's reference parser: the same rules as every dynpack tag.
    await assert.rejects(api.buildCatalogIndex(dir, { tag: 'oci://r.example/acme/index:1' }), (e) => e.code === 'E_INVALID_TAG' && /without the `oci:\/\/` scheme/.test(e.message))
    await assert.rejects(api.buildCatalogIndex(dir, { tag: 'acme/index:1' }), { code: 'E_INVALID_TAG' })
    assert.equal(catalog.catalogIndexName('r.example:5000/acme/team/index@sha256:' + 'a'.repeat(64)), 'index')
    // An output folder that is not an image layout is refused, untouched.
    const other = path.join(root, 'not-a-layout')
    fs.mkdirSync(other)
    fs.writeFileSync(path.join(other, 'keep.txt'), 'x')
    await assert.rejects(api.buildCatalogIndex(dir, { tag: 'r.example/acme/index:1', output: other }), { code: 'E_OCI_LAYOUT' })
    assert.deepEqual(fs.readdirSync(other), ['keep.txt'])
    // An AbortSignal stops the build, as every dynpack task.
    await assert.rejects(api.buildCatalogIndex(dir, { tag: 'r.example/acme/index:1', output: path.join(root, 'aborted'), signal: AbortSignal.abort() }), { code: 'E_ABORTED', name: 'AbortError' })
    assert.equal(fs.existsSync(path.join(root, 'aborted')), false)
  })
})

describe('entity validation', () => {
  test('curated entities: ajv with the shipped schemas, every failing field named by its path', () => {
    const e = catalog.catalogEntities(items()).packages[0]
    const clone = () => JSON.parse(JSON.stringify(e))
    let x = clone(); x.spec.support = { provider: 'p', level: 'gold' }
    assert.match(catalog.entityProblem(x), /^spec\.support\.level must be one of production, tech-preview, dev-preview, community, none, not "gold"$/)
    x = clone(); x.spec.support = 3
    assert.equal(catalog.entityProblem(x), 'spec.support must be string or object')
    x = clone(); x.metadata.links = [{ url: 'https://x' }]; x.metadata.owner = 'me'
    assert.equal(catalog.entityProblem(x), 'metadata.owner is not allowed; metadata.links[0].title is required')
    x = clone(); x.metadata.name = 'not a name'
    assert.match(catalog.entityProblem(x), /^metadata\.name "not a name" is not a valid entity name/)
    x = clone(); x.kind = 'Component'
    assert.match(catalog.entityProblem(x), /^kind must be one of Package, Plugin/)
    assert.equal(catalog.entityProblem([]), 'the entity must be object')
  })
})

describe('publish --catalog (verdaccio)', () => {
  test('publish --catalog: name@version with the integrity the registry serves', async (t) => {
    const { startVerdaccio, verdaccioAvailable } = await import('./helpers/verdaccio.mjs')
    if (!verdaccioAvailable()) {
      if (process.env.CI === 'true') throw new Error('CI: verdaccio (a dev dependency) is required')
      return t.skip('verdaccio is not installed')
    }
    const registry = await startVerdaccio()
    try {
      const token = await registry.addUser('dynpack-catalog', 'not-a-real-password')
      const npmrc = path.join(root, 'publish.npmrc')
      fs.writeFileSync(npmrc, `${registry.url.replace(/^http:/, '')}:_authToken=${token}\n`)
      const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)))
      const env = { ...base, NPM_CONFIG_USERCONFIG: npmrc, npm_config_cache: path.join(root, 'npm-cache'), npm_config_update_notifier: 'false' }
      const mk = makeExamples(path.join(root, 'publish-examples'))
      const cat = path.join(root, 'publish-catalog')
      const dry = dynpack(['publish', mk.root, '--registry', registry.url, '--catalog', cat, '--dry-run'], { env })
      assert.equal(dry.status, 0, dry.stderr)
      assert.match(dry.stderr, /--dry-run: the catalog is not written/)
      assert.equal(fs.existsSync(cat), false)
      const r = dynpack(['publish', mk.root, '--registry', registry.url, '--catalog', cat, '--json'], { env })
      assert.equal(r.status, 0, r.stderr)
      const published = JSON.parse(r.stdout)
      const read = catalog.readCatalog(cat)
      assert.equal(read.packages.length, 2)
      for (const e of read.packages) {
        assertSchema(e)
        const p = published.find((x) => x.package === e.spec.dynamicArtifact)
        assert.ok(p, e.spec.dynamicArtifact)
        assert.match(e.spec.dynamicArtifact, /^@acme\/plugin-todo-(backend|frontend)-dynamic@1\.2\.0$/)
        assert.equal(e.spec.integrity, p.integrity)
        // The registry serves that integrity for that version.
        const meta = await (await fetch(new URL(e.spec.dynamicArtifact.replace(/@1\.2\.0$/, '').replace('/', '%2f'), registry.url))).json()
        assert.equal(meta.versions['1.2.0'].dist.integrity, e.spec.integrity)
      }
      assert.deepEqual(read.defaults.map((d) => d.integrity).sort(), read.packages.map((e) => e.spec.integrity).sort())
      assert.match(r.stderr, /CATALOG_INDEX_IMAGE=/)
      // catalog-index --check asks npm for each name@version and its integrity.
      const npmEnv = { ...env, npm_config_registry: registry.url }
      const ok = dynpack(['catalog-index', cat, '--tag', 'registry.example.com/acme/index:1', '--output', path.join(root, 'publish-index'), '--check'], { env: npmEnv })
      assert.equal(ok.status, 0, ok.stderr)
      const f = path.join(cat, 'catalog-entities', 'extensions', 'packages', 'acme-plugin-todo-backend.yaml')
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('@1.2.0', '@9.9.9'))
      const bad = dynpack(['catalog-index', cat, '--tag', 'registry.example.com/acme/index:1', '--output', path.join(root, 'publish-index'), '--check'], { env: npmEnv })
      assert.equal(bad.status, 1)
      assert.match(bad.stderr, /^dynpack: E_CATALOG_UNRESOLVED: .*acme-plugin-todo-backend\.yaml: spec\.dynamicArtifact @acme\/plugin-todo-backend-dynamic@9\.9\.9: npm finds no such version/m)
    } finally {
      await registry.stop()
    }
  })
})

describe('catalog index image (docker-registry, skopeo)', () => {
  let reg
  let work
  before(async () => {
    const { REGISTRY_BIN } = await import('./helpers/oci.mjs')
    if (!REGISTRY_BIN) return
    const { startDockerRegistry } = await import('./helpers/registries.mjs')
    reg = await startDockerRegistry()
    work = tempDir('dynpack-catalog-e2e-')
    fs.mkdirSync(path.join(work, 'keys'))
    const keygen = dynpack(['keygen', path.join(work, 'keys')], { env: SIGNING })
    assert.equal(keygen.status, 0, keygen.stderr)
  })
  after(async () => {
    if (reg) await reg.stop()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  /** The files of the only layer of `docker://ref`, copied with skopeo: [{ path, type, data }]. */
  async function pullLayer (ref, name) {
    const { run, readTar } = await import('./helpers/oci.mjs')
    const dest = path.join(work, name)
    run('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${dest}`])
    const manifest = JSON.parse(fs.readFileSync(path.join(dest, 'manifest.json'), 'utf8'))
    const layerFile = path.join(dest, manifest.layers[0].digest.replace('sha256:', ''))
    return { manifest, layerFile, entries: readTar(require('node:zlib').gunzipSync(fs.readFileSync(layerFile))) }
  }

  test('package --push --catalog-index: two plugins, one image each, the index pushed after them, read back with skopeo', async (t) => {
    const { needTools, run, rhdhExtract, tgzFiles, treeFiles } = await import('./helpers/oci.mjs')
    if (!needTools(t, 'docker-registry', 'skopeo', 'python3')) return
    const cat = path.join(work, 'catalog')
    const indexTag = `${reg.host}/acme/catalog-index:1.0`
    // docs/extensions-catalog.md's command, with this registry.
    const r = dynpack(['package', ex.root, '--tag', `${reg.host}/acme/{dir}:{version}`, '--push', '--sign-key', path.join(work, 'keys', 'cosign.key'),
      '--catalog', cat, '--catalog-index', indexTag, '--tls-verify=false', '--json'], { cwd: work, env: SIGNING })
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.images.length, 2)
    // Signed like the plugin images: the index's signature tag is in its repository.
    for (const i of report.images) assert.ok(i.signed, `${i.tag} signed`)
    assert.ok(report.catalog.index.signed)
    run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${report.catalog.index.signed.signatureTag}`])
    assert.match(r.stderr, /CATALOG_INDEX_IMAGE=/)
    assert.match(r.stderr, /EXTRA_CATALOG_INDEX_IMAGES=catalog-index=/)
    assert.ok(report.catalog.index.reference.includes('@sha256:'))

    // The layer holds exactly the default file and the entities, at its root.
    const { manifest, entries } = await pullLayer(indexTag, 'index')
    assert.equal(manifest.layers.length, 1)
    const files = entries.filter((e) => e.type === '0').map((e) => e.path).sort()
    assert.deepEqual(files, [
      'catalog-entities/extensions/all.yaml',
      'catalog-entities/extensions/packages/acme-plugin-todo-backend.yaml',
      'catalog-entities/extensions/packages/acme-plugin-todo-frontend.yaml',
      'catalog-entities/extensions/plugins/todo.yaml',
      'dynamic-plugins.default.yaml',
    ])
    for (const e of entries) assert.ok(['0', '5'].includes(e.type), `${e.path}: regular files and folders only`)
    const byPath = Object.fromEntries(entries.map((e) => [e.path, e.data.toString('utf8')]))
    for (const f of files) assert.equal(byPath[f], fs.readFileSync(path.join(cat, f), 'utf8'), `${f} is the file of --catalog`)

    // Every dynamicArtifact resolves to the pushed digest, and installing it gives the npm pack content.
    const packages = files.filter((f) => f.includes('/packages/')).map((f) => YAML.parse(byPath[f]))
    for (const e of packages) {
      assertSchema(e)
      const m = /^oci:\/\/([^@]+)@(sha256:[0-9a-f]{64})!(.+)$/.exec(e.spec.dynamicArtifact)
      assert.ok(m, e.spec.dynamicArtifact)
      const [, repo, digest, dir] = m
      const image = report.images.find((i) => i.plugins.includes(dir))
      assert.equal(digest, image.pushed.digest)
      assert.equal(digest, image.manifestDigest)
      const pulled = await pullLayer(`${repo}@${digest}`, `plugin-${dir}`)
      const dest = path.join(work, `installed-${dir}`)
      rhdhExtract(pulled.layerFile, dir, dest)
      const source = report.plugins.find((p) => p.directory === dir).distDynamic
      const packed = await api.packDynamic(source, { destination: fs.mkdtempSync(path.join(work, 'pack-')) })
      const want = tgzFiles(packed.path)
      const got = treeFiles(path.join(dest, dir))
      assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort())
      for (const k of Object.keys(want)) assert.ok(got[k].data.equals(want[k].data), k)
    }

    // The installer's merge rule (my reading): the user's dynamic-plugins.yaml names
    // dynamic-plugins.default.yaml first in `includes`; RHDH replaces that entry with the
    // index's file, reads the included `plugins`, then every user entry whose `package`
    // equals an included one is merged over it (user keys win).
    const defaults = YAML.parse(byPath['dynamic-plugins.default.yaml']).plugins
    assert.deepEqual(defaults.map((d) => d.disabled), [true, true])
    assert.deepEqual(defaults.map((d) => d.package).sort(), packages.map((e) => e.spec.dynamicArtifact).sort())
    const backendRef = packages.find((e) => e.metadata.name === 'acme-plugin-todo-backend').spec.dynamicArtifact
    const user = YAML.parse(`includes:\n  - dynamic-plugins.default.yaml\nplugins:\n  - package: "${backendRef}"\n    disabled: false\n`)
    const merged = new Map()
    for (const include of user.includes) {
      assert.equal(include, 'dynamic-plugins.default.yaml')
      for (const p of YAML.parse(byPath[include]).plugins) merged.set(p.package, p)
    }
    for (const p of user.plugins) merged.set(p.package, { ...(merged.get(p.package) ?? {}), ...p })
    const enabled = [...merged.values()].filter((p) => !p.disabled)
    assert.deepEqual(enabled.map((p) => p.package), [backendRef])
    assert.deepEqual(enabled[0].pluginConfig.todo.tags, ['TODO', 'FIXME'], 'pluginConfig comes from the index')

    // Reproducible: the same folder gives the same index digest.
    const again = dynpack(['catalog-index', cat, '--tag', indexTag, '--output', path.join(work, 'again'), '--json'], { cwd: work })
    assert.equal(again.status, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).manifestDigest, report.catalog.index.manifestDigest)
    assert.equal(run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${indexTag}`]).trim(), report.catalog.index.manifestDigest)
  })

  test('catalog-index --check --push: a curated folder is checked, pushed and signed', async (t) => {
    const { needTools, run } = await import('./helpers/oci.mjs')
    if (!needTools(t, 'docker-registry', 'skopeo')) return
    const cat = path.join(work, 'catalog')
    if (!fs.existsSync(cat)) return t.skip('needs the catalog of the test before')
    const env = SIGNING
    const keys = path.join(work, 'keys')
    const tag = `${reg.host}/acme/curated-index:1`
    const r = dynpack(['catalog-index', cat, '--tag', tag, '--check', '--push', '--tls-verify=false', '--sign-key', path.join(keys, 'cosign.key'), '--json'], { env })
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.signed.signatureTag, `${reg.host}/acme/curated-index:${out.pushed.digest.replace(':', '-')}.sig`)
    run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${out.signed.signatureTag}`])
    // A dynamicArtifact that does not resolve fails --check, and nothing is pushed.
    const broken = path.join(work, 'broken')
    fs.cpSync(cat, broken, { recursive: true })
    const f = path.join(broken, 'catalog-entities', 'extensions', 'packages', 'acme-plugin-todo-backend.yaml')
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/!acme-plugin-todo-backend/, '!acme-plugin-nothing'))
    const bad = dynpack(['catalog-index', broken, '--tag', `${reg.host}/acme/broken-index:1`, '--check', '--push', '--tls-verify=false'])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /^dynpack: E_CATALOG_UNRESOLVED: .*acme-plugin-todo-backend\.yaml.*acme-plugin-nothing/m)
    const tags = spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/acme/broken-index:1`], { encoding: 'utf8' })
    assert.notEqual(tags.status, 0, 'nothing pushed')
  })
})

