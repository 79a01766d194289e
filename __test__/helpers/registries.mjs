// Real registries on 127.0.0.1 for the push tests: docker-registry over plain
// HTTP, over TLS with a CA made here (openssl) and bcrypt htpasswd, and with
// token auth from a small token server that signs ES256 JWTs with an x5c
// chain to a CA made here (as quay, ghcr and Docker Hub work). A TCP proxy
// stands in for a registry that stops in the middle of a push, an HTTP proxy
// for one that answers some requests its own way.
import fs from 'node:fs'
import net from 'node:net'
import http from 'node:http'
import path from 'node:path'
import crypto from 'node:crypto'
import { spawn } from 'node:child_process'
import { tempDir } from './tree.mjs'
import { run, REGISTRY_BIN } from './oci.mjs'

export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** A CA and a server certificate for 127.0.0.1/localhost, P-256, in `dir`. */
export function makeCa (dir, name = 'ca') {
  const key = path.join(dir, `${name}.key`)
  const crt = path.join(dir, `${name}.crt`)
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
    '-out', crt, '-days', '2', '-subj', `/CN=dynpack test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  return { key, crt }
}

/** A leaf certificate signed by `ca` (`clientAuth`: a TLS client certificate). */
export function makeLeaf (dir, ca, name, { san = 'IP:127.0.0.1,DNS:localhost', serverAuth = true, clientAuth = false } = {}) {
  const key = path.join(dir, `${name}.key`)
  const csr = path.join(dir, `${name}.csr`)
  const crt = path.join(dir, `${name}.crt`)
  const ext = path.join(dir, `${name}.ext`)
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`])
  fs.writeFileSync(ext, [`subjectAltName=${san}`, 'basicConstraints=CA:FALSE',
    clientAuth ? 'extendedKeyUsage=clientAuth' : serverAuth ? 'extendedKeyUsage=serverAuth' : 'keyUsage=digitalSignature'].join('\n') + '\n')
  run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', ext])
  return { key, crt }
}

/**
 * Starts docker-registry with `auth` (a YAML block under `auth:`) and
 * optional TLS (`tls.clientcas`: CA files; the registry then requires a
 * client certificate signed by one of them). `dir` keeps the storage so that
 * a restart sees the same data.
 */
export async function startDockerRegistry ({ dir = tempDir('dynpack-reg-'), port, tls, authYaml, keepDir = false } = {}) {
  port = port ?? await freePort()
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true })
  const config = path.join(dir, 'config.yml')
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ]
  if (tls) lines.push('  tls:', `    certificate: ${tls.crt}`, `    key: ${tls.key}`)
  if (tls?.clientcas) lines.push('    clientcas:', ...tls.clientcas.map((c) => `      - ${c}`))
  if (authYaml) lines.push('auth:', ...authYaml.map((l) => `  ${l}`))
  fs.writeFileSync(config, lines.join('\n') + '\n')
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  let exited = false
  const exit = new Promise((resolve) => child.once('exit', () => { exited = true; resolve() }))
  const stop = async ({ removeDir = !keepDir } = {}) => {
    if (!exited) {
      child.kill('SIGKILL')
      await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 5000))])
    }
    if (removeDir) fs.rmSync(dir, { recursive: true, force: true })
  }
  const host = `127.0.0.1:${port}`
  for (let i = 0; i < 150; i++) {
    if (exited) break
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (up) return { host, port, dir, stop }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await stop()
  throw new Error(`docker-registry did not start on ${host}: ${stderr}`)
}

const b64url = (buf) => Buffer.from(buf).toString('base64url')

/**
 * A token server: GET /token?service&scope with Basic credentials from
 * `users` ({ name: { password, actions: ['pull','push'] } }); anonymous
 * callers get pull only. POST /token is the OAuth2 refresh-token grant
 * (distribution's oauth.md): form `grant_type=refresh_token`, `refresh_token`
 * one of `refreshTokens` ({ token: user name }), `service`, space-separated
 * `scope`, `client_id`; a wrong token gets 400 invalid_grant. With
 * `server.oauth = false` the POST gets 405, as from a realm without OAuth2.
 * Returns { realm, stop, state: { oauth, posts (the POST forms received) } }.
 */
export async function startTokenServer ({ signer, issuer, users, refreshTokens = {} }) {
  const leafDer = new crypto.X509Certificate(fs.readFileSync(signer.crt)).raw
  const key = crypto.createPrivateKey(fs.readFileSync(signer.key))
  const state = { oauth: true, posts: [] }
  const issue = (user, actions, service, scopes) => {
    const access = scopes.map((s) => {
      const [type, name, wanted] = s.split(':')
      return { type, name, actions: wanted.split(',').filter((a) => actions.includes(a)) }
    })
    const now = Math.floor(Date.now() / 1000)
    const header = { alg: 'ES256', typ: 'JWT', x5c: [leafDer.toString('base64')] }
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    return `${input}.${b64url(sig)}`
  }
  const oauth = (req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      const form = new URLSearchParams(body)
      state.posts.push(Object.fromEntries(form))
      if (!state.oauth) { res.writeHead(405).end(); return }
      const user = refreshTokens[form.get('refresh_token')]
      if (form.get('grant_type') !== 'refresh_token' || !user || !users[user]) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}')
        return
      }
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean)
      const token = issue(user, users[user].actions, form.get('service'), scopes)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ access_token: token, expires_in: 300, issued_at: new Date().toISOString() }))
    })
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.pathname !== '/token') { res.writeHead(404).end(); return }
    if (req.method === 'POST') { oauth(req, res); return }
    let user = null
    let actions = ['pull']
    const auth = req.headers.authorization
    if (auth) {
      const [name, ...rest] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8').split(':')
      const u = users[name]
      if (!u || u.password !== rest.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}')
        return
      }
      user = name
      actions = u.actions
    }
    const token = issue(user, actions, url.searchParams.get('service'), url.searchParams.getAll('scope'))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const realm = `http://127.0.0.1:${server.address().port}/token`
  return {
    realm,
    state,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve) }),
  }
}

/**
 * A TCP proxy to `target` port that dies (closes every connection and stops
 * listening) once `killAfter` bytes went from clients to the target.
 */
export async function startProxy (targetPort, { port, killAfter = Infinity } = {}) {
  const sockets = new Set()
  let forwarded = 0
  let killed = false
  let resolveKilled
  const whenKilled = new Promise((resolve) => { resolveKilled = resolve })
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client); sockets.add(upstream)
    client.on('data', (d) => {
      forwarded += d.length
      if (forwarded > killAfter && !killed) { kill(); return }
      upstream.write(d)
    })
    upstream.on('data', (d) => client.write(d))
    for (const s of [client, upstream]) {
      s.on('error', () => {})
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
  })
  function kill () {
    killed = true
    server.close()
    for (const s of sockets) s.destroy()
    resolveKilled()
  }
  await new Promise((resolve) => server.listen(port ?? 0, '127.0.0.1', resolve))
  return { port: server.address().port, whenKilled, stop: () => { if (!killed) kill() } }
}

/**
 * An HTTP proxy to the registry on `targetPort`: `intercept(req, res)` may
 * answer a request itself (and return true); every other request is
 * forwarded with the headers `headers(req)` gives. Resolves to { port, stop }.
 */
export async function startHttpProxy (targetPort, { intercept = () => false, headers = (req) => req.headers } = {}) {
  const server = http.createServer((req, res) => {
    if (intercept(req, res)) return
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: headers(req) }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers)
      ur.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    stop: () => {
      server.closeAllConnections?.()
      server.close()
    },
  }
}
