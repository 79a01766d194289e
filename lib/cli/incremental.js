'use strict'
// What `dynpack package` does for CI pipelines: the source digest of each
// image (annotation io.dynpack.source.digest) and, with --push, skipping an
// image whose remote tags already carry it; the CI labels (created,
// revision, vcs-ref, build-date, quay.expires-after); extra --tag values
// pushed after the first; and --load into a local podman or docker.

const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { usageError } = require('./args.js')
const { formatBytes } = require('./report.js')
const { toDynpackError } = require('../errors.js')

const ANNOTATION = 'io.dynpack.source.digest'
/**
 * The labels that name the commit do not enter the source digest: otherwise
 * every commit would rebuild every plugin. An unchanged plugin keeps the
 * image (and the revision labels) of the commit that last changed it.
 */
const REVISION_KEYS = ['org.opencontainers.image.revision', 'vcs-ref']

const OPTIONS = {
  revision: { type: 'string' },
  'expires-after': { type: 'string' },
  'compression-level': { type: 'string' },
  load: { type: 'boolean' },
}

/** `SOURCE_DATE_EPOCH` seconds as RFC 3339 (what the image's `created` says). */
function rfc3339 (epoch) {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z')
}

/**
 * `--revision`, else HEAD of the git repository holding `dir` (the plugins'
 * folder, not the current one), else undefined (no git, not a repository).
 * A promise: git runs while the files are hashed.
 */
function revisionOf (values, dir) {
  if (values.revision !== undefined) return Promise.resolve(values.revision)
  return new Promise((resolve) => {
    let out = ''
    let child
    try {
      child = spawn('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] })
    } catch {
      return resolve(undefined) // `dir` is a file (ENOTDIR is thrown, not emitted): its error comes from discovery
    }
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d })
    child.on('error', () => resolve(undefined))
    child.on('close', (code) => {
      out = out.trim()
      resolve(code === 0 && /^[0-9a-f]{40,64}$/.test(out) ? out : undefined)
    })
  })
}

/**
 * The labels and annotations CI pipelines read, from the options, the epoch
 * (`--source-date-epoch` or SOURCE_DATE_EPOCH) and the `revision`
 * ({@link revisionOf}). The user's own --label / --annotation win over these.
 */
function ciMetadata (values, revision, epoch) {
  const labels = {}
  const annotations = {}
  if (epoch !== undefined) {
    labels['org.opencontainers.image.created'] = labels['build-date'] = rfc3339(epoch)
  }
  if (revision !== undefined) {
    labels['org.opencontainers.image.revision'] = labels['vcs-ref'] = revision
    annotations['org.opencontainers.image.revision'] = revision
  }
  const expires = values['expires-after']
  if (expires !== undefined) {
    if (!/^[1-9][0-9]{0,4}[hdw]$/.test(expires)) {
      throw usageError(`--expires-after ${JSON.stringify(expires)}: expected a number and h, d or w (e.g. 2w), as quay.expires-after`, 'package')
    }
    labels['quay.expires-after'] = expires
  }
  return { labels, annotations }
}

/** `--compression-level N`: 1-9, or undefined. */
function compressionLevel (values) {
  const v = values['compression-level']
  if (v === undefined) return undefined
  if (!/^[1-9]$/.test(v)) throw usageError(`--compression-level ${JSON.stringify(v)}: expected 1 (fastest) to 9 (smallest)`, 'package')
  return Number(v)
}

/** `--source-date-epoch`, else SOURCE_DATE_EPOCH, else undefined. */
function epochOf (values, api) {
  if (values.sourceDateEpoch !== undefined) return values.sourceDateEpoch
  const raw = process.env.SOURCE_DATE_EPOCH
  if (raw === undefined || raw === '') return undefined
  if (!/^[0-9]+$/.test(raw)) throw api._dynpackError('E_INVALID_OPTION', `SOURCE_DATE_EPOCH=${JSON.stringify(raw)} is not a number of seconds since 1970; fix or unset it`)
  return Number(raw)
}

function without (map, keys) {
  const out = { ...map }
  for (const k of keys) delete out[k]
  return out
}

/**
 * Hashes the source of every planned image in one native task (one parallel
 * pass over all their files, image by image); resolves once
 * `group.sourceDigest`, `group.sourcePlugins` and `group.sourceMs` are set
 * on each. Each group's `sourceReady` resolves as soon as its own are set.
 */
async function addSourceDigests (api, plan, values, signal) {
  const epoch = epochOf(values, api)
  const options = {
    annotations: without(values.annotations, [...REVISION_KEYS, ANNOTATION]),
    labels: without(values.labels, REVISION_KEYS),
    sbom: !!values.sbom,
  }
  if (values.platform) options.platform = values.platform
  if (epoch !== undefined) options.sourceDateEpoch = epoch
  if (values.compressionLevel !== undefined) options.compressionLevel = values.compressionLevel
  const started = Date.now()
  const ready = []
  for (const g of plan) g.sourceReady = new Promise((resolve) => ready.push(resolve))
  const set = (i, r) => {
    if (plan[i].sourceDigest !== undefined) return
    plan[i].sourceDigest = r.digest
    plan[i].sourcePlugins = r.plugins
    plan[i].sourceMs = Date.now() - started
    ready[i]()
  }
  const all = await api._run(signal, (token) => api._native.computeSourceDigests(plan.map((g) => g.plugins.map((p) => p.distDynamic)), options, token,
    (err, told) => { if (!err && told) set(told.index, told.result) }))
  all.forEach((r, i) => set(i, r))
}

/**
 * Starts what decides which images are up to date: the source digests and,
 * with --push (and no --load, which needs the image on disk), one read of
 * each image's remote tags. The hashing task is queued first, so that it
 * gets a libuv thread at once; the reads share the others. Nothing is
 * awaited here: the caller does other work meanwhile, then calls
 * {@link finishUnchanged}.
 */
function startUnchanged (api, plan, values, { cwd, signal }) {
  const hashing = addSourceDigests(api, plan, values, signal)
  const reads = values.push && !values.load ? readTags(api, plan, require('./push.js').registryOptions(values, cwd, 'package'), signal) : null
  hashing.catch(() => {}) // awaited in finishUnchanged; a run that fails before that leaves it
  return { hashing, reads }
}

/**
 * Waits for {@link startUnchanged}; gives every planned image its
 * annotations (the run's `annotations` plus its source digest) and returns
 * `{ toBuild, fresh, failures }`: the images whose remote tags already hold
 * their source are left out of the build (as `fresh` records, see
 * decide). With `checkAccess(tags)` (resolving to failures), the
 * images to build are checked too, still before anything is built: the
 * first one as soon as it is known to have changed, while the others are
 * hashed, the rest once all are known; when that first check fails, all
 * are checked again in one call, so that a refusal is said once for all.
 */
async function finishUnchanged (api, plan, { hashing, reads }, annotations, { report, checkAccess }) {
  if (!reads) {
    await hashing
    for (const g of plan) g.annotations = { ...annotations, [ANNOTATION]: g.sourceDigest }
    const tags = plan.flatMap((g) => [g.tag, ...(g.extraTags ?? [])])
    return { toBuild: plan, fresh: [], failures: checkAccess && tags.length > 0 ? await checkAccess(tags) : [] }
  }
  const stale = []
  const fresh = []
  let early = null
  await Promise.all(plan.map(async (g) => {
    await Promise.race([g.sourceReady, hashing])
    g.annotations = { ...annotations, [ANNOTATION]: g.sourceDigest }
    const decided = await decide(g, await reads.get(g), report)
    if (decided.fresh) return fresh.push(decided.fresh)
    stale.push(g)
    if (checkAccess && !early) {
      early = { group: g, failures: checkAccess([g.tag, ...(g.extraTags ?? [])]) }
      early.failures.catch(() => {}) // awaited below; a run that fails before that leaves it
    }
  }))
  await hashing
  const toBuild = plan.filter((g) => stale.includes(g))
  if (!checkAccess || toBuild.length === 0) return { toBuild, fresh, failures: [] }
  const rest = early && (await early.failures).length === 0 ? toBuild.filter((g) => g !== early.group) : toBuild
  const tags = rest.flatMap((g) => [g.tag, ...(g.extraTags ?? [])])
  return { toBuild, fresh, failures: tags.length > 0 ? await checkAccess(tags) : [] }
}

/** `host/repo` of `host/repo:tag`. */
function repositoryOf (tag) {
  return tag.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/, '')
}

/**
 * Starts reading every planned image's tags (one manifest GET each, in one
 * native task that pings each registry once): a Map group → Promise of
 * `{ remote }` or `{ error }`.
 */
function readTags (api, plan, registry, signal) {
  const all = api._run(signal, (token) => api._native.readRemoteTags(plan.map((g) => [g.tag, ...(g.extraTags ?? [])]), registry, token))
  return new Map(plan.map((g, i) => [g, all.then(
    (groups) => groups[i].error == null ? { remote: groups[i].tags } : { error: toDynpackError(new Error(groups[i].error)) },
    (error) => ({ error }))]))
}

/**
 * Whether the image `g` is up to date, from its tag read `{ remote, error }`:
 * `{ fresh }`, an image record (as buildImage returns, with `upToDate: true`
 * and `pushed`) when its tags all point at one manifest carrying its source
 * digest, else `{ stale: true }`.
 */
async function decide (g, { remote, error }, report) {
  const started = Date.now()
  if (error) {
    if (error.code === 'E_ABORTED') throw error
    report.detail(`${g.tag}: could not read the remote tag (${error.code}: ${error.message}); building it`)
    return { stale: true }
  }
  const digest = remote[0].manifestDigest
  const same = digest && remote.every((r) => r.sourceDigest === g.sourceDigest && r.manifestDigest === digest)
  if (!same) {
    const why = remote.map((r) => `${r.tag} ${!r.manifestDigest ? 'does not exist' : r.sourceDigest === g.sourceDigest ? 'points at another manifest' : 'holds another source'}`)
    report.detail(`${g.tag}: changed (${why.join('; ')})`)
    return { stale: true }
  }
  const repository = repositoryOf(g.tag)
  const refName = g.tag.includes('@') ? digest : g.tag.slice(repository.length + 1)
  report.note(`${g.tag} is up to date (source ${g.sourceDigest.slice(0, 19)}…): nothing built or uploaded`)
  return {
    fresh: {
      output: g.output,
      archive: false,
      refName,
      tag: g.tag,
      extraTags: g.extraTags ?? [],
      manifestDigest: digest,
      plugins: g.sourcePlugins.map((p) => p.directory),
      upToDate: true,
      fromTemplate: g.fromTemplate,
      sourceDigest: g.sourceDigest,
      checkMs: Date.now() - started + (g.sourceMs ?? 0),
      result: {
        output: g.output,
        refName,
        manifestDigest: digest,
        configDigest: null,
        layerDigest: null,
        diffId: null,
        layerSize: null,
        warnings: [],
        sboms: [],
        plugins: g.sourcePlugins.map((p) => ({
          directory: p.directory,
          name: p.name,
          version: p.version,
          files: p.files,
          unpackedSize: p.bytes,
          reference: `oci://${g.tag}!${p.directory}`,
          digestReference: `oci://${repository}@${digest}!${p.directory}`,
        })),
      },
      push: null,
      warnings: [],
      pushed: { tag: g.tag, repository, digest, reference: `${repository}@${digest}`, upToDate: true, blobs: { uploaded: 0, mounted: 0, existing: 0 }, bytesUploaded: 0 },
    },
  }
}

/**
 * Pushes each pushed image's manifest to its extra tags (its blobs are
 * already there: only HEADs and one manifest PUT each). Resolves to the
 * failures `[{ label, error }]`.
 */
async function pushExtraTags (api, images, registry, { report, signal }) {
  const failures = []
  await Promise.all(images.filter((i) => i.pushed && !i.upToDate && i.extraTags?.length).map(async (img) => {
    img.alsoTagged = []
    for (const tag of img.extraTags) {
      try {
        const r = await api.pushOciImage(img.output, { ...registry, refName: img.result.refName, tag, signal })
        img.alsoTagged.push(r.reference ?? tag)
        report.note(`tagged ${tag} (${r.bytesUploaded ? formatBytes(r.bytesUploaded) + ' uploaded' : 'manifest only'})`)
      } catch (error) {
        failures.push({ label: tag, error })
      }
    }
  }))
  return failures
}

/** podman, else docker, on PATH; null when neither is. */
function containerTool () {
  for (const name of ['podman', 'docker']) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (!dir) continue
      const p = path.join(dir, name)
      try {
        fs.accessSync(p, fs.constants.X_OK)
        if (fs.statSync(p).isFile()) return { name, path: p }
      } catch {}
    }
  }
  return null
}

/**
 * Hands each built image to the local podman or docker: `load -i ARCHIVE`
 * for an oci-archive, else the layout folder as a tar on the tool's stdin
 * (`tar -C LAYOUT -c . | podman load`). Both load OCI archives (docker
 * from Engine 25, which names the image from io.containerd.image.name).
 * podman names an OCI archive's image after its ref name alone, so it is
 * then tagged with the image's tags by its ID (the config digest), ready
 * for `podman push`. Resolves to the failures `[{ label, error }]`.
 */
async function loadImages (images, { report }) {
  const tool = containerTool()
  if (!tool) {
    const e = new Error('--load needs podman or docker on PATH, and neither is installed; install one, or push the image with --push')
    e.code = 'E_NO_CONTAINER_TOOL'
    return images.map((i) => ({ label: i.tag, error: e }))
  }
  const failures = []
  for (const img of images) {
    try {
      const out = await loadOne(tool, img)
      if (tool.name === 'podman') {
        for (const tag of [img.tag, ...(img.extraTags ?? [])]) {
          await runTool(tool, ['tag', img.result.configDigest.replace(/^sha256:/, ''), tag], null, img)
        }
      }
      img.loaded = { tool: tool.name, output: out.trim() }
      report.note(`loaded ${img.tag} into ${tool.name}${out.trim() ? `: ${out.trim().split('\n').pop()}` : ''}`)
    } catch (error) {
      failures.push({ label: img.tag, error })
    }
  }
  return failures
}

function loadOne (tool, img) {
  if (img.archive) return runTool(tool, ['load', '-i', img.output], null, img)
  const tar = spawn('tar', ['-C', img.output, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'ignore'] })
  return runTool(tool, ['load'], tar, img)
}

/** Runs `tool args` (stdin: `feeder`'s stdout); resolves to its stdout, rejects with E_LOAD_FAILED and its last lines. */
function runTool (tool, args, feeder, img) {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, args, { stdio: [feeder ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
    if (feeder) {
      feeder.stdout.pipe(child.stdin)
      feeder.on('error', (e) => { child.kill(); reject(Object.assign(new Error(`tar: ${e.message}`), { code: 'E_LOAD_FAILED' })) })
      child.stdin.on('error', () => {})
    }
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { err += d })
    child.on('error', (e) => {
      const x = new Error(`${tool.path}: ${e.message}`)
      x.code = 'E_LOAD_FAILED'
      reject(x)
    })
    child.on('close', (code) => {
      if (code === 0) return resolve(out)
      const x = new Error(`\`${tool.name} ${args.join(' ')}\` of ${img.output} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`)
      x.code = 'E_LOAD_FAILED'
      reject(x)
    })
  })
}

module.exports = { OPTIONS, epochOf, readTags, ANNOTATION, ciMetadata, revisionOf, compressionLevel, addSourceDigests, startUnchanged, finishUnchanged, pushExtraTags, loadImages, containerTool, repositoryOf }
