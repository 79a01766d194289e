// Regression tests of the security review (issue 22), each against an input
// or a server the test makes: tar metadata bombs in layers and archives,
// auth.json's mode from its creation, a cosign.key asking for gigabytes of
// scrypt, terminal escapes from image content, and a signature copied with
// its image to another repository.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import zlib from 'node:zlib'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'
import { needTools, REGISTRY_BIN } from './helpers/oci.mjs'
import { startDockerRegistry } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const API = path.join(here, '..', 'lib', 'api.js')
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const api = require(API)
const ANNOTATION = 'io.backstage.dynamic-packages'

let root
before(() => { root = tempDir('dynpack-review-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const fresh = (name) => path.join(root, `${name}-${++counter}`)
const sha256 = (buf) => 'sha256:' + crypto.createHash('sha256').update(buf).digest('hex')

function dynpack (args, opts = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...opts })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

// ---------------------------------------------------------------------------
// Tar and image building, by hand

/** A 512-byte ustar/GNU header; `size` is what it claims, the data is the caller's. */
function header ({ name, type = '0', size = 0, link = '', gnu = false }) {
  const h = Buffer.alloc(512)
  const put = (s, off, len) => h.write(s, off, len, 'utf8')
  const num = (n, off, len) => put(n.toString(8).padStart(len - 1, '0') + '\0', off, len)
  put(name, 0, 100)
  num(type === '5' ? 0o755 : 0o644, 100, 8)
  num(0, 108, 8); num(0, 116, 8)
  num(size, 124, 12)
  num(0, 136, 12)
  h.write('        ', 148, 8)
  put(type, 156, 1)
  put(link, 157, 100)
  if (gnu) put('ustar  \0', 257, 8)
  else { put('ustar\0', 257, 6); put('00', 263, 2) }
  let sum = 0
  for (const b of h) sum += b
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
  return h
}

const pad = (n) => Buffer.alloc((512 - (n % 512)) % 512)

/** One member; a name past 100 bytes goes in a GNU long-name (`L`) member first. */
function member ({ name, type = '0', data = Buffer.alloc(0), link = '' }) {
  const body = type === '0' ? Buffer.from(data) : Buffer.alloc(0)
  const parts = []
  if (Buffer.byteLength(name) > 100) {
    const long = Buffer.from(name + '\0')
    parts.push(header({ name: '././@LongLink', type: 'L', size: long.length, gnu: true }), long, pad(long.length))
    name = name.slice(0, 100)
  }
  parts.push(header({ name, type, size: body.length, link, gnu: parts.length > 0 }), body, pad(body.length))
  return Buffer.concat(parts)
}

const pluginMembers = (dir, pkg = { name: `@x/${dir}-dynamic`, version: '1.0.0' }) => [
  { name: `${dir}/`, type: '5' },
  { name: `${dir}/package.json`, data: JSON.stringify(pkg) },
  { name: `${dir}/dist/index.js`, data: 'module.exports = 1\n' },
]

/**
 * An OCI layout of one image whose (gzip) layer is `layer`, or the members
 * `members` plus the root index.json of `plugins` ({ directory: metadata }).
 */
function layoutWith ({ plugins, members = [], layer, diffId }) {
  const dir = fresh('layout')
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const blob = (buf) => { const d = sha256(buf); fs.writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), buf); return d }
  const metadata = Object.entries(plugins).map(([d, m]) => ({ [d]: m }))
  if (!layer) {
    const tar = Buffer.concat([...[...members, { name: 'index.json', data: JSON.stringify(metadata, null, 2) }].map(member), Buffer.alloc(1024)])
    layer = zlib.gzipSync(tar)
    diffId = sha256(tar)
  }
  const config = Buffer.from(JSON.stringify({
    created: '1970-01-01T00:00:00Z', architecture: 'amd64', os: 'linux',
    config: { Labels: { [ANNOTATION]: Buffer.from(JSON.stringify(metadata)).toString('base64') } },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  }))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blob(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob(layer), size: layer.length }],
    annotations: { [ANNOTATION]: Buffer.from(JSON.stringify(metadata)).toString('base64') },
  }))
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: blob(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': '1.0.0' } }],
  }))
  return dir
}

/**
 * A gzip layer whose first member is an `L` (or PAX `x`) header claiming
 * `size` bytes, followed by that many bytes, compressed as they are made
 * (never held in memory): `{ layer, diffId }`.
 */
async function metadataBomb (type, size) {
  const gzip = zlib.createGzip({ level: 9 })
  const hash = crypto.createHash('sha256')
  const out = []
  gzip.on('data', (c) => out.push(c))
  const ended = once(gzip, 'end')
  const write = async (buf) => { hash.update(buf); if (!gzip.write(buf)) await once(gzip, 'drain') }
  await write(header({ name: type === 'L' ? '././@LongLink' : 'PaxHeaders/x', type, size, gnu: type === 'L' }))
  const chunk = Buffer.alloc(1 << 20, type === 'L' ? 'd' : 'a')
  for (let left = size; left > 0; left -= chunk.length) await write(left >= chunk.length ? chunk : chunk.subarray(0, left))
  await write(pad(size))
  await write(header({ name: 'x/package.json', size: 2 }))
  await write(Buffer.from('{}'))
  await write(pad(2))
  await write(Buffer.alloc(1024))
  gzip.end()
  await ended
  return { layer: Buffer.concat(out), diffId: 'sha256:' + hash.digest('hex') }
}

/** Runs inspectOciImage(target) in a child node: { code, message, maxRssMb, ok }. */
function inspectInChild (target) {
  const script = `
    const api = require(${JSON.stringify(API)})
    api.inspectOciImage(${JSON.stringify(target)}).then(
      (r) => ({ ok: r.ok, plugins: r.plugins.map((p) => p.directory) }),
      (e) => ({ code: e.code, message: e.message }),
    ).then((r) => { r.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024); console.log(JSON.stringify(r)) })`
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

// ---------------------------------------------------------------------------

describe('tar metadata is bounded (1 MiB) in every tar reader', () => {
  let baseline
  before(() => {
    baseline = inspectInChild(layoutWith({ plugins: { p: { name: '@x/p-dynamic', version: '1.0.0' } }, members: pluginMembers('p') }))
  })

  for (const [type, what] of [['L', 'a GNU long name'], ['x', 'a PAX header']]) {
    test(`a 512 MiB ${what} in a small gzip layer fails with E_TAR_HEADER_TOO_LARGE in bounded memory`, async () => {
      const bomb = await metadataBomb(type, 512 << 20)
      assert.ok(bomb.layer.length < 2 << 20, `the layer is ${bomb.layer.length} bytes`)
      const layout = layoutWith({ plugins: { x: { name: '@x/x-dynamic', version: '1.0.0' } }, ...bomb })
      const started = Date.now()
      const r = inspectInChild(layout)
      assert.equal(r.code, 'E_TAR_HEADER_TOO_LARGE', JSON.stringify(r))
      assert.match(r.message, /blobs\/sha256\/|layer/)
      assert.match(r.message, /larger than 1 MiB/)
      // Before: 1.7 GB (L) and 900 MB (x, from 261 KB). Now a few MB above
      // a plain inspect, whatever the claimed size.
      assert.ok(r.maxRssMb < baseline.maxRssMb + 64, `maxRSS ${r.maxRssMb} MB, baseline ${baseline.maxRssMb} MB`)
      assert.ok(Date.now() - started < 30_000)
      const cli = dynpack(['inspect', layout])
      assert.equal(cli.status, 1)
      assert.match(cli.stderr, /^dynpack: E_TAR_HEADER_TOO_LARGE: .*larger than 1 MiB/m)
    })
  }

  test('a legitimate long name (300 characters, GNU L) is still read', async () => {
    const long = `p/dist/${'n'.repeat(280)}/file.js`
    const layout = layoutWith({
      plugins: { p: { name: '@x/p-dynamic', version: '1.0.0' } },
      members: [...pluginMembers('p'), { name: long, data: 'y'.repeat(5000) }],
    })
    const r = await api.inspectOciImage(layout)
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => c.status === 'error')))
    assert.deepEqual(r.plugins[0].largestFile, { path: long, size: 5000 })
  })

  test('an oci-archive with a long-name bomb is refused by inspect, push and a build into it', async () => {
    const archive = fresh('bomb') + '.tar'
    const size = 8 << 20
    fs.writeFileSync(archive, Buffer.concat([
      header({ name: '././@LongLink', type: 'L', size, gnu: true }), Buffer.alloc(size, 'd'),
      header({ name: 'oci-layout', size: 2 }), Buffer.from('{}'), pad(2), Buffer.alloc(1024),
    ]))
    await assert.rejects(api.inspectOciImage(archive), (e) => e.code === 'E_TAR_HEADER_TOO_LARGE' && e.message.includes(archive))
    await assert.rejects(api.pushOciImage(archive, { tag: '127.0.0.1:1/x/y:1', tlsVerify: false }),
      (e) => e.code === 'E_TAR_HEADER_TOO_LARGE' && e.message.includes(archive))
    const plugin = fresh('plugin')
    fs.mkdirSync(path.join(plugin, 'dist'), { recursive: true })
    fs.writeFileSync(path.join(plugin, 'package.json'), JSON.stringify({ name: '@x/p-dynamic', version: '1.0.0' }))
    fs.writeFileSync(path.join(plugin, 'dist', 'index.js'), '1\n')
    await assert.rejects(api.buildOciLayout(plugin, { output: archive, archive: true, tag: 'quay.io/x/p:1' }),
      (e) => e.code === 'E_TAR_HEADER_TOO_LARGE' && e.message.includes(archive))
  })
})

// ---------------------------------------------------------------------------

test('auth.json is never readable by others, not even while it is written', async (t) => {
  if (process.platform === 'win32') return t.skip('POSIX modes only')
  // A registry that accepts any login: GET /v2/ answers 200.
  const server = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{}') })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const host = `127.0.0.1:${server.address().port}`
  const dir = fresh('auth')
  fs.mkdirSync(dir, { mode: 0o755 })
  const authfile = path.join(dir, 'auth.json')
  const seen = []
  const watcher = fs.watch(dir, (_, name) => {
    if (!name) return
    try { seen.push([name, fs.statSync(path.join(dir, name)).mode & 0o777]) } catch {}
  })
  const umask = process.umask(0o022)
  try {
    for (let i = 0; i < 40; i++) await api.registryLogin(host, 'user', `secret-${i}`, { authfile, tlsVerify: false })
    await api.registryLogout(host, authfile)
  } finally {
    process.umask(umask)
    watcher.close()
    server.close()
  }
  assert.equal(fs.statSync(authfile).mode & 0o777, 0o600)
  assert.ok(seen.length > 0, 'the watcher saw the files written')
  const open = seen.filter(([, mode]) => (mode & 0o077) !== 0)
  assert.deepEqual(open, [], 'a file in the auth folder was readable by others')
})

// ---------------------------------------------------------------------------

test('a cosign.key asking for more scrypt than cosign accepts is refused at once', async () => {
  const dir = fresh('keys')
  fs.mkdirSync(dir)
  for (const [N, r, p] of [[1 << 20, 8, 1], [1 << 22, 8, 1], [1 << 15, 64, 1], [1 << 15, 8, 16], [1 << 10, 8, 1]]) {
    const envelope = {
      kdf: { name: 'scrypt', params: { N, r, p }, salt: crypto.randomBytes(32).toString('base64') },
      cipher: { name: 'nacl/secretbox', nonce: crypto.randomBytes(24).toString('base64') },
      ciphertext: crypto.randomBytes(160).toString('base64'),
    }
    const body = Buffer.from(JSON.stringify(envelope)).toString('base64').match(/.{1,64}/g).join('\n')
    const key = path.join(dir, `n${N}-r${r}-p${p}.key`)
    fs.writeFileSync(key, `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${body}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`)
    const started = process.hrtime.bigint()
    await assert.rejects(api.cosignSign({ key, passphrase: 'wrong', reference: 'quay.io/a/b:1', digest: 'sha256:' + '0'.repeat(64) }),
      (e) => e.code === 'E_KEY' && /not a set cosign accepts/.test(e.message) && !e.message.includes('wrong'))
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    assert.ok(ms < 500, `N=${N} r=${r} p=${p} took ${ms} ms`)
  }
})

// ---------------------------------------------------------------------------

describe('terminal escapes from image content are shown inert', () => {
  const ESC = '\x1b'
  // Moves up a line and erases it (would hide the ✗ line above), a C1 CSI,
  // and a right-to-left override.
  const evil = `${ESC}[1A${ESC}[2K\u009b2K\u202e`
  let layout
  before(() => {
    layout = layoutWith({
      plugins: { p: { name: `@x/p${evil}-dynamic`, version: `1.0.0${evil}` } },
      members: [
        { name: 'p/', type: '5' },
        { name: 'p/package.json', data: JSON.stringify({ name: `@x/p${evil}-dynamic`, version: `1.0.0${evil}` }) },
        { name: `p/dist/${evil}.js`, data: 'z'.repeat(4000) },
        // A FIFO fails special-files, with the entry name in the finding.
        { name: `p/dist/fifo${evil}`, type: '6' },
      ],
    })
  })

  const inert = (text) => {
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
  }

  test('inspect (table, --verbose, --json) and the E_IMAGE_CHECK line escape them', () => {
    const text = dynpack(['inspect', layout, '--verbose'])
    assert.equal(text.status, 1)
    inert(text.stdout)
    inert(text.stderr)
    assert.match(text.stdout, /@x\/p\\x1b\[1A\\x1b\[2K\\x9b2K\\u\{202e\}-dynamic/)
    assert.match(text.stdout, /✗ .*fifo\\x1b\[1A/)
    assert.match(text.stderr, /^dynpack: E_IMAGE_CHECK: .* fails the rule special-files \(.*fifo\\x1b\[1A\\x1b\[2K\\x9b2K\\u\{202e\}/m)
    const json = dynpack(['inspect', layout, '--json'])
    inert(json.stdout)
    const report = JSON.parse(json.stdout)
    assert.equal(report.plugins[0].name, `@x/p${evil}-dynamic`, 'the JSON value is unchanged')
  })

  test('an error message quoting an input name is escaped', () => {
    const missing = path.join(root, `missing${evil}`)
    const r = dynpack(['inspect', missing])
    assert.notEqual(r.status, 0)
    inert(r.stderr)
    assert.match(r.stderr, /missing\\x1b\[1A/)
  })
})

// ---------------------------------------------------------------------------

describe('inspect --key checks the repository the signature names', () => {
  let registry, dir, keys
  const insecure = { tlsVerify: false }
  before(async () => {
    if (!REGISTRY_BIN) return
    registry = await startDockerRegistry()
    dir = tempDir('dynpack-review-sig-')
    keys = await api.cosignGenerateKeyPair(dir, { passphrase: '' })
  })
  after(async () => {
    if (registry) await registry.stop()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  /** Copies the manifest at `from` (and the .sig tag of its digest) to `to`, a repository of the same registry. */
  async function copyImage (fromRepo, tag, toRepo, digest) {
    const base = `http://${registry.host}/v2`
    const accept = { Accept: 'application/vnd.oci.image.manifest.v1+json' }
    for (const ref of [tag, `${digest.replace(':', '-')}.sig`]) {
      const res = await fetch(`${base}/${fromRepo}/manifests/${ref}`, { headers: accept })
      assert.equal(res.status, 200, ref)
      const bytes = Buffer.from(await res.arrayBuffer())
      const m = JSON.parse(bytes)
      for (const d of [m.config, ...m.layers]) {
        const mount = await fetch(`${base}/${toRepo}/blobs/uploads/?mount=${d.digest}&from=${fromRepo}`, { method: 'POST' })
        assert.equal(mount.status, 201, `mount ${d.digest}: ${mount.status}`)
      }
      const put = await fetch(`${base}/${toRepo}/manifests/${ref}`, { method: 'PUT', headers: { 'Content-Type': m.mediaType }, body: bytes })
      assert.equal(put.status, 201, `${ref}: ${put.status}`)
    }
  }

  test('a signature copied with its image to another repository fails unless --any-repository', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const plugin = path.join(dir, 'plugin')
    fs.mkdirSync(path.join(plugin, 'dist'), { recursive: true })
    fs.writeFileSync(path.join(plugin, 'package.json'), JSON.stringify({ name: '@x/signed-dynamic', version: '1.0.0' }))
    fs.writeFileSync(path.join(plugin, 'dist', 'index.js'), 'module.exports = 1\n')
    const output = path.join(dir, 'layout')
    const built = await api.buildOciLayout(plugin, { output, tag: `${registry.host}/team/app:1.0.0` })
    await api.pushOciImage(output, insecure)
    await api.signOciImage(`${registry.host}/team/app:1.0.0`, { key: keys.privateKey, passphrase: '', ...insecure })

    const here = await api.inspectOciImage(`${registry.host}/team/app:1.0.0`, { ...insecure, key: keys.publicKey })
    assert.equal(here.ok, true)
    assert.equal(here.signature.verified, 1)

    await copyImage('team/app', '1.0.0', 'other/app', built.manifestDigest)
    const copied = await api.inspectOciImage(`${registry.host}/other/app:1.0.0`, { ...insecure, key: keys.publicKey })
    assert.equal(copied.ok, false)
    assert.deepEqual({ ...copied.signature }, { tag: `${built.manifestDigest.replace(':', '-')}.sig`, found: 1, verified: 0 })
    const finding = copied.checks.find((c) => c.rule === 'signature').findings[0].message
    assert.match(finding, /name another image \("127\.0\.0\.1:\d+\/team\/app"\)/)
    const byDigest = await api.inspectOciImage(`${registry.host}/other/app@${built.manifestDigest}`, { ...insecure, key: keys.publicKey })
    assert.equal(byDigest.ok, false)

    const accepted = await api.inspectOciImage(`${registry.host}/other/app:1.0.0`, { ...insecure, key: keys.publicKey, anyRepository: true })
    assert.equal(accepted.ok, true)
    assert.equal(accepted.signature.verified, 1)

    const cli = dynpack(['inspect', `${registry.host}/other/app:1.0.0`, '--tls-verify=false', '--key', keys.publicKey])
    assert.equal(cli.status, 1)
    assert.match(cli.stderr, /E_IMAGE_CHECK: .* fails the rule signature \(1 signature\(s\) made with .* name another image .*--any-repository/)
    const any = dynpack(['inspect', `${registry.host}/other/app:1.0.0`, '--tls-verify=false', '--key', keys.publicKey, '--any-repository'])
    assert.equal(any.status, 0, any.stderr)
    assert.match(dynpack(['inspect', '--help']).stdout + dynpack(['inspect', '--help']).stderr, /--any-repository/)
  })
})
