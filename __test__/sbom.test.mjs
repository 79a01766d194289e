// CycloneDX SBOMs (sbomOf, packDynamic({ sbom }), buildOciLayout({ sbom })):
// validated against the official CycloneDX 1.6 JSON schema offline
// (@cyclonedx/cyclonedx-library's strict validator), purls parsed by
// packageurl-js, components and hashes recomputed from the tarball itself,
// and the layout's referrer checked with skopeo, umoci and oci-image-tool.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree } from './helpers/tree.mjs'
import { fixtures } from './helpers/fixtures.mjs'
import { needTools, run, tgzFiles, treeFiles } from './helpers/oci.mjs'

const require = createRequire(import.meta.url)
const { sbomOf, packDynamic, buildOciLayout } = require('../lib/api.js')
const CDX = require('@cyclonedx/cyclonedx-library')
const { PackageURL } = require('packageurl-js')
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(REPO, 'bin', 'dynpack.js')

const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6)
async function assertValid (text, what) {
  const errors = await validator.validate(text)
  assert.equal(errors, null, `${what}: ${JSON.stringify(errors, null, 2)}`)
}

let root
before(() => { root = tempDir('dynpack-sbom-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const fresh = (name) => path.join(root, `${name}-${++counter}`)

const pkg = (name, version, extra = {}) => ({ json: { name, version, ...extra } })

/** Scoped, nested, duplicate-version and oddly licensed packages. */
function tangledPlugin (base) {
  const dir = path.join(base, 'dist-dynamic')
  writeTree(dir, {
    'package.json': pkg('@acme/plugin-tangle-backend-dynamic', '2.0.0+build.7', {
      license: 'Apache-2.0',
      main: 'dist/index.js',
      bundleDependencies: true,
      dependencies: { a: '1', b: '1', '@s/d': '1', c: '1', upper: '1', noversion: '1' },
      peerDependencies: { '@backstage/backend-plugin-api': '*' },
    }),
    'dist/index.js': 'module.exports = 1\n',
    'node_modules/a/package.json': pkg('a', '1.0.0', { license: 'MIT', dependencies: { b: '2' } }),
    'node_modules/a/index.js': 'a',
    'node_modules/a/lib/package.json': { json: { type: 'module' } },
    'node_modules/a/node_modules/b/package.json': pkg('b', '2.0.0', { license: '(MIT OR Apache-2.0)' }),
    'node_modules/a/node_modules/b/index.js': 'b2',
    'node_modules/b/package.json': pkg('b', '1.0.0', { license: 'Apache 2.0' }),
    'node_modules/b/index.js': 'b1',
    'node_modules/c/package.json': pkg('c', '1.0.0', { licenses: [{ type: 'MIT' }, { type: 'BSD' }], dependencies: { b: '2' } }),
    'node_modules/c/node_modules/b/package.json': pkg('b', '2.0.0', { license: '(MIT OR Apache-2.0)' }),
    'node_modules/c/node_modules/b/index.js': 'b2',
    'node_modules/@s/d/package.json': pkg('@s/d', '1.0.0', { license: { type: 'ISC' }, dependencies: { '@s/e': '1', a: '1' }, optionalDependencies: { gone: '1' } }),
    'node_modules/@s/d/index.js': 'd',
    'node_modules/@s/d/node_modules/@s/e/package.json': pkg('@s/e', '1.0.0-beta.1'),
    'node_modules/@s/d/node_modules/@s/e/index.js': 'e',
    'node_modules/upper/package.json': pkg('JSONStream', '1.3.5', { license: 'SEE LICENSE IN LICENSE' }),
    'node_modules/upper/index.js': 'u',
    'node_modules/noversion/package.json': { json: { name: 'noversion' } },
    'node_modules/.bin/x': { content: '#!/bin/sh\n', mode: 0o755 },
  })
  return dir
}

const PACKAGE_JSON = /^(node_modules\/(@[^/]+\/)?[^/.@][^/]*\/)+package\.json$/

/** What the tarball holds: each package root, its manifest and hash, computed here. */
function packedPackages (files) {
  const dirs = Object.keys(files).filter((p) => PACKAGE_JSON.test(p)).map((p) => p.slice(0, -'/package.json'.length))
  const owners = new Set(dirs)
  const ownerOf = (p) => {
    const parts = p.split('/')
    for (let i = parts.length - 1; i > 0; i--) {
      const dir = parts.slice(0, i).join('/')
      if (owners.has(dir)) return p.slice(dir.length + 1).startsWith('node_modules/') ? null : dir
    }
    return p.startsWith('node_modules/') ? null : ''
  }
  const lines = new Map()
  for (const [p, f] of Object.entries(files)) {
    const owner = ownerOf(p)
    if (owner === null) continue
    const rel = owner === '' ? p : p.slice(owner.length + 1)
    const list = lines.get(owner) ?? []
    list.push([rel, crypto.createHash('sha512').update(f.data).digest('hex')])
    lines.set(owner, list)
  }
  const hashOf = (dir) => {
    const list = (lines.get(dir) ?? []).sort((x, y) => Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])))
    return crypto.createHash('sha512').update(list.map(([rel, h]) => `${h}  ${rel}\n`).join('')).digest('hex')
  }
  return {
    root: hashOf(''),
    packages: dirs.map((dir) => ({ dir, manifest: JSON.parse(files[`${dir}/package.json`].data), hash: hashOf(dir) })),
  }
}

const idOf = (c) => `${c.group ? c.group + '/' : ''}${c.name}@${c.version ?? ''}`

/** Schema, purls, components = packed packages, hashes, bom-refs, edges resolve. */
async function checkAgainstTarball (text, tgz, what) {
  await assertValid(text, what)
  const bom = JSON.parse(text)
  const { root: rootHash, packages } = packedPackages(tgzFiles(tgz))
  assert.deepEqual(bom.components.map(idOf).sort(),
    packages.map((p) => `${p.manifest.name}@${p.manifest.version ?? ''}`).sort(), `${what}: components`)
  const byPath = new Map(bom.components.map((c) => [c.properties.find((p) => p.name === 'cdx:npm:package:path').value, c]))
  for (const p of packages) {
    const c = byPath.get(p.dir)
    assert.ok(c, `${what}: ${p.dir} listed`)
    assert.equal(c.hashes[0].content, p.hash, `${what}: hash of ${p.dir}`)
  }
  assert.equal(bom.metadata.component.hashes[0].content, rootHash, `${what}: hash of the plugin's own files`)
  const refs = new Set()
  for (const c of [bom.metadata.component, ...bom.components]) {
    assert.ok(!refs.has(c['bom-ref']), `${what}: bom-ref ${c['bom-ref']} unique`)
    refs.add(c['bom-ref'])
    const purl = PackageURL.fromString(c.purl)
    assert.equal(purl.type, 'npm')
    assert.equal(purl.namespace ?? undefined, c.group?.toLowerCase())
    assert.equal(purl.name, c.name.toLowerCase())
    assert.equal(purl.version ?? undefined, c.version)
  }
  for (const d of bom.dependencies) {
    assert.ok(refs.has(d.ref), `${what}: dependency ref ${d.ref}`)
    for (const on of d.dependsOn ?? []) assert.ok(refs.has(on), `${what}: dependsOn ${on}`)
  }
  assert.equal(bom.dependencies.length, refs.size, `${what}: one dependency entry per component`)
  return bom
}

describe('SBOM of a plugin with scoped, nested and duplicate-version packages', () => {
  let dist, packed, text, bom
  before(async () => {
    dist = tangledPlugin(fresh('tangle'))
    const dest = fresh('out')
    fs.mkdirSync(dest)
    packed = await packDynamic(dist, { destination: dest, sbom: true, sourceDateEpoch: undefined })
    text = fs.readFileSync(packed.sbom, 'utf8')
  })

  test('pack --sbom writes <tgz>.cdx.json: valid CycloneDX 1.6, components = packed packages, hashes recomputed', async () => {
    assert.equal(packed.sbom, packed.path + '.cdx.json')
    bom = await checkAgainstTarball(text, packed.path, 'tangle')
    assert.equal(bom.specVersion, '1.6')
    assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(bom.metadata.timestamp, undefined, 'no wall-clock time without SOURCE_DATE_EPOCH')
    assert.equal(bom.components.length, 9)
  })

  test('purls, licenses and bom-refs of the odd cases', () => {
    const root = bom.metadata.component
    assert.equal(root.purl, 'pkg:npm/%40acme/plugin-tangle-backend-dynamic@2.0.0%2Bbuild.7')
    assert.equal(root.group, '@acme')
    assert.deepEqual(root.licenses, [{ license: { id: 'Apache-2.0' } }])
    const at = (dir) => bom.components.find((c) => c.properties.some((p) => p.value === dir))
    assert.deepEqual(at('node_modules/b').licenses, [{ license: { name: 'Apache 2.0' } }])
    assert.deepEqual(at('node_modules/a/node_modules/b').licenses, [{ expression: '(MIT OR Apache-2.0)' }])
    assert.deepEqual(at('node_modules/c').licenses, [{ license: { id: 'MIT' } }, { license: { name: 'BSD' } }])
    assert.deepEqual(at('node_modules/@s/d').licenses, [{ license: { id: 'ISC' } }])
    assert.equal(at('node_modules/upper').purl, 'pkg:npm/jsonstream@1.3.5')
    assert.equal(at('node_modules/upper').name, 'JSONStream')
    assert.equal(at('node_modules/noversion').purl, 'pkg:npm/noversion')
    // two copies of b@2.0.0: one purl, two bom-refs
    assert.equal(at('node_modules/a/node_modules/b').purl, 'pkg:npm/b@2.0.0')
    assert.equal(at('node_modules/a/node_modules/b')['bom-ref'], 'pkg:npm/b@2.0.0|node_modules/a/node_modules/b')
    assert.equal(at('node_modules/c/node_modules/b')['bom-ref'], 'pkg:npm/b@2.0.0|node_modules/c/node_modules/b')
    assert.equal(at('node_modules/b')['bom-ref'], 'pkg:npm/b@1.0.0')
  })

  test('dependency edges resolve as Node does inside the packed tree', () => {
    const deps = Object.fromEntries(bom.dependencies.map((d) => [d.ref, d.dependsOn ?? []]))
    assert.deepEqual(deps['pkg:npm/%40acme/plugin-tangle-backend-dynamic@2.0.0%2Bbuild.7'],
      ['pkg:npm/%40s/d@1.0.0', 'pkg:npm/a@1.0.0', 'pkg:npm/b@1.0.0', 'pkg:npm/c@1.0.0', 'pkg:npm/jsonstream@1.3.5', 'pkg:npm/noversion'])
    assert.deepEqual(deps['pkg:npm/a@1.0.0'], ['pkg:npm/b@2.0.0|node_modules/a/node_modules/b'])
    assert.deepEqual(deps['pkg:npm/c@1.0.0'], ['pkg:npm/b@2.0.0|node_modules/c/node_modules/b'])
    assert.deepEqual(deps['pkg:npm/%40s/d@1.0.0'], ['pkg:npm/%40s/e@1.0.0-beta.1', 'pkg:npm/a@1.0.0'])
    assert.deepEqual(deps['pkg:npm/b@1.0.0'], [])
  })

  test('deterministic: sbomOf gives the same bytes; SOURCE_DATE_EPOCH sets metadata.timestamp', async () => {
    const again = await sbomOf(dist)
    assert.equal(JSON.stringify(again, null, 2) + '\n', text)
    const copy = fresh('copy')
    fs.cpSync(path.dirname(dist), copy, { recursive: true, verbatimSymlinks: true })
    assert.equal(JSON.stringify(await sbomOf(copy), null, 2) + '\n', text, 'same files elsewhere, same bytes')

    const old = process.env.SOURCE_DATE_EPOCH
    process.env.SOURCE_DATE_EPOCH = '1700000000'
    try {
      const dated = await sbomOf(dist)
      assert.equal(dated.metadata.timestamp, '2023-11-14T22:13:20Z')
      assert.notEqual(dated.serialNumber, again.serialNumber, 'the serial follows the content')
      await assertValid(JSON.stringify(dated), 'dated')
    } finally {
      if (old === undefined) delete process.env.SOURCE_DATE_EPOCH
      else process.env.SOURCE_DATE_EPOCH = old
    }
    assert.equal((await sbomOf(dist, { sourceDateEpoch: 0 })).metadata.timestamp, '1970-01-01T00:00:00Z')

    fs.appendFileSync(path.join(dist, 'node_modules/a/index.js'), 'changed')
    const changed = await sbomOf(dist)
    assert.notEqual(changed.serialNumber, again.serialNumber)
    fs.writeFileSync(path.join(dist, 'node_modules/a/index.js'), 'a')
  })

  test('errors: missing folder, bad option, a bundled package.json that is not JSON', async () => {
    await assert.rejects(sbomOf(path.join(root, 'nope')), (e) => e.code === 'E_NOT_FOUND')
    await assert.rejects(sbomOf(dist, { sourceDateEpoch: -1 }), (e) => e.code === 'E_INVALID_OPTION')
    const bad = tangledPlugin(fresh('bad'))
    fs.writeFileSync(path.join(bad, 'node_modules/b/package.json'), '{ nope')
    await assert.rejects(sbomOf(bad), (e) => e.code === 'E_INVALID_MANIFEST' && e.message.includes(path.join('node_modules', 'b', 'package.json')))
    const dest = fresh('bad-out')
    fs.mkdirSync(dest)
    await assert.rejects(packDynamic(bad, { destination: dest, sbom: true }), (e) => e.code === 'E_INVALID_MANIFEST')
    assert.deepEqual(fs.readdirSync(dest), [], 'neither the tgz nor the SBOM is left')
  })
})

describe('SBOM of the shared backend fixture and of the examples backend plugin', () => {
  test('backend fixture (links, .bin, files fields, extraneous packages)', async () => {
    const dist = fixtures.backendDistDynamic(fresh('be'))
    const dest = fresh('out')
    fs.mkdirSync(dest)
    const r = await packDynamic(dist, { destination: dest, sbom: true })
    await checkAgainstTarball(fs.readFileSync(r.sbom, 'utf8'), r.path, 'backend fixture')
  })

  test('examples/ backend plugin through the CLI: dynpack pack --sbom', async () => {
    const ex = fresh('examples')
    execFileSync(process.execPath, [path.join(REPO, 'examples', 'make-examples.js'), ex])
    const dist = path.join(ex, 'plugins', 'todo-backend', 'dist-dynamic')
    const dest = fresh('out')
    const out = execFileSync(process.execPath, [BIN, 'pack', dist, '--sbom', '--pack-destination', dest, '--json'], { encoding: 'utf8' })
    const [r] = JSON.parse(out)
    const tgz = path.join(dest, r.filename)
    assert.equal(r.sbom, tgz + '.cdx.json')
    const bom = await checkAgainstTarball(fs.readFileSync(r.sbom, 'utf8'), tgz, 'examples backend')
    assert.ok(bom.components.length >= 3, 'the example bundles scoped and nested packages')
  })
})

describe('buildOciLayout({ sbom: true }): one referrer per plugin in the layout', () => {
  let out, result, dist, index
  const TAG = 'quay.io/example/tangle:v1'
  before(async () => {
    dist = tangledPlugin(fresh('tangle'))
    out = fresh('layout')
    result = await buildOciLayout(dist, { output: out, tag: TAG, sbom: true })
    index = JSON.parse(fs.readFileSync(path.join(out, 'index.json')))
  })
  const blob = (d) => fs.readFileSync(path.join(out, 'blobs', 'sha256', d.replace('sha256:', '')))

  test('the artifact manifest: empty config, the SBOM layer with a title, subject = the image', async () => {
    assert.equal(result.sboms.length, 1)
    const s = result.sboms[0]
    const manifestBytes = blob(s.manifestDigest)
    assert.equal('sha256:' + crypto.createHash('sha256').update(manifestBytes).digest('hex'), s.manifestDigest)
    const m = JSON.parse(manifestBytes)
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.equal(m.artifactType, 'application/vnd.cyclonedx+json')
    assert.deepEqual(m.config, { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 })
    assert.equal(blob(m.config.digest).toString(), '{}')
    assert.equal(m.layers.length, 1)
    assert.equal(m.layers[0].mediaType, 'application/vnd.cyclonedx+json')
    assert.equal(m.layers[0].annotations['org.opencontainers.image.title'], `${result.plugins[0].directory}.cdx.json`)
    assert.equal(m.subject.digest, result.manifestDigest)
    assert.equal(m.subject.size, blob(result.manifestDigest).length)
    const text = blob(m.layers[0].digest).toString()
    await assertValid(text, 'layout SBOM')
    assert.equal(text, JSON.stringify(await sbomOf(dist, { sourceDateEpoch: undefined }), null, 2) + '\n', 'the same SBOM as sbomOf')
  })

  test('index.json: the image under its tag, the referrer untagged with artifactType', () => {
    assert.equal(index.manifests.length, 2)
    const [image, ref] = index.manifests
    assert.equal(image.digest, result.manifestDigest)
    assert.equal(ref.digest, result.sboms[0].manifestDigest)
    assert.equal(ref.artifactType, 'application/vnd.cyclonedx+json')
    assert.equal(ref.annotations['org.opencontainers.image.ref.name'], undefined)
  })

  test('the image is unchanged by the SBOM; rebuilding twice gives the same bytes', async () => {
    const plain = await buildOciLayout(dist, { output: fresh('plain'), tag: TAG })
    assert.equal(plain.manifestDigest, result.manifestDigest)
    const again = fresh('again')
    const r2 = await buildOciLayout(dist, { output: again, tag: TAG, sbom: true })
    assert.deepEqual(r2.sboms, result.sboms)
    assert.deepEqual(fs.readFileSync(path.join(again, 'index.json')), fs.readFileSync(path.join(out, 'index.json')))
  })

  test('rebuilding the tag with other content drops the stale referrer', async () => {
    const layout = fresh('rebuild')
    const first = await buildOciLayout(dist, { output: layout, tag: TAG, sbom: true })
    fs.appendFileSync(path.join(dist, 'dist/index.js'), '// changed\n')
    try {
      const second = await buildOciLayout(dist, { output: layout, tag: TAG, sbom: true })
      const digests = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'))).manifests.map((d) => d.digest)
      assert.deepEqual(digests, [second.manifestDigest, second.sboms[0].manifestDigest])
      assert.notEqual(first.sboms[0].manifestDigest, second.sboms[0].manifestDigest)
      // another tag keeps its referrer
      const other = await buildOciLayout(dist, { output: layout, tag: 'quay.io/example/tangle:other', sbom: true })
      const after = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'))).manifests.map((d) => d.digest)
      assert.ok(after.includes(other.sboms[0].manifestDigest) && after.includes(second.sboms[0].manifestDigest))
    } finally {
      fs.writeFileSync(path.join(dist, 'dist/index.js'), 'module.exports = 1\n')
    }
  })

  test('an oci-archive holds the same referrer', async () => {
    const file = fresh('image') + '.tar'
    const a = await buildOciLayout(dist, { output: file, tag: TAG, sbom: true, archive: true })
    assert.deepEqual(a.sboms, result.sboms)
    assert.equal(a.manifestDigest, result.manifestDigest)
  })

  test('skopeo, umoci and oci-image-tool still read the tagged image', (t) => {
    if (!needTools(t, 'skopeo', 'umoci', 'oci-image-tool')) return
    assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${out}:v1`])).Digest, result.manifestDigest)
    run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v1', out])
    const bundle = fresh('bundle')
    run('umoci', ['unpack', '--rootless', '--image', `${out}:v1`, bundle])
    const files = treeFiles(path.join(bundle, 'rootfs', result.plugins[0].directory))
    assert.ok(files['package.json'], 'umoci unpacked the plugin')
    // skopeo copies the whole layout, referrer included, to another layout
    const copy = fresh('copy')
    run('skopeo', ['--insecure-policy', 'copy', `oci:${out}:v1`, `oci:${copy}:v1`])
    assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${copy}:v1`])).Digest, result.manifestDigest)
  })

  test('dynpack package --sbom reports the referrer', async () => {
    const layout = fresh('cli-layout')
    // run outside any git checkout, so that no revision label is added
    const cwd = fresh('cli-cwd')
    fs.mkdirSync(cwd)
    const outText = execFileSync(process.execPath, [BIN, 'package', dist, '--tag', TAG, '--output', layout, '--sbom', '--json'], { encoding: 'utf8', cwd })
    const report = JSON.parse(outText)
    const plugins = report.plugins ?? report
    const p = Array.isArray(plugins) ? plugins[0] : plugins
    // `package` adds the source digest annotation (io.dynpack.source.digest); with it, the API builds the same image
    const [image] = report.images
    assert.match(image.sourceDigest, /^sha256:[0-9a-f]{64}$/)
    const same = await buildOciLayout(dist, { output: fresh('api-annotated'), tag: TAG, sbom: true, annotations: { 'io.dynpack.source.digest': image.sourceDigest } })
    assert.equal(image.manifestDigest, same.manifestDigest)
    assert.equal(p.sbom.referrer, same.sboms[0].manifestDigest)
  })
})
