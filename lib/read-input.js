'use strict'
// Reading the small input files the JavaScript layer looks at itself
// (package.json, app-config.yaml) without ever blocking: a FIFO opened the
// usual way waits for a writer, forever in an unattended build. The file is
// opened non-blocking and its type checked on the open handle, as the Rust
// core does (src/input.rs).

const fs = require('node:fs')
const path = require('node:path')

/** The size the Rust core accepts for a package.json (src/manifest.rs). */
const MAX_MANIFEST_BYTES = 32 << 20

function kindOf (stat) {
  if (stat.isDirectory()) return 'a folder'
  if (stat.isFIFO()) return 'a FIFO'
  if (stat.isSocket()) return 'a socket'
  if (stat.isBlockDevice() || stat.isCharacterDevice()) return 'a device'
  return 'a special file'
}

/** The dynpack code for a Node fs error (`err.code` is an errno name). */
function errnoCode (err) {
  if (err.code === 'ENOSPC') return 'E_NO_SPACE'
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'E_PERMISSION'
  return 'E_IO'
}

/** A Node fs error on `file` as a dynpack error. */
function fsError (file, err) {
  const e = new Error(`${file}: ${err.message}`)
  e.code = errnoCode(err)
  return e
}

/**
 * The text of the regular file `file`, or null when it does not exist.
 * Anything else that is not a regular file of at most `max` bytes throws
 * `bad(why)`, the caller's error; other failures throw E_PERMISSION / E_IO.
 */
function readInput (file, { max = MAX_MANIFEST_BYTES, bad, flags = 0 }) {
  let fd
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (flags ?? 0))
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null
    if (err.code === 'ELOOP' && flags) throw linkOutside(file, 'a symbolic link that changed while dynpack read it')
    let stat = null
    try { stat = fs.statSync(file) } catch {}
    // a socket cannot be opened at all (ENXIO): name it, not the errno
    if (stat && !stat.isFile()) throw bad(`it is ${kindOf(stat)}, not a regular file`)
    throw fsError(file, err)
  }
  try {
    const stat = fs.fstatSync(fd)
    if (!stat.isFile()) throw bad(`it is ${kindOf(stat)}, not a regular file`)
    if (stat.size > max) throw bad(`it is ${stat.size} bytes, more than the ${max} bytes dynpack accepts`)
    try {
      return fs.readFileSync(fd, 'utf8')
    } catch (err) {
      throw fsError(file, err)
    }
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * readInput for a file whose text dynpack prints (app-config.yaml): the file,
 * once every link on its way is resolved, must lie inside `folder`. A link
 * that leaves it (`app-config.yaml -> ~/.npmrc`) throws E_LINK_OUTSIDE before
 * anything is read; a link to a file inside the folder is read. The resolved
 * path is opened with O_NOFOLLOW, so a link swapped in after the check is
 * refused rather than followed.
 */
function readInsideFolder (file, folder, { max = MAX_MANIFEST_BYTES, bad }) {
  let real
  try {
    real = fs.realpathSync(file)
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      return null // missing, or a link to nothing: there is nothing to read
    }
    if (err.code === 'ELOOP') throw linkOutside(file, 'a symbolic link loop')
    throw fsError(file, err)
  }
  let root
  try { root = fs.realpathSync(folder) } catch (err) { throw fsError(folder, err) }
  if (real !== root && !real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    throw linkOutside(file, `a link to ${real}, outside the plugin folder ${root}`)
  }
  return readInput(real, { max, bad, flags: fs.constants.O_NOFOLLOW })
}

function linkOutside (file, what) {
  const e = new Error(`${file}: it is ${what}; dynpack prints this file's content, so it reads it only from inside the plugin folder: copy the file into the folder or remove the link`)
  e.code = 'E_LINK_OUTSIDE'
  return e
}

module.exports = { readInput, readInsideFolder, errnoCode, fsError, MAX_MANIFEST_BYTES }
