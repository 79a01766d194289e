'use strict'
// A small seeded PRNG, so that every fixture byte follows from a name: the
// same inputs on every machine and every run, without storing them in git.

/** 128-bit seed from a string (cyrb128), so each file gets its own stream. */
function seedOf (str) {
  let h1 = 1779033703; let h2 = 3144134277; let h3 = 1013904242; let h4 = 2773480762
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0]
}

/** sfc32: fast in JS (32-bit integer ops only) and good enough for test data. */
class Rng {
  constructor (seed) {
    const [a, b, c, d] = typeof seed === 'string' ? seedOf(seed) : seed
    this.a = a; this.b = b; this.c = c; this.d = d
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32 () {
    const t = (this.a + this.b | 0) + this.d | 0
    this.d = this.d + 1 | 0
    this.a = this.b ^ this.b >>> 9
    this.b = this.c + (this.c << 3) | 0
    this.c = this.c << 21 | this.c >>> 11
    this.c = this.c + t | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next () { return this.u32() / 4294967296 }

  /** Integer in [lo, hi]. */
  int (lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)) }

  pick (arr) { return arr[Math.floor(this.next() * arr.length)] }

  /** Skewed pick: low indexes much more often, as identifiers in real code. */
  zipf (arr) { const x = this.next(); return arr[Math.floor(x * x * arr.length)] }

  /** Log-normal with the given median and sigma. */
  lognormal (median, sigma) {
    const u = 1 - this.next(); const v = this.next()
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    return median * Math.exp(sigma * z)
  }

  /** Picks a key of `weights` ({key: weight}) in proportion to its weight. */
  weighted (weights) {
    const entries = Object.entries(weights)
    let total = 0
    for (const [, w] of entries) total += w
    let x = this.next() * total
    for (const [k, w] of entries) { x -= w; if (x < 0) return k }
    return entries[entries.length - 1][0]
  }

  /** Fills a buffer with uniform bytes (incompressible content). */
  fill (buf) {
    if (buf.byteOffset % 4 !== 0) {
      for (let i = 0; i < buf.length; i++) buf[i] = this.u32() & 0xff
      return buf
    }
    const words = Math.floor(buf.length / 4)
    const u = new Uint32Array(buf.buffer, buf.byteOffset, words)
    for (let i = 0; i < words; i++) u[i] = this.u32()
    for (let i = words * 4; i < buf.length; i++) buf[i] = this.u32() & 0xff
    return buf
  }
}

module.exports = { Rng, seedOf }
