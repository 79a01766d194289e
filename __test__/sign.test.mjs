// cosign keys and signatures as a library: dynpack keygen writes a pair that
// node:crypto (OpenSSL, an implementation that is not dynpack's) reads once
// decrypted, signatures verify with node:crypto, and a wrong passphrase is E_KEY.
// Then signing images in a registry (docker-registry on 127.0.0.1): the
// sigstore-rs cosign client (tools/sigstore-verify verify-image) finds the
// .sig tag and verifies it with the public key, as cosign verify --key does.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree, codeLike } from './helpers/tree.mjs'
import { needTools, REGISTRY_BIN } from './helpers/oci.mjs'
import { startDockerRegistry } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const { cosignGenerateKeyPair, cosignSign, buildOciLayout, pushOciImage, signOciImage, inspectOciImage } = require('../lib/api.js')
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dynpack.js')
const DIGEST = 'sha256:' + 'ab'.repeat(32)

/** Opens cosign's envelope with node:crypto's scrypt; XSalsa20-Poly1305 is not in OpenSSL, so only the KDF is checked here. */
function envelopeOf (pem) {
  const m = /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n([\s\S]+)\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n$/.exec(pem)
  assert.ok(m, 'cosign PEM label')
  for (const line of m[1].split('\n')) assert.ok(line.length <= 64)
  return JSON.parse(Buffer.from(m[1].replace(/\n/g, ''), 'base64'))
}

test('dynpack keygen writes cosign.key (0600, cosign envelope) and cosign.pub; never prints keys; never overwrites', () => {
  const dir = tempDir('dynpack-keygen-')
  try {
    const out = execFileSync(process.execPath, [BIN, 'keygen'], { cwd: dir, env: { ...process.env, COSIGN_PASSWORD: 'pw' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const key = fs.readFileSync(path.join(dir, 'cosign.key'), 'utf8')
    const pub = fs.readFileSync(path.join(dir, 'cosign.pub'), 'utf8')
    assert.ok(!out.includes('PRIVATE') && !out.includes('PUBLIC KEY-----') && !out.includes('pw'), out)
    assert.equal(fs.statSync(path.join(dir, 'cosign.key')).mode & 0o777, 0o600)
    const env = envelopeOf(key)
    assert.deepEqual(env.kdf.params, { N: 32768, r: 8, p: 1 })
    assert.equal(env.kdf.name, 'scrypt')
    assert.equal(env.cipher.name, 'nacl/secretbox')
    assert.equal(Buffer.from(env.kdf.salt, 'base64').length, 32)
    assert.equal(Buffer.from(env.cipher.nonce, 'base64').length, 24)
    const publicKey = crypto.createPublicKey(pub)
    assert.equal(publicKey.asymmetricKeyDetails.namedCurve, 'prime256v1')

    const again = spawnSync(process.execPath, [BIN, 'keygen'], { cwd: dir, env: { ...process.env, COSIGN_PASSWORD: 'pw' }, encoding: 'utf8' })
    assert.equal(again.status, 1)
    assert.match(again.stderr, /E_KEY/)
    assert.equal(fs.readFileSync(path.join(dir, 'cosign.key'), 'utf8'), key)

    const noPass = spawnSync(process.execPath, [BIN, 'keygen', 'sub'], { cwd: dir, env: { ...process.env, COSIGN_PASSWORD: undefined }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    assert.notEqual(noPass.status, 0)
    assert.match(noPass.stderr, /COSIGN_PASSWORD/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('cosignSign: simple-signing payload, ECDSA-P256 signature node:crypto verifies; wrong passphrase is E_KEY', async () => {
  const dir = tempDir('dynpack-sign-')
  try {
    const { privateKey, publicKey } = await cosignGenerateKeyPair(dir, { passphrase: 'secret' })
    const s = await cosignSign({ key: privateKey, passphrase: 'secret', reference: 'quay.io/acme/plugins:1.0.0', digest: DIGEST })
    assert.equal(s.payload, `{"critical":{"identity":{"docker-reference":"quay.io/acme/plugins:1.0.0"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`)
    const pub = crypto.createPublicKey(fs.readFileSync(publicKey))
    assert.equal(s.publicKey, fs.readFileSync(publicKey, 'utf8'))
    assert.ok(crypto.verify('sha256', Buffer.from(s.payload), pub, Buffer.from(s.signature, 'base64')), 'node:crypto verifies the DER signature')
    assert.ok(!crypto.verify('sha256', Buffer.from(s.payload.replace('1.0.0', '1.0.1')), pub, Buffer.from(s.signature, 'base64')))

    await assert.rejects(cosignSign({ key: privateKey, passphrase: 'bad-pass-123', reference: 'quay.io/a/b:1', digest: DIGEST }),
      (e) => e.code === 'E_KEY' && /passphrase/.test(e.message) && !e.message.includes('bad-pass-123') && !e.message.includes('secret'))

    // a plain PKCS#8 key made by OpenSSL (node:crypto) signs too
    const { privateKey: k } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pemFile = path.join(dir, 'plain.pem')
    fs.writeFileSync(pemFile, k.export({ type: 'pkcs8', format: 'pem' }))
    const p = await cosignSign({ key: pemFile, reference: 'quay.io/a/b:1', digest: DIGEST })
    assert.ok(crypto.verify('sha256', Buffer.from(p.payload), crypto.createPublicKey(k), Buffer.from(p.signature, 'base64')))
    await assert.rejects(cosignSign({ key: path.join(dir, 'missing.key'), reference: 'quay.io/a/b:1', digest: DIGEST }), (e) => e.code === 'E_NOT_FOUND')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

/** A python3 with PyNaCl (Debian's python3-nacl), or null. */
function pythonWithNacl () {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import nacl.secret'], { stdio: 'ignore' })
    if (r.status === 0) return py
  }
  return null
}
const ENVELOPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'cosign-envelope.py')

test("cosign.key opens with hashlib.scrypt + PyNaCl, and a key they seal signs with dynpack", async (t) => {
  const py = pythonWithNacl()
  if (!py) {
    if (process.env.CI === 'true') assert.fail('python3 with PyNaCl is required on CI (apt-get install python3-nacl)')
    return t.skip('python3 with PyNaCl is not installed (apt-get install python3-nacl)')
  }
  const dir = tempDir('dynpack-nacl-')
  try {
    const { privateKey, publicKey } = await cosignGenerateKeyPair(dir, { passphrase: 'p w' })
    const derHex = execFileSync(py, [ENVELOPE, 'open', 'p w'], { input: fs.readFileSync(privateKey), encoding: 'utf8' })
    const opened = crypto.createPrivateKey({ key: Buffer.from(derHex.trim(), 'hex'), format: 'der', type: 'pkcs8' })
    assert.equal(crypto.createPublicKey(opened).export({ type: 'spki', format: 'pem' }), fs.readFileSync(publicKey, 'utf8'))

    const { privateKey: k } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const sealed = execFileSync(py, [ENVELOPE, 'seal', 'other'], { input: k.export({ type: 'pkcs8', format: 'der' }).toString('hex'), encoding: 'utf8' })
    const sealedFile = path.join(dir, 'python.key')
    fs.writeFileSync(sealedFile, sealed)
    const s = await cosignSign({ key: sealedFile, passphrase: 'other', reference: 'quay.io/a/b:1', digest: DIGEST })
    assert.ok(crypto.verify('sha256', Buffer.from(s.payload), crypto.createPublicKey(k), Buffer.from(s.signature, 'base64')))
    await assert.rejects(cosignSign({ key: sealedFile, passphrase: 'p w', reference: 'quay.io/a/b:1', digest: DIGEST }), (e) => e.code === 'E_KEY')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

const SIGSTORE_VERIFY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'tools', 'sigstore-verify', 'target', 'release', 'sigstore-verify')

test("sigstore-rs reads dynpack keygen's cosign.key and verifies dynpack's signatures; rejects others", async (t) => {
  if (!fs.existsSync(SIGSTORE_VERIFY)) {
    const why = 'the sigstore-rs helper is not built (cargo build --release --manifest-path tools/sigstore-verify/Cargo.toml)'
    if (process.env.CI === 'true') assert.fail(why)
    return t.skip(why)
  }
  const dir = tempDir('dynpack-sigstore-')
  try {
    const { privateKey, publicKey } = await cosignGenerateKeyPair(dir, { passphrase: 'sig store' })
    const pem = execFileSync(SIGSTORE_VERIFY, ['load-key', privateKey], { env: { ...process.env, COSIGN_PASSWORD: 'sig store' }, encoding: 'utf8' })
    assert.equal(crypto.createPublicKey(pem).export({ type: 'spki', format: 'pem' }), fs.readFileSync(publicKey, 'utf8'), "sigstore-rs's key loader reads cosign.key")
    const wrong = spawnSync(SIGSTORE_VERIFY, ['load-key', privateKey], { env: { ...process.env, COSIGN_PASSWORD: 'nope' }, encoding: 'utf8' })
    assert.notEqual(wrong.status, 0)

    const s = await cosignSign({ key: privateKey, passphrase: 'sig store', reference: 'quay.io/acme/plugins:1.0.0', digest: DIGEST })
    const payload = path.join(dir, 'payload.json')
    const sig = path.join(dir, 'sig.b64')
    fs.writeFileSync(payload, s.payload)
    fs.writeFileSync(sig, s.signature)
    const verify = (pub, file) => spawnSync(SIGSTORE_VERIFY, ['verify', pub, file, sig], { encoding: 'utf8' })
    assert.equal(verify(publicKey, payload).stdout.trim(), 'VERIFIED')

    const tampered = path.join(dir, 'tampered.json')
    fs.writeFileSync(tampered, s.payload.replace(DIGEST, 'sha256:' + 'cd'.repeat(32)))
    assert.equal(verify(publicKey, tampered).status, 1, 'a changed manifest digest is rejected')
    fs.mkdirSync(path.join(dir, 'other'))
    const other = await cosignGenerateKeyPair(path.join(dir, 'other'), { passphrase: '' })
    assert.equal(verify(other.publicKey, payload).status, 1, 'another key is rejected')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

describe('dynpack sign: signatures pushed to a registry, checked by the sigstore-rs cosign client', () => {
  let registry, dir, keys, other, images
  const insecure = { tlsVerify: false }
  const PASS = 'correct horse'
  const needAll = (t) => {
    if (!needTools(t, 'docker-registry')) return false
    if (!fs.existsSync(SIGSTORE_VERIFY)) {
      const why = 'the sigstore-rs helper is not built (cargo build --release --manifest-path tools/sigstore-verify/Cargo.toml)'
      if (process.env.CI === 'true') assert.fail(why)
      t.skip(why)
      return false
    }
    return true
  }
  /** The cosign client of sigstore-rs on REF (plain HTTP): { ok, out }. */
  const verifyImage = (pub, ref) => {
    const r = spawnSync(SIGSTORE_VERIFY, ['verify-image', pub, ref], { encoding: 'utf8' })
    assert.ok(r.status === 0 || r.status === 1, `sigstore-verify failed: ${r.stderr}`)
    return { ok: r.status === 0, out: r.stdout.trim() }
  }
  const cli = (args, env = {}) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
  const plugin = (name) => {
    const d = path.join(dir, name)
    writeTree(d, {
      'package.json': { json: { name: `@acme/${name}-dynamic`, version: '1.0.0' } },
      'dist/index.js': codeLike(name.length, 5000),
    })
    return d
  }
  const readManifest = async (ref) => {
    const [repo, tag] = ref.split(/:(?=[^:/]+$)/)
    const name = repo.slice(registry.host.length + 1)
    const res = await fetch(`http://${registry.host}/v2/${name}/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) }
  }

  before(async () => {
    if (!REGISTRY_BIN) return
    registry = await startDockerRegistry()
    dir = tempDir('dynpack-sign-reg-')
    fs.mkdirSync(path.join(dir, 'k1'))
    fs.mkdirSync(path.join(dir, 'k2'))
    keys = await cosignGenerateKeyPair(path.join(dir, 'k1'), { passphrase: PASS })
    other = await cosignGenerateKeyPair(path.join(dir, 'k2'), { passphrase: '' })
    images = {}
    for (const name of ['a', 'b', 'c']) {
      const output = path.join(dir, `layout-${name}`)
      const built = await buildOciLayout(plugin(name), { output, tag: `${registry.host}/sig/app:${name}` })
      images[name] = { output, digest: built.manifestDigest, pushed: await pushOciImage(output, insecure) }
    }
  })
  after(async () => {
    if (registry) await registry.stop()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  test('accepts the signed image; rejects an unsigned one, another key, and a tag moved after signing', async (t) => {
    if (!needAll(t)) return
    const a = `${registry.host}/sig/app:a`
    const r = cli(['sign', a, '--key', keys.privateKey, '--tls-verify=false', '--json'], { COSIGN_PASSWORD: PASS })
    assert.equal(r.status, 0, r.stderr)
    assert.ok(!(r.stdout + r.stderr).includes(PASS) && !(r.stdout + r.stderr).includes('PRIVATE KEY'))
    const signed = JSON.parse(r.stdout)
    assert.deepEqual(signed, {
      reference: `${registry.host}/sig/app@${images.a.digest}`,
      digest: images.a.digest,
      signatureTag: `${registry.host}/sig/app:${images.a.digest.replace(':', '-')}.sig`,
      signatureDigest: signed.signatureDigest,
      signatures: 1,
      upToDate: false,
    })
    // the signature image as cosign's spec has it; the payload names the repository (no tag) and the digest
    const sig = await readManifest(signed.signatureTag)
    assert.equal(sig.status, 200)
    const m = JSON.parse(sig.bytes)
    assert.equal(m.layers.length, 1)
    assert.equal(m.layers[0].mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json')
    assert.ok(m.layers[0].annotations['dev.cosignproject.cosign/signature'])
    const payload = JSON.parse(Buffer.from(await (await fetch(`http://${registry.host}/v2/sig/app/blobs/${m.layers[0].digest}`)).arrayBuffer()))
    assert.deepEqual(payload, { critical: { identity: { 'docker-reference': `${registry.host}/sig/app` }, image: { 'docker-manifest-digest': images.a.digest }, type: 'cosign container image signature' }, optional: null })

    const accepted = verifyImage(keys.publicKey, a)
    assert.ok(accepted.ok, accepted.out)
    assert.match(accepted.out, /^VERIFIED/)
    assert.ok(verifyImage(keys.publicKey, `${registry.host}/sig/app@${images.a.digest}`).ok, 'by digest too')

    const unsigned = verifyImage(keys.publicKey, `${registry.host}/sig/app:b`)
    assert.ok(!unsigned.ok, `unsigned: ${unsigned.out}`)
    const otherKey = verifyImage(other.publicKey, a)
    assert.ok(!otherKey.ok, `another key: ${otherKey.out}`)

    // c signed with the other key only: rejected for our key, accepted for its own
    const c = await signOciImage(`${registry.host}/sig/app:c`, { key: other.privateKey, passphrase: '', ...insecure })
    assert.equal(c.signatures, 1)
    assert.ok(!verifyImage(keys.publicKey, `${registry.host}/sig/app:c`).ok, 'signed with another key')
    assert.ok(verifyImage(other.publicKey, `${registry.host}/sig/app:c`).ok)

    // the manifest changed after signing: the tag now names b; and a's signature copied to b's .sig tag
    await pushOciImage(images.b.output, { ...insecure, tag: `${registry.host}/sig/moved:1` })
    await pushOciImage(images.a.output, { ...insecure, tag: `${registry.host}/sig/moved:1` })
    const moved = `${registry.host}/sig/app:a`
    await pushOciImage(images.b.output, { ...insecure, tag: moved })
    const retagged = verifyImage(keys.publicKey, moved)
    assert.ok(!retagged.ok, `re-tagged: ${retagged.out}`)
    const put = await fetch(`http://${registry.host}/v2/sig/app/manifests/${images.b.digest.replace(':', '-')}.sig`, { method: 'PUT', headers: { 'Content-Type': m.mediaType }, body: sig.bytes })
    assert.equal(put.status, 201)
    const transplanted = verifyImage(keys.publicKey, moved)
    assert.ok(!transplanted.ok, `a signature of another digest: ${transplanted.out}`)
    assert.ok(verifyImage(keys.publicKey, `${registry.host}/sig/app@${images.a.digest}`).ok, 'the original digest still verifies')
  })

  test('signing again is a no-op; a second key adds a layer and both verify; wrong passphrase is E_KEY', async (t) => {
    if (!needAll(t)) return
    const ref = `${registry.host}/sig/app@${images.a.digest}`
    const again = await signOciImage(ref, { key: keys.privateKey, passphrase: PASS, ...insecure })
    assert.equal(again.upToDate, true)
    assert.equal(again.signatures, 1)
    const second = await signOciImage(ref, { key: other.privateKey, passphrase: '', ...insecure })
    assert.equal(second.upToDate, false)
    assert.equal(second.signatures, 2)
    assert.ok(verifyImage(keys.publicKey, ref).ok)
    assert.ok(verifyImage(other.publicKey, ref).ok)

    const wrong = cli(['sign', ref, '--key', keys.privateKey, '--tls-verify=false'], { COSIGN_PASSWORD: 'not it' })
    assert.equal(wrong.status, 1)
    assert.match(wrong.stderr, /^dynpack: E_KEY: .*passphrase/m)
    assert.ok(!wrong.stderr.includes('not it'))
    const noPass = cli(['sign', ref, '--key', keys.privateKey, '--tls-verify=false'], { COSIGN_PASSWORD: undefined })
    assert.equal(noPass.status, 1)
    assert.match(noPass.stderr, /E_KEY: .*COSIGN_PASSWORD/)
    const missing = cli(['sign', `${registry.host}/sig/none:1`, '--key', keys.privateKey, '--tls-verify=false'], { COSIGN_PASSWORD: PASS })
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /E_IMAGE_NOT_FOUND/)
    assert.equal(cli(['sign', ref]).status, 2, '--key is required')
  })

  test('dynpack package --push --sign-key signs every pushed image', async (t) => {
    if (!needAll(t)) return
    const tag = `${registry.host}/sig/pk:1.0.0`
    const r = cli(['package', plugin('pk'), '--tag', tag, '--push', '--sign-key', keys.privateKey, '--tls-verify=false', '--output', path.join(dir, 'pk-out'), '--json'], { COSIGN_PASSWORD: PASS })
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.image.signed.digest, out.image.pushed.digest)
    assert.ok(verifyImage(keys.publicKey, tag).ok)
    assert.equal(cli(['package', plugin('pk2'), '--tag', tag, '--sign-key', keys.privateKey]).status, 2, '--sign-key needs --push')
    // a passphrase that does not open the key: E_KEY before anything is built or pushed
    const wrongTag = `${registry.host}/sig/pk-wrong:1.0.0`
    const wrongOut = path.join(dir, 'pk-wrong-out')
    const wrong = cli(['package', plugin('pk3'), '--tag', wrongTag, '--push', '--sign-key', keys.privateKey, '--tls-verify=false', '--output', wrongOut], { COSIGN_PASSWORD: 'not it' })
    assert.equal(wrong.status, 1)
    assert.match(wrong.stderr, /^dynpack: E_KEY: /m)
    assert.ok(!wrong.stderr.includes('not it'))
    assert.ok(!fs.existsSync(wrongOut), 'nothing built')
    const tags = await fetch(`http://${registry.host}/v2/sig/pk-wrong/tags/list`)
    assert.equal(tags.status, 404, 'nothing pushed')
  })

  test('the SBOM referrer of a pushed image is signed like an image, and sigstore-rs verifies it', async (t) => {
    if (!needAll(t)) return
    const tag = `${registry.host}/sig/sbom:1.0.0`
    const r = cli(['package', plugin('sb'), '--tag', tag, '--sbom', '--push', '--tls-verify=false', '--output', path.join(dir, 'sb-out'), '--json'])
    assert.equal(r.status, 0, r.stderr)
    const referrer = JSON.parse(r.stdout).plugins[0].sbom.referrer
    assert.match(referrer, /^sha256:[0-9a-f]{64}$/)
    const ref = `${registry.host}/sig/sbom@${referrer}`
    assert.ok(!verifyImage(keys.publicKey, ref).ok, 'not signed yet')
    const signed = cli(['sign', ref, '--key', keys.privateKey, '--tls-verify=false', '--json'], { COSIGN_PASSWORD: PASS })
    assert.equal(signed.status, 0, signed.stderr)
    assert.equal(JSON.parse(signed.stdout).digest, referrer)
    assert.ok(verifyImage(keys.publicKey, ref).ok, 'the referrer verifies')
    assert.ok(!verifyImage(other.publicKey, ref).ok, 'another key does not')
  })

  test('dynpack inspect --key: the signature rule; the SBOM referrers listed from the sha256-<hex> tag', async (t) => {
    if (!needAll(t)) return
    const inspect = (ref, ...args) => {
      const r = cli(['inspect', ref, '--tls-verify=false', '--json', ...args])
      return { status: r.status, stderr: r.stderr, report: r.stdout ? JSON.parse(r.stdout) : null }
    }
    const rule = (report) => report.checks.find((c) => c.rule === 'signature')
    const signedRef = `${registry.host}/sig/pk:1.0.0`
    const good = inspect(signedRef, '--key', keys.publicKey)
    assert.equal(good.status, 0, good.stderr)
    assert.equal(rule(good.report).status, 'pass')
    assert.deepEqual(good.report.signature, { tag: `${good.report.digest.replace(':', '-')}.sig`, found: 1, verified: 1 })
    const noKey = inspect(signedRef)
    assert.equal(noKey.status, 0)
    assert.equal(rule(noKey.report).status, 'skipped')
    assert.equal(noKey.report.signature, null)

    const wrongKey = inspect(signedRef, '--key', other.publicKey)
    assert.equal(wrongKey.status, 1)
    assert.match(wrongKey.stderr, /E_IMAGE_CHECK: .* fails the rule signature \(1 signature\(s\) at sha256-.*\.sig, none made with/)

    await pushOciImage(images.c.output, { ...insecure, tag: `${registry.host}/sig/unsigned:1` })
    const unsigned = inspect(`${registry.host}/sig/unsigned:1`, '--key', keys.publicKey)
    assert.equal(unsigned.status, 1)
    assert.match(unsigned.stderr, /fails the rule signature \(no cosign signature/)
    // b's .sig tag holds a's signature (copied there in the first test): it names another digest
    const transplanted = await inspectOciImage(`${registry.host}/sig/app@${images.b.digest}`, { tlsVerify: false, key: keys.publicKey })
    assert.equal(transplanted.ok, false)
    assert.deepEqual({ ...transplanted.signature }, { tag: `${images.b.digest.replace(':', '-')}.sig`, found: 1, verified: 0 })

    const both = await inspectOciImage(`${registry.host}/sig/app@${images.a.digest}`, { tlsVerify: false, key: other.publicKey })
    assert.equal(both.ok, true)
    assert.equal(both.signature.found, 2)
    assert.equal(both.signature.verified, 1)
    await assert.rejects(inspectOciImage(signedRef, { tlsVerify: false, key: keys.privateKey }), (e) => e.code === 'E_KEY' && !e.message.includes(PASS))

    // the SBOM referrer a push with sbom: true leaves in the registry
    const output = path.join(dir, 'layout-sbom')
    const built = await buildOciLayout(plugin('s'), { output, tag: `${registry.host}/sig/sbom:1`, sbom: true })
    await pushOciImage(output, insecure)
    const withSbom = inspect(`${registry.host}/sig/sbom:1`)
    assert.equal(withSbom.status, 0, withSbom.stderr)
    assert.equal(withSbom.report.referrers.length, 1)
    assert.equal(withSbom.report.referrers[0].digest, built.sboms[0].manifestDigest)
    assert.equal(withSbom.report.referrers[0].artifactType, 'application/vnd.cyclonedx+json')
    const text = cli(['inspect', `${registry.host}/sig/sbom:1`, '--tls-verify=false'])
    assert.match(text.stdout, /Referrers:\n {2}application\/vnd\.cyclonedx\+json {2}sha256:/)
  })
})
