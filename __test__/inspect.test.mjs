// inspectOciImage / `dynpack inspect`: images built by dynpack (layout and
// archive, also after a round trip through skopeo), images built by hand the
// way podman/rhdh-cli builds them, and one image per broken rule.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'
import { needTools, run, rhdhExtract } from './helpers/oci.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { buildOciLayout, inspectOciImage } = require('../lib/api.js')
const ANNOTATION = 'io.backstage.dynamic-packages'

let root
before(() => { root = tempDir('dynpack-inspect-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const fresh = (name) => path.join(root, `${name}-${++counter}`)

const sha256 = (buf) => 'sha256:' + crypto.createHash('sha256').update(buf).digest('hex')

function dynpack (args, cwd = root) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** A dist-dynamic folder named `name` with `files` ({ rel: Buffer|string }). */
function plugin (name, files = {}) {
  const dir = fresh(name.replace(/[@/]/g, '_'))
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', backstage: { role: 'backend-plugin' } }))
  fs.writeFileSync(path.join(dir, 'dist', 'index.js'), 'module.exports = {}\n')
  for (const [rel, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, rel), data)
  return dir
}

const status = (report, rule) => report.checks.find((c) => c.rule === rule).status
const failed = (report) => report.checks.filter((c) => c.status === 'error').map((c) => c.rule)

// ---------------------------------------------------------------------------
// A hand-made image, shaped as podman builds rhdh-cli's FROM scratch image.

/** One ustar header + data (names under 100 bytes). */
function tarEntry ({ name, type = '0', data = Buffer.alloc(0), link = '' }) {
  const h = Buffer.alloc(512)
  const put = (s, off, len) => h.write(s, off, len, 'utf8')
  const num = (n, off, len) => put(n.toString(8).padStart(len - 1, '0') + '\0', off, len)
  put(name, 0, 100)
  num(type === '5' ? 0o755 : 0o644, 100, 8)
  num(0, 108, 8); num(0, 116, 8)
  num(type === '0' ? data.length : 0, 124, 12)
  num(0, 136, 12)
  h.write('        ', 148, 8)
  put(type, 156, 1)
  put(link, 157, 100)
  put('ustar\0', 257, 6); put('00', 263, 2)
  let sum = 0
  for (const b of h) sum += b
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
  const body = type === '0' ? data : Buffer.alloc(0)
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512)])
}

/**
 * Writes an OCI layout holding one image: `entries` in one layer, the
 * annotation of `plugins` on the manifest (unless `annotation: false`),
 * Docker v2s2 media types and an uncompressed layer with `podman: true`.
 */
function handMadeImage ({ entries, plugins, annotation = true, podman = false, gzip = !podman, tag = '1.0.0' }) {
  const dir = fresh('hand')
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const blob = (buf) => { const d = sha256(buf); fs.writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), buf); return d }
  const metadata = plugins.map((p) => ({ [p]: { name: `@x/${p}-dynamic`, version: '1.0.0' } }))
  const tar = Buffer.concat([
    ...[...entries, { name: 'index.json', data: Buffer.from(JSON.stringify(metadata, null, 2)) }].map(tarEntry),
    Buffer.alloc(1024),
  ])
  const layer = gzip ? zlib.gzipSync(tar) : tar
  const config = Buffer.from(JSON.stringify({
    created: '1970-01-01T00:00:00Z', architecture: 'amd64', os: 'linux',
    config: { Labels: { 'io.buildah.version': '1.28.2' } },
    rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) COPY dir:x in . ' }],
  }))
  const types = podman
    ? ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.container.image.v1+json', 'application/vnd.docker.image.rootfs.diff.tar.gzip']
    : ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json', 'application/vnd.oci.image.layer.v1.tar+gzip']
  if (!gzip) types[2] = podman ? 'application/vnd.docker.image.rootfs.diff.tar' : 'application/vnd.oci.image.layer.v1.tar'
  const manifest = { schemaVersion: 2, mediaType: types[0], config: { mediaType: types[1], digest: blob(config), size: config.length }, layers: [{ mediaType: types[2], digest: blob(layer), size: layer.length }] }
  if (annotation) {
    manifest.annotations = {
      [ANNOTATION]: Buffer.from(JSON.stringify(metadata)).toString('base64'),
      'org.opencontainers.image.base.digest': '',
      'org.opencontainers.image.base.name': '',
    }
  }
  const m = Buffer.from(JSON.stringify(manifest))
  const index = { schemaVersion: 2, manifests: [{ mediaType: types[0], digest: blob(m), size: m.length, annotations: { 'org.opencontainers.image.ref.name': tag } }] }
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index))
  return dir
}

const file = (name, data = 'x') => ({ name, data: Buffer.isBuffer(data) ? data : Buffer.from(data) })
const pluginFiles = (dir) => [{ name: `${dir}/`, type: '5' }, file(`${dir}/package.json`, JSON.stringify({ name: `@x/${dir}-dynamic`, version: '1.0.0' })), file(`${dir}/dist/index.js`, 'module.exports = 1\n')]

// ---------------------------------------------------------------------------

describe('images built by dynpack', () => {
  let layout, archive, built
  before(async () => {
    const a = plugin('@acme/plugin-a-dynamic')
    const b = plugin('@acme/plugin-b-backend-dynamic', { 'dist/big.js': 'y'.repeat(3000) })
    layout = fresh('layout')
    archive = fresh('image') + '.tar'
    built = await buildOciLayout([a, b], { output: layout, tag: 'quay.io/acme/plugins:1.0.0' })
    await buildOciLayout([a, b], { output: archive, tag: 'quay.io/acme/plugins:1.0.0', archive: true })
  })

  test('a layout passes every check and lists the plugins', async () => {
    const r = await inspectOciImage(layout)
    assert.equal(r.ok, true)
    assert.deepEqual(r.checks.map((c) => [c.rule, c.status]), [
      ['reference', 'pass'], ['platform', 'pass'], ['annotation', 'pass'], ['annotation-format', 'pass'],
      ['root-index', 'pass'], ['layer-format', 'pass'], ['plugins-in-first-layer', 'pass'], ['entry-names', 'pass'],
      ['entry-size', 'pass'], ['links', 'pass'], ['special-files', 'pass'], ['prefix-directories', 'pass'],
      ['signature', 'skipped'],
    ])
    assert.equal(r.signature, undefined)
    assert.deepEqual(r.referrers, [])
    assert.equal(r.manifestDigest, built.manifestDigest)
    assert.equal(r.imageName, 'quay.io/acme/plugins:1.0.0')
    assert.deepEqual(r.plugins.map((p) => [p.directory, p.name, p.version, p.files]), [
      ['acme-plugin-a', '@acme/plugin-a-dynamic', '1.0.0', 2],
      ['acme-plugin-b-backend', '@acme/plugin-b-backend-dynamic', '1.0.0', 3],
    ])
    assert.deepEqual(r.plugins[1].largestFile, { path: 'acme-plugin-b-backend/dist/big.js', size: 3000 })
  })

  test('an archive, oci:/oci-archive: forms and the CLI agree', async () => {
    for (const ref of [archive, `oci-archive:${archive}:1.0.0`, `oci:${layout}:1.0.0`]) {
      const r = await inspectOciImage(ref)
      assert.equal(r.ok, true, ref)
      assert.equal(r.manifestDigest, built.manifestDigest, ref)
    }
    const cli = dynpack(['inspect', path.relative(root, layout), '--json'])
    assert.equal(cli.status, 0, cli.stderr)
    const json = JSON.parse(cli.stdout)
    assert.deepEqual(Object.keys(json), ['ok', 'source', 'location', 'reference', 'imageName', 'mediaType', 'digest',
      'manifestDigest', 'platform', 'layerCount', 'layer', 'plugins', 'checks', 'signature', 'referrers'])
    assert.equal(json.plugins.length, 2)
    const text = dynpack(['inspect', archive])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /acme-plugin-b-backend\s+@acme\/plugin-b-backend-dynamic\s+1\.0\.0\s+3\s/)
    assert.match(text.stdout, /pass\s+entry-size/)
  })

  test('skopeo copies (archive, and a layout skopeo writes) still pass', async (t) => {
    if (!needTools(t, 'skopeo')) return
    const copy = fresh('skopeo') + '.tar'
    run('skopeo', ['copy', '-q', `oci:${layout}:1.0.0`, `oci-archive:${copy}:v2`])
    const r = await inspectOciImage(copy)
    assert.equal(r.ok, true)
    assert.equal(r.reference, 'v2')
    assert.equal(r.manifestDigest, built.manifestDigest)
  })

  test('a layout with several images needs --ref', async () => {
    const a = plugin('@acme/plugin-c-dynamic')
    await buildOciLayout(a, { output: layout, tag: 'quay.io/acme/c:2.0.0' })
    await assert.rejects(inspectOciImage(layout), { code: 'E_IMAGE_NOT_FOUND', message: /--ref/ })
    const r = await inspectOciImage(layout, { refName: '2.0.0' })
    assert.deepEqual(r.plugins.map((p) => p.directory), ['acme-plugin-c'])
    const cli = dynpack(['inspect', layout, '--ref', '1.0.0', '-q'])
    assert.equal(cli.status, 0, cli.stderr)
  })
})

describe('images that break a rule', () => {
  test('a 41 MB file fails entry-size, a 21 MB one warns', async () => {
    const zeros = (n) => Buffer.alloc(n)
    for (const [size, want, exit] of [[41_000_000, 'error', 1], [21_000_000, 'warning', 0]]) {
      const out = fresh('big')
      await buildOciLayout(plugin('@acme/big-dynamic', { 'dist/blob.bin': zeros(size) }), { output: out, tag: 'quay.io/acme/big:1.0.0', compressionLevel: 1 })
      const r = await inspectOciImage(out)
      assert.equal(status(r, 'entry-size'), want)
      assert.deepEqual(r.plugins[0].largestFile, { path: 'acme-big/dist/blob.bin', size })
      const cli = dynpack(['inspect', out])
      assert.equal(cli.status, exit)
      if (exit) assert.match(cli.stderr, /^dynpack: E_IMAGE_CHECK: .* fails the rule entry-size \(acme-big\/dist\/blob\.bin is 41000000 bytes/m)
    }
  })

  test('a missing annotation fails, and the plugins are still listed', async () => {
    const r = await inspectOciImage(handMadeImage({ entries: pluginFiles('plugin-a'), plugins: ['plugin-a'], annotation: false }))
    assert.deepEqual(failed(r), ['annotation'])
    assert.equal(status(r, 'annotation-format'), 'skipped')
    assert.deepEqual(r.plugins.map((p) => [p.directory, p.name]), [['plugin-a', '@x/plugin-a-dynamic']])
  })

  test('a prefix pair fails, or warns with --allow-prefix-dirs', async () => {
    const out = fresh('prefix')
    await buildOciLayout([plugin('@acme/plugin-x-dynamic'), plugin('@acme/plugin-x-backend-dynamic')],
      { output: out, tag: 'quay.io/acme/x:1.0.0', allowPrefixDirectories: true })
    const r = await inspectOciImage(out)
    assert.deepEqual(failed(r), ['prefix-directories'])
    const cli = dynpack(['inspect', out, '--allow-prefix-dirs', '-q'])
    assert.equal(cli.status, 0, cli.stderr)
  })

  test('links, special files and ./ names are named', async () => {
    const cases = [
      ['links', [...pluginFiles('plugin-a'), { name: 'plugin-a/escape', type: '2', link: '../../etc/passwd' }], 'error'],
      ['links', [...pluginFiles('plugin-a'), { name: 'plugin-a/node_modules/.bin/x', type: '2', link: '../../dist/index.js' }], 'warning'],
      ['links', [...pluginFiles('plugin-a'), { name: 'plugin-a/hard', type: '1', link: 'other/file' }], 'error'],
      ['special-files', [...pluginFiles('plugin-a'), { name: 'plugin-a/fifo', type: '6' }], 'error'],
      ['entry-names', pluginFiles('plugin-a').map((e) => ({ ...e, name: './' + e.name })), 'error'],
    ]
    for (const [rule, entries, want] of cases) {
      const r = await inspectOciImage(handMadeImage({ entries, plugins: ['plugin-a'] }))
      assert.equal(status(r, rule), want, `${rule}: ${JSON.stringify(r.checks)}`)
      assert.deepEqual(failed(r), want === 'error' ? [rule] : [])
    }
  })

  test("RHDH's own extraction agrees with the verdicts", async (t) => {
    if (!needTools(t, 'python3')) return
    const layerOf = (dir, r) => path.join(dir, 'blobs', 'sha256', r.layer.digest.slice(7))
    const extract = (dir, r, limit = 40_000_000) => {
      const dest = fresh('extract')
      fs.mkdirSync(dest)
      try {
        return { kept: rhdhExtract(layerOf(dir, r), 'plugin-a', dest, limit) }
      } catch (e) {
        return { error: e.message }
      }
    }
    const good = handMadeImage({ entries: pluginFiles('plugin-a'), plugins: ['plugin-a'] })
    const rGood = await inspectOciImage(good)
    assert.equal(rGood.ok, true)
    assert.ok(extract(good, rGood).kept.includes('plugin-a/dist/index.js'))
    // ./ names: inspect fails entry-names, the installer keeps nothing
    const dot = handMadeImage({ entries: pluginFiles('plugin-a').map((e) => ({ ...e, name: './' + e.name })), plugins: ['plugin-a'] })
    const rDot = await inspectOciImage(dot)
    assert.deepEqual(failed(rDot), ['entry-names'])
    assert.deepEqual(extract(dot, rDot).kept, [])
    // a FIFO: inspect fails special-files, the installer's data filter refuses it
    const fifo = handMadeImage({ entries: [...pluginFiles('plugin-a'), { name: 'plugin-a/fifo', type: '6' }], plugins: ['plugin-a'] })
    const rFifo = await inspectOciImage(fifo)
    assert.deepEqual(failed(rFifo), ['special-files'])
    assert.ok(extract(fifo, rFifo).error, 'the installer refuses the FIFO')
    // links: every one skipped by the installer, as inspect warns
    const link = handMadeImage({ entries: [...pluginFiles('plugin-a'), { name: 'plugin-a/l', type: '2', link: 'dist/index.js' }], plugins: ['plugin-a'] })
    const rLink = await inspectOciImage(link)
    assert.equal(status(rLink, 'links'), 'warning')
    assert.ok(!extract(link, rLink).kept.includes('plugin-a/l'))
    // 21 MB: refused under RHDH 1.9's limit (a warning), kept under 1.10's
    const big = handMadeImage({ entries: [...pluginFiles('plugin-a'), file('plugin-a/big.bin', Buffer.alloc(21_000_000))], plugins: ['plugin-a'] })
    const rBig = await inspectOciImage(big)
    assert.equal(status(rBig, 'entry-size'), 'warning')
    assert.match(extract(big, rBig, 20_000_000).error, /Zip bomb/)
    assert.ok(extract(big, rBig).kept.includes('plugin-a/big.bin'))
  })

  test('an index without linux/amd64 fails platform', async () => {
    const dir = handMadeImage({ entries: pluginFiles('plugin-a'), plugins: ['plugin-a'] })
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'))
    const inner = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...index.manifests[0], platform: { os: 'linux', architecture: 'arm64' } }] }
    delete inner.manifests[0].annotations
    inner.annotations = { [ANNOTATION]: Buffer.from(JSON.stringify([{ 'plugin-a': {} }])).toString('base64') }
    const bytes = Buffer.from(JSON.stringify(inner))
    fs.writeFileSync(path.join(dir, 'blobs', 'sha256', sha256(bytes).slice(7)), bytes)
    index.manifests = [{ mediaType: inner.mediaType, digest: sha256(bytes), size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }]
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index))
    const r = await inspectOciImage(dir)
    assert.deepEqual(failed(r), ['platform'])
    assert.equal(r.mediaType, 'application/vnd.oci.image.index.v1+json')
  })

  test('a blob that does not match its digest is E_BAD_IMAGE', async () => {
    const dir = handMadeImage({ entries: pluginFiles('plugin-a'), plugins: ['plugin-a'] })
    const blobs = path.join(dir, 'blobs', 'sha256')
    const largest = fs.readdirSync(blobs).map((f) => path.join(blobs, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]
    const bytes = fs.readFileSync(largest)
    bytes[bytes.length - 1] ^= 1
    fs.writeFileSync(largest, bytes)
    await assert.rejects(inspectOciImage(dir), { code: 'E_BAD_IMAGE' })
    const cli = dynpack(['inspect', dir])
    assert.equal(cli.status, 1)
    assert.match(cli.stderr, /^dynpack: E_BAD_IMAGE: /m)
  })
})

describe('podman / rhdh-cli style images', () => {
  test('Docker v2s2 media types and an uncompressed layer pass (layer-format warns)', async () => {
    const dir = handMadeImage({ entries: [...pluginFiles('acme-plugin-a'), ...pluginFiles('acme-plugin-b')], plugins: ['acme-plugin-a', 'acme-plugin-b'], podman: true })
    const r = await inspectOciImage(dir)
    assert.equal(r.ok, true, JSON.stringify(r.checks))
    assert.equal(status(r, 'layer-format'), 'warning')
    assert.equal(r.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
    assert.equal(r.layer.compression, 'none')
    assert.deepEqual(r.plugins.map((p) => p.directory), ['acme-plugin-a', 'acme-plugin-b'])
  })

  test('`podman push oci:` output (OCI types, uncompressed layer) passes, also as skopeo copies it', async (t) => {
    const dir = handMadeImage({ entries: pluginFiles('acme-plugin-a'), plugins: ['acme-plugin-a'], gzip: false })
    const r = await inspectOciImage(dir)
    assert.equal(r.ok, true, JSON.stringify(r.checks))
    assert.equal(status(r, 'layer-format'), 'warning')
    if (!needTools(t, 'skopeo')) return
    run('skopeo', ['inspect', `oci:${dir}:1.0.0`])
    const copy = fresh('podman') + '.tar'
    run('skopeo', ['copy', '-q', '--preserve-digests', `oci:${dir}:1.0.0`, `oci-archive:${copy}`])
    const again = await inspectOciImage(copy)
    assert.equal(again.ok, true)
    assert.equal(again.manifestDigest, r.manifestDigest)
  })

  test('the gzip OCI form buildah pushes passes without warnings', async () => {
    const r = await inspectOciImage(handMadeImage({ entries: pluginFiles('acme-plugin-a'), plugins: ['acme-plugin-a'] }))
    assert.deepEqual(r.checks.filter((c) => c.status !== 'pass').map((c) => c.rule), ['signature'])
    assert.equal(r.checks.find((c) => c.rule === 'signature').status, 'skipped')
  })
})

describe('arguments', () => {
  test('remote references go to the registry; bad input is refused', async () => {
    await assert.rejects(inspectOciImage('oci://127.0.0.1:1/acme/x:1.0.0!acme-x', { tlsVerify: false }), { code: 'E_REGISTRY_UNREACHABLE' })
    await assert.rejects(inspectOciImage('quay.io/acme/x'), { code: 'E_INVALID_TAG' })
    await assert.rejects(inspectOciImage(path.join(root, 'nope')), { code: 'E_NOT_FOUND' })
    await assert.rejects(inspectOciImage(''), { code: 'E_INVALID_OPTION' })
    await assert.rejects(inspectOciImage(root), { code: 'E_BAD_IMAGE', message: /no oci-layout/ })
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(inspectOciImage(root, { signal: ac.signal }), { code: 'E_ABORTED' })
    assert.equal(dynpack(['inspect']).status, 2)
    // aborted while the native task runs: the Rust side sees the token
    const layout = fresh('abort')
    const many = plugin('@acme/abort-dynamic')
    for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(many, 'dist', `f${i}.js`), crypto.randomBytes(8192))
    await buildOciLayout(many, { output: layout, tag: 'quay.io/acme/abort:1.0.0', compressionLevel: 1 })
    const running = new AbortController()
    const p = inspectOciImage(layout, { signal: running.signal })
    running.abort()
    await assert.rejects(p, { code: 'E_ABORTED', name: 'AbortError' })
  })
})

describe('one image per plugin (package --tag template)', () => {
  const { expandTemplate, isTemplate } = require('../lib/tag-template.js')

  /** A monorepo with the usual plugin-todo + plugin-todo-backend pair. */
  function pairMonorepo () {
    const dir = fresh('pair')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'root', private: true, workspaces: ['plugins/*'] }))
    for (const [folder, role] of [['todo', 'frontend-plugin'], ['todo-backend', 'backend-plugin']]) {
      const name = `@acme/plugin-${folder}`
      const src = path.join(dir, 'plugins', folder)
      fs.mkdirSync(path.join(src, 'dist-dynamic', 'dist'), { recursive: true })
      fs.writeFileSync(path.join(src, 'package.json'), JSON.stringify({ name, version: '2.1.0', backstage: { role } }))
      fs.writeFileSync(path.join(src, 'dist-dynamic', 'package.json'), JSON.stringify({ name: `${name}-dynamic`, version: '2.1.0', backstage: { role } }))
      fs.writeFileSync(path.join(src, 'dist-dynamic', 'dist', 'index.js'), `// ${folder}\n`)
    }
    return dir
  }

  test('the template rule', () => {
    const p = { directory: 'acme-plugin-todo-backend', name: '@acme/plugin-todo-backend-dynamic', version: '1.2.0' }
    assert.equal(expandTemplate('quay.io/acme/{dir}:{version}', p), 'quay.io/acme/acme-plugin-todo-backend:1.2.0')
    assert.equal(expandTemplate('ghcr.io/{scope}/{name}:v{version}', p), 'ghcr.io/acme/plugin-todo-backend:v1.2.0')
    assert.equal(expandTemplate('r.io/x/{name}:{version}', { directory: 'plain', name: 'plain-dynamic', version: '1' }), 'r.io/x/plain:1')
    assert.equal(isTemplate('quay.io/acme/plugins:1.0.0'), false)
    assert.throws(() => isTemplate('quay.io/{org}/x:1'), { code: 'E_INVALID_TAG' })
  })

  test('the plugin-x + plugin-x-backend pair: refused in one image, one image each with a template', async (t) => {
    const repo = pairMonorepo()
    const one = dynpack(['package', '--tag', 'quay.io/acme/todo:2.1.0', '-q'], repo)
    assert.equal(one.status, 1)
    assert.match(one.stderr, /E_PLUGIN_CONFLICT/)

    const r = dynpack(['package', '--tag', 'quay.io/acme/{dir}:{version}', '--json'], repo)
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.image, null)
    assert.deepEqual(report.images.map((i) => [i.tag, path.relative(repo, i.output), i.refName, i.plugins]), [
      ['quay.io/acme/acme-plugin-todo:2.1.0', path.join('dist-oci', 'acme-plugin-todo'), '2.1.0', ['acme-plugin-todo']],
      ['quay.io/acme/acme-plugin-todo-backend:2.1.0', path.join('dist-oci', 'acme-plugin-todo-backend'), '2.1.0', ['acme-plugin-todo-backend']],
    ])
    assert.deepEqual(report.plugins.map((p) => p.package), [
      'oci://quay.io/acme/acme-plugin-todo:2.1.0!acme-plugin-todo',
      'oci://quay.io/acme/acme-plugin-todo-backend:2.1.0!acme-plugin-todo-backend',
    ])
    for (const i of report.images) {
      const ins = await inspectOciImage(i.output)
      assert.equal(ins.ok, true, JSON.stringify(ins.checks))
      assert.equal(ins.manifestDigest, i.manifestDigest)
      assert.deepEqual(ins.plugins.map((p) => p.directory), i.plugins)
    }
    if (!needTools(t, 'skopeo', 'umoci')) return
    for (const i of report.images) {
      assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${i.output}:${i.refName}`])).Digest, i.manifestDigest)
      const bundle = fresh('bundle')
      run('umoci', ['unpack', '--rootless', '--image', `${i.output}:${i.refName}`, bundle])
      assert.ok(fs.existsSync(path.join(bundle, 'rootfs', i.plugins[0], 'dist', 'index.js')))
    }
  })

  test('templates with --archive and on the examples monorepo', async () => {
    const { makeExamples } = require('../examples/make-examples.js')
    const ex = fresh('examples')
    makeExamples(ex)
    const bad = dynpack(['package', '--tag', 'quay.io/acme/{dir}:{version}', '--archive', 'one.tar'], ex)
    assert.equal(bad.status, 2)
    const r = dynpack(['package', '--tag', 'quay.io/acme/{name}:{version}', '--archive', 'out/{dir}.tar', '--json'], ex)
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.deepEqual(report.images.map((i) => [i.tag, path.relative(ex, i.output)]), [
      ['quay.io/acme/plugin-todo-backend:1.2.0', path.join('out', 'acme-plugin-todo-backend.tar')],
      ['quay.io/acme/plugin-todo-frontend:1.2.0', path.join('out', 'acme-plugin-todo-frontend.tar')],
    ])
    for (const i of report.images) assert.equal((await inspectOciImage(i.output)).ok, true)
    // A template without {dir}/{name} groups plugins that share the expanded tag.
    const g = dynpack(['package', '--tag', 'quay.io/{scope}/plugins:{version}', '--output', 'grouped', '--json'], ex)
    assert.equal(g.status, 0, g.stderr)
    const grouped = JSON.parse(g.stdout)
    assert.equal(grouped.images.length, 1)
    assert.deepEqual(grouped.images[0].plugins, ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
  })
})
