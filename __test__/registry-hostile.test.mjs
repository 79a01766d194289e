// Registries and networks that misbehave, each started here on 127.0.0.1
// (issue 22): a registry that redirects a blob or an upload to another host
// asking for credentials, proxies from the environment (an HTTP CONNECT
// proxy that counts its tunnels; the absolute-URI form for plain HTTP), a
// server that speaks neither TLS nor HTTP, and an index that lists one large
// manifest hundreds of times. Real docker-registry wherever a registry is
// needed; small node servers for the misbehaviour only.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import { writeTree, codeLike } from './helpers/tree.mjs'
import { scratchHome, PROXY_VARS, sha256, blobPath, readJson } from './helpers/scratch.mjs'
import { needTools, which, run, REGISTRY_BIN } from './helpers/oci.mjs'
import { makeCa, makeLeaf, startDockerRegistry, startTokenServer, startHttpProxy } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const API = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'lib', 'api.js')
const { buildOciLayout, pushOciImage, inspectOciImage } = require(API)
const BIN = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'dynpack.js')

const scratch = scratchHome('dynpack-hostile-reg-', { unset: PROXY_VARS })
const fresh = scratch.fresh

async function layout (tag) {
  const dir = fresh('plugin')
  writeTree(dir, {
    'package.json': { json: { name: '@acme/hostile-dynamic', version: '1.0.0' } },
    'dist/index.js': codeLike(7, 40_000),
  })
  const output = fresh('layout')
  const result = await buildOciLayout(dir, { output, tag })
  return { output, result }
}

/** bin/dynpack.js without blocking the event loop (the servers live in this process). */
function cli (args, { env = {}, input, cwd } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.stdin.end(input ?? '')
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

async function rejectsWith (promise, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

function listen (server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

function closer (server) {
  return () => { server.closeAllConnections?.(); server.close() }
}

/**
 * Another host (a storage service, or an attacker) a registry sends
 * requests on to: it records each request with its Authorization header,
 * answers `serve(url)` bytes when given, else 401 with a Bearer challenge
 * naming a token realm of its own, which it also serves.
 */
async function startForeignHost ({ serve } = {}) {
  const seen = []
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null })
    req.resume()
    if (req.url.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"from-the-foreign-realm"}')
      return
    }
    const bytes = serve?.(req.url)
    if (bytes) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length })
      res.end(req.method === 'HEAD' ? undefined : bytes)
      return
    }
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="foreign"`, 'content-type': 'application/json' })
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
  })
  const port = await listen(server)
  return { port, host: `127.0.0.1:${port}`, seen, stop: closer(server) }
}

/**
 * An HTTP proxy as corporate networks have: CONNECT tunnels (HTTPS) and the
 * absolute-URI form (plain HTTP). Every host name resolves to 127.0.0.1
 * here, so that registries can have names no resolver knows. Counts the
 * tunnels it opened and the requests it forwarded.
 */
async function startForwardProxy () {
  const state = { tunnels: [], forwarded: [] }
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    let target
    try { target = new URL(req.url) } catch { res.writeHead(400).end('absolute URI expected'); return }
    state.forwarded.push(`${req.method} ${target.host}${target.pathname}`)
    const up = http.request({ host: '127.0.0.1', port: Number(target.port || 80), method: req.method, path: target.pathname + target.search, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers)
      ur.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  server.on('connect', (req, client, head) => {
    state.tunnels.push(req.url)
    const port = Number(req.url.split(':').pop())
    const up = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length) up.write(head)
      up.pipe(client)
      client.pipe(up)
    })
    for (const s of [client, up]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => { sockets.delete(s); client.destroy(); up.destroy() })
    }
  })
  const port = await listen(server)
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    state,
    stop: () => { for (const s of sockets) s.destroy(); closer(server)() },
  }
}

describe('credentials stay with the registry (item 1)', () => {
  let registry
  let tokens
  let image
  const creds = 'alice:s3cret'
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl')) return
    const dir = fresh('tok')
    fs.mkdirSync(dir)
    const ca = makeCa(dir, 'tokca')
    const signer = makeLeaf(dir, ca, 'signer', { serverAuth: false, san: 'DNS:token.test' })
    tokens = await startTokenServer({ signer, issuer: 'test-issuer', users: { alice: { password: 's3cret', actions: ['pull', 'push'] } } })
    registry = await startDockerRegistry({
      authYaml: ['token:', `  realm: ${tokens.realm}`, '  service: test-registry', '  issuer: test-issuer', `  rootcertbundle: ${ca.crt}`],
    })
    image = await layout(`${registry.host}/t/app:1.0.0`)
    await pushOciImage(image.output, { tlsVerify: false, creds })
  })
  after(async () => {
    if (registry) await registry.stop()
    if (tokens) await tokens.stop()
  })
  const need = (t) => needTools(t, 'docker-registry', 'openssl')

  /** The registry behind a front that redirects blob GETs to `foreign`. */
  async function redirectingBlobsTo (foreign, seenByRegistry) {
    return startHttpProxy(registry.port, {
      intercept (req, res) {
        seenByRegistry.push(req.headers.authorization ?? null)
        const m = /^\/v2\/t\/app\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url)
        if (req.method !== 'GET' || !m) return false
        req.resume()
        res.writeHead(307, { location: `http://${foreign.host}/storage/${m[1]}?X-Amz-Signature=abc` }).end()
        return true
      },
      headers: (req) => ({ ...req.headers, host: registry.host }),
    })
  }

  test('a blob redirected to another host that asks for credentials: no credentials, no token go there; E_REGISTRY_AUTH names it', async (t) => {
    if (!need(t)) return
    const foreign = await startForeignHost()
    const seenByRegistry = []
    const front = await redirectingBlobsTo(foreign, seenByRegistry)
    try {
      await rejectsWith(inspectOciImage(`127.0.0.1:${front.port}/t/app:1.0.0`, { tlsVerify: false, creds }), 'E_REGISTRY_AUTH',
        new RegExp(`127\\.0\\.0\\.1:${foreign.port}.*does not send credentials there`))
      assert.ok(seenByRegistry.some((a) => a?.startsWith('Bearer ')), 'the registry itself got the token')
      assert.ok(foreign.seen.length > 0, 'the redirect was followed')
      assert.deepEqual(foreign.seen.filter((r) => r.authorization !== null), [], 'no Authorization header to the other host')
      assert.deepEqual(foreign.seen.filter((r) => r.url.startsWith('/token')), [], 'no token fetched from the realm the other host names')
    } finally {
      front.stop()
      foreign.stop()
    }
  })

  test('a blob redirected to storage on another host that needs no credentials (a pre-signed URL) is read, without Authorization', async (t) => {
    if (!need(t)) return
    const foreign = await startForeignHost({
      serve: (url) => {
        const m = /^\/storage\/(sha256:[0-9a-f]{64})\?/.exec(url)
        return m && fs.existsSync(blobPath(image.output, m[1])) ? fs.readFileSync(blobPath(image.output, m[1])) : null
      },
    })
    const front = await redirectingBlobsTo(foreign, [])
    try {
      const r = await inspectOciImage(`127.0.0.1:${front.port}/t/app:1.0.0`, { tlsVerify: false, creds })
      assert.equal(r.ok, true, JSON.stringify(r.checks))
      assert.equal(r.manifestDigest, image.result.manifestDigest)
      assert.ok(foreign.seen.length >= 2, 'config and layer came from the storage host')
      assert.deepEqual(foreign.seen.filter((s) => s.authorization !== null), [])
    } finally {
      front.stop()
      foreign.stop()
    }
  })

  test('an upload Location on another host that asks for credentials: E_REGISTRY_AUTH, nothing sent there but the unauthenticated PUT', async (t) => {
    if (!need(t)) return
    const foreign = await startForeignHost()
    const front = await startHttpProxy(registry.port, {
      intercept (req, res) {
        if (req.method !== 'POST' || !req.url.startsWith('/v2/t/up/blobs/uploads/')) return false
        req.resume()
        res.writeHead(202, { location: `http://${foreign.host}/upload/1?state=x`, 'docker-upload-uuid': '1', range: '0-0' }).end()
        return true
      },
      headers: (req) => ({ ...req.headers, host: registry.host }),
    })
    try {
      await rejectsWith(pushOciImage(image.output, { tlsVerify: false, creds, tag: `127.0.0.1:${front.port}/t/up:1` }), 'E_REGISTRY_AUTH',
        new RegExp(`127\\.0\\.0\\.1:${foreign.port}.*does not send credentials there`))
      assert.ok(foreign.seen.some((r) => r.method === 'PUT' && r.url.startsWith('/upload/1')), JSON.stringify(foreign.seen))
      assert.deepEqual(foreign.seen.filter((r) => r.authorization !== null), [])
      assert.deepEqual(foreign.seen.filter((r) => r.url.startsWith('/token')), [])
    } finally {
      front.stop()
      foreign.stop()
    }
  })
})

describe('a token realm that redirects', () => {
  let registry
  let tokens
  let realmFront
  let image
  const hops = []
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl')) return
    const dir = fresh('tokredir')
    fs.mkdirSync(dir)
    const ca = makeCa(dir, 'tokca')
    const signer = makeLeaf(dir, ca, 'signer', { serverAuth: false, san: 'DNS:token.test' })
    tokens = await startTokenServer({ signer, issuer: 'test-issuer', users: { alice: { password: 's3cret', actions: ['pull', 'push'] } } })
    const tokenUrl = new URL(tokens.realm)
    // /token answers 307 to /moved/token on the same origin, which is the token server's /token
    const server = http.createServer((req, res) => {
      hops.push({ url: req.url, authorization: req.headers.authorization ?? null })
      if (req.url.startsWith('/token')) {
        req.resume()
        res.writeHead(307, { location: req.url.replace('/token', '/moved/token') }).end()
        return
      }
      const up = http.request({ host: '127.0.0.1', port: tokenUrl.port, method: req.method, path: req.url.replace('/moved', ''), headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode, ur.headers)
        ur.pipe(res)
      })
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    const port = await listen(server)
    realmFront = { stop: closer(server) }
    registry = await startDockerRegistry({
      authYaml: ['token:', `  realm: http://127.0.0.1:${port}/token`, '  service: test-registry', '  issuer: test-issuer', `  rootcertbundle: ${ca.crt}`],
    })
    image = await layout(`${registry.host}/t/moved:1`)
  })
  after(async () => {
    if (registry) await registry.stop()
    if (tokens) await tokens.stop()
    if (realmFront) realmFront.stop()
  })

  test('a redirect within the origin of the realm is followed with the credentials', async (t) => {
    if (!needTools(t, 'docker-registry', 'openssl')) return
    const r = await pushOciImage(image.output, { tlsVerify: false, creds: 'alice:s3cret' })
    assert.equal(r.digest, image.result.manifestDigest)
    assert.ok(hops.some((h) => h.url.startsWith('/moved/token') && h.authorization?.startsWith('Basic ')), JSON.stringify(hops))
  })
})

describe('proxies from the environment (item 3)', () => {
  let tlsRegistry
  let plainRegistry
  let proxy
  let home
  let image
  let authfile
  // Names no resolver knows: only the proxy reaches them.
  let name
  let plainName
  const noProxyVars = Object.fromEntries(PROXY_VARS.map((k) => [k, '']))
  before(async () => {
    if (!REGISTRY_BIN || !which('openssl') || !which('htpasswd')) return
    const certs = fresh('certs')
    fs.mkdirSync(certs)
    const ca = makeCa(certs)
    const server = makeLeaf(certs, ca, 'server', { san: 'DNS:registry.dynpack.test' })
    const htpasswd = path.join(certs, 'htpasswd')
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'alice', 's3cret']))
    tlsRegistry = await startDockerRegistry({ tls: server, authYaml: ['htpasswd:', '  realm: test-realm', `  path: ${htpasswd}`] })
    plainRegistry = await startDockerRegistry()
    name = `registry.dynpack.test:${tlsRegistry.port}`
    plainName = `registry.dynpack.test:${plainRegistry.port}`
    home = fresh('home')
    fs.mkdirSync(path.join(home, '.config', 'containers', 'certs.d', name), { recursive: true })
    fs.copyFileSync(ca.crt, path.join(home, '.config', 'containers', 'certs.d', name, 'ca.crt'))
    authfile = path.join(home, 'auth.json')
    proxy = await startForwardProxy()
    image = await layout(`${name}/acme/proxied:1`)
  })
  after(async () => {
    if (proxy) proxy.stop()
    if (tlsRegistry) await tlsRegistry.stop()
    if (plainRegistry) await plainRegistry.stop()
  })
  const need = (t) => needTools(t, 'docker-registry', 'openssl', 'htpasswd')
  const envWith = (vars) => ({ HOME: home, REGISTRY_AUTH_FILE: authfile, COSIGN_PASSWORD: 'pw', ...noProxyVars, ...vars })

  test('HTTPS_PROXY: login, push, inspect and sign go through CONNECT tunnels to the registry', async (t) => {
    if (!need(t)) return
    const env = envWith({ HTTPS_PROXY: proxy.url })
    const tunnels = () => proxy.state.tunnels.length
    let before = tunnels()
    const login = await cli(['login', name, '-u', 'alice', '--password-stdin'], { env, input: 's3cret\n' })
    assert.equal(login.status, 0, login.stderr)
    assert.ok(tunnels() > before, 'login went through the proxy')

    before = tunnels()
    const push = await cli(['push', image.output, `${name}/acme/proxied:1`], { env })
    assert.equal(push.status, 0, push.stderr)
    assert.ok(tunnels() > before, 'push went through the proxy')

    before = tunnels()
    const inspect = await cli(['inspect', `${name}/acme/proxied:1`, '--json'], { env })
    assert.equal(inspect.status, 0, inspect.stderr + inspect.stdout)
    assert.equal(JSON.parse(inspect.stdout).manifestDigest, image.result.manifestDigest)
    assert.ok(tunnels() > before, 'inspect went through the proxy')

    const keys = fresh('keys')
    fs.mkdirSync(keys)
    const keygen = await cli(['keygen'], { env, cwd: keys })
    assert.equal(keygen.status, 0, keygen.stderr)
    before = tunnels()
    const sign = await cli(['sign', `${name}/acme/proxied:1`, '--key', path.join(keys, 'cosign.key')], { env })
    assert.equal(sign.status, 0, sign.stderr)
    assert.ok(tunnels() > before, 'sign went through the proxy')

    assert.deepEqual([...new Set(proxy.state.tunnels)], [name], 'every tunnel went to the registry')
    if (which('skopeo')) {
      // skopeo, given the same environment, takes the same path
      before = tunnels()
      const { stdout: raw } = await promisify(execFile)('skopeo', ['inspect', '--raw', `docker://${name}/acme/proxied:1`], { encoding: 'buffer', env: { ...process.env, ...env } })
      assert.equal(sha256(raw), image.result.manifestDigest)
      assert.ok(tunnels() > before)
    }
  })

  test('lower-case https_proxy is honoured; NO_PROXY (a domain suffix) sends the request direct, where the name does not resolve', async (t) => {
    if (!need(t)) return
    const tag = `${name}/acme/lower:1`
    let before = proxy.state.tunnels.length
    const lower = await cli(['push', image.output, tag, '--creds', 'alice:s3cret'], { env: envWith({ https_proxy: proxy.url }) })
    assert.equal(lower.status, 0, lower.stderr)
    assert.ok(proxy.state.tunnels.length > before)

    before = proxy.state.tunnels.length
    const direct = await cli(['push', image.output, tag, '--creds', 'alice:s3cret'], { env: envWith({ HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,.dynpack.test' }) })
    assert.equal(direct.status, 1)
    assert.match(direct.stderr, /E_REGISTRY_UNREACHABLE/)
    assert.equal(proxy.state.tunnels.length, before, 'no tunnel for a NO_PROXY host')

    const star = await cli(['push', image.output, tag, '--creds', 'alice:s3cret'], { env: envWith({ HTTPS_PROXY: proxy.url, no_proxy: '*' }) })
    assert.equal(star.status, 1)
    assert.equal(proxy.state.tunnels.length, before, 'no_proxy=* : nothing proxied')
  })

  test('a plain-HTTP registry (--tls-verify=false) through HTTP_PROXY: the absolute-URI form', async (t) => {
    if (!need(t)) return
    const env = envWith({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url })
    const forwarded = proxy.state.forwarded.length
    const tag = `${plainName}/acme/plain:1`
    const push = await cli(['push', image.output, tag, '--tls-verify=false'], { env })
    assert.equal(push.status, 0, push.stderr)
    const through = proxy.state.forwarded.slice(forwarded)
    assert.ok(through.includes(`GET ${plainName}/v2/`), through.join('\n'))
    assert.ok(through.some((r) => r.startsWith(`PUT ${plainName}/v2/acme/plain/manifests/1`)), through.join('\n'))
    const inspect = await cli(['inspect', tag, '--tls-verify=false', '--json'], { env })
    assert.equal(inspect.status, 0, inspect.stderr + inspect.stdout)
    assert.equal(JSON.parse(inspect.stdout).manifestDigest, image.result.manifestDigest)
  })
})

test('--tls-verify=false against a server that speaks neither TLS nor HTTP: the plain-HTTP error is reported (item 9)', async (t) => {
  const server = net.createServer((s) => { s.on('error', () => {}); s.end('SSH-2.0-OpenSSH_9.6\r\n') })
  const port = await listen(server)
  try {
    const { output } = await layout(`127.0.0.1:${port}/acme/x:1`)
    await assert.rejects(pushOciImage(output, { tlsVerify: false }), (e) => {
      assert.equal(e.code, 'E_REGISTRY_UNREACHABLE', `${e.code}: ${e.message}`)
      assert.match(e.message, new RegExp(`http://127\\.0\\.0\\.1:${port}`))
      assert.match(e.message, /HTTPS had failed first: TLS failed/)
      assert.doesNotMatch(e.message, /--tls-verify=false/, 'the user passed it already')
      return true
    })
  } finally {
    closer(server)()
  }
})

describe('an index listing one 1 MiB manifest 600 times (item 5)', () => {
  let registry
  before(async () => { if (REGISTRY_BIN) registry = await startDockerRegistry() })
  after(async () => { if (registry) await registry.stop() })

  test('push walks and sends the manifest once, in bounded memory', async (t) => {
    if (!needTools(t, 'docker-registry')) return
    const tag = `${registry.host}/acme/dup:1`
    const { output } = await layout(tag)
    const index = readJson(path.join(output, 'index.json'))
    const desc = index.manifests[0]
    const manifest = readJson(blobPath(output, desc.digest))
    manifest.annotations = { ...manifest.annotations, 'org.example.padding': 'x'.repeat(1 << 20) }
    const put = (bytes) => { const d = sha256(bytes); fs.writeFileSync(blobPath(output, d), bytes); return { digest: d, size: bytes.length } }
    const big = put(Buffer.from(JSON.stringify(manifest)))
    const entry = { mediaType: desc.mediaType, digest: big.digest, size: big.size }
    const top = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: Array(600).fill(entry) })))
    index.manifests = [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...top, annotations: desc.annotations }]
    fs.writeFileSync(path.join(output, 'index.json'), JSON.stringify(index))

    // the push in a child that reports its peak resident memory
    const script = `require(${JSON.stringify(API)}).pushOciImage(process.argv[1], { tlsVerify: false })
      .then((r) => { process.stdout.write(JSON.stringify(r)); process.stderr.write('MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n') },
        (e) => { process.stderr.write(e.code + ': ' + e.message + '\\n'); process.exitCode = 1 })`
    const r = await new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', script, output], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => { stdout += d })
      child.stderr.on('data', (d) => { stderr += d })
      child.on('close', (status) => resolve({ status, stdout, stderr }))
    })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).digest, top.digest)
    const rssMiB = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)[1]) / 1024
    console.log(`# push of an index listing a 1 MiB manifest 600 times: peak RSS ${rssMiB.toFixed(0)} MiB`)
    assert.ok(rssMiB < 200, `peak RSS ${rssMiB.toFixed(0)} MiB; each distinct manifest must be read once, not held per entry`)
    if (which('skopeo')) {
      const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${tag}`], { encoding: 'buffer' })
      assert.equal(sha256(raw), top.digest)
    }
  })
})
