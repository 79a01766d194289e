// The exact parallel gzip's stitcher (issue 23) against the host zlib's own
// sequential parse: speculative runs of this Node's zlib over overlapping
// chunks, decoded and stitched where they re-join, must give the very parse
// that sequential compression (`zlib.deflateRawSync(buf, {level: 9})`, the
// same zlib) makes. GZP_INPUTS sets the number of small inputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const native = require('../lib/addon.js').loadAddon()
const check = native.npmParallelParseCheckForTest

function rng (seed) {
  let x = (seed * 2654435761) >>> 0 || 1
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x
  }
}

const WORDS = 'const let function return import export default from async await this null undefined true false if else for while class extends new module require package json version name dependencies backstage plugin backend frontend'.split(' ')

/** One input of `kind`, `n` bytes. */
function make (kind, n, r) {
  const b = Buffer.alloc(n)
  let i = 0
  const put = (v) => { if (i < n) b[i++] = v }
  while (i < n) {
    const k = kind === 'mixed' ? r() % 5 : ['text', 'runs', 'random', 'repeats'].indexOf(kind)
    if (k === 0) { for (const c of Buffer.from(WORDS[r() % WORDS.length] + (r() % 3 ? ' ' : '\n'))) put(c) } else if (k === 1) { const v = r() & 255; for (let j = r() % 700; j > 0; j--) put(v) } else if (k === 2) { for (let j = r() % 400; j > 0; j--) put(r() & 255) } else if (k === 3 && i > 0) {
      const d = 1 + r() % Math.min(i, 40000); const l = 3 + r() % 300
      for (let j = 0; j < l; j++) put(b[i - d])
    } else put(r() & 255)
  }
  return b
}

const THREADS = [1, 2, 7, 64]
const KINDS = ['text', 'runs', 'random', 'repeats', 'mixed']

function verify (buf, chunk, threads, tail, what) {
  const r = check(buf, chunk, threads, false, tail)
  if (r.fallback == null && r.sequentialStored === 0) assert.ok(r.equal, `${what}: stitched parse differs from the sequential one`)
  return r
}

test('the host zlib is the one Node compresses with', () => {
  const buf = make('mixed', 100_000, rng(1))
  const ours = native.npmGzipSync(buf)
  const node = zlib.gzipSync(buf, { level: 9 })
  node[9] = 0xff
  assert.deepEqual(ours, node)
})

test('small inputs, tiny chunks: stitched parse equals the sequential parse', () => {
  const count = Number(process.env.GZP_INPUTS || 100_000)
  const r = rng(23)
  const tally = { equal: 0, stored: 0, noJoin: 0, seqStored: 0, reruns: 0 }
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length]
    const n = i % 1000 === 0 ? [0, 1, 2, 3, 4, 258, 259, 16383][(i / 1000) % 8] : r() % (i % 7 === 0 ? 6000 : 700)
    const buf = make(kind, n, r)
    const chunk = 1 + Math.floor(n / (1 + r() % 4)) + (r() % 64)
    const tail = 1025 + r() % 2048
    const threads = i % 32 === 0 ? 64 : i % 32 === 1 ? 7 : 1 + (i & 1)
    const res = verify(buf, chunk, threads, tail, `input ${i} (${kind}, ${n} B, chunk ${chunk}, tail ${tail})`)
    tally.reruns += res.reruns
    if (res.equal) tally.equal++
    else if (res.sequentialStored) tally.seqStored++
    else if (res.fallback === 'stored') tally.stored++
    else if (res.fallback === 'no-join') tally.noJoin++
    else assert.fail(`input ${i}: unexpected ${JSON.stringify(res)}`)
  }
  console.log(`# ${process.version} zlib ${process.versions.zlib}: ${count} small inputs`, JSON.stringify(tally))
  assert.ok(tally.equal > count / 2, JSON.stringify(tally))
})

test('periodic data (out-of-phase 258-byte matches) re-joins through longer re-runs', () => {
  const r = rng(11)
  for (const period of [1, 2, 3, 7, 258, 259]) {
    const unit = make('random', period, r)
    const buf = Buffer.concat([make('text', 50_000, r), Buffer.alloc(200_000).map((_, i) => unit[i % period]), make('text', 50_000, r)])
    const res = verify(buf, 32_768, 2, undefined, `period ${period}`)
    assert.ok(res.equal, `period ${period}: ${JSON.stringify({ ...res, joinDistances: undefined })}`)
  }
})

test('inputs past the 32 KiB window: runs primed with ordinary input re-join exactly', () => {
  const r = rng(7)
  let joins = 0
  let equal = 0
  const count = Number(process.env.GZP_LARGE || 60)
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length]
    const n = 40_000 + r() % 260_000
    const buf = make(kind, n, r)
    const chunk = 4096 + r() % 60_000
    const res = verify(buf, chunk, THREADS[i % 4], 1025 + r() % 30_000, `large input ${i} (${kind}, ${n} B, chunk ${chunk})`)
    joins += res.joinDistances.length
    if (res.equal) equal++
  }
  console.log(`# ${count} large inputs: ${equal} stitched exactly, ${joins} joins`)
  assert.ok(equal > count / 2)
})

// A string starting 1-8 bytes before a chunk start, repeated later in the
// chunk: deflateSetDictionary hashes the dictionary's last positions before
// the bytes after it exist (Chromium's hash reads 4 bytes), so a run primed
// that way misses the string 3 bytes back; runs primed with ordinary input
// must find it exactly as sequential compression does.
test('adversarial: matches into the last bytes before a chunk start', () => {
  const r = rng(5)
  const dictionaryMisses = {}
  for (const back of [1, 2, 3, 4, 5, 8]) {
    for (let t = 0; t < 20; t++) {
      const buf = Buffer.alloc(120_000)
      for (let i = 0; i < buf.length; i++) buf[i] = 48 + (r() & 63)
      const s = 65_536
      buf.copy(buf, s + 3000 + t * 37, s - back, s - back + 12)
      const res = check(buf, s, 2, false)
      assert.equal(res.fallback ?? null, null)
      assert.ok(res.equal, `back ${back}, case ${t}`)
      const dict = check(buf, s, 2, true)
      if (!dict.equal) dictionaryMisses[back] = (dictionaryMisses[back] || 0) + 1
    }
  }
  console.log(`# ${process.version}: deflateSetDictionary-primed runs that differ from sequential (of 20 per distance):`, JSON.stringify(dictionaryMisses))
})

test('real files: popular packages in node_modules', () => {
  const root = path.join(import.meta.dirname, '..', 'node_modules')
  const parts = []
  let total = 0
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (total > 3_000_000) return
      const p = path.join(dir, e.name)
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p)
      else if (e.isFile()) { const d = fs.readFileSync(p); parts.push(d); total += d.length }
    }
  }
  walk(root)
  const buf = Buffer.concat(parts)
  for (const [chunk, threads] of [[65_536, 2], [262_144, 7], [1 << 20, 64]]) {
    const res = verify(buf, chunk, threads, undefined, `node_modules corpus, chunk ${chunk}`)
    console.log(`# node_modules corpus ${buf.length} B, chunk ${chunk}: equal ${res.equal}, fallback ${res.fallback}, joins ${res.joinDistances.length}, max join ${Math.max(0, ...res.joinDistances)} B`)
  }
})
