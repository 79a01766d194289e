// A real npm registry for tests: verdaccio (a dev dependency) in a child
// process on 127.0.0.1, with its config, storage and htpasswd file in a
// temporary folder, no uplinks (nothing is proxied to any public registry),
// and publishing reserved to authenticated users.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** The verdaccio package's folder, or null when it is not installed. */
export function verdaccioAvailable () {
  try {
    return path.dirname(require.resolve('verdaccio/package.json'))
  } catch {
    return null
  }
}

// Runs inside the child: build the server from the config file, listen on an
// ephemeral port of 127.0.0.1 (no port race) and report the port on stdout.
const SERVER = `
const { runServer } = require(process.argv[1])
runServer(process.argv[2]).then((server) => {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n')
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}, (err) => { console.error(err); process.exit(1) })
`

/**
 * Starts verdaccio; resolves to `{ url, root, addUser(name, password), stop() }`.
 * `url` ends with `/`. `addUser` creates an account through the registry's
 * CouchDB-style endpoint (what `npm adduser` calls) and resolves to its token.
 */
export async function startVerdaccio () {
  const pkgDir = verdaccioAvailable()
  if (!pkgDir) throw new Error('verdaccio is not installed (npm install)')
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-verdaccio-'))
  const config = path.join(root, 'config.yaml')
  fs.writeFileSync(config, [
    `storage: ${JSON.stringify(path.join(root, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(root, 'htpasswd'))}`,
    '    max_users: 100',
    '    algorithm: sha1', // bcrypt's cost makes every login slow on a shared machine
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    'web:',
    '  enable: false',
    'log: { type: stdout, format: json, level: error }',
    '',
  ].join('\n'))

  const child = spawn(process.execPath, ['-e', SERVER, pkgDir, config], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.once('exit', resolve))

  const port = await new Promise((resolve, reject) => {
    let out = ''
    const onData = (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('{"port"'))
      if (line) {
        child.stdout.off('data', onData)
        child.stdout.resume()
        resolve(JSON.parse(line).port)
      }
    }
    child.stdout.on('data', onData)
    child.once('exit', (code) => reject(new Error(`verdaccio exited (${code}) before listening: ${stderr}`)))
  })
  const url = `http://127.0.0.1:${port}/`

  async function addUser (name, password) {
    const res = await fetch(`${url}-/user/org.couchdb.user:${encodeURIComponent(name)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password, type: 'user', roles: [], date: new Date().toISOString() }),
    })
    const body = await res.json()
    if (!res.ok || !body.token) throw new Error(`adduser ${name}: HTTP ${res.status} ${JSON.stringify(body)}`)
    return body.token
  }

  async function stop () {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    fs.rmSync(root, { recursive: true, force: true })
  }

  return { url, root, port, addUser, stop }
}
