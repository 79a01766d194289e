// lib/api.d.ts is as strict as the runtime (checked by the TypeScript compiler
// the dev dependencies bring), and wrong argument types are rejected at run
// time in dynpack's words (E_INVALID_OPTION naming the option), never with the
// addon's conversion errors (Rust type names such as `Vec<u8>`).
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const checkout = path.join(here, '..')
const api = require('../lib/api.js')

function findTsc () {
  try {
    return require.resolve('typescript/bin/tsc')
  } catch {
    if (process.env.CI === 'true') throw new Error('typescript (a dev dependency of @napi-rs/cli) is required in CI')
    return null
  }
}

const TYPE_CHECK = `
import { packDynamic, computeIntegrity, verifyIntegrity, buildOciLayout, publishDynamic, type ProgressEvent, type DynpackError } from ${JSON.stringify(path.join(checkout, 'lib', 'api'))}

async function ok () {
  const r = await packDynamic('d', { compression: 'fast', dryRun: true, onProgress: (e: ProgressEvent) => e.bytesDone / e.bytesTotal })
  r.integrity.toUpperCase()
  await computeIntegrity('x', { algorithms: ['sha256', 'sha512'], signal: AbortSignal.timeout(1) })
  await computeIntegrity(new Uint8Array(2))
  await verifyIntegrity(Buffer.from('x'), 'sha512-x')
  await buildOciLayout(['a'], { output: 'o', tag: 'q.io/a/b:1', compressionLevel: 9, platform: 'linux/arm64', onProgress: (e) => e.done })
  await publishDynamic('d', { timeout: 1000, onWait: (w) => w.waitingFor })
  const e = {} as DynpackError
  return e.plugins?.length
}

async function bad () {
  // @ts-expect-error compression is 'npm' | 'fast'
  await packDynamic('d', { compression: 'zstd' })
  // @ts-expect-error an unknown algorithm
  await computeIntegrity('x', { algorithms: ['md5'] })
  // @ts-expect-error dryRun is a boolean
  await packDynamic('d', { dryRun: 'yes' })
  // @ts-expect-error level 1-9
  await buildOciLayout('a', { output: 'o', tag: 't', compressionLevel: 10 })
  // @ts-expect-error platform is os/arch
  await buildOciLayout('a', { output: 'o', tag: 't', platform: 'amd64' })
  // @ts-expect-error input is a path or bytes
  await computeIntegrity(42)
  // @ts-expect-error onProgress is a function
  await packDynamic('d', { onProgress: true })
}
void ok; void bad
`

describe('lib/api.d.ts', () => {
  const tsc = findTsc()
  test('accepts what the runtime accepts and refuses what it refuses (tsc --strict)', { skip: tsc ? false : 'typescript is not installed' }, () => {
    const dir = tempDir('dynpack-types-')
    try {
      const file = path.join(dir, 'check.ts')
      fs.writeFileSync(file, TYPE_CHECK)
      const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--target', 'es2022',
        '--types', 'node', '--typeRoots', path.join(checkout, 'node_modules', '@types'), file], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stdout + r.stderr)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('argument errors in dynpack words', () => {
  const wrong = [
    ['packDynamic(42)', () => api.packDynamic(42), /dir must be a non-empty string, not the number 42/],
    ['packDynamic options', () => api.packDynamic('.', 'fast'), /packDynamic: options must be an object, not the string "fast"/],
    ['packDynamic dryRun', () => api.packDynamic('.', { dryRun: 'yes' }), /packDynamic: options\.dryRun must be true or false, not the string "yes"/],
    ['packDynamic compression', () => api.packDynamic('.', { compression: 1 }), /options\.compression must be 'npm' or 'fast', not the number 1/],
    ['packDynamic destination', () => api.packDynamic('.', { destination: 5 }), /options\.destination must be a string, not the number 5/],
    ['packDynamic onProgress', () => api.packDynamic('.', { onProgress: true }), /options\.onProgress must be a function, not the boolean true/],
    ['computeIntegrity input', () => api.computeIntegrity(5), /computeIntegrity: input must be a file path \(a non-empty string\) or a Buffer, not the number 5/],
    ['computeIntegrity algorithms', () => api.computeIntegrity(Buffer.from('x'), { algorithms: 'sha512' }), /options\.algorithms must be an array of strings, not the string "sha512"/],
    ['computeIntegrity algorithms[0]', () => api.computeIntegrity(Buffer.from('x'), { algorithms: [5] }), /options\.algorithms\[0\] must be a string, not the number 5/],
    ['verifyIntegrity input', () => api.verifyIntegrity({}, 'sha512-x'), /verifyIntegrity: input must be a file path .* not an object/],
    ['buildOciLayout plugins', () => api.buildOciLayout(5, { output: 'o', tag: 'q.io/a/b:1' }), /plugins must be a non-empty string, not the number 5/],
    ['buildOciLayout archive', () => api.buildOciLayout('.', { output: 'o', tag: 'q.io/a/b:1', archive: 'yes' }), /options\.archive must be true or false/],
    ['buildOciLayout platform', () => api.buildOciLayout('.', { output: 'o', tag: 'q.io/a/b:1', platform: 5 }), /options\.platform must be a string, not the number 5/],
    ['buildOciLayout level', () => api.buildOciLayout('.', { output: 'o', tag: 'q.io/a/b:1', compressionLevel: 0 }), /options\.compressionLevel must be 1 or 2 or/],
    ['buildOciLayout labels', () => api.buildOciLayout('.', { output: 'o', tag: 'q.io/a/b:1', labels: { a: 1 } }), /options\.labels must be an object of string values/],
    ['publishDynamic dir', () => api.publishDynamic(5), /dir must be a non-empty string/],
    ['publishDynamic registry', () => api.publishDynamic('.', { registry: 5 }), /publishDynamic: options\.registry must be a string, not the number 5/],
    ['publishDynamic dryRun', () => api.publishDynamic('.', { dryRun: 'x' }), /publishDynamic: options\.dryRun must be true or false/],
    ['publishDynamic timeout', () => api.publishDynamic('.', { timeout: '5s' }), /publishDynamic: options\.timeout must be a number/],
  ]
  for (const [name, call, message] of wrong) {
    test(name, async () => {
      await assert.rejects(call(), (e) => {
        assert.equal(e.code, 'E_INVALID_OPTION', e.message)
        assert.match(e.message, message)
        assert.doesNotMatch(e.message, /rust|napi|Vec<|JavaScript value|Failed to convert/i)
        return true
      })
    })
  }
})
