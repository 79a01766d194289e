// Hostile package folders through the public API and the CLI: each ends in
// the right tarball (the bytes `npm pack` writes, where npm has one) or an
// error with a stable code that names the file, and never writes outside
// the destination or leaves a temporary file behind.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { spawnSync, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { tempDir, writeTree } from './helpers/tree.mjs'
import { api, BIN, packOutcome, npmOutcome, tempFiles, mkfifo } from './helpers/hostile.mjs'

const require = createRequire(import.meta.url)
const { packDynamic, computeIntegrity, verifyIntegrity } = api

let root
before(() => { root = tempDir('dynpack-hostile-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))

let n = 0
const fresh = (name) => path.join(root, `${name}-${++n}`)
const pkg = (extra = {}) => ({ json: { name: 'hostile', version: '1.0.0', ...extra } })

/**
 * Packs `dir` with dynpack and with npm into separate folders and checks
 * they agree: the same bytes and report when npm succeeds, an error with a
 * code from dynpack when npm fails. Returns both outcomes.
 */
async function sameAsNpm (dir, { npmTimeoutMs } = {}) {
  const ours = fresh('dynpack-out')
  const theirs = fresh('npm-out')
  fs.mkdirSync(ours)
  const npm = npmOutcome(dir, theirs, { timeoutMs: npmTimeoutMs })
  const dyn = await packOutcome(dir, { destination: ours })
  if (npm.ok) {
    assert.ok(dyn.ok, `npm packed it, dynpack failed: ${dyn.code}: ${dyn.message}`)
    const { path: written, ...report } = dyn.ok
    assert.deepEqual(report, npm.ok)
    assert.ok(fs.readFileSync(written).equals(fs.readFileSync(npm.file)), 'the same tgz bytes')
    assert.deepEqual(fs.readdirSync(ours), [path.basename(npm.file)])
  } else {
    assert.ok(!dyn.ok, `npm failed (${npm.error.split('\n')[0]}), dynpack packed ${dyn.ok?.id}`)
    assert.match(dyn.code, /^E_[A-Z_]+$/)
    assert.deepEqual(fs.readdirSync(ours), [], 'nothing written')
  }
  return { npm, dyn }
}

function dynpackCli (args, opts = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', ...opts })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** One `dynpack: E_CODE: …` line on stderr, exit 1, no stack trace. */
function assertCliFails (r, code, pattern) {
  assert.equal(r.status, 1, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.match(lines[0], new RegExp(`^dynpack: ${code}: `))
  if (pattern) assert.match(lines[0], pattern)
}

describe('folders that are not packages', () => {
  test('API: missing, a file, no package.json, bad JSON, bad name or version', async () => {
    const dest = fresh('dest')
    fs.mkdirSync(dest)
    const cases = []
    cases.push([path.join(root, 'does-not-exist'), 'E_NOT_FOUND', /does-not-exist: no such folder/])
    const file = path.join(fresh('file'), 'x.txt')
    writeTree(path.dirname(file), { 'x.txt': 'x' })
    cases.push([file, 'E_NOT_A_DIRECTORY', /x\.txt: not a folder/])
    const empty = fresh('empty')
    fs.mkdirSync(empty)
    cases.push([empty, 'E_NO_PACKAGE_JSON', /no package.json/])
    for (const [text, why] of [
      ['{"name": "x",', /invalid JSON/],
      ['', /invalid JSON/],
      ['[]', /JSON object/],
      ['{"version": "1.0.0"}', /`name` is missing/],
      ['{"name": 7, "version": "1.0.0"}', /`name` must be a string/],
      ['{"name": "x"}', /`version` is missing/],
      ['{"name": "x", "version": ["1"]}', /`version` must be a string/],
      ['{"name": "", "version": "1.0.0"}', /`name` is missing/],
    ]) {
      const dir = writeTree(fresh('bad'), { 'package.json': text })
      cases.push([dir, 'E_INVALID_MANIFEST', why])
    }
    const huge = writeTree(fresh('huge'), { 'package.json': '{}' })
    fs.truncateSync(path.join(huge, 'package.json'), 40 * 1024 * 1024)
    cases.push([huge, 'E_INVALID_MANIFEST', /package.json is \d+ bytes, more than/])
    const deep = writeTree(fresh('deep-json'), { 'package.json': '['.repeat(200_000) + ']'.repeat(200_000) })
    cases.push([deep, 'E_INVALID_MANIFEST', /invalid JSON/])
    const fifo = writeTree(fresh('fifo-json'), { 'index.js': '1' })
    mkfifo(path.join(fifo, 'package.json'))
    cases.push([fifo, 'E_INVALID_MANIFEST', /package\.json is a FIFO, not a regular file/])
    const folder = writeTree(fresh('folder-json'), { 'package.json/x': '' })
    cases.push([folder, 'E_INVALID_MANIFEST', /package\.json is a folder, not a regular file/])

    for (const [dir, code, message] of cases) {
      await assert.rejects(packDynamic(dir, { destination: dest }), (e) => {
        assert.equal(e.code, code, `${dir}: ${e.message}`)
        assert.match(e.message, message)
        return true
      })
    }
    assert.deepEqual(fs.readdirSync(dest), [])
  })

  test('npm fails on the same folders', () => {
    for (const text of ['{"name": "x",', '{"version": "1.0.0"}', '{"name": "x"}', '{"name": 7, "version": "1.0.0"}']) {
      const dir = writeTree(fresh('bad-npm'), { 'package.json': text })
      assert.ok(npmOutcome(dir, fresh('npm-out')).error, text)
    }
  })

  test('a large (2 MB) package.json packs as npm packs it', async () => {
    const filler = Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`key${i}`, `value-${i}`]))
    const dir = writeTree(fresh('large-manifest'), { 'package.json': pkg({ filler }), 'index.js': '1' })
    assert.ok(fs.statSync(path.join(dir, 'package.json')).size > 2e6)
    const { dyn } = await sameAsNpm(dir)
    assert.ok(dyn.ok)
  })

  test('CLI: the same failures are one line with the code, exit 1', () => {
    assertCliFails(dynpackCli(['pack', path.join(root, 'does-not-exist'), '--dry-run']), 'E_NOT_FOUND', /does-not-exist/)
    const bad = writeTree(fresh('bad-cli'), { 'package.json': '{"name": "x",' })
    assertCliFails(dynpackCli(['pack', bad, '--dry-run']), 'E_INVALID_MANIFEST', /package\.json/)
    const noVersion = writeTree(fresh('no-version-cli'), { 'package.json': '{"name": "x"}' })
    assertCliFails(dynpackCli(['pack', noVersion, '--dry-run']), 'E_INVALID_MANIFEST', /version/)
    const file = path.join(root, 'a-file.txt')
    fs.writeFileSync(file, 'x')
    assertCliFails(dynpackCli(['pack', file, '--dry-run']), 'E_NOT_A_DIRECTORY')
    assertCliFails(dynpackCli(['integrity', path.join(root, 'missing.tgz')]), 'E_NOT_FOUND', /missing\.tgz/)
  })

  test('a package.json that is a FIFO: every command and publishDynamic refuse it at once (the JS layer reads it too)', async () => {
    const dir = writeTree(fresh('fifo-cli'), { 'index.js': '1' })
    mkfifo(path.join(dir, 'package.json'))
    const cli = (args) => dynpackCli(args, { timeout: 20_000 })
    for (const args of [['pack', dir, '--dry-run'], ['pack', dir, '--pack-destination', root], ['package', dir, '--tag', 'quay.io/x/y:v1', '--output', fresh('never')], ['publish', dir, '--dry-run']]) {
      assertCliFails(cli(args), 'E_INVALID_MANIFEST', /package\.json: it is a FIFO, not a regular file|package\.json is a FIFO/)
    }
    await assert.rejects(api.publishDynamic(dir, { dryRun: true }), (e) => e.code === 'E_INVALID_MANIFEST' && /FIFO/.test(e.message))
    // a FIFO app-config.yaml next to dist-dynamic, which `dynpack package` reads
    const plugin = writeTree(fresh('fifo-app-config'), {
      'package.json': pkg({ name: '@x/plugin-y' }),
      'dist-dynamic/package.json': pkg({ name: '@x/plugin-y-dynamic' }),
      'dist-dynamic/dist/index.js': '1',
    })
    mkfifo(path.join(plugin, 'app-config.yaml'))
    assertCliFails(cli(['package', plugin, '--tag', 'quay.io/x/y:v1', '--output', fresh('never')]), 'E_NOT_A_FILE', /app-config\.yaml: it is a FIFO/)
  })
})

describe('names that would leave the destination', () => {
  for (const [name, version] of [['../../x', '1.0.0'], ['/abs/x', '1.0.0'], ['a\\b', '..\\1'], ['@../../y', '1.0.0'], ['x', '../../../etc/v']]) {
    test(`name ${JSON.stringify(name)} version ${JSON.stringify(version)}: written inside, as npm names it`, async () => {
      const base = fresh('names')
      const dir = writeTree(path.join(base, 'src'), { 'package.json': { json: { name, version } }, 'index.js': '1' })
      const { dyn } = await sameAsNpm(dir)
      assert.ok(!path.basename(dyn.ok.path).includes('/'))
      // nothing appeared outside the two destinations
      assert.deepEqual(fs.readdirSync(base), ['src'])
    })
  }

  test('a tarball name over 255 bytes or with a NUL: a clear error, as npm fails too', async () => {
    for (const name of ['n'.repeat(300), 'x\u0000y']) {
      const dir = writeTree(fresh('long-name'), { 'package.json': { json: { name, version: '1.0.0' } } })
      const { dyn } = await sameAsNpm(dir)
      assert.equal(dyn.code, 'E_INVALID_MANIFEST')
      assert.match(dyn.message, /NUL|255/)
    }
    // 254 bytes is legal: its temporary name must be too
    const dir = writeTree(fresh('long-ok'), { 'package.json': { json: { name: 'n'.repeat(244), version: '1.0.0' } } })
    await sameAsNpm(dir)
  })
})

describe('file selection that points outside or loops', () => {
  test('`files` entries with .. and absolute paths pack nothing from outside', async () => {
    const base = fresh('files-escape')
    writeTree(base, { 'outside.txt': 'secret', 'secret/key.pem': 'secret' })
    const dir = writeTree(path.join(base, 'pkg'), {
      'package.json': pkg({ files: ['../outside.txt', '../secret', '../secret/**', '/etc/passwd', '..', '../../', '/', 'dist', './dist/../../outside.txt'] }),
      'dist/index.js': '1',
    })
    const { dyn } = await sameAsNpm(dir)
    assert.deepEqual(dyn.ok.files.map((f) => f.path).sort(), ['dist/index.js', 'package.json'])
  })

  test('symlinks to outside files and folders, and symlink loops: never followed', async () => {
    const base = fresh('links')
    writeTree(base, { 'outside.txt': 'secret', 'secret/key.pem': 'secret' })
    const dir = writeTree(path.join(base, 'pkg'), {
      'package.json': pkg({ main: 'out-file', files: ['dist', 'out-file', 'out-dir', 'loop-a'] }),
      'dist/index.js': '1',
      'out-file': { symlink: '../outside.txt' },
      'out-dir': { symlink: '../secret' },
      'loop-a': { symlink: 'loop-b' },
      'loop-b': { symlink: 'loop-a' },
      'dist/self': { symlink: '.' },
      'dist/up': { symlink: '..' },
      'dist/root': { symlink: '/' },
      'dist/dangling': { symlink: 'nowhere' },
    })
    const { dyn } = await sameAsNpm(dir, { npmTimeoutMs: 120_000 })
    assert.deepEqual(dyn.ok.files.map((f) => f.path).sort(), ['dist/index.js', 'package.json'])
  })

  test('a bundled dependency linked back to the package itself ends', async () => {
    const dir = writeTree(fresh('bundle-loop'), {
      'package.json': pkg({ dependencies: { me: 'file:.', loop: '1' }, bundleDependencies: ['me', 'loop'] }),
      'index.js': '1',
      'node_modules/me': { symlink: '..' },
      'node_modules/loop': { symlink: 'loop' },
    })
    const r = await packDynamic(dir, { dryRun: true })
    assert.ok(r.files.every((f) => !f.path.includes('node_modules/me/node_modules/')), 'not followed twice')
  })
})

describe('bundled dependency names', () => {
  // npm-packlist resolves each bundled name through Arborist's tree, whose
  // children are the listed entries of node_modules (case-insensitive, dot
  // folders left out): a name is never joined onto a path.
  test('a name that is a path (absolute, `..`, `.`, a dot folder) packs nothing, as in npm', async () => {
    const outside = writeTree(fresh('bundle-outside'), {
      'package.json': { json: { name: 'outside', version: '1.0.0' } },
      'secret.js': 'secret',
    })
    const dir = writeTree(fresh('bundle-paths'), {
      'package.json': pkg({
        dependencies: {
          [outside]: '*',
          [`../${path.basename(outside)}`]: '*',
          [`../../${path.basename(root)}/${path.basename(outside)}`]: '*',
          '.': '*',
          '..': '*',
          '.hidden': '*',
          '@s/.hidden': '*',
          'node_modules/../..': '*',
        },
        bundleDependencies: true,
      }),
      'index.js': '1',
      'node_modules/.hidden/package.json': { json: { name: '.hidden', version: '1.0.0' } },
      'node_modules/.hidden/i.js': '1',
      'node_modules/@s/.hidden/package.json': { json: { name: '@s/.hidden', version: '1.0.0' } },
    })
    const { dyn } = await sameAsNpm(dir)
    assert.deepEqual(dyn.ok.files.map((f) => f.path).sort(), ['index.js', 'package.json'])
  })

  test('names match node_modules entries case-insensitively, packed under the entry as on disk', async () => {
    const dir = writeTree(fresh('bundle-case'), {
      'package.json': pkg({ dependencies: { Dep: '1', '@S/X': '1' }, bundleDependencies: true }),
      'index.js': '1',
      'node_modules/dep/package.json': { json: { name: 'dep', version: '1.0.0' } },
      'node_modules/dep/i.js': '1',
      'node_modules/@s/x/package.json': { json: { name: '@s/x', version: '1.0.0' } },
      'node_modules/@s/x/i.js': '1',
    })
    const { dyn } = await sameAsNpm(dir)
    assert.ok(dyn.ok.files.some((f) => f.path === 'node_modules/@s/x/i.js'))
    assert.ok(dyn.ok.files.some((f) => f.path === 'node_modules/dep/i.js'))
  })
})

describe('bounded reads', () => {
  // ignore-walk reads each ignore file as one string: npm fails on one over
  // V8's string limit (2**29 - 24), and so does dynpack, before reading it
  // (a 1 TiB sparse file used to abort the whole Node process).
  for (const rel of ['.npmignore', 'lib/.gitignore', 'node_modules/dep/lib/.npmignore']) {
    test(`a 1 TiB sparse ${rel}: E_INVALID_RULE, as npm fails, and the process lives on`, async () => {
      const dir = writeTree(fresh('huge-ignore'), {
        'package.json': pkg({ dependencies: { dep: '1' }, bundleDependencies: true }),
        'lib/a.js': '1',
        'node_modules/dep/package.json': { json: { name: 'dep', version: '1.0.0' } },
        'node_modules/dep/lib/b.js': '1',
        [rel]: '',
      })
      fs.truncateSync(path.join(dir, rel), 2 ** 40)
      const { dyn } = await sameAsNpm(dir)
      assert.equal(dyn.code, 'E_INVALID_RULE')
      assert.ok(dyn.message.includes(path.join(dir, rel)), dyn.message)
    })
  }
})

describe('special files', () => {
  test('FIFOs and sockets in the package are skipped, without blocking, as npm skips them', async () => {
    const dir = writeTree(fresh('special'), {
      'package.json': pkg({ main: 'dist/pipe', files: ['dist', 'pipe'] }),
      'dist/index.js': '1',
    })
    mkfifo(path.join(dir, 'dist', 'pipe'))
    mkfifo(path.join(dir, 'pipe'))
    const server = net.createServer()
    await new Promise((resolve) => server.listen(path.join(dir, 'dist', 'sock'), resolve))
    try {
      const { dyn } = await sameAsNpm(dir, { npmTimeoutMs: 120_000 })
      assert.deepEqual(dyn.ok.files.map((f) => f.path).sort(), ['dist/index.js', 'package.json'])
    } finally {
      server.close()
    }
  })

  test('a FIFO or a folder where an ignore file should be: E_NOT_A_FILE (npm hangs or fails)', async () => {
    const fifo = writeTree(fresh('fifo-ignore'), { 'package.json': pkg(), 'index.js': '1' })
    mkfifo(path.join(fifo, '.npmignore'))
    await assert.rejects(packDynamic(fifo, { dryRun: true }), (e) => {
      assert.equal(e.code, 'E_NOT_A_FILE')
      assert.match(e.message, /\.npmignore: it is a FIFO/)
      return true
    })
    const npm = npmOutcome(fifo, fresh('npm-out'), { timeoutMs: 15_000 })
    assert.ok(npm.error, 'npm does not pack it')

    const folder = writeTree(fresh('dir-ignore'), { 'package.json': pkg(), 'lib/a.js': '1', 'lib/.gitignore/x': '' })
    const { dyn } = await sameAsNpm(folder)
    assert.equal(dyn.code, 'E_NOT_A_FILE')
    assert.match(dyn.message, /\.gitignore: it is a folder/)
  })

  test('a rule longer than npm accepts, or nesting braces deeper than it can expand: E_INVALID_RULE, as npm fails', async () => {
    const nested = (n) => '{'.repeat(n) + 'a,b' + '}'.repeat(n)
    for (const rule of ['x'.repeat(70_000), nested(6000)]) {
      const dir = writeTree(fresh('bad-rule'), { 'package.json': pkg(), 'index.js': '1', '.npmignore': rule })
      const { dyn } = await sameAsNpm(dir)
      assert.equal(dyn.code, 'E_INVALID_RULE')
      assert.match(dyn.message, /\.npmignore: a rule (is longer|nests braces deeper)/)
    }
    // 2,000 levels: npm expands them, and so does dynpack
    await sameAsNpm(writeTree(fresh('deep-rule'), { 'package.json': pkg(), 'index.js': '1', 'a': '', '.npmignore': nested(2000) }))
  })

  test('rules that expand to huge sets stay bounded and select as npm does', async () => {
    const dir = writeTree(fresh('hostile-rules'), {
      'package.json': pkg(),
      'index.js': '1',
      'a.js': '1',
      'b9.js': '1',
      '.npmignore': ['{a,b}'.repeat(30), "{'..\uFFFD}", '{'.repeat(3000) + 'x' + '}'.repeat(3000), '**/'.repeat(500) + 'a.js', 'b{1..20000}.js'].join('\n'),
    })
    await sameAsNpm(dir)
  })
})

describe('file names', () => {
  test('newlines and backslashes: the same bytes as npm', async () => {
    const dir = writeTree(fresh('odd-names'), {
      'package.json': pkg(),
      'new\nline.js': 'a',
      'back\\slash.js': 'b',
      'dist/tab\tand space .js': 'c',
      'dist/\u00e9\u0301-nfd-and-emoji-\u{1F600}.js': 'd',
    })
    const { dyn } = await sameAsNpm(dir)
    assert.ok(dyn.ok.files.some((f) => f.path === 'new\nline.js'))
  })

  test('a name that is not valid UTF-8: both fail; dynpack says which file and why', async () => {
    const dir = writeTree(fresh('bad-utf8'), { 'package.json': pkg(), 'index.js': '1' })
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/inv'), Buffer.from([0xff, 0xfe]), Buffer.from('.js')]), 'x')
    const { dyn } = await sameAsNpm(dir)
    assert.equal(dyn.code, 'E_INVALID_FILE_NAME')
    assert.match(dyn.message, /not valid UTF-8/)
  })
})

describe('SRI strings, as ssri parses them', () => {
  const ssri = require(path.join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm', 'node_modules', 'ssri'))
  const data = Buffer.from('some tarball bytes')
  const digest = (alg, d = data) => `${alg}-${crypto.createHash(alg).update(d).digest('base64')}`

  test('valid strings: verifyIntegrity agrees with ssri.checkData', async () => {
    const strings = [
      digest('sha512'),
      `  ${digest('sha512')}  `,
      `${digest('sha512')}?opt1?opt2`,
      `${digest('sha1')} ${digest('sha512', 'other')}`,
      `${digest('sha1', 'other')} ${digest('sha512')}`,
      `${digest('sha256')}\n${digest('sha384')}\t${digest('sha1')}`,
      `junk ${digest('sha384')} more-junk`,
      `${digest('sha512', 'a')} ${digest('sha512')}`,
      `${digest('sha512')} sha512-${'A'.repeat(86)}==`,
      digest('sha384', 'other'),
      `${digest('sha512')} sha3_512-abc`, // not a token for ssri: `_` is outside [a-z0-9]
      `${digest('sha512')} sha512-!!!!`,
    ]
    for (const s of strings) {
      assert.equal(await verifyIntegrity(data, s), Boolean(ssri.checkData(data, s)), JSON.stringify(s))
    }
  })

  test('strings ssri finds no hash in: E_INVALID_SRI', async () => {
    for (const s of ['', '   ', 'sha512', 'sha512-', 'SHA512-abc', 'sha512_abc', '-abc', '?x', 'not an sri at all']) {
      assert.equal(String(ssri.parse(s) ?? ''), '', JSON.stringify(s))
      await assert.rejects(verifyIntegrity(data, s), { code: 'E_INVALID_SRI' }, JSON.stringify(s))
    }
  })

  test('bad base64 or a wrong length: E_INVALID_SRI, where ssri just answers false', async () => {
    for (const s of ['sha512-!!!!', 'sha512-abc', `sha256-${'A'.repeat(10)}`, `sha512-${Buffer.alloc(32).toString('base64')}`]) {
      assert.equal(Boolean(ssri.checkData(data, s)), false)
      await assert.rejects(verifyIntegrity(data, s), (e) => e.code === 'E_INVALID_SRI' && /base64/.test(e.message), s)
    }
  })

  test('algorithms dynpack does not compute: E_UNKNOWN_ALGORITHM names them', async () => {
    // ssri would verify these with node:crypto; dynpack refuses them by name
    for (const s of [`md5-${crypto.createHash('md5').update(data).digest('base64')}`, 'sha3-abc', `${digest('sha512')} sha3-abc`]) {
      await assert.rejects(verifyIntegrity(data, s), (e) => e.code === 'E_UNKNOWN_ALGORITHM' && e.message.includes(s.split(' ').pop().split('-')[0]), s)
    }
    // a weaker unknown algorithm next to a known one is ignored, as ssri ignores it
    const s = `whirlpool-abc ${digest('sha1')}`
    assert.equal(await verifyIntegrity(data, s), Boolean(ssri.checkData(data, s)))
    await assert.rejects(computeIntegrity(data, { algorithms: ['md5'] }), (e) => e.code === 'E_UNKNOWN_ALGORITHM' && /md5/.test(e.message))
    await assert.rejects(computeIntegrity(data, { algorithms: [] }), { code: 'E_INVALID_OPTION' })
    await assert.rejects(verifyIntegrity(data, 42), { code: 'E_INVALID_SRI' })
  })

  test('a huge SRI string is parsed without trouble', async () => {
    const s = `${'junk '.repeat(200_000)}${digest('sha512')}`
    assert.equal(await verifyIntegrity(data, s), true)
  })

  test('computeIntegrity and verify on a FIFO, a socket or a folder: E_NOT_A_FILE at once, never blocking', async () => {
    const dir = fresh('special-integrity')
    fs.mkdirSync(dir)
    const fifo = path.join(dir, 'pipe')
    mkfifo(fifo)
    const sock = path.join(dir, 'sock')
    const server = net.createServer().listen(sock)
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      for (const [file, kind] of [[fifo, 'a FIFO'], [sock, 'a socket'], [dir, 'a folder']]) {
        await assert.rejects(computeIntegrity(file), (e) => e.code === 'E_NOT_A_FILE' && e.message.startsWith(`${file}: it is ${kind}`), kind)
        await assert.rejects(verifyIntegrity(file, digest('sha512')), { code: 'E_NOT_A_FILE' }, kind)
        const r = dynpackCli(['integrity', file], { timeout: 20_000 })
        assert.equal(r.status, 1, `${kind}: ${r.stderr}`)
        assert.match(r.stderr, /^dynpack: E_NOT_A_FILE: /m)
      }
    } finally {
      server.close()
    }
  })

  test('CLI verify: a malformed SRI is one line with the code', () => {
    const file = path.join(root, 'data.bin')
    fs.writeFileSync(file, data)
    const r = dynpackCli(['verify', file, 'sha512-!!!!'])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /^dynpack: E_INVALID_SRI: /m)
  })
})

test('no temporary files anywhere under the test folder', () => {
  const left = []
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, ent.name)
      if (ent.isDirectory()) walk(abs)
      else if (tempFiles(dir).includes(ent.name)) left.push(abs)
    }
  }
  walk(root)
  assert.deepEqual(left, [])
})
