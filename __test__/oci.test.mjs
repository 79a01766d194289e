// buildOciLayout against the real tools: oci-image-tool, umoci, skopeo, a local
// docker-registry, podman (where it works) and RHDH's installer extraction.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'
import { tempDir, writeTree, codeLike } from './helpers/tree.mjs'
import { fixtures } from './helpers/fixtures.mjs'
import { needTools, which, run, readTar, tgzFiles, treeFiles, rhdhExtract, REGISTRY_BIN } from './helpers/oci.mjs'
import { startDockerRegistry as startRegistry } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const { buildOciLayout, packDynamic } = require('../lib/api.js')

const TAG = 'quay.io/example/image:v0.0.1'
const BACKEND_DIR = 'backstage-community-plugin-todo-backend'
const FRONTEND_DIR = 'backstage-community-plugin-notes'
const METADATA_KEYS = ['name', 'version', 'description', 'backstage', 'homepage', 'repository', 'license',
  'maintainers', 'author', 'bugs', 'keywords']

let root
before(() => { root = tempDir('dynpack-oci-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))

let counter = 0
const fresh = (name) => path.join(root, `${name}-${++counter}`)

/**
 * Two plugins: the shared backend fixture (bundled node_modules with .bin links,
 * yarn.lock, hard links, symlinks, long and non-ASCII names) as a dist-dynamic
 * folder, and a frontend passed as its source folder (which holds dist-dynamic/).
 */
function makePlugins (base) {
  const backend = fixtures.backendDistDynamic(path.join(base, 'be'))
  const frontendDist = fixtures.frontendDistDynamic(path.join(base, 'fe'))
  const pj = path.join(frontendDist, 'package.json')
  const manifest = JSON.parse(fs.readFileSync(pj, 'utf8'))
  manifest.name = '@backstage-community/plugin-notes-dynamic'
  Object.assign(manifest, {
    homepage: 'https://example.com', license: 'Apache-2.0', keywords: ['notes'],
    author: { name: 'A' }, bugs: 'https://example.com/issues', repository: { type: 'git', url: 'x' },
  })
  fs.writeFileSync(pj, JSON.stringify(manifest, null, 2))
  fs.writeFileSync(path.join(path.dirname(frontendDist), 'package.json'), JSON.stringify({ name: '@backstage-community/plugin-notes', version: '0.4.0' }))
  return { backend, frontendSource: path.dirname(frontendDist), frontendDist }
}

function readJson (file) { return JSON.parse(fs.readFileSync(file, 'utf8')) }
function blob (layout, digest) { return path.join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')) }
const sha256 = (buf) => 'sha256:' + crypto.createHash('sha256').update(buf).digest('hex')

/** The expected metadata array, from the dist-dynamic package.json files. */
function expectedMetadata (pairs) {
  return pairs.map(([dir, dist]) => {
    const pj = readJson(path.join(dist, 'package.json'))
    const md = {}
    for (const k of METADATA_KEYS) if (pj[k] !== undefined) md[k] = pj[k]
    return { [dir]: md }
  })
}

async function packedFiles (dist) {
  const dest = fresh('tgz')
  fs.mkdirSync(dest)
  const r = await packDynamic(dist, { destination: dest })
  return tgzFiles(r.path)
}

function assertSameFiles (actual, expected, what) {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: file list`)
  for (const [rel, f] of Object.entries(expected)) {
    assert.ok(actual[rel].data.equals(f.data), `${what}: content of ${rel}`)
    assert.equal(actual[rel].exec, f.exec, `${what}: exec bit of ${rel}`)
  }
}

describe('a two-plugin image as a layout folder', () => {
  let plugins, out, result
  before(async () => {
    plugins = makePlugins(fresh('src'))
    out = fresh('layout')
    result = await buildOciLayout([plugins.backend, plugins.frontendSource], { output: out, tag: TAG })
  })

  test('resolves to the digests and the dynamic-plugins.yaml references', () => {
    assert.equal(result.output, out)
    assert.equal(result.refName, 'v0.0.1')
    for (const k of ['manifestDigest', 'configDigest', 'layerDigest', 'diffId']) {
      assert.match(result[k], /^sha256:[0-9a-f]{64}$/, k)
    }
    assert.equal(result.layerSize, fs.statSync(blob(out, result.layerDigest)).size)
    assert.deepEqual(result.warnings, [])
    assert.deepEqual(result.plugins, [
      {
        directory: BACKEND_DIR,
        name: '@backstage-community/plugin-todo-backend-dynamic',
        version: '1.2.3-rc.1',
        reference: `oci://${TAG}!${BACKEND_DIR}`,
        digestReference: `oci://quay.io/example/image@${result.manifestDigest}!${BACKEND_DIR}`,
      },
      {
        directory: FRONTEND_DIR,
        name: '@backstage-community/plugin-notes-dynamic',
        version: '0.4.0',
        reference: `oci://${TAG}!${FRONTEND_DIR}`,
        digestReference: `oci://quay.io/example/image@${result.manifestDigest}!${FRONTEND_DIR}`,
      },
    ])
  })

  test('the layout files, manifest and config are what RHDH and the spec expect', () => {
    assert.deepEqual(readJson(path.join(out, 'oci-layout')), { imageLayoutVersion: '1.0.0' })
    const index = readJson(path.join(out, 'index.json'))
    assert.equal(index.manifests.length, 1)
    const d = index.manifests[0]
    assert.equal(d.digest, result.manifestDigest)
    assert.equal(d.annotations['org.opencontainers.image.ref.name'], 'v0.0.1')
    assert.deepEqual(d.platform, { architecture: 'amd64', os: 'linux' })

    const manifestBytes = fs.readFileSync(blob(out, result.manifestDigest))
    assert.equal(sha256(manifestBytes), result.manifestDigest)
    assert.equal(d.size, manifestBytes.length)
    const manifest = JSON.parse(manifestBytes)
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.equal(manifest.layers.length, 1)
    assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip')
    assert.equal(manifest.layers[0].digest, result.layerDigest)
    assert.equal(manifest.config.digest, result.configDigest)

    const expected = expectedMetadata([[BACKEND_DIR, plugins.backend], [FRONTEND_DIR, plugins.frontendDist]])
    const annotation = manifest.annotations['io.backstage.dynamic-packages']
    assert.equal(annotation, Buffer.from(JSON.stringify(expected)).toString('base64'), 'base64 of the compact JSON')
    assert.equal(manifest.annotations['org.opencontainers.image.created'], '1970-01-01T00:00:00Z')

    const config = readJson(blob(out, result.configDigest))
    assert.equal(config.architecture, 'amd64')
    assert.equal(config.os, 'linux')
    assert.equal(config.created, '1970-01-01T00:00:00Z')
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [result.diffId] })
    assert.equal(config.history.length, 1)
    assert.equal(config.config.Labels['io.backstage.dynamic-packages'], annotation)
  })

  test('the layer: plugin folders and index.json only, regular files, root-owned, sorted', () => {
    const gz = fs.readFileSync(blob(out, result.layerDigest))
    assert.equal(sha256(gz), result.layerDigest)
    const tar = zlib.gunzipSync(gz)
    assert.equal(sha256(tar), result.diffId)
    const entries = readTar(tar)
    const names = entries.map((e) => e.path)
    assert.deepEqual(names, [...new Set(names)], 'no duplicate paths')
    for (const e of entries) {
      assert.ok(e.type === '0' || e.type === '5', `${e.path}: type ${e.type}`)
      assert.ok(!e.path.startsWith('./') && !e.path.startsWith('/'), e.path)
      assert.ok(e.path === 'index.json' || e.path.startsWith(`${BACKEND_DIR}/`) || e.path.startsWith(`${FRONTEND_DIR}/`), e.path)
      assert.equal(e.uid, 0)
      assert.equal(e.gid, 0)
      assert.equal(e.mtime, 0)
      assert.ok(e.mode === 0o644 || e.mode === 0o755, `${e.path}: mode ${e.mode.toString(8)}`)
    }
    // every folder comes before what it contains
    const seen = new Set()
    for (const e of entries) {
      const parent = path.posix.dirname(e.path.replace(/\/$/, ''))
      if (parent !== '.') assert.ok(seen.has(parent), `${e.path} before its folder`)
      if (e.type === '5') seen.add(e.path.replace(/\/$/, ''))
    }
    assert.ok(!names.some((n) => n.includes('node_modules/.bin')), 'no .bin links')
    assert.ok(!names.some((n) => n.endsWith('yarn.lock') || n.endsWith('package-lock.json')), 'no lock files')
    const index = entries.find((e) => e.path === 'index.json')
    const expected = expectedMetadata([[BACKEND_DIR, plugins.backend], [FRONTEND_DIR, plugins.frontendDist]])
    assert.equal(index.data.toString(), JSON.stringify(expected, undefined, 2), "the packagers' index.json")
  })

  test('each plugin folder in the layer holds exactly its packDynamic files', async () => {
    const entries = readTar(zlib.gunzipSync(fs.readFileSync(blob(out, result.layerDigest))))
    for (const [dir, dist] of [[BACKEND_DIR, plugins.backend], [FRONTEND_DIR, plugins.frontendDist]]) {
      const inLayer = {}
      for (const e of entries) {
        if (e.type === '0' && e.path.startsWith(`${dir}/`)) {
          inLayer[e.path.slice(dir.length + 1)] = { data: e.data, exec: (e.mode & 0o100) !== 0 }
        }
      }
      assertSameFiles(inLayer, await packedFiles(dist), dir)
    }
  })

  test('oci-image-tool validates it', (t) => {
    if (!needTools(t, 'oci-image-tool')) return
    const outText = run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v0.0.1', out])
    assert.match(outText, /Validation succeeded/)
  })

  test('umoci unpacks it (diff_id, sizes, media types) into the packDynamic trees', async (t) => {
    if (!needTools(t, 'umoci')) return
    const bundle = fresh('bundle')
    run('umoci', ['unpack', '--rootless', '--image', `${out}:v0.0.1`, bundle])
    const rootfs = path.join(bundle, 'rootfs')
    assert.deepEqual(fs.readdirSync(rootfs).sort(), [FRONTEND_DIR, BACKEND_DIR, 'index.json'].sort())
    assertSameFiles(treeFiles(path.join(rootfs, BACKEND_DIR)), await packedFiles(plugins.backend), 'umoci backend')
    assertSameFiles(treeFiles(path.join(rootfs, FRONTEND_DIR)), await packedFiles(plugins.frontendDist), 'umoci frontend')
  })

  test('skopeo inspect shows the platform, the label and our digest', (t) => {
    if (!needTools(t, 'skopeo')) return
    const info = JSON.parse(run('skopeo', ['inspect', `oci:${out}:v0.0.1`]))
    assert.equal(info.Digest, result.manifestDigest)
    assert.equal(info.Architecture, 'amd64')
    assert.equal(info.Os, 'linux')
    assert.ok(info.Labels['io.backstage.dynamic-packages'])
    assert.deepEqual(info.Layers, [result.layerDigest])
  })

  describe('through a registry on 127.0.0.1', () => {
    let registry
    const repo = () => `${registry.host}/example/image`
    before(async () => {
      if (!which('skopeo') || !REGISTRY_BIN) return
      registry = await startRegistry()
    })
    after(async () => { if (registry) await registry.stop() })

    test('skopeo pushes it byte for byte and copies it back', (t) => {
      if (!needTools(t, 'skopeo', 'docker-registry')) return
      run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${out}:v0.0.1`, `docker://${repo()}:v0.0.1`])
      const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${repo()}:v0.0.1`])
      assert.equal(sha256(Buffer.from(raw)), result.manifestDigest, 'the registry serves our manifest bytes')
      const back = fresh('back')
      run('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${repo()}:v0.0.1`, `oci:${back}:v0.0.1`])
      assert.equal(readJson(path.join(back, 'index.json')).manifests[0].digest, result.manifestDigest)
      assert.ok(fs.readFileSync(blob(back, result.layerDigest)).equals(fs.readFileSync(blob(out, result.layerDigest))))
    })

    test("RHDH's installer extracts each plugin as its packDynamic tarball", async (t) => {
      if (!needTools(t, 'skopeo', 'docker-registry', 'python3')) return
      const image = `docker://${repo()}:v0.0.1`
      // what install-dynamic-plugins.py does: annotation from --raw, skopeo copy to dir:, layers[0]
      const raw = JSON.parse(run('skopeo', ['inspect', '--no-tags', '--raw', '--tls-verify=false', image]))
      const packages = JSON.parse(Buffer.from(raw.annotations['io.backstage.dynamic-packages'], 'base64').toString('utf8'))
      const dirs = packages.flatMap((o) => Object.keys(o))
      assert.deepEqual(dirs, [BACKEND_DIR, FRONTEND_DIR])
      const local = fresh('dir')
      run('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', '--override-os=linux', '--override-arch=amd64', image, `dir:${local}`])
      const layer = path.join(local, readJson(path.join(local, 'manifest.json')).layers[0].digest.split(':')[1])
      for (const [dir, dist] of [[BACKEND_DIR, plugins.backend], [FRONTEND_DIR, plugins.frontendDist]]) {
        const dest = fresh('installed')
        fs.mkdirSync(dest)
        const kept = rhdhExtract(layer, dir, dest)
        assert.ok(kept.every((n) => n.startsWith(`${dir}/`) || n === dir), `only ${dir} members`)
        assert.deepEqual(fs.readdirSync(dest), [dir])
        assertSameFiles(treeFiles(path.join(dest, dir)), await packedFiles(dist), `installed ${dir}`)
      }
    })

    test('podman pulls it with our digest (where podman works)', (t) => {
      if (!needTools(t, 'skopeo', 'docker-registry')) return
      if (!which('podman')) return t.skip('podman is not installed')
      const storage = fresh('podman')
      const podman = ['--root', path.join(storage, 'root'), '--runroot', path.join(storage, 'run'),
        '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs']
      try {
        run('podman', [...podman, 'info'])
      } catch (e) {
        return t.skip(`podman does not work here: ${e.message.split('\n').slice(0, 3).join(' ')}`)
      }
      try {
        run('podman', [...podman, 'pull', '--tls-verify=false', `docker://${repo()}:v0.0.1`])
        const images = run('podman', [...podman, 'images', '--digests', '--format', '{{.Digest}} {{.ID}}'])
        assert.match(images, new RegExp(`^${result.manifestDigest} ${result.configDigest.slice(7, 19)}`, 'm'))
      } finally {
        try { run('podman', [...podman, 'rmi', '--all', '--force']) } catch {}
        fs.rmSync(storage, { recursive: true, force: true })
      }
    })
  })
})

describe('oci-archive', () => {
  test('archive: true writes one tar that skopeo reads, with the same digests as the folder', async (t) => {
    const plugins = makePlugins(fresh('src'))
    const file = path.join(fresh('archive'), 'image.tar')
    fs.mkdirSync(path.dirname(file))
    const a = await buildOciLayout([plugins.backend, plugins.frontendDist], { output: file, tag: TAG, archive: true })
    const l = await buildOciLayout([plugins.backend, plugins.frontendDist], { output: fresh('layout'), tag: TAG })
    assert.equal(a.manifestDigest, l.manifestDigest)
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['image.tar'], 'no temporary files left')
    const names = readTar(fs.readFileSync(file)).map((e) => e.path)
    assert.deepEqual(names.filter((n) => !n.startsWith('blobs/')), ['index.json', 'oci-layout'])
    assert.deepEqual(names.filter((n) => n.startsWith('blobs/')).sort(), ['blobs/', 'blobs/sha256/',
      ...[a.configDigest, a.layerDigest, a.manifestDigest].map((d) => `blobs/sha256/${d.slice(7)}`)].sort())

    // a second tag in the same archive keeps the first
    const b = await buildOciLayout(plugins.backend, { output: file, tag: 'quay.io/example/image:backend', archive: true })
    if (!needTools(t, 'skopeo')) return
    assert.equal(JSON.parse(run('skopeo', ['inspect', `oci-archive:${file}:v0.0.1`])).Digest, a.manifestDigest)
    assert.equal(JSON.parse(run('skopeo', ['inspect', `oci-archive:${file}:backend`])).Digest, b.manifestDigest)
  })

  test('an existing file that is not an oci-archive is refused, untouched', async () => {
    const plugins = makePlugins(fresh('src'))
    const file = path.join(fresh('archive'), 'notes.txt')
    fs.mkdirSync(path.dirname(file))
    fs.writeFileSync(file, 'my notes')
    await assert.rejects(buildOciLayout(plugins.backend, { output: file, tag: TAG, archive: true }), { code: 'E_OCI_LAYOUT' })
    assert.equal(fs.readFileSync(file, 'utf8'), 'my notes')
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['notes.txt'])
  })
})

describe('existing layouts', () => {
  test('adding a tag keeps the other images; building a tag again replaces it', async (t) => {
    const plugins = makePlugins(fresh('src'))
    const out = fresh('layout')
    const v1 = await buildOciLayout(plugins.backend, { output: out, tag: 'quay.io/example/image:v1' })
    const v2 = await buildOciLayout(plugins.frontendSource, { output: out, tag: 'quay.io/example/image:v2' })
    fs.appendFileSync(path.join(plugins.backend, 'dist', 'index.cjs.js'), '\n// changed\n')
    const v1b = await buildOciLayout(plugins.backend, { output: out, tag: 'quay.io/example/image:v1' })
    assert.notEqual(v1b.manifestDigest, v1.manifestDigest)
    const index = readJson(path.join(out, 'index.json'))
    assert.deepEqual(index.manifests.map((d) => [d.annotations['org.opencontainers.image.ref.name'], d.digest]),
      [['v1', v1b.manifestDigest], ['v2', v2.manifestDigest]])
    if (!needTools(t, 'oci-image-tool')) return
    for (const ref of ['v1', 'v2']) run('oci-image-tool', ['validate', '--type', 'image', '--ref', `name=${ref}`, out])
  })

  test('a layout written by skopeo keeps its image', async (t) => {
    if (!needTools(t, 'skopeo')) return
    const plugins = makePlugins(fresh('src'))
    const first = fresh('layout')
    const r = await buildOciLayout(plugins.backend, { output: first, tag: TAG })
    const theirs = fresh('skopeo-layout')
    run('skopeo', ['--insecure-policy', 'copy', `oci:${first}:v0.0.1`, `oci:${theirs}:theirs`])
    const mine = await buildOciLayout(plugins.frontendSource, { output: theirs, tag: 'quay.io/example/image:mine' })
    assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${theirs}:theirs`])).Digest, r.manifestDigest)
    assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${theirs}:mine`])).Digest, mine.manifestDigest)
  })

  test('a folder that is not an OCI layout is refused, untouched', async () => {
    const plugins = makePlugins(fresh('src'))
    const out = fresh('not-a-layout')
    writeTree(out, { 'keep.txt': 'mine', 'sub/x': 'y' })
    await assert.rejects(buildOciLayout(plugins.backend, { output: out, tag: TAG }), (e) => {
      assert.equal(e.code, 'E_OCI_LAYOUT')
      assert.match(e.message, /not-a-layout/)
      assert.match(e.message, /not an OCI image layout/)
      return true
    })
    assert.deepEqual(fs.readdirSync(out).sort(), ['keep.txt', 'sub'])
    assert.deepEqual(fs.readdirSync(path.join(out, 'sub')), ['x'])
  })

  test('a corrupt layout is refused with the reason', async () => {
    const plugins = makePlugins(fresh('src'))
    for (const [files, reason] of [
      [{ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{not json' }, /index.json is not valid JSON/],
      [{ 'oci-layout': '{"imageLayoutVersion":"2.0.0"}', 'index.json': '{"schemaVersion":2,"manifests":[]}' }, /imageLayoutVersion "2.0.0"/],
      [{ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' }, /no index.json/],
    ]) {
      const out = writeTree(fresh('corrupt'), files)
      const before = fs.readdirSync(out).sort()
      await assert.rejects(buildOciLayout(plugins.backend, { output: out, tag: TAG }), (e) => {
        assert.equal(e.code, 'E_OCI_LAYOUT')
        assert.match(e.message, reason)
        return true
      })
      assert.deepEqual(fs.readdirSync(out).sort(), before)
    }
  })
})

describe('refusals', () => {
  let plugins
  before(() => { plugins = makePlugins(fresh('src')) })

  test('two plugins with the same directory', async () => {
    const out = fresh('layout')
    await assert.rejects(buildOciLayout([plugins.backend, plugins.backend], { output: out, tag: TAG }),
      (e) => e.code === 'E_PLUGIN_CONFLICT' && /both go to the image directory/.test(e.message))
    assert.ok(!fs.existsSync(out))
  })

  test('a directory that is a prefix of another (RHDH extracts by raw prefix)', async () => {
    const short = writeTree(fresh('short'), {
      'package.json': { json: { name: '@backstage-community/plugin-todo-dynamic', version: '1.0.0' } },
      'index.js': 'x',
    })
    const out = fresh('layout')
    await assert.rejects(buildOciLayout([plugins.backend, short], { output: out, tag: TAG }), (e) => {
      assert.equal(e.code, 'E_PLUGIN_CONFLICT')
      assert.match(e.message, /"backstage-community-plugin-todo" .* is a prefix of "backstage-community-plugin-todo-backend"/)
      assert.match(e.message, /allowPrefixDirectories/)
      return true
    })
    assert.ok(!fs.existsSync(out))
    // opting in (RHDH >= 1.11 extracts up to a `/`) turns the refusal into a warning
    const ok = await buildOciLayout([plugins.backend, short], { output: out, tag: TAG, allowPrefixDirectories: true })
    assert.deepEqual(ok.plugins.map((p) => p.directory).sort(),
      ['backstage-community-plugin-todo', 'backstage-community-plugin-todo-backend'])
    assert.ok(ok.warnings.some((w) => /is a prefix of/.test(w)), ok.warnings.join('\n'))
  })

  test('invalid tags', async () => {
    for (const tag of ['quay.io/example/image', 'image:v1', 'oci://quay.io/x/y:v1', 'quay.io/Upper/x:v1',
      `quay.io/x/y:v1@sha256:${'a'.repeat(64)}`, '']) {
      const out = fresh('layout')
      await assert.rejects(buildOciLayout(plugins.backend, { output: out, tag }), { code: 'E_INVALID_TAG' }, tag)
      assert.ok(!fs.existsSync(out))
    }
  })

  test('a digest reference must be the digest these inputs build', async () => {
    const r = await buildOciLayout(plugins.backend, { output: fresh('layout'), tag: TAG })
    const pinned = await buildOciLayout(plugins.backend, { output: fresh('layout'), tag: `quay.io/example/image@${r.manifestDigest}` })
    assert.equal(pinned.manifestDigest, r.manifestDigest)
    assert.equal(pinned.plugins[0].reference, `oci://quay.io/example/image@${r.manifestDigest}!${BACKEND_DIR}`)
    const out = fresh('layout')
    await assert.rejects(buildOciLayout(plugins.backend, { output: out, tag: `quay.io/example/image@sha256:${'0'.repeat(64)}` }),
      (e) => e.code === 'E_INVALID_TAG' && e.message.includes(r.manifestDigest))
    assert.ok(!fs.existsSync(out), 'nothing left behind')
  })

  test('options: missing output, bad platform, reserved annotation, aborted', async () => {
    await assert.rejects(buildOciLayout(plugins.backend, { tag: TAG }), { code: 'E_INVALID_OPTION' })
    await assert.rejects(buildOciLayout(plugins.backend), { code: 'E_INVALID_OPTION' })
    await assert.rejects(buildOciLayout([], { output: fresh('x'), tag: TAG }), { code: 'E_INVALID_OPTION' })
    await assert.rejects(buildOciLayout(plugins.backend, { output: fresh('x'), tag: TAG, platform: 'amd64' }), { code: 'E_INVALID_OPTION' })
    await assert.rejects(buildOciLayout(plugins.backend, { output: fresh('x'), tag: TAG, annotations: { 'io.backstage.dynamic-packages': 'x' } }), { code: 'E_INVALID_OPTION' })
    await assert.rejects(buildOciLayout(path.join(root, 'nope'), { output: fresh('x'), tag: TAG }), { code: 'E_NOT_FOUND' })
    const out = fresh('aborted')
    await assert.rejects(buildOciLayout(plugins.backend, { output: out, tag: TAG, signal: AbortSignal.abort() }), { code: 'E_ABORTED' })
    assert.ok(!fs.existsSync(out))
  })
})

describe('reproducibility', () => {
  const digests = (r) => [r.manifestDigest, r.configDigest, r.layerDigest, r.diffId]

  test('two builds in different temporary folders give the same digests and bytes; one byte changes them', async () => {
    const a = makePlugins(fresh('src-a'))
    const b = makePlugins(fresh('src-b'))
    const outA = fresh('layout-a')
    const outB = fresh('layout-b')
    const ra = await buildOciLayout([a.backend, a.frontendSource], { output: outA, tag: TAG })
    const rb = await buildOciLayout([b.backend, b.frontendSource], { output: outB, tag: TAG })
    assert.deepEqual(digests(rb), digests(ra))
    for (const f of ['oci-layout', 'index.json', ...fs.readdirSync(path.join(outA, 'blobs', 'sha256')).map((h) => `blobs/sha256/${h}`)]) {
      assert.ok(fs.readFileSync(path.join(outA, f)).equals(fs.readFileSync(path.join(outB, f))), f)
    }
    const file = path.join(b.frontendDist, 'dist', 'index.esm.js')
    const bytes = fs.readFileSync(file)
    bytes[0] ^= 1
    fs.writeFileSync(file, bytes)
    const rc = await buildOciLayout([b.backend, b.frontendSource], { output: fresh('layout-c'), tag: TAG })
    for (let i = 0; i < 4; i++) assert.notEqual(digests(rc)[i], digests(ra)[i])
  })

  test('SOURCE_DATE_EPOCH sets every timestamp; sourceDateEpoch overrides it', async () => {
    const p = makePlugins(fresh('src'))
    const base = await buildOciLayout(p.backend, { output: fresh('layout'), tag: TAG })
    const saved = process.env.SOURCE_DATE_EPOCH
    process.env.SOURCE_DATE_EPOCH = '1700000000'
    try {
      const out = fresh('layout')
      const env = await buildOciLayout(p.backend, { output: out, tag: TAG })
      assert.notEqual(env.manifestDigest, base.manifestDigest)
      const config = readJson(blob(out, env.configDigest))
      assert.equal(config.created, '2023-11-14T22:13:20Z')
      assert.equal(config.history[0].created, '2023-11-14T22:13:20Z')
      for (const e of readTar(zlib.gunzipSync(fs.readFileSync(blob(out, env.layerDigest))))) assert.equal(e.mtime, 1700000000)
      const explicit = await buildOciLayout(p.backend, { output: fresh('layout'), tag: TAG, sourceDateEpoch: 0 })
      assert.equal(explicit.manifestDigest, base.manifestDigest)
      process.env.SOURCE_DATE_EPOCH = 'yesterday'
      await assert.rejects(buildOciLayout(p.backend, { output: fresh('layout'), tag: TAG }), { code: 'E_INVALID_OPTION' })
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH
      else process.env.SOURCE_DATE_EPOCH = saved
    }
  })

  test('annotations, labels, refName and platform options', async () => {
    const p = makePlugins(fresh('src'))
    const out = fresh('layout')
    const r = await buildOciLayout(p.backend, {
      output: out,
      tag: TAG,
      refName: 'custom',
      platform: 'linux/arm64',
      annotations: { 'org.opencontainers.image.source': 'https://example.com/repo' },
      labels: { 'com.example.team': 'plugins' },
    })
    assert.equal(r.refName, 'custom')
    const manifest = readJson(blob(out, r.manifestDigest))
    assert.equal(manifest.annotations['org.opencontainers.image.source'], 'https://example.com/repo')
    const config = readJson(blob(out, r.configDigest))
    assert.equal(config.config.Labels['com.example.team'], 'plugins')
    assert.equal(config.architecture, 'arm64')
    const d = readJson(path.join(out, 'index.json')).manifests[0]
    assert.equal(d.annotations['org.opencontainers.image.ref.name'], 'custom')
    assert.deepEqual(d.platform, { architecture: 'arm64', os: 'linux' })
  })
})

test('files over 20 MB and 40 MB are reported in warnings', async () => {
  const dir = writeTree(fresh('big'), {
    'package.json': { json: { name: 'big-plugin-dynamic', version: '1.0.0' } },
    'dist/index.js': codeLike(9, 1000),
  })
  // sparse files: cheap to create, compress to almost nothing
  fs.closeSync(fs.openSync(path.join(dir, 'dist', 'a.bin'), 'w'))
  fs.truncateSync(path.join(dir, 'dist', 'a.bin'), 20_000_001)
  fs.closeSync(fs.openSync(path.join(dir, 'dist', 'b.bin'), 'w'))
  fs.truncateSync(path.join(dir, 'dist', 'b.bin'), 40_000_001)
  const r = await buildOciLayout(dir, { output: fresh('layout'), tag: TAG })
  assert.equal(r.warnings.length, 2)
  assert.match(r.warnings[0], /^big-plugin\/dist\/a\.bin is 20000001 bytes: RHDH 1\.9 and earlier refuse it/)
  assert.match(r.warnings[1], /^big-plugin\/dist\/b\.bin is 40000001 bytes: RHDH refuses it at every version/)
})
