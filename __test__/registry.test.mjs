// pushOciImage / dynpack push, login and logout against real registries on
// 127.0.0.1 (docker-registry over HTTP, over TLS with htpasswd, with token
// auth), checked with skopeo as the independent reader.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { spawnSync, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import { writeTree, codeLike } from './helpers/tree.mjs'
import { scratchHome, setHome, sha256, blobPath, readJson } from './helpers/scratch.mjs'
import { needTools, which, run, REGISTRY_BIN } from './helpers/oci.mjs'
import { makeCa, makeLeaf, startDockerRegistry, startTokenServer, startProxy, startHttpProxy, freePort } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const { buildOciLayout, pushOciImage, registryLogin, registryLogout, inspectOciImage } = require('../lib/api.js')
const BIN = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'dynpack.js')

const scratch = scratchHome('dynpack-push-')
const fresh = scratch.fresh

/** A small dynamic plugin folder. */
function plugin (name, bytes = 60_000) {
  const dir = fresh(name)
  writeTree(dir, {
    'package.json': { json: { name: `@acme/${name}-dynamic`, version: '1.0.0' } },
    'dist/index.js': codeLike(name.length, bytes),
  })
  return dir
}

async function layout (tag, extra = {}) {
  const output = fresh('layout')
  const result = await buildOciLayout(plugin('p'), { output, tag, ...extra })
  return { output, result }
}

/** Runs bin/dynpack.js; resolves to { status, stdout, stderr }. */
function cli (args, { input, env } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env, ...env } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** As `cli`, without blocking the event loop (for servers living in this process). */
async function cliAsync (args, { env } = {}) {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
    return { status: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    return { status: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

async function rejectsWith (promise, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

/** Runs a tool without blocking the event loop (the token server lives in this process). */
async function runAsync (cmd, args, opts = {}) {
  try {
    return (await promisify(execFile)(cmd, args, { maxBuffer: 256 << 20, ...opts })).stdout
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${e.code}):\n${e.stderr}${e.stdout}`)
  }
}

/** skopeo reads the tag back byte for byte and copies it with the same digests. */
async function checkWithSkopeo (ref, layoutDir, manifestDigest, flags) {
  const raw = await runAsync('skopeo', ['inspect', '--raw', ...flags, `docker://${ref}`], { encoding: 'buffer' })
  assert.ok(raw.equals(fs.readFileSync(blobPath(layoutDir, manifestDigest))), 'skopeo inspect --raw = the layout manifest bytes')
  const back = fresh('back')
  const srcFlags = flags.map((f) => f.replace(/^--(tls-verify|cert-dir|creds|authfile)/, '--src-$1'))
  await runAsync('skopeo', ['--insecure-policy', 'copy', '--preserve-digests', ...srcFlags, `docker://${ref}`, `oci:${back}:x`])
  const idx = readJson(path.join(back, 'index.json'))
  assert.equal(idx.manifests[0].digest, manifestDigest)
  const manifest = readJson(blobPath(back, manifestDigest))
  for (const d of [manifest.config, ...manifest.layers]) {
    assert.equal(sha256(fs.readFileSync(blobPath(back, d.digest))), d.digest)
    assert.ok(fs.existsSync(blobPath(layoutDir, d.digest)))
  }
}

describe('plain HTTP registry', () => {
  let registry
  let image
  const insecure = { tlsVerify: false }
  before(async () => {
    if (!REGISTRY_BIN) return
    registry = await startDockerRegistry()
    image = await layout(`${registry.host}/acme/plugins:1.0.0`)
  })
  after(async () => { if (registry) await registry.stop() })

  test('pushes the layout: skopeo reads the same bytes and digests; a re-push sends nothing', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const r = await pushOciImage(image.output, insecure)
    assert.deepEqual(r, {
      tag: `${registry.host}/acme/plugins:1.0.0`,
      repository: `${registry.host}/acme/plugins`,
      digest: image.result.manifestDigest,
      reference: `${registry.host}/acme/plugins@${image.result.manifestDigest}`,
      upToDate: false,
      blobs: { uploaded: 2, mounted: 0, existing: 0 },
      bytesUploaded: r.bytesUploaded,
      referrers: 0,
    })
    assert.ok(r.bytesUploaded > image.result.layerSize)
    await checkWithSkopeo(r.tag, image.output, r.digest, ['--tls-verify=false'])
    const again = await pushOciImage(image.output, insecure)
    assert.equal(again.upToDate, true)
    assert.equal(again.bytesUploaded, 0)
    assert.deepEqual(again.blobs, { uploaded: 0, mounted: 0, existing: 2 })
  })

  test('mounts blobs from another repository of the registry; pushes an oci-archive', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    await pushOciImage(image.output, insecure)
    const r = await pushOciImage(image.output, { ...insecure, tag: `${registry.host}/acme/copy:1.0.0`, mountFrom: [`${registry.host}/acme/plugins`] })
    assert.deepEqual(r.blobs, { uploaded: 0, mounted: 2, existing: 0 })
    await checkWithSkopeo(r.tag, image.output, r.digest, ['--tls-verify=false'])

    const archive = path.join(fresh('a'), 'image.tar')
    fs.mkdirSync(path.dirname(archive))
    const built = await buildOciLayout(plugin('arch'), { output: archive, archive: true, tag: `${registry.host}/acme/archived:2.0.0` })
    const a = await pushOciImage(archive, insecure)
    assert.equal(a.digest, built.manifestDigest)
    assert.equal(a.blobs.uploaded, 2)
    const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${a.tag}`], { encoding: 'buffer' })
    assert.equal(sha256(raw), built.manifestDigest)
  })

  test('a large layer goes in PATCH chunks; a layout from another tool needs the tag', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    // Hand-made layout: a 70 MB layer, no io.containerd.image.name.
    const dir = fresh('big')
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
    const put = (bytes) => { const d = sha256(bytes); fs.writeFileSync(blobPath(dir, d), bytes); return { digest: d, size: bytes.length } }
    const layer = put(crypto.randomBytes(70 << 20))
    const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })))
    // Pretty-printed with 3 spaces: the registry must keep these exact bytes.
    const manifestBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    }, null, 3))
    const manifest = put(manifestBytes)
    fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'big' } }],
    }))
    await rejectsWith(pushOciImage(dir, insecure), 'E_INVALID_OPTION', /pass the tag/)
    const r = await pushOciImage(dir, { ...insecure, tag: `${registry.host}/acme/big:1` })
    assert.equal(r.digest, manifest.digest)
    assert.equal(r.bytesUploaded, layer.size + config.size)
    await checkWithSkopeo(r.tag, dir, r.digest, ['--tls-verify=false'])
  })

  test('a registry that stops mid-push leaves the tag as it was; the rerun sends only what is missing', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const dir = plugin('killed')
    fs.writeFileSync(path.join(dir, 'dist', 'random.bin'), crypto.randomBytes(400_000))
    const output = fresh('layout')
    await buildOciLayout(dir, { output, tag: 'quay.io/acme/unused:1' })
    const proxy = await startProxy(registry.port, { killAfter: 30_000 })
    const tag = `127.0.0.1:${proxy.port}/acme/killed:1.0.0`
    // The config blob (small) arrives, the layer does not.
    await rejectsWith(pushOciImage(output, { ...insecure, tag }), 'E_REGISTRY_UNREACHABLE', /no answer/)
    await proxy.whenKilled
    const direct = `${registry.host}/acme/killed:1.0.0`
    assert.throws(() => run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${direct}`]), /manifest unknown|not found/i)
    // Blobs go up side by side, so which of them arrived before the cut varies: look.
    const manifest = readJson(blobPath(output, readJson(path.join(output, 'index.json')).manifests[0].digest))
    const blobs = [manifest.config, ...manifest.layers]
    const arrived = []
    for (const b of blobs) {
      const head = await fetch(`http://${registry.host}/v2/acme/killed/blobs/${b.digest}`, { method: 'HEAD' })
      if (head.status === 200) arrived.push(b)
    }
    assert.ok(arrived.length < blobs.length, 'the cut came before the last blob')
    const again = await startProxy(registry.port, { port: proxy.port })
    try {
      const r = await pushOciImage(output, { ...insecure, tag })
      assert.deepEqual(r.blobs, { uploaded: blobs.length - arrived.length, mounted: 0, existing: arrived.length }, 'what arrived is not sent again')
      assert.equal(r.bytesUploaded, blobs.filter((b) => !arrived.includes(b)).reduce((n, b) => n + b.size, 0))
      const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${direct}`], { encoding: 'buffer' })
      assert.equal(sha256(raw), r.digest)
    } finally {
      again.stop()
    }
  })

  test('429 and 503 answers are retried (Retry-After honoured); an absolute Location on another port is followed', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    // Every first try of each request gets 503 or 429; the rest reach the registry, whose
    // absolute Locations then point past the proxy, straight at the registry's port.
    const seen = new Set()
    const proxy = await startHttpProxy(registry.port, {
      intercept (req, res) {
        const key = `${req.method} ${req.url.split('?')[0]}`
        if (seen.has(key)) return false
        seen.add(key)
        req.resume()
        res.writeHead(seen.size % 2 ? 503 : 429, { 'retry-after': '0' }).end()
        return true
      },
      headers: (req) => ({ ...req.headers, host: registry.host }),
    })
    try {
      const r = await pushOciImage(image.output, { ...insecure, tag: `127.0.0.1:${proxy.port}/acme/retried:1` })
      assert.equal(r.digest, image.result.manifestDigest)
      assert.ok(seen.size >= 4, `retried ${[...seen].join(', ')}`)
      const raw = await runAsync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/acme/retried:1`], { encoding: 'buffer' })
      assert.equal(sha256(raw), r.digest)
    } finally {
      proxy.stop()
    }
  })

  test('an aborted push rejects with AbortError and leaves no tag', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(pushOciImage(image.output, { ...insecure, tag: `${registry.host}/acme/aborted:1`, signal: controller.signal }), { name: 'AbortError', code: 'E_ABORTED' })
  })

  test('registries.conf drop-ins: insecure = true in one lets dynpack push use plain HTTP; a later drop-in takes it back', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const home = fresh('home')
    const conf = path.join(home, '.config', 'containers')
    fs.mkdirSync(path.join(conf, 'registries.conf.d'), { recursive: true })
    // A user main file: the drop-ins of /etc are then not read (containers-registries.conf.d(5)).
    fs.writeFileSync(path.join(conf, 'registries.conf'), `[[registry]]\nlocation = "${registry.host}"\n`)
    fs.writeFileSync(path.join(conf, 'registries.conf.d', '10-local.conf'), `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`)
    fs.writeFileSync(path.join(conf, 'registries.conf.d', '15-ignored.txt'), `[[registry]]\nlocation = "${registry.host}"\ninsecure = false\n`)
    const env = { HOME: home }
    const tag = `${registry.host}/acme/dropin:1`
    const ok = cli(['push', image.output, tag], { env })
    assert.equal(ok.status, 0, ok.stderr)
    assert.match(ok.stderr, /pushed .*acme\/dropin:1/)
    // skopeo reads the same files the same way
    const raw = run('skopeo', ['inspect', '--raw', `docker://${tag}`], { encoding: 'buffer', env: { ...process.env, ...env } })
    assert.equal(sha256(raw), image.result.manifestDigest)

    fs.writeFileSync(path.join(conf, 'registries.conf.d', '20-strict.conf'), `[[registry]]\nlocation = "${registry.host}"\ninsecure = false\n`)
    const strict = cli(['push', image.output, tag], { env })
    assert.equal(strict.status, 1)
    assert.match(strict.stderr, /E_REGISTRY_TLS: .*plain HTTP, not TLS.*registries\.conf\.d/)
    assert.throws(() => run('skopeo', ['inspect', '--raw', `docker://${tag}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), /HTTP response to HTTPS client/)
    // A later table for the same location replaces the earlier one whole (skopeo agrees): insecure is gone.
    fs.writeFileSync(path.join(conf, 'registries.conf.d', '20-strict.conf'), `[[registry]]\nlocation = "${registry.host}"\nblocked = false\n`)
    assert.equal(cli(['push', image.output, tag], { env }).status, 1)
    assert.throws(() => run('skopeo', ['inspect', '--raw', `docker://${tag}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), /HTTP response to HTTPS client/)
  })

  test('failure codes: TLS to a plain registry, nothing listening, not a registry, unknown refName, a Docker Hub name', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    // a plain-HTTP registry: the hint is registries.conf or --tls-verify=false, not a CA
    await rejectsWith(pushOciImage(image.output), 'E_REGISTRY_TLS', /answers in plain HTTP, not TLS.*location = "127\.0\.0\.1:\d+" insecure = true.*--tls-verify=false/)
    const closed = await freePort()
    await rejectsWith(pushOciImage(image.output, { ...insecure, tag: `127.0.0.1:${closed}/a/b:1` }), 'E_REGISTRY_UNREACHABLE', /127\.0\.0\.1:\d+/)
    const server = http.createServer((req, res) => res.writeHead(404).end('404 page not found'))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      await rejectsWith(pushOciImage(image.output, { ...insecure, tag: `127.0.0.1:${server.address().port}/a/b:1` }), 'E_REGISTRY_PROTOCOL', /GET \/v2\/ answered 404/)
    } finally {
      server.close()
    }
    await rejectsWith(pushOciImage(image.output, { ...insecure, refName: 'nope' }), 'E_IMAGE_NOT_FOUND', /1\.0\.0/)
    await rejectsWith(pushOciImage(image.output, { ...insecure, tag: 'acme/plugins:1.0.0' }), 'E_INVALID_TAG', /docker\.io\/acme\/plugins:1\.0\.0/)
    await rejectsWith(buildOciLayout(plugin('q'), { output: fresh('l'), tag: 'acme/plugins:1.0.0' }), 'E_INVALID_TAG', /docker\.io\/acme\/plugins:1\.0\.0/)
  })

  test('the SBOM referrer goes with the image: listed under the sha256-<hex> tag (no OCI-Subject on 2.8); a re-push changes nothing', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const tag = `${registry.host}/acme/sbom:1.0.0`
    const built = await layout(tag, { sbom: true })
    const [sbom] = built.result.sboms
    const r = await pushOciImage(built.output, insecure)
    assert.equal(r.referrers, 1)
    assert.equal(r.digest, built.result.manifestDigest)
    const fallback = `${registry.host}/acme/sbom:${r.digest.replace(':', '-')}`
    const readIndex = async () => runAsync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${fallback}`], { encoding: 'buffer' })
    const indexBytes = await readIndex()
    const index = JSON.parse(indexBytes)
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json')
    assert.equal(index.manifests.length, 1)
    const [entry] = index.manifests
    assert.equal(entry.digest, sbom.manifestDigest)
    assert.equal(entry.artifactType, 'application/vnd.cyclonedx+json')
    assert.ok(entry.annotations['org.opencontainers.image.created'])
    // the referrer manifest by digest: the layout's exact bytes; its SBOM blob too
    const raw = await runAsync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/acme/sbom@${entry.digest}`], { encoding: 'buffer' })
    assert.ok(raw.equals(fs.readFileSync(blobPath(built.output, entry.digest))))
    const manifest = JSON.parse(raw)
    assert.equal(manifest.subject.digest, r.digest)
    const blobs = fresh('blobs')
    await runAsync('skopeo', ['--insecure-policy', 'copy', '--preserve-digests', '--src-tls-verify=false', `docker://${registry.host}/acme/sbom@${entry.digest}`, `oci:${blobs}:x`])
    const sbomDigest = manifest.layers[0].digest
    assert.ok(fs.readFileSync(blobPath(blobs, sbomDigest)).equals(fs.readFileSync(blobPath(built.output, sbomDigest))), 'the SBOM read back = the layout\'s')

    const again = await pushOciImage(built.output, insecure)
    assert.equal(again.upToDate, true)
    assert.equal(again.referrers, 1)
    assert.equal(again.bytesUploaded, 0)
    assert.ok((await readIndex()).equals(indexBytes), 'the referrers tag is unchanged by a re-push')

    // another referrer already in the tag (another tool's) is kept, ours not doubled
    // (distribution checks that a listed manifest exists: list the image itself)
    const other = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: r.digest, size: fs.statSync(blobPath(built.output, r.digest)).size, artifactType: 'application/example' }
    const edited = Buffer.from(JSON.stringify({ ...index, manifests: [other, ...index.manifests] }))
    const put = await fetch(`http://${registry.host}/v2/acme/sbom/manifests/${r.digest.replace(':', '-')}`, { method: 'PUT', headers: { 'Content-Type': index.mediaType }, body: edited })
    assert.equal(put.status, 201)
    const unchanged = await pushOciImage(built.output, { ...insecure, tag: `${registry.host}/acme/sbom:1.0.1` })
    assert.equal(unchanged.referrers, 1)
    assert.ok((await readIndex()).equals(edited), 'an index that lists ours already is left alone')

    const cliRun = cli(['push', built.output, `${registry.host}/acme/sbom-cli:1`, '--tls-verify=false'])
    assert.equal(cliRun.status, 0, cliRun.stderr)
    assert.match(cliRun.stderr, /1 referrer \(SBOM\)/)
  })

  test('dynpack push [SOURCE] [TAG] --json', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const tag = `${registry.host}/acme/cli:3.0.0`
    const r = cli(['push', image.output, tag, '--tls-verify=false', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.tag, tag)
    assert.equal(out.digest, image.result.manifestDigest)
    const plain = cli(['push', image.output, tag, '--tls-verify=false'])
    assert.equal(plain.status, 0, plain.stderr)
    assert.equal(plain.stdout, `${registry.host}/acme/cli@${image.result.manifestDigest}\n`)
    assert.match(plain.stderr, /up to date/)
    const bad = cli(['push', image.output, `127.0.0.1:${await freePort()}/a/b:1`, '--tls-verify=false'])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /^dynpack: E_REGISTRY_UNREACHABLE: /m)
  })
})

describe('the layer uploaded while it is built (uploadLayer, package --push)', () => {
  let registry
  const insecure = { tlsVerify: false }
  before(async () => { if (REGISTRY_BIN) registry = await startDockerRegistry() })
  after(async () => { if (registry) await registry.stop() })
  /** A plugin whose layer is several MiB, most of it incompressible, so it flows in many pieces. */
  function bigPlugin (name, randomBytes = 6 << 20) {
    const dir = plugin(name)
    fs.writeFileSync(path.join(dir, 'dist', 'random.bin'), crypto.randomBytes(randomBytes))
    return dir
  }
  const committed = (repo) => {
    const layers = path.join(registry.dir, 'data', 'docker', 'registry', 'v2', 'repositories', repo, '_layers', 'sha256')
    return fs.existsSync(layers) ? fs.readdirSync(layers).map((h) => `sha256:${h}`) : []
  }

  test('the registry holds the layer when the build ends; the push counts it as uploaded; skopeo reads the image', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const output = fresh('layout')
    const tag = `${registry.host}/acme/streamed:1.0.0`
    const built = await buildOciLayout(bigPlugin('streamed'), { output, tag, uploadLayer: insecure })
    assert.deepEqual(built.layerUpload, { uploaded: true, bytes: built.layerSize })
    assert.deepEqual(committed('acme/streamed'), [built.layerDigest])
    const blob = await fetch(`http://${registry.host}/v2/acme/streamed/blobs/${built.layerDigest}`)
    assert.equal(blob.status, 200)
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(fs.readFileSync(blobPath(output, built.layerDigest))))

    const r = await pushOciImage(output, { ...insecure, streamedBlobs: [built.layerDigest] })
    assert.deepEqual(r.blobs, { uploaded: 2, mounted: 0, existing: 0 })
    assert.equal(r.bytesUploaded, built.layerSize + fs.statSync(blobPath(output, built.configDigest)).size)
    await checkWithSkopeo(tag, output, r.digest, ['--tls-verify=false'])

    // The tag exists now: a rebuild leaves the layer to the push, which finds the image up to date.
    const again = await buildOciLayout(bigPlugin('streamed'), { output: fresh('layout'), tag, uploadLayer: insecure })
    assert.equal(again.layerUpload.uploaded, false)
    assert.match(again.layerUpload.note, /acme\/streamed:1\.0\.0 answered 200/)
  })

  test('a tag holding another source digest (a changed plugin pushed again) gets the new layer during the build', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const tag = `${registry.host}/acme/changed:1.0.0`
    const source = (c) => ({ 'io.dynpack.source.digest': `sha256:${c.repeat(64)}` })
    const first = fresh('layout')
    await buildOciLayout(bigPlugin('changed', 1 << 20), { output: first, tag, annotations: source('a') })
    await pushOciImage(first, insecure)
    // the same source: most likely this very image again, left to the push
    const same = await buildOciLayout(bigPlugin('changed', 1 << 20), { output: fresh('layout'), tag, annotations: source('a'), uploadLayer: insecure })
    assert.equal(same.layerUpload.uploaded, false)
    assert.match(same.layerUpload.note, /acme\/changed:1\.0\.0 answered 200/)
    const changed = await buildOciLayout(bigPlugin('changed', 1 << 20), { output: fresh('layout'), tag, annotations: source('b'), uploadLayer: insecure })
    assert.deepEqual(changed.layerUpload, { uploaded: true, bytes: changed.layerSize })
    assert.ok(committed('acme/changed').includes(changed.layerDigest))
  })

  test('an aborted or failed build commits nothing; a registry not listening does not hold the build up', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const controller = new AbortController()
    let events = 0
    const aborted = buildOciLayout(bigPlugin('aborted', 40 << 20), {
      output: fresh('layout'),
      tag: `${registry.host}/acme/aborted:1`,
      uploadLayer: insecure,
      signal: controller.signal,
      onProgress: () => { if (++events === 2) controller.abort() },
    })
    await assert.rejects(aborted, { code: 'E_ABORTED' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.deepEqual(committed('acme/aborted'), [])

    // A file that shrinks after the walk fails the layer half-way (E_FILE_CHANGED), without an abort.
    const dir = bigPlugin('shrinking', 40 << 20)
    const last = path.join(dir, 'dist', 'zz-last.bin')
    fs.writeFileSync(last, crypto.randomBytes(1 << 20))
    const failed = buildOciLayout(dir, {
      output: fresh('layout'),
      tag: `${registry.host}/acme/failed:1`,
      uploadLayer: insecure,
      onProgress: () => fs.truncateSync(last, 10),
    })
    await assert.rejects(failed, { code: 'E_FILE_CHANGED' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.deepEqual(committed('acme/failed'), [])

    const closed = await freePort()
    const started = Date.now()
    const built = await buildOciLayout(bigPlugin('unreachable'), { output: fresh('layout'), tag: `127.0.0.1:${closed}/acme/x:1`, uploadLayer: insecure })
    assert.equal(built.layerUpload.uploaded, false)
    assert.match(built.layerUpload.note, /not ready|no answer/)
    // Connecting is retried (4 tries, 10 s timeout each); the build waits for it 3 s at most.
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`)
  })

  test('a registry refusing the streamed PATCH gets the layer from the push instead', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    let refused = 0
    const proxy = await startHttpProxy(registry.port, {
      intercept (req, res) {
        if (req.method !== 'PATCH' || req.headers['transfer-encoding'] !== 'chunked') return false
        refused++
        req.resume()
        res.writeHead(416, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"no chunked uploads here"}]}')
        return true
      },
    })
    try {
      const output = fresh('layout')
      const tag = `127.0.0.1:${proxy.port}/acme/refused:1`
      const built = await buildOciLayout(bigPlugin('refused'), { output, tag, uploadLayer: insecure })
      assert.equal(refused, 1)
      assert.equal(built.layerUpload.uploaded, false)
      assert.match(built.layerUpload.note, /PATCH .*416|BLOB_UPLOAD_INVALID|no chunked uploads/)
      assert.deepEqual(committed('acme/refused'), [])
      const r = await pushOciImage(output, { ...insecure })
      assert.deepEqual(r.blobs, { uploaded: 2, mounted: 0, existing: 0 })
      const raw = await runAsync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/acme/refused:1`], { encoding: 'buffer' })
      assert.equal(sha256(raw), built.manifestDigest)
    } finally {
      proxy.stop()
    }
  })

  test('dynpack package --push --verbose says the layer went up during the build', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const tag = `${registry.host}/acme/pkv:1.0.0`
    const r = await cliAsync(['package', bigPlugin('pkv'), '--tag', tag, '--push', '--tls-verify=false', '--output', fresh('o'), '--verbose'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /uploaded the layer while building \(6\.\d MB\)/)
    assert.match(r.stderr, /pushed .*acme\/pkv:1\.0\.0 \(2 uploaded \(6\.\d MB\), 0 mounted, 0 already there\)/)
    const digest = sha256(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${tag}`], { encoding: 'buffer' }))
    assert.match(r.stdout, new RegExp(`- package: oci://${registry.host}/acme/pkv@${digest}!acme-pkv$`, 'm'))
    await rejectsWith(buildOciLayout(plugin('bad'), { output: fresh('l'), tag, uploadLayer: { tlsVerify: 'no' } }), 'E_INVALID_OPTION', /options\.uploadLayer\.tlsVerify must be a boolean/)
  })
})

describe('inspect of a registry image', () => {
  let registry
  before(async () => { if (REGISTRY_BIN) registry = await startDockerRegistry() })
  after(async () => { if (registry) await registry.stop() })

  test('inspectOciImage and dynpack inspect read a pushed image as they read its layout', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const { output, result } = await layout(`${registry.host}/acme/inspected:1.0.0`)
    const pushed = await pushOciImage(output, { tlsVerify: false })
    const local = await inspectOciImage(output)
    for (const ref of [`oci://${pushed.tag}!acme-p`, pushed.tag, pushed.reference]) {
      const r = await inspectOciImage(ref, { tlsVerify: false })
      assert.equal(r.source, 'registry', ref)
      assert.equal(r.ok, true, JSON.stringify(r.checks))
      assert.equal(r.manifestDigest, result.manifestDigest)
      assert.deepEqual(r.plugins, local.plugins)
      assert.deepEqual(r.checks.map((c) => [c.rule, c.status]), local.checks.map((c) => [c.rule, c.status]))
    }
    const cliRun = cli(['inspect', pushed.tag, '--tls-verify=false', '--json'])
    assert.equal(cliRun.status, 0, cliRun.stderr)
    const report = JSON.parse(cliRun.stdout)
    assert.equal(report.source, 'registry')
    assert.equal(report.manifestDigest, result.manifestDigest)
    await rejectsWith(inspectOciImage(`${registry.host}/acme/inspected:9.9.9`, { tlsVerify: false }), 'E_IMAGE_NOT_FOUND')
    const other = await inspectOciImage(`oci://${pushed.tag}!acme-other`, { tlsVerify: false })
    assert.equal(other.ok, false)
    assert.match(other.checks.find((c) => c.rule === 'plugins-in-first-layer').findings[0].message, /!acme-other, which is not a plugin/)
    await rejectsWith(inspectOciImage(pushed.tag), 'E_REGISTRY_TLS', /plain HTTP, not TLS/)
  })

  test('a registry image without the annotation fails the annotation rule (exit 1, rule named)', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const { output } = await layout(`${registry.host}/acme/bare:1.0.0`)
    // drop the annotation from the manifest, as a hand-made image would lack it
    const index = readJson(path.join(output, 'index.json'))
    const desc = index.manifests[0]
    const manifest = readJson(blobPath(output, desc.digest))
    delete manifest.annotations
    const bytes = Buffer.from(JSON.stringify(manifest))
    const digest = sha256(bytes)
    fs.writeFileSync(blobPath(output, digest), bytes)
    index.manifests[0] = { ...desc, digest, size: bytes.length }
    fs.writeFileSync(path.join(output, 'index.json'), JSON.stringify(index))
    const pushed = await pushOciImage(output, { tlsVerify: false })
    assert.equal(pushed.digest, digest)
    const r = cli(['inspect', pushed.tag, '--tls-verify=false'])
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /E_IMAGE_CHECK: .* annotation/)
  })
})

describe('dynpack package --push with a tag template', () => {
  let registry
  before(async () => { if (REGISTRY_BIN) registry = await startDockerRegistry() })
  after(async () => { if (registry) await registry.stop() })

  test('one image per plugin, pushed in parallel; every entry pinned by its own digest', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const mono = fresh('mono')
    writeTree(mono, { 'package.json': { json: { name: 'root', private: true, workspaces: ['plugins/*'] } } })
    for (const [dir, role] of [['todo', 'frontend-plugin'], ['todo-backend', 'backend-plugin']]) {
      writeTree(path.join(mono, 'plugins', dir), {
        'package.json': { json: { name: `@acme/plugin-${dir}`, version: '1.2.0', backstage: { role } } },
        'dist-dynamic/package.json': { json: { name: `@acme/plugin-${dir}-dynamic`, version: '1.2.0' } },
        'dist-dynamic/dist/index.js': codeLike(dir.length, 5000),
      })
    }
    const r = cli(['package', mono, '--tag', `${registry.host}/acme/{dir}:{version}`, '--push', '--tls-verify=false', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.images.length, 2)
    for (const img of report.images) {
      assert.ok(img.pushed, JSON.stringify(img))
      const remote = sha256(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${img.tag}`], { encoding: 'buffer' }))
      assert.equal(remote, img.manifestDigest)
      assert.equal(img.pushed.digest, img.manifestDigest)
    }
    const text = cli(['package', mono, '--tag', `${registry.host}/acme/{dir}:{version}`, '--push', '--tls-verify=false', '--quiet'])
    assert.equal(text.status, 0, text.stderr)
    for (const img of report.images) {
      const dir = img.plugins[0]
      assert.match(text.stdout, new RegExp(`- package: oci://${img.tag.replace(/:[^:]*$/, '')}@${img.manifestDigest}!${dir}$`, 'm'))
    }
  })
})

describe('dynpack package --push', () => {
  let registry
  before(async () => { if (REGISTRY_BIN) registry = await startDockerRegistry() })
  after(async () => { if (registry) await registry.stop() })

  test('builds, pushes and prints the entries pinned by digest, the tag form as a comment', async (t) => {
    if (!needTools(t, 'skopeo', 'docker-registry')) return
    const tag = `${registry.host}/acme/pk:1.0.0`
    const r = cli(['package', plugin('pk'), '--tag', tag, '--push', '--tls-verify=false', '--output', fresh('o')])
    assert.equal(r.status, 0, r.stderr)
    const digest = sha256(run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${tag}`], { encoding: 'buffer' }))
    assert.match(r.stdout, new RegExp(`^\\s*- package: oci://${registry.host}/acme/pk@${digest}!acme-pk$`, 'm'))
    assert.match(r.stdout, new RegExp(`# package: oci://${registry.host}/acme/pk:1\\.0\\.0!acme-pk$`, 'm'))
    assert.match(r.stderr, /pushed .*acme\/pk:1\.0\.0 \(2 uploaded/)

    const closed = await freePort()
    const bad = cli(['package', plugin('pk2'), '--tag', `127.0.0.1:${closed}/acme/pk2:1`, '--push', '--tls-verify=false', '--output', fresh('o')])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /dynpack: E_REGISTRY_UNREACHABLE: /)
    assert.equal(bad.stdout, '', 'checked before the build: no snippet naming an image that is not in the registry')
    assert.equal(cli(['package', plugin('pk3'), '--push']).status, 2)
  })
})

describe('TLS registry with htpasswd (Basic)', () => {
  let registry
  let image
  let certs
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl') || !which('htpasswd')) return
    certs = fresh('certs')
    fs.mkdirSync(certs)
    const ca = makeCa(certs)
    const server = makeLeaf(certs, ca, 'server')
    const htpasswd = path.join(certs, 'htpasswd')
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'alice', 's3cret']))
    registry = await startDockerRegistry({ tls: server, authYaml: ['htpasswd:', '  realm: test-realm', `  path: ${htpasswd}`] })
    fs.mkdirSync(path.join(certs, 'cadir'))
    fs.copyFileSync(ca.crt, path.join(certs, 'cadir', 'ca.crt'))
    image = await layout(`${registry.host}/acme/secure:1.0.0`)
  })
  after(async () => { if (registry) await registry.stop() })
  const need = (t) => needTools(t, 'skopeo', 'docker-registry', 'openssl', 'htpasswd')

  test('--creds and --cert-dir: pushed, and skopeo reads the same bytes', async (t) => {
    if (!need(t)) return
    const certDir = path.join(certs, 'cadir')
    const r = await pushOciImage(image.output, { creds: 'alice:s3cret', certDir })
    assert.equal(r.blobs.uploaded, 2)
    await checkWithSkopeo(r.tag, image.output, r.digest, [`--cert-dir=${certDir}`, '--creds=alice:s3cret'])
  })

  test('the layer uploaded during the build over TLS with Basic credentials', async (t) => {
    if (!need(t)) return
    const output = fresh('layout')
    const certDir = path.join(certs, 'cadir')
    const built = await buildOciLayout(plugin('tlsstream'), { output, tag: `${registry.host}/acme/streamed:1`, uploadLayer: { creds: 'alice:s3cret', certDir } })
    assert.deepEqual(built.layerUpload, { uploaded: true, bytes: built.layerSize })
    const r = await pushOciImage(output, { creds: 'alice:s3cret', certDir, streamedBlobs: [built.layerDigest] })
    assert.deepEqual(r.blobs, { uploaded: 2, mounted: 0, existing: 0 })
    await checkWithSkopeo(r.tag, output, r.digest, ['--cert-dir', certDir, '--creds=alice:s3cret'])
  })

  test('E_REGISTRY_TLS without the CA, E_REGISTRY_AUTH without or with wrong credentials', async (t) => {
    if (!need(t)) return
    await rejectsWith(pushOciImage(image.output, { creds: 'alice:s3cret' }), 'E_REGISTRY_TLS', /certs\.d\/127\.0\.0\.1:\d+\/ca\.crt/)
    const certDir = path.join(certs, 'cadir')
    await rejectsWith(pushOciImage(image.output, { certDir }), 'E_REGISTRY_AUTH', /dynpack login/)
    await rejectsWith(pushOciImage(image.output, { certDir, creds: 'alice:wrong' }), 'E_REGISTRY_AUTH', /refused the credentials/)
    // --tls-verify=false skips verification (no CA needed).
    const r = await pushOciImage(image.output, { creds: 'alice:s3cret', tlsVerify: false, tag: `${registry.host}/acme/noverify:1` })
    assert.equal(r.digest, image.result.manifestDigest)
  })

  test('credentials from skopeo login (auth.json) and the CA from ~/.config/containers/certs.d', async (t) => {
    if (!need(t)) return
    const home = fresh('home')
    const caDir = path.join(home, '.config', 'containers', 'certs.d', registry.host)
    fs.mkdirSync(caDir, { recursive: true })
    fs.copyFileSync(path.join(certs, 'cadir', 'ca.crt'), path.join(caDir, 'ca.crt'))
    const authfile = path.join(home, 'auth.json')
    const old = process.env.HOME
    setHome(home)
    try {
      run('skopeo', ['login', '--authfile', authfile, '-u', 'alice', '--password-stdin', registry.host], { input: 's3cret\n', stdio: ['pipe', 'pipe', 'pipe'] })
      const r = await pushOciImage(image.output, { authfile, tag: `${registry.host}/acme/from-skopeo:1` })
      assert.equal(r.digest, image.result.manifestDigest)
      process.env.REGISTRY_AUTH_FILE = authfile
      const r2 = await pushOciImage(image.output, { tag: `${registry.host}/acme/from-env:1` })
      assert.equal(r2.blobs.uploaded + r2.blobs.mounted, 2, 'mounted from acme/secure when it is there')
    } finally {
      delete process.env.REGISTRY_AUTH_FILE
      process.env.HOME = old
    }
  })

  test('credentials from ~/.docker/config.json and from a credential helper on PATH', async (t) => {
    if (!need(t)) return
    const home = fresh('home')
    fs.mkdirSync(path.join(home, '.docker'), { recursive: true })
    const certDir = path.join(certs, 'cadir')
    const old = { HOME: process.env.HOME, PATH: process.env.PATH }
    setHome(home)
    try {
      fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [`https://${registry.host}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }))
      const r = await pushOciImage(image.output, { certDir, tag: `${registry.host}/acme/from-docker:1` })
      assert.equal(r.digest, image.result.manifestDigest)

      const bin = path.join(home, 'bin')
      fs.mkdirSync(bin)
      const log = path.join(home, 'helper.log')
      fs.writeFileSync(path.join(bin, 'docker-credential-dyntest'),
        `#!/bin/sh\nread host\necho "$1 $host" >> ${log}\nprintf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$host"\n`, { mode: 0o755 })
      fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'dyntest' } }))
      process.env.PATH = `${bin}:${old.PATH}`
      const h = await pushOciImage(image.output, { certDir, tag: `${registry.host}/acme/from-helper:1` })
      assert.equal(h.digest, image.result.manifestDigest)
      assert.equal(fs.readFileSync(log, 'utf8').trim().split('\n')[0], `get ${registry.host}`)
    } finally {
      process.env.HOME = old.HOME
      process.env.PATH = old.PATH
    }
  })

  test('dynpack login / logout write the auth.json skopeo reads (0600)', async (t) => {
    if (!need(t)) return
    const authfile = path.join(fresh('login'), 'containers', 'auth.json')
    const certDir = path.join(certs, 'cadir')
    const bad = cli(['login', registry.host, '-u', 'alice', '--password-stdin', '--authfile', authfile, '--cert-dir', certDir], { input: 'wrong\n' })
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /E_REGISTRY_AUTH/)
    assert.ok(!bad.stderr.includes('wrong'), 'the password is never printed')
    assert.ok(!fs.existsSync(authfile))
    const ok = cli(['login', registry.host, '-u', 'alice', '--password-stdin', '--authfile', authfile, '--cert-dir', certDir], { input: 's3cret\n' })
    assert.equal(ok.status, 0, ok.stderr)
    assert.equal(fs.statSync(authfile).mode & 0o777, 0o600)
    assert.deepEqual(readJson(authfile), { auths: { [registry.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } })
    const raw = run('skopeo', ['inspect', '--raw', `--authfile=${authfile}`, `--cert-dir=${certDir}`, `docker://${registry.host}/acme/secure:1.0.0`], { encoding: 'buffer' })
    assert.equal(sha256(raw), image.result.manifestDigest)
    assert.equal(cli(['logout', registry.host, '--authfile', authfile]).status, 0)
    assert.deepEqual(readJson(authfile), { auths: {} })
    const again = cli(['logout', registry.host, '--authfile', authfile])
    assert.equal(again.status, 1)
    assert.match(again.stderr, /not logged in/)
    // The API form.
    const file = await registryLogin(registry.host, 'alice', 's3cret', { authfile, certDir })
    assert.equal(file, authfile)
    assert.deepEqual(await registryLogout(registry.host, { authfile }), { removed: true, file: authfile })
  })
})

const IDENTITY_TOKEN = 'idt-alice-3f9c2b7e51d04a8c'

describe('token auth registry (Bearer, JWT with x5c)', () => {
  let registry
  let tokens
  let image
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl')) return
    const dir = fresh('tok')
    fs.mkdirSync(dir)
    const ca = makeCa(dir, 'tokca')
    const signer = makeLeaf(dir, ca, 'signer', { serverAuth: false, san: 'DNS:token.test' })
    tokens = await startTokenServer({
      signer,
      issuer: 'test-issuer',
      users: { alice: { password: 's3cret', actions: ['pull', 'push'] }, bob: { password: 'pw', actions: ['pull'] } },
      refreshTokens: { [IDENTITY_TOKEN]: 'alice' },
    })
    registry = await startDockerRegistry({
      authYaml: ['token:', `  realm: ${tokens.realm}`, '  service: test-registry', '  issuer: test-issuer', `  rootcertbundle: ${ca.crt}`],
    })
    image = await layout(`${registry.host}/t/app:1.0.0`)
  })
  after(async () => {
    if (registry) await registry.stop()
    if (tokens) await tokens.stop()
  })
  const need = (t) => needTools(t, 'skopeo', 'docker-registry', 'openssl')

  test('a user with push rights pushes; skopeo reads the same bytes; a re-push is up to date', async (t) => {
    if (!need(t)) return
    const r = await pushOciImage(image.output, { tlsVerify: false, creds: 'alice:s3cret' })
    assert.equal(r.blobs.uploaded, 2)
    await checkWithSkopeo(r.tag, image.output, r.digest, ['--tls-verify=false', '--creds=alice:s3cret'])
    const again = await pushOciImage(image.output, { tlsVerify: false, creds: 'alice:s3cret' })
    assert.equal(again.upToDate, true)
  })

  test('the layer uploaded during the build with a bearer token; a pull-only user leaves it to the push', async (t) => {
    if (!need(t)) return
    const output = fresh('layout')
    const built = await buildOciLayout(plugin('tokstream'), { output, tag: `${registry.host}/t/streamed:1`, uploadLayer: { tlsVerify: false, creds: 'alice:s3cret' } })
    assert.deepEqual(built.layerUpload, { uploaded: true, bytes: built.layerSize })
    const r = await pushOciImage(output, { tlsVerify: false, creds: 'alice:s3cret', streamedBlobs: [built.layerDigest] })
    assert.deepEqual(r.blobs, { uploaded: 2, mounted: 0, existing: 0 })
    await checkWithSkopeo(r.tag, output, r.digest, ['--tls-verify=false', '--creds=alice:s3cret'])
    const denied = await buildOciLayout(plugin('tokstream'), { output: fresh('layout'), tag: `${registry.host}/t/denied:1`, uploadLayer: { tlsVerify: false, creds: 'bob:pw' } })
    assert.equal(denied.layerUpload.uploaded, false)
    assert.match(denied.layerUpload.note, /"bob"/)
    assert.doesNotMatch(denied.layerUpload.note, /pw\b/)
  })

  test('anonymous: E_REGISTRY_AUTH; a pull-only user: E_REGISTRY_DENIED; a wrong password: E_REGISTRY_AUTH', async (t) => {
    if (!need(t)) return
    const tag = `${registry.host}/t/other:1`
    await rejectsWith(pushOciImage(image.output, { tlsVerify: false, tag }), 'E_REGISTRY_AUTH', /found none/)
    await rejectsWith(pushOciImage(image.output, { tlsVerify: false, tag, creds: 'bob:pw' }), 'E_REGISTRY_DENIED', /"bob"/)
    await rejectsWith(pushOciImage(image.output, { tlsVerify: false, tag, creds: 'bob:nope' }), 'E_REGISTRY_AUTH', /refused/)
  })

  test('identity tokens (OAuth2 refresh-token grant) from an auth.json and from a credential helper; a wrong one, a realm without OAuth2: E_REGISTRY_AUTH', async (t) => {
    if (!need(t)) return
    const dir = fresh('idt')
    fs.mkdirSync(dir)
    const authfile = path.join(dir, 'auth.json')
    const entry = (token) => ({ auths: { [registry.host]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: token } } })
    fs.writeFileSync(authfile, JSON.stringify(entry(IDENTITY_TOKEN)))
    tokens.state.posts.length = 0
    const r = await pushOciImage(image.output, { tlsVerify: false, authfile, tag: `${registry.host}/t/idt:1` })
    assert.equal(r.digest, image.result.manifestDigest)
    const post = tokens.state.posts.at(-1)
    assert.deepEqual({ ...post, scope: undefined }, { grant_type: 'refresh_token', refresh_token: IDENTITY_TOKEN, client_id: 'dynpack', service: 'test-registry', scope: undefined })
    assert.match(post.scope, /(^| )repository:t\/idt:pull,push( |$)/)
    await checkWithSkopeo(r.tag, image.output, r.digest, ['--tls-verify=false', '--creds=alice:s3cret'])
    // skopeo with the same auth.json takes the same path (its own OAuth2 POST) and reads the same bytes
    const raw = await runAsync('skopeo', ['inspect', '--raw', '--tls-verify=false', `--authfile=${authfile}`, `docker://${r.tag}`], { encoding: 'buffer' })
    assert.ok(raw.equals(fs.readFileSync(blobPath(image.output, r.digest))))
    assert.match(tokens.state.posts.at(-1).client_id, /^containers\/image/)

    // a credential helper answering Username "<token>", through the CLI
    const home = fresh('home')
    const bin = path.join(home, 'bin')
    fs.mkdirSync(bin, { recursive: true })
    fs.mkdirSync(path.join(home, '.docker'))
    fs.writeFileSync(path.join(bin, 'docker-credential-dynidt'),
      `#!/bin/sh\nread host\nprintf '{"ServerURL":"%s","Username":"<token>","Secret":"${IDENTITY_TOKEN}"}' "$host"\n`, { mode: 0o755 })
    fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'dynidt' } }))
    const env = { HOME: home, PATH: `${bin}:${process.env.PATH}` }
    const viaHelper = await cliAsync(['push', image.output, `${registry.host}/t/idt-helper:1`, '--tls-verify=false'], { env })
    assert.equal(viaHelper.status, 0, viaHelper.stderr)
    assert.equal(tokens.state.posts.at(-1).refresh_token, IDENTITY_TOKEN)

    const wrong = 'idt-wrong-77aa01'
    fs.writeFileSync(authfile, JSON.stringify(entry(wrong)))
    await assert.rejects(pushOciImage(image.output, { tlsVerify: false, authfile, tag: `${registry.host}/t/idt:2` }), (e) => {
      assert.equal(e.code, 'E_REGISTRY_AUTH', e.message)
      assert.match(e.message, /refused the identity token from .*auth\.json/)
      assert.ok(!e.message.includes(wrong), 'the token is never printed')
      return true
    })
    fs.writeFileSync(authfile, JSON.stringify(entry(IDENTITY_TOKEN)))
    tokens.state.oauth = false
    try {
      const cliRun = await cliAsync(['push', image.output, `${registry.host}/t/idt:3`, '--tls-verify=false', '--authfile', authfile])
      assert.equal(cliRun.status, 1)
      assert.match(cliRun.stderr, /E_REGISTRY_AUTH: .*does not take identity tokens \(it answered 405/)
      assert.ok(!cliRun.stderr.includes(IDENTITY_TOKEN), 'the token is never printed')
    } finally {
      tokens.state.oauth = true
    }
  })
})

describe('TLS registry requiring a client certificate (mTLS)', () => {
  let registry
  let image
  let dirs
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl')) return
    const certs = fresh('mtls')
    fs.mkdirSync(certs)
    const ca = makeCa(certs)
    const server = makeLeaf(certs, ca, 'server')
    const client = makeLeaf(certs, ca, 'client', { san: 'DNS:dynpack-client', clientAuth: true })
    registry = await startDockerRegistry({ tls: { ...server, clientcas: [ca.crt] } })
    dirs = {}
    for (const [name, files] of Object.entries({ full: ['ca', 'cert', 'key'], caOnly: ['ca'], noKey: ['ca', 'cert'] })) {
      dirs[name] = path.join(certs, name)
      fs.mkdirSync(dirs[name])
      fs.copyFileSync(ca.crt, path.join(dirs[name], 'ca.crt'))
      if (files.includes('cert')) fs.copyFileSync(client.crt, path.join(dirs[name], 'client.cert'))
      if (files.includes('key')) fs.copyFileSync(client.key, path.join(dirs[name], 'client.key'))
    }
    image = await layout(`${registry.host}/acme/mtls:1.0.0`)
  })
  after(async () => { if (registry) await registry.stop() })
  const need = (t) => needTools(t, 'skopeo', 'docker-registry', 'openssl')

  test('client.cert + client.key in --cert-dir: pushed, and skopeo with the same folder reads the same bytes', async (t) => {
    if (!need(t)) return
    const r = await pushOciImage(image.output, { certDir: dirs.full })
    assert.equal(r.blobs.uploaded, 2)
    const raw = await runAsync('skopeo', ['inspect', '--raw', `--cert-dir=${dirs.full}`, `docker://${r.tag}`], { encoding: 'buffer' })
    assert.ok(raw.equals(fs.readFileSync(blobPath(image.output, r.digest))))
    const cliRun = cli(['push', image.output, `${registry.host}/acme/mtls:cli`, '--cert-dir', dirs.full])
    assert.equal(cliRun.status, 0, cliRun.stderr)
  })

  test('without the client certificate: E_REGISTRY_TLS naming certs.d and client.cert/client.key; a certificate without its key is refused', async (t) => {
    if (!need(t)) return
    await rejectsWith(pushOciImage(image.output, { certDir: dirs.caOnly }), 'E_REGISTRY_TLS', /client certificate.*certs\.d\/127\.0\.0\.1:\d+\/client\.cert.*client\.key/)
    await rejectsWith(pushOciImage(image.output, { certDir: dirs.noKey }), 'E_REGISTRY_TLS', /client\.cert: a client certificate without its key .*client\.key/)
  })
})
