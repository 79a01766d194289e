// The documentation cannot drift from the code: every ```js and ```sh block of
// README.md and docs/**/*.md runs against the example monorepo
// (examples/make-examples.js), each in its own temporary copy of it, with
// `dynpack` (and `npx dynpack`) on PATH, require('dynpack') resolving to this
// checkout and a throwaway HOME. In a js block, a line `EXPR  // 'text'`
// asserts that EXPR (awaited) is that text, where `…` stands for anything.
//
// - Blocks naming a remote registry (quay.io, ghcr.io, registry.example.com)
//   run against a docker-registry on 127.0.0.1 (TLS with a CA made here,
//   htpasswd), whose address replaces the host in the block; the throwaway
//   HOME holds its CA and an auth.json, as `podman login` would leave them.
// - The sh blocks of a recipe (docs/recipes/*.md) run in order in one shell
//   and one folder, as a reader types them.
// - `<!-- readme-test: skip (covered by __test__/x.test.mjs: "test name") -->`
//   before a block skips it only when that test file exists, has that test,
//   and holds every dynpack command of the block verbatim.
// - `<!-- readme-test: pending (why) -->` runs the block as a todo: a block
//   written for behaviour another branch brings; the lead drops the marker.
// The demo (`npm run demo`), the command table and the GitHub Actions
// workflow of the recipes are checked against what runs too.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'
import { which, REGISTRY_BIN, run } from './helpers/oci.mjs'
import { freePort, makeCa, makeLeaf, startDockerRegistry } from './helpers/registries.mjs'
import { startVerdaccio, verdaccioAvailable } from './helpers/verdaccio.mjs'

const require = createRequire(import.meta.url)
const YAML = require('yaml')
const here = path.dirname(fileURLToPath(import.meta.url))
const checkout = path.join(here, '..')
const README = path.join(checkout, 'README.md')
const CLI_DOC = path.join(checkout, 'docs', 'cli.md')
const { makeExamples } = require('../examples/make-examples.js')
const { allCommands } = require('../lib/cli/main.js')

const SKIP = /^<!--\s*readme-test:\s*skip\s*\((.*)\)\s*-->$/
const PENDING = /^<!--\s*readme-test:\s*pending\s*\((.*)\)\s*-->$/
const COVERED = /^covered by (__test__\/[\w.-]+\.test\.mjs): "(.+)"$/
const NPM_REGISTRY = /(?:https:)?\/\/npm\.example\.com\//g
const REMOTE = /(?<![\w.-])(?:quay\.io|ghcr\.io|registry\.example\.com)(?![\w-])/g
const USER = 'acme+ci'
const PASSWORD = 'readme-test-password'

/** README.md and every docs/**.md, as paths relative to the checkout. */
export function docFiles () {
  const docs = fs.readdirSync(path.join(checkout, 'docs'), { recursive: true })
    .map((f) => path.join('docs', f).split(path.sep).join('/'))
    .filter((f) => f.endsWith('.md'))
    .sort()
  return ['README.md', ...docs]
}

/** The fenced blocks of a Markdown text: `{ lang, line, code, skip, pending }`, `skip`/`pending` the reason or null. */
export function readmeBlocks (text) {
  const lines = text.split('\n')
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i])
    if (!open) continue
    let end = i + 1
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    let before = i - 1
    while (before >= 0 && lines[before].trim() === '') before--
    const marker = before >= 0 ? lines[before].trim() : ''
    blocks.push({
      lang: open[1],
      line: i + 1,
      code: lines.slice(i + 1, end).join('\n') + '\n',
      skip: SKIP.exec(marker)?.[1] ?? null,
      pending: PENDING.exec(marker)?.[1] ?? null,
    })
    i = end
  }
  return blocks
}

/**
 * The dynpack commands of a shell text: from `dynpack <command>` to the end of
 * the command (a `|`, `;`, `&&`, `)`, `>` or a ` #` comment ends it), as written.
 */
export function dynpackCommands (code) {
  const names = new Set([...allCommands().commands.map((c) => c.name), '--version', '--help'])
  const out = []
  for (const raw of code.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd()
    for (const m of line.matchAll(/(?:^|[\s|;&(])(dynpack\s+(\S+)(?:[^|;&)>]*))/g)) {
      if (names.has(m[2])) out.push(m[1].trim())
    }
  }
  return out
}

/** A js block as a CommonJS script: wrapped for top-level await, `// 'text'` lines turned into checks. */
function jsScript (code, file, line) {
  const body = code.split('\n').map((l, k) => {
    const m = /^(\s*)(?!const |let |var |import |\/\/)(\S.*?)\s+\/\/ ('(?:[^'\\]|\\.)*')/.exec(l)
    return m ? `${m[1]}__expect(await (${m[2]}), ${m[3]}, ${line + 1 + k})` : l
  }).join('\n')
  return `'use strict'
function __expect (actual, wanted, line) {
  const re = new RegExp('^' + wanted.split('…').map((s) => s.replace(/[.*+?^\${}()|[\\]\\\\]/g, '\\\\$&')).join('[\\\\s\\\\S]*') + '$')
  if (!re.test(String(actual))) throw new Error(${JSON.stringify(file)} + ':' + line + ': got ' + JSON.stringify(actual) + ', the documentation says ' + JSON.stringify(wanted))
}
;(async () => {
${body}
})().catch((err) => { console.error(err && err.stack ? err.stack : err); process.exit(1) })
`
}

// Background jobs a block starts (a registry in a recipe) end with it.
const SH_PREAMBLE = `set -euo pipefail
trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT
# \`npx dynpack\` is this checkout's dynpack (never a download)
npx () { if [ "$1" = dynpack ]; then shift; dynpack "$@"; else command npx "$@"; fi; }
`

const haveRegistryTools = () => Boolean(REGISTRY_BIN) && ['openssl', 'htpasswd', 'skopeo', 'jq', 'curl'].every((t) => which(t))
function needRegistry (t) {
  if (haveRegistryTools()) return true
  const reason = 'needs docker-registry, openssl, htpasswd, skopeo, jq and curl (not installed; .ci/run installs them)'
  if (process.env.CI === 'true') throw new Error(`CI: ${reason}`)
  t.skip(reason)
  return false
}

let root
let template
let bin
let registry = null // { host, ca, stop }
let recipePort
before(async () => {
  root = tempDir('dynpack-readme-')
  template = path.join(root, 'template')
  makeExamples(template)
  // require('dynpack') in any copy resolves to the checkout
  fs.mkdirSync(path.join(template, 'node_modules'), { recursive: true })
  fs.symlinkSync(checkout, path.join(template, 'node_modules', 'dynpack'), 'dir')
  bin = path.join(root, 'bin')
  fs.mkdirSync(bin)
  fs.writeFileSync(path.join(bin, 'dynpack'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(checkout, 'bin', 'dynpack.js')}" "$@"\n`, { mode: 0o755 })
  recipePort = await freePort()
  if (haveRegistryTools()) {
    const pki = path.join(root, 'pki')
    fs.mkdirSync(pki)
    const ca = makeCa(pki)
    const leaf = makeLeaf(pki, ca, 'registry')
    const htpasswd = path.join(pki, 'htpasswd')
    fs.writeFileSync(htpasswd, run('htpasswd', ['-Bbn', USER, PASSWORD]))
    const r = await startDockerRegistry({
      tls: leaf,
      authYaml: ['htpasswd:', '  realm: readme-test', `  path: ${htpasswd}`],
    })
    registry = { host: r.host, ca: ca.crt, stop: r.stop }
  }
})
after(async () => {
  await registry?.stop()
  fs.rmSync(root, { recursive: true, force: true })
})

/** A fresh HOME; with the registry: its CA in certs.d and credentials in auth.json. */
function makeHome (dir) {
  const home = path.join(dir, '.home')
  fs.mkdirSync(home, { recursive: true })
  const env = { HOME: home, XDG_CONFIG_HOME: '', XDG_RUNTIME_DIR: '', DOCKER_CONFIG: '', REGISTRY_AUTH_FILE: '' }
  if (registry) {
    const certs = path.join(home, '.config', 'containers', 'certs.d', registry.host)
    fs.mkdirSync(certs, { recursive: true })
    fs.copyFileSync(registry.ca, path.join(certs, 'ca.crt'))
    const authfile = path.join(home, '.config', 'containers', 'auth.json')
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
    fs.writeFileSync(authfile, JSON.stringify({ auths: { [registry.host]: { auth } } }), { mode: 0o600 })
    // skopeo runs as root here, and then reads neither ~/.config/containers/certs.d nor that auth.json
    Object.assign(env, { REGISTRY_AUTH_FILE: authfile, SSL_CERT_FILE: registry.ca, QUAY_TOKEN: PASSWORD })
  }
  return env
}

function blockEnv (dir) {
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, NODE_PATH: '', ...makeHome(dir) }
  // a block runs as in a user's shell: not with the npm_config_* of `npm test` (its userconfig would hide ~/.npmrc)
  for (const k of Object.keys(env)) if (env[k] === '' || /^npm_(config|package|lifecycle)_/i.test(k)) delete env[k]
  return env
}

const usesRemote = (code) => { REMOTE.lastIndex = 0; return REMOTE.test(code) }
const toLocal = (code) => registry ? code.replace(REMOTE, registry.host) : code

const usesNpmRegistry = (code) => { NPM_REGISTRY.lastIndex = 0; return NPM_REGISTRY.test(code) }

/** A fresh verdaccio for a block that publishes (a version can be published once): its URL in the block, a token in ~/.npmrc. */
async function withNpmRegistry (t, env, code, fn) {
  if (!verdaccioAvailable()) {
    if (process.env.CI === 'true') throw new Error('CI: needs verdaccio (a dev dependency)')
    t.skip('needs verdaccio (a dev dependency; npm install)')
    return
  }
  const v = await startVerdaccio()
  try {
    const token = await v.addUser('acme-ci', PASSWORD)
    const hostPath = v.url.replace(/^http:/, '')
    fs.writeFileSync(path.join(env.HOME, '.npmrc'), `${hostPath}:_authToken=${token}\n`)
    return await fn(code.replace(NPM_REGISTRY, (m) => m.startsWith('https:') ? v.url : hostPath))
  } finally {
    await v.stop()
  }
}

/** Runs one block in a fresh copy of the examples; resolves { status, stdout, stderr }. */
async function runBlock (t, block, name) {
  const dir = path.join(root, name)
  fs.cpSync(template, dir, { recursive: true, verbatimSymlinks: true })
  const env = blockEnv(dir)
  const code = toLocal(block.code)
  if (usesNpmRegistry(code)) return withNpmRegistry(t, env, code, (c) => spawnBlock(block, dir, env, c))
  return spawnBlock(block, dir, env, code)
}

function spawnBlock (block, dir, env, code) {
  if (block.lang === 'js') {
    const file = path.join(dir, '.readme-block.js')
    fs.writeFileSync(file, jsScript(code, block.file, block.line))
    return spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
  }
  return spawnSync('bash', ['-c', SH_PREAMBLE + code], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
}

/** Every sh block of a recipe in one shell: resolves { done: Set of lines finished, status, stdout, stderr }. */
function runRecipe (file, blocks) {
  const dir = path.join(root, file.replace(/\W+/g, '-'))
  fs.cpSync(template, dir, { recursive: true, verbatimSymlinks: true })
  const env = blockEnv(dir)
  for (const k of ['REGISTRY_AUTH_FILE', 'SSL_CERT_FILE', 'QUAY_TOKEN']) delete env[k] // a recipe sets up its own
  env.REGISTRY_PORT = String(recipePort)
  fs.rmSync(path.join(env.HOME, '.config'), { recursive: true, force: true })
  const progress = path.join(root, `${path.basename(dir)}.progress`)
  const script = SH_PREAMBLE + blocks.map((b) => `# ${file}:${b.line}\n${b.code}echo ${b.line} >> ${JSON.stringify(progress)}\n`).join('')
  const r = spawnSync('bash', ['-c', script], { cwd: dir, env, encoding: 'utf8', timeout: 600_000 })
  const done = new Set(fs.existsSync(progress) ? fs.readFileSync(progress, 'utf8').split('\n').filter(Boolean).map(Number) : [])
  return { ...r, done }
}

/** The test file a skip names must hold that test and every dynpack command of the block. */
function checkCovered (file, block) {
  const m = COVERED.exec(block.skip)
  assert.ok(m, `${file}:${block.line}: a skip names the test that runs its commands: (covered by __test__/x.test.mjs: "test name"), not (${block.skip})`)
  const testFile = path.join(checkout, m[1])
  assert.ok(fs.existsSync(testFile), `${file}:${block.line}: ${m[1]} does not exist`)
  const source = fs.readFileSync(testFile, 'utf8')
  const quoted = [m[2], m[2].replace(/'/g, "\\'")]
  assert.ok(quoted.some((q) => source.includes(q)), `${file}:${block.line}: ${m[1]} has no test "${m[2]}"`)
  for (const command of dynpackCommands(block.code)) {
    assert.ok(source.includes(command), `${file}:${block.line}: ${m[1]} does not run \`${command}\` (the exact text)`)
  }
}

for (const file of docFiles()) {
  const text = fs.readFileSync(path.join(checkout, file), 'utf8')
  const all = readmeBlocks(text).map((b) => ({ ...b, file }))
  const blocks = all.filter((b) => b.lang === 'js' || b.lang === 'sh')
  const recipe = file.startsWith('docs/recipes/')
  const label = (b) => `${file}:${b.line} (${b.lang}): ${b.code.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? ''}`.slice(0, 120)

  describe(`${file} examples`, () => {
    test('skipped blocks name the test that runs their commands', (t) => {
      for (const b of blocks.filter((b) => b.skip)) {
        t.diagnostic(`skipped ${file}:${b.line} (${b.lang}): ${b.skip}`)
        checkCovered(file, b)
      }
      for (const b of all.filter((b) => b.pending)) t.diagnostic(`pending ${file}:${b.line}: ${b.pending}`)
    })

    if (recipe) {
      const shell = blocks.filter((b) => b.lang === 'sh' && !b.skip)
      let result = null
      shell.forEach((block) => {
        test(label(block), { todo: block.pending ? `readme-test: pending (${block.pending})` : false }, (t) => {
          if (!needRegistry(t)) return
          result ??= runRecipe(file, shell)
          const failed = shell.find((b) => !result.done.has(b.line))
          if (result.done.has(block.line)) return
          assert.fail(failed === block
            ? `${file}:${block.line} failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`
            : `${file}:${block.line} did not run: ${file}:${failed.line} failed before it`)
        })
      })
      for (const block of blocks.filter((b) => b.lang === 'js' && !b.skip)) {
        test(label(block), async (t) => {
          const r = await runBlock(t, block, `${file.replace(/\W+/g, '-')}-${block.line}`)
          assert.equal(r.status, 0, `${file}:${block.line} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
        })
      }
      return
    }

    for (const block of blocks) {
      const opts = { skip: block.skip ? `readme-test: skip (${block.skip})` : false, todo: block.pending ? `readme-test: pending (${block.pending})` : false }
      test(label(block), opts, async (t) => {
        if (usesRemote(block.code) && !needRegistry(t)) return
        const r = await runBlock(t, block, `${file.replace(/\W+/g, '-')}-${block.line}`)
        if (!r) return // skipped
        assert.equal(r.status, 0, `${file}:${block.line} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
      })
    }
  })
}

describe('the documentation as a whole', () => {
  test('the harness finds the examples, and runs most of them', () => {
    const blocks = docFiles().flatMap((f) => readmeBlocks(fs.readFileSync(path.join(checkout, f), 'utf8')))
      .filter((b) => b.lang === 'js' || b.lang === 'sh')
    assert.ok(blocks.filter((b) => b.lang === 'js').length >= 2, 'js blocks')
    assert.ok(blocks.filter((b) => b.lang === 'sh').length >= 2, 'sh blocks')
    const skipped = blocks.filter((b) => b.skip).length
    assert.ok(skipped * 4 < blocks.length, `${skipped} of ${blocks.length} examples are skipped`)
  })

  test('the README stays short (under 300 lines) and links every page of docs/', () => {
    const readme = fs.readFileSync(README, 'utf8')
    assert.ok(readme.split('\n').length < 300, `README.md has ${readme.split('\n').length} lines`)
    for (const f of docFiles().filter((f) => f !== 'README.md')) {
      const linked = readme.includes(`](${f})`) || docFiles().some((g) => g !== f && fs.readFileSync(path.join(checkout, g), 'utf8').includes(path.posix.relative(path.posix.dirname(g), f)))
      assert.ok(linked, `nothing links ${f}`)
    }
  })

  test('relative links point at files that exist', () => {
    for (const f of docFiles()) {
      const text = fs.readFileSync(path.join(checkout, f), 'utf8')
      for (const [, target] of text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)/g)) {
        assert.ok(fs.existsSync(path.join(checkout, path.dirname(f), target)), `${f} links ${target}, which does not exist`)
      }
    }
  })

  test('a skip is accepted only when the named test holds every dynpack command of the block', () => {
    const block = (skip, code) => ({ skip, code, line: 1 })
    const name = '`npm run demo` runs the commands the README says it runs, and they succeed'
    checkCovered('x.md', block(`covered by __test__/readme.test.mjs: "${name}"`, 'npm test\n'))
    assert.throws(() => checkCovered('x.md', block('needs a registry', 'dynpack push\n')), /names the test/)
    assert.throws(() => checkCovered('x.md', block('covered by __test__/nope.test.mjs: "x"', 'dynpack push\n')), /does not exist/)
    assert.throws(() => checkCovered('x.md', block(`covered by __test__/readme.test.mjs: "${'no such test'.toUpperCase()}"`, '')), /has no test/)
    assert.throws(() => checkCovered('x.md', block(`covered by __test__/readme.test.mjs: "${name}"`, `dynpack push ${'z'.repeat(9)}\n`)), /does not run/)
  })

  test('dynpackCommands finds each command as written', () => {
    assert.deepEqual(dynpackCommands([
      'npm install --save-dev dynpack   # then: npx dynpack --help',
      'sri=$(npx dynpack integrity out/a.tgz)',
      'echo "$T" | yarn run -T dynpack login quay.io -u \'a+b\' --password-stdin   # note',
      'dynpack package --tag x:1 --json > image.json',
    ].join('\n')), ['dynpack integrity out/a.tgz', "dynpack login quay.io -u 'a+b' --password-stdin", 'dynpack package --tag x:1 --json'])
  })
})

/** `${{ expr }}` of a workflow, as the test substitutes them. */
function githubExpressions (registryHost) {
  return {
    'secrets.GITHUB_TOKEN': PASSWORD,
    'github.actor': USER,
    'github.repository_owner': 'acme',
    'github.sha': '0123456789abcdef0123456789abcdef01234567',
    'matrix.plugin': 'plugins/todo-backend/',
    'runner.temp': '.',
    registry: registryHost,
  }
}

describe('docs/recipes/github-actions.md: the workflow', () => {
  const file = 'docs/recipes/github-actions.md'
  const workflows = () => readmeBlocks(fs.readFileSync(path.join(checkout, file), 'utf8'))
    .filter((b) => b.lang === 'yaml').map((b) => ({ line: b.line, doc: YAML.parse(b.code) })).filter((w) => w.doc?.jobs)
  const runs = (doc) => Object.entries(doc.jobs).flatMap(([job, j]) => (j.steps ?? []).filter((s) => typeof s.run === 'string').map((s) => ({ job, run: s.run })))

  test('parses, and calls only commands and options dynpack has', () => {
    const ws = workflows()
    assert.ok(ws.length >= 1, `${file} has a workflow (a yaml block with jobs:)`)
    const { commands } = allCommands()
    let n = 0
    for (const { doc, line } of ws) {
      for (const { run: script } of runs(doc)) {
        for (const command of dynpackCommands(script)) {
          n++
          const [, name, ...args] = command.split(/\s+/)
          const c = commands.find((c) => c.name === name)
          assert.ok(c, `${file}:${line}: \`${command}\`: dynpack has no command ${name}`)
          for (const o of args.join(' ').match(/(?<=^|\s)--[a-z-]+/g) ?? []) {
            assert.ok(c.usage.includes(o) || ['--help', '--quiet', '--verbose'].includes(o), `${file}:${line}: \`dynpack ${name}\` has no ${o}`)
          }
        }
      }
    }
    assert.ok(n >= 3, `the workflow runs dynpack (${n} commands)`)
  })

  test('its dynpack steps run, with ghcr.io played by a local registry', (t) => {
    if (!needRegistry(t)) return
    for (const { doc, line } of workflows()) {
      const values = githubExpressions(registry.host)
      const lines = runs(doc).flatMap(({ run: script }) => script.split('\n')).filter((l) => dynpackCommands(l).length > 0)
      const script = lines.map((l) => toLocal(l.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr) => {
        assert.ok(expr in values, `${file}:${line}: the test has no value for \${{ ${expr} }}`)
        return values[expr]
      }))).join('\n') + '\n'
      const dir = path.join(root, `workflow-${line}`)
      fs.cpSync(template, dir, { recursive: true, verbatimSymlinks: true })
      const env = blockEnv(dir)
      delete env.REGISTRY_AUTH_FILE // the workflow logs in itself
      fs.rmSync(path.join(env.HOME, '.config', 'containers', 'auth.json'))
      const r = spawnSync('bash', ['-c', SH_PREAMBLE + script], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 })
      assert.equal(r.status, 0, `${file}:${line}: the workflow's dynpack steps failed (exit ${r.status ?? r.signal}):\n${script}\n${r.stdout}\n${r.stderr}`)
    }
  })
})

describe('the README agrees with the demo and the commands', () => {
  const readme = fs.readFileSync(README, 'utf8')

  test('`npm run demo` runs the commands the README says it runs, and they succeed', () => {
    const said = /`npm run demo` \(`examples\/demo\.js`\)([\s\S]*?)\n\n/.exec(readme)
    assert.ok(said, 'the README describes the demo')
    const commands = [...said[1].matchAll(/`dynpack ([a-z-]+)([^`]*)`/g)].map((m) => ({ command: m[1], options: m[2].match(/--[a-z-]+/g) ?? [] }))
    assert.ok(commands.length >= 3, said[1])
    const dir = path.join(root, 'demo')
    fs.mkdirSync(dir)
    const r = spawnSync(process.execPath, [path.join(checkout, 'examples', 'demo.js'), dir], { encoding: 'utf8', timeout: 180_000 })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    const ran = r.stdout.split('\n').filter((l) => l.startsWith('$ npx dynpack ')).map((l) => l.slice('$ npx dynpack '.length))
    assert.deepEqual(ran.map((l) => l.split(' ')[0]), commands.map((c) => c.command), 'the same commands, in order')
    commands.forEach((c, i) => {
      for (const o of c.options) assert.ok(ran[i].split(' ').includes(o), `demo runs \`dynpack ${ran[i]}\`, the README says ${o}`)
    })
    const out = /into\s+`examples\/([a-z]+)\/`/.exec(said[1])?.[1]
    assert.ok(out && fs.existsSync(path.join(dir, out)), `the demo writes into ${out}/`)
  })

  test('the command table of docs/cli.md lists every command, with options that exist', () => {
    const cli = fs.readFileSync(CLI_DOC, 'utf8')
    const table = [...cli.matchAll(/^\| `([a-z-]+)( [^`]*)?` \|/gm)].map((m) => ({ command: m[1], options: (m[2] ?? '').match(/--[a-z-]+/g) ?? [] }))
    const { commands } = allCommands()
    for (const c of commands) {
      const row = table.find((r) => r.command === c.name)
      assert.ok(row, `the command table of docs/cli.md has no row for \`${c.name}\``)
      for (const o of row.options) assert.ok(c.usage.includes(o), `\`dynpack ${c.name}\` has no ${o} (docs/cli.md command table)`)
    }
  })

  test('the example files the README names are the ones make-examples.js writes', () => {
    const section = /### Examples([\s\S]*?)\n## /.exec(readme)[1]
    const ex = path.join(root, 'named')
    makeExamples(ex)
    const files = (dir) => fs.readdirSync(dir, { recursive: true }).map((f) => f.split(path.sep).join('/'))
    const all = files(ex)
    for (const [, name] of section.matchAll(/`([\w.@<>/-]+\.(?:js|json|yaml|lock))`/g)) {
      if (name.startsWith('examples/')) continue // the scripts, not what they write
      const re = new RegExp('(^|/)' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('<hash>', '[0-9a-f]{8}') + '$')
      assert.ok(all.some((f) => re.test(f)), `README names ${name}, which the examples do not have`)
    }
  })
})
