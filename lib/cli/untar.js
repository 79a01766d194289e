'use strict'
// Extracts an npm tarball (.tgz) into a folder, stripping `package/`, as
// `tar -xzf FILE --strip-components=1` does in the RHDH packager's staging.
// npm tarballs hold regular files (and hard links), described by ustar and
// PAX headers; anything that would leave the folder is refused.
//
// The tarball is streamed: memory stays bounded whatever the sizes of the
// files (a sparse 8 GiB file included). Runs of zero bytes are not written
// but skipped, so a sparse file stays sparse on disk.

const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')

/** The largest PAX / GNU long-name record accepted (they hold a path or a few fields). */
const MAX_META = 1 << 20
const CHUNK = 64 * 1024
const ZEROS = Buffer.alloc(CHUNK)

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

function parsePax (buf) {
  const out = {}
  let i = 0
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

/** The path an entry extracts to under `dest`, or an error for one that escapes it. */
function target (dest, name, file) {
  const parts = name.split('/').slice(1).filter((p) => p !== '' && p !== '.')
  if (parts.length === 0) return null
  if (parts.includes('..') || path.isAbsolute(name)) throw fail(`${file}: entry ${JSON.stringify(name)} leaves the package folder; this is not an npm tarball`)
  return path.join(dest, ...parts)
}

/**
 * Reads the gunzipped bytes of `tgzFile` as tar blocks: `read(n)` resolves to
 * exactly n bytes, or null at the end of the stream; a stream that ends inside
 * a block throws E_BAD_TARBALL.
 */
function blockReader (tgzFile) {
  const source = fs.createReadStream(tgzFile)
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK })
  source.on('error', (err) => gunzip.destroy(err))
  source.pipe(gunzip)
  const it = gunzip[Symbol.asyncIterator]()
  let pending = Buffer.alloc(0)
  return {
    async read (n) {
      while (pending.length < n) {
        const { value, done } = await it.next()
        if (done) {
          if (pending.length === 0) return null
          throw fail(`${tgzFile}: truncated tarball; pack it again`)
        }
        pending = pending.length ? Buffer.concat([pending, value]) : value
      }
      const out = pending.subarray(0, n)
      pending = pending.subarray(n)
      return out
    },
    close () { source.destroy(); gunzip.destroy() },
  }
}

/** Copies `size` bytes of entry data into the open `handle`, leaving holes for zero chunks; then skips the padding. */
async function copyData (reader, size, handle, tgzFile) {
  let left = size
  let position = 0
  while (left > 0) {
    const n = Math.min(left, CHUNK)
    const chunk = await reader.read(n)
    if (chunk === null) throw fail(`${tgzFile}: truncated tarball; pack it again`)
    if (handle && ZEROS.compare(chunk, 0, n, 0, n) !== 0) {
      await handle.write(chunk, 0, n, position)
    }
    position += n
    left -= n
  }
  if (handle) await handle.truncate(size)
  await skip(reader, (512 - (size % 512)) % 512, tgzFile)
}

async function skip (reader, n, tgzFile) {
  if (n === 0) return
  const b = await reader.read(n)
  if (b === null) throw fail(`${tgzFile}: truncated tarball; pack it again`)
}

/** The bytes of a small entry (PAX header, GNU long name), at most MAX_META. */
async function readMeta (reader, size, tgzFile) {
  if (size > MAX_META) throw fail(`${tgzFile}: a ${size}-byte tar header record, over the ${MAX_META} bytes accepted; this is not an npm tarball`)
  const parts = []
  let left = size
  while (left > 0) {
    const n = Math.min(left, CHUNK)
    const b = await reader.read(n)
    if (b === null) throw fail(`${tgzFile}: truncated tarball; pack it again`)
    parts.push(Buffer.from(b))
    left -= n
  }
  await skip(reader, (512 - (size % 512)) % 512, tgzFile)
  return Buffer.concat(parts)
}

/**
 * Extracts `tgzFile` into `dest` (created), stripping the first path component.
 * Resolves to the number of files written.
 */
async function extractTgz (tgzFile, dest) {
  fs.mkdirSync(dest, { recursive: true })
  const reader = blockReader(tgzFile)
  let files = 0
  let pax = {}
  let longName = null
  let longLink = null
  try {
    for (;;) {
      let h
      try {
        h = await reader.read(512)
      } catch (err) {
        if (err.code === 'E_BAD_TARBALL') throw err
        throw fail(`${tgzFile}: not a readable gzip tarball (${err.message}); pack it again`)
      }
      if (h === null || h.every((b) => b === 0)) break
      const size = octal(h, 124, 12)
      const type = String.fromCharCode(h[156] || 0x30)
      if (type === 'x') { pax = { ...pax, ...parsePax(await readMeta(reader, size, tgzFile)) }; continue }
      if (type === 'g') { await readMeta(reader, size, tgzFile); continue }
      if (type === 'L') { const b = await readMeta(reader, size, tgzFile); longName = field(b, 0, b.length); continue }
      if (type === 'K') { const b = await readMeta(reader, size, tgzFile); longLink = field(b, 0, b.length); continue }
      const prefix = field(h, 345, 155)
      const name = field(h, 0, 100)
      const entry = {
        path: pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name),
        mode: octal(h, 100, 8),
        mtime: pax.mtime ? Number(pax.mtime) : octal(h, 136, 12),
        linkpath: pax.linkpath ?? longLink ?? field(h, 157, 100),
        size: pax.size !== undefined ? Number(pax.size) : size,
      }
      pax = {}
      longName = longLink = null
      if (await writeEntry(reader, entry, type, dest, tgzFile)) files++
    }
  } finally {
    reader.close()
  }
  return files
}

/** Writes one entry; resolves to true for a file (counted), false otherwise. */
async function writeEntry (reader, e, type, dest, tgzFile) {
  const out = target(dest, e.path, tgzFile)
  if (out == null || type === '5') {
    if (out != null) fs.mkdirSync(out, { recursive: true })
    await copyData(reader, e.size, null, tgzFile)
    return false
  }
  fs.mkdirSync(path.dirname(out), { recursive: true })
  const time = new Date(e.mtime * 1000)
  if (type === '0' || type === '7' || type === '\0') {
    const handle = await fs.promises.open(out, 'w', e.mode & 0o777)
    try {
      await copyData(reader, e.size, handle, tgzFile)
    } finally {
      await handle.close()
    }
    fs.chmodSync(out, e.mode & 0o777)
  } else if (type === '1') {
    const from = target(dest, e.linkpath, tgzFile)
    if (from == null || !fs.existsSync(from)) throw fail(`${tgzFile}: hard link ${JSON.stringify(e.path)} points to a missing entry`)
    await copyData(reader, e.size, null, tgzFile)
    fs.copyFileSync(from, out)
    fs.chmodSync(out, e.mode & 0o777)
  } else if (type === '2') {
    const resolved = path.resolve(path.dirname(out), e.linkpath)
    if (path.isAbsolute(e.linkpath) || !resolved.startsWith(dest + path.sep)) {
      throw fail(`${tgzFile}: symbolic link ${JSON.stringify(e.path)} points outside the package (${e.linkpath})`)
    }
    await copyData(reader, e.size, null, tgzFile)
    fs.symlinkSync(e.linkpath, out)
    return false
  } else {
    throw fail(`${tgzFile}: entry ${JSON.stringify(e.path)} has unsupported type ${JSON.stringify(type)}`)
  }
  fs.utimesSync(out, time, time)
  return true
}

module.exports = { extractTgz }
