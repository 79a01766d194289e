'use strict'
// Extracts an npm tarball (.tgz) into a folder, stripping `package/`, as
// `tar -xzf FILE --strip-components=1` does in the RHDH packager's staging.
// npm tarballs hold regular files (and hard links), described by ustar and
// PAX headers; anything that would leave the folder is refused.

const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')

function fail (message) {
  const e = new Error(message)
  e.code = 'E_BAD_TARBALL'
  return e
}

function field (buf, off, len) {
  const end = buf.indexOf(0, off)
  return buf.toString('utf8', off, end < 0 || end > off + len ? off + len : end)
}

function octal (buf, off, len) {
  if (buf[off] & 0x80) {
    // base-256 (GNU) big number
    let v = 0
    for (let i = off + 1; i < off + len; i++) v = v * 256 + buf[i]
    return v
  }
  const s = field(buf, off, len).trim()
  return s === '' ? 0 : parseInt(s, 8)
}

function parsePax (text) {
  const out = {}
  let i = 0
  const buf = Buffer.from(text, 'utf8')
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i)
    if (sp < 0) break
    const len = parseInt(buf.toString('utf8', i, sp), 10)
    if (!len) break
    const record = buf.toString('utf8', sp + 1, i + len - 1)
    const eq = record.indexOf('=')
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1)
    i += len
  }
  return out
}

/** The entries of a tar buffer: `{ path, type, mode, mtime, data, linkpath }`. */
function readTar (tar, file) {
  const entries = []
  let off = 0
  let pax = {}
  let longName = null
  let longLink = null
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512)
    if (h.every((b) => b === 0)) break
    const size = octal(h, 124, 12)
    const type = String.fromCharCode(h[156] || 0x30)
    if (off + 512 + size > tar.length) throw fail(`${file}: truncated tarball; pack it again`)
    const data = tar.subarray(off + 512, off + 512 + size)
    off += 512 + Math.ceil(size / 512) * 512
    if (type === 'x') { pax = { ...pax, ...parsePax(data.toString('utf8')) }; continue }
    if (type === 'g') continue
    if (type === 'L') { longName = field(data, 0, data.length); continue }
    if (type === 'K') { longLink = field(data, 0, data.length); continue }
    const prefix = field(h, 345, 155)
    const name = field(h, 0, 100)
    entries.push({
      path: pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name),
      type,
      mode: octal(h, 100, 8),
      mtime: pax.mtime ? Number(pax.mtime) : octal(h, 136, 12),
      linkpath: pax.linkpath ?? longLink ?? field(h, 157, 100),
      data,
    })
    pax = {}
    longName = longLink = null
  }
  return entries
}

/** The path an entry extracts to under `dest`, or an error for one that escapes it. */
function target (dest, name, file) {
  const parts = name.split('/').slice(1).filter((p) => p !== '' && p !== '.')
  if (parts.length === 0) return null
  if (parts.includes('..') || path.isAbsolute(name)) throw fail(`${file}: entry ${JSON.stringify(name)} leaves the package folder; this is not an npm tarball`)
  return path.join(dest, ...parts)
}

/**
 * Extracts `tgzFile` into `dest` (created), stripping the first path component.
 * Returns the number of files written.
 */
function extractTgz (tgzFile, dest) {
  let tar
  try {
    tar = zlib.gunzipSync(fs.readFileSync(tgzFile))
  } catch (err) {
    throw fail(`${tgzFile}: not a readable gzip tarball (${err.message}); pack it again`)
  }
  fs.mkdirSync(dest, { recursive: true })
  let files = 0
  for (const e of readTar(tar, tgzFile)) {
    const out = target(dest, e.path, tgzFile)
    if (out == null) continue
    const time = new Date(e.mtime * 1000)
    if (e.type === '5') {
      fs.mkdirSync(out, { recursive: true })
      continue
    }
    fs.mkdirSync(path.dirname(out), { recursive: true })
    if (e.type === '0' || e.type === '7' || e.type === '\0') {
      fs.writeFileSync(out, e.data, { mode: e.mode & 0o777 })
    } else if (e.type === '1') {
      const from = target(dest, e.linkpath, tgzFile)
      if (from == null || !fs.existsSync(from)) throw fail(`${tgzFile}: hard link ${JSON.stringify(e.path)} points to a missing entry`)
      fs.copyFileSync(from, out)
      fs.chmodSync(out, e.mode & 0o777)
    } else if (e.type === '2') {
      const resolved = path.resolve(path.dirname(out), e.linkpath)
      if (path.isAbsolute(e.linkpath) || !resolved.startsWith(dest + path.sep)) {
        throw fail(`${tgzFile}: symbolic link ${JSON.stringify(e.path)} points outside the package (${e.linkpath})`)
      }
      fs.symlinkSync(e.linkpath, out)
      continue
    } else {
      throw fail(`${tgzFile}: entry ${JSON.stringify(e.path)} has unsupported type ${JSON.stringify(e.type)}`)
    }
    fs.utimesSync(out, time, time)
    files++
  }
  return files
}

module.exports = { extractTgz, readTar }
