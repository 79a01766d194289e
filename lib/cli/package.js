'use strict'
// `dynpack package`: one OCI image (and/or exported plugin folders) for the
// plugin in the current folder or every plugin workspace of a monorepo, with
// the dynamic-plugins.yaml snippet and the `skopeo copy` that pushes it.
// Options follow rhdh-cli `plugin package` / janus `package package-dynamic-plugins`.

const fs = require('node:fs')
const path = require('node:path')
const { parse, keyValues, usageError } = require('./args.js')
const { Reporter, formatBytes, displayPath, shellQuote, json } = require('./report.js')
const { discoverPlugins, describeResolution } = require('../folders.js')
const { pluginsYaml, parseAppConfig, yamlLine, preload: preloadYaml } = require('../yaml.js')
const { isTemplate, expandTemplate } = require('../tag-template.js')
const { REGISTRY_OPTIONS, pushBuilt, registryOptions } = require('./push.js')
const { EXPORT_OPTIONS, exportUsage, cliExport } = require('./export-step.js')
const incremental = require('./incremental.js')

/** Where a plugin report keeps its parsed app-config for the text report (a symbol: JSON leaves it out). */
const CONFIG_NODE = Symbol('pluginConfig node')

const OPTIONS = {
  tag: { type: 'string', short: 't', multiple: true },
  output: { type: 'string', short: 'o' },
  archive: { type: 'string' },
  'export-to': { type: 'string' },
  platform: { type: 'string', allowEmpty: true },
  annotation: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'allow-prefix-dirs': { type: 'boolean' },
  'source-date-epoch': { type: 'string' },
  sbom: { type: 'boolean' },
  push: { type: 'boolean' },
  'sign-key': { type: 'string' },
  catalog: { type: 'string' },
  enable: { type: 'boolean' },
  'catalog-index': { type: 'string' },
  ...REGISTRY_OPTIONS,
  ...EXPORT_OPTIONS,
  ...incremental.OPTIONS,
  // Accepted so that scripts written for the RHDH packagers run unchanged.
  'container-tool': { type: 'string' },
  'use-docker': { type: 'boolean' },
  'preserve-temp-dir': { type: 'boolean' },
}

/** What the packagers' options that dynpack has no use for would have done. */
const IGNORED = {
  'container-tool': 'dynpack writes the image itself, no container tool is used',
  'use-docker': 'dynpack writes the image itself, no container tool is used',
  'preserve-temp-dir': 'dynpack keeps no temporary folder',
}

const usage = `Usage: dynpack package [DIR...] [--tag IMAGE:TAG] [--output DIR | --archive FILE]
                       [--export-to DIR] [--platform OS/ARCH]
                       [--annotation KEY=VALUE]... [--label KEY=VALUE]... [--json]

Packages Backstage dynamic plugins into one OCI image, without podman or docker.
Each DIR (default: the current folder) is
  - a plugin folder with dist-dynamic/ (exported by \`npx @red-hat-developer-hub/cli plugin export\`),
  - a dist-dynamic folder, or
  - a monorepo root: every workspace (root package.json "workspaces", any layout)
    with a plugin backstage.role and a dist-dynamic/ folder goes into the image;
    the others are skipped with a note.
The plugins of every DIR go into the image (or, with a tag template, one image
per plugin). Then prints the command that pushes the image (\`dynpack push\`,
or \`skopeo copy\`) and an example dynamic-plugins.yaml (by tag, and by
digest as a comment), with each plugin's
pluginConfig taken from app-config.janus-idp.yaml, app-config.backstage-community.yaml
or app-config.yaml in its folder.

Options:
  -t, --tag IMAGE:TAG       the image reference, e.g. quay.io/acme/plugins:1.0.0
                            (required unless --export-to is given), or a template
                            with {dir}, {name}, {scope}, {version}, e.g.
                            quay.io/acme/{dir}:{version}: one image per plugin,
                            each in its own layout DIR/<dir> under --output
  -o, --output DIR          write the OCI image layout to DIR (default: dist-oci,
                            next to dist-dynamic/, at the monorepo root, or in the
                            current folder when several DIRs are given)
      --archive FILE        write an OCI archive (a tar of the layout) instead;
                            with a tag template, FILE is a template too
                            (e.g. out/{dir}.tar)
      --export-to DIR       write each plugin folder and index.json to DIR, as the
                            packagers' --export-to does; the snippet then uses
                            ./local-plugins/<dir>. With --tag an image is built too.
      --platform OS/ARCH    the image platform (default: linux/amd64)
      --annotation K=V...   add manifest annotations (repeat the option, or list
                            several K=V after it)
      --label K=V...        add image config labels (likewise)
      --source-date-epoch SECONDS
                            the image timestamps (default: $SOURCE_DATE_EPOCH,
                            else 0), e.g. $(git log -1 --format=%ct)
      --allow-prefix-dirs   accept plugin directories where one is a prefix of
                            another (plugin-x + plugin-x-backend), with a warning:
                            RHDH up to 1.10 installs both for either reference
      --sbom                attach each plugin's CycloneDX 1.6 SBOM to the image
                            as an OCI 1.1 referrer (artifactType
                            application/vnd.cyclonedx+json, subject = the image)
      --push                push the image(s) to the registry after building (all
                            in parallel; a failure does not stop the others) and
                            print dynamic-plugins.yaml pinned by digest; the
                            registry access is checked before anything is built,
                            and after a failed push nothing is printed on stdout
      --sign-key FILE       with --push: sign each pushed image with this cosign
                            key (passphrase: COSIGN_PASSWORD), as \`dynpack sign\`
      --tag IMAGE:TAG ...   with --push, repeat --tag to push the same manifest
                            under more tags (the first names the image)
      --revision REV        the commit in the org.opencontainers.image.revision
                            and vcs-ref labels (default: git HEAD of the
                            first DIR's repository, if any); with an epoch, the
                            org.opencontainers.image.created and build-date
                            labels are set from it too
      --expires-after 2w    set the quay.expires-after label (h, d or w)
      --compression-level N the layer's deflate level, 1-9 (default 3)
      --load                hand each built image to the local podman (or
                            docker, Engine 25 or later) with \`load\`
      --catalog DIR         write the RHDH Extensions catalog entities of the
                            plugins (pinned by digest) into DIR, merged with what
                            is there, and DIR/dynamic-plugins.default.yaml
                            (docs/extensions-catalog.md)
      --enable              with --catalog: list the plugins enabled there
      --catalog-index REF   with --push: build the catalog index image (of DIR,
                            or of these plugins alone) and push it to REF after
                            the plugin images; signed too with --sign-key
      --authfile FILE       with --push: the auth.json read first
      --creds U:P           with --push: credentials instead of any auth file
      --cert-dir DIR        with --push: CA and client certificates for the registry
      --tls-verify=false    with --push: accept any certificate, fall back to HTTP
${exportUsage(28)}
      --json                print a JSON report instead of text
  -q, --quiet               print only the dynamic-plugins.yaml snippet, no notes
      --verbose             print progress and details on stderr
  -h, --help                show this help

Each image's manifest carries io.dynpack.source.digest, the digest of its
files (paths, modes, sizes, contents) and of the options that shape its bytes.
With --push, an image whose tags all hold that source already is neither built
nor uploaded ("up to date"), and is printed pinned by digest as if pushed.

Accepted and ignored, with a note, so that scripts written for
\`rhdh-cli plugin package\` run unchanged: --container-tool, --use-docker,
--preserve-temp-dir. dynpack runs the plugin export only when asked
(--export, --force-export).

Exit status: 0 on success, 1 when packaging failed, 2 on a usage error.`

async function run (argv, io) {
  const { values, positionals } = parse('package', argv, OPTIONS, { variadic: ['annotation', 'label'] })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  const extraTags = splitTags(values)
  checkUsage(values)
  for (const [flag, why] of Object.entries(IGNORED)) {
    if (values[flag] !== undefined) report.note(`ignoring --${flag}: ${why}`)
  }
  const sourceDateEpoch = values['source-date-epoch'] !== undefined ? parseEpoch(values['source-date-epoch']) : undefined
  const compressionLevel = incremental.compressionLevel(values)
  const epoch = incremental.epochOf({ sourceDateEpoch }, require('../api.js'))
  const userAnnotations = keyValues(values.annotation, 'annotation', 'package')
  const userLabels = keyValues(values.label, 'label', 'package')
  const ciLabels = incremental.ciMetadata(values, undefined, epoch).labels
  const exportTo = values['export-to'] !== undefined ? path.resolve(cwd, values['export-to']) : null
  const dirs = positionals.length > 0 ? positionals : ['.']
  // The commit of the first DIR's repository, read while the rest runs (only images carry it).
  const revision = values.tag === undefined ? Promise.resolve(undefined) : incremental.revisionOf(values, path.resolve(cwd, dirs[0]))

  await cliExport(values, dirs, { cwd, report, signal: io.signal, env: io.env, command: 'package' })
  const found = discoverAll(dirs, cwd, report, values)
  const api = require('../api.js')
  const plan = values.tag === undefined ? [] : planImages(found, values, cwd)
  for (const g of plan) g.extraTags = extraTags.map((t) => isTemplate(t) ? expandTemplate(t, g.plugins[0]) : t)
  // The files are hashed and the remote tags read off the main thread while the app-configs
  // are parsed below; the revision labels do not enter the source digest, so they may come later.
  const digestValues = { ...values, annotations: userAnnotations, labels: { ...ciLabels, ...userLabels }, sourceDateEpoch, compressionLevel }
  const checking = plan.length === 0 ? null : incremental.startUnchanged(api, plan, digestValues, { cwd, signal: io.signal })

  // Each printed app-config is parsed (and refused when it is not plain YAML) before anything is built.
  const configs = new Map(found.plugins.map((p) => [p, p.appConfig ? parseAppConfig(p.appConfig.yaml, p.appConfig.file) : null]))

  const catalog = values.catalog === undefined && values['catalog-index'] === undefined && !values.enable
    ? null
    : require('./catalog-options.js').cliCatalog(values, { cwd, command: 'package', plugins: found.plugins.map((p) => ({ dir: p.distDynamic, source: p.source })) })
  // A key that does not open fails now, before anything is built or pushed.
  const signingPassphrase = values['sign-key'] === undefined ? undefined : await require('./sign.js').unlockKey(path.resolve(cwd, values['sign-key']), io)
  const ci = incremental.ciMetadata(values, await revision, epoch)
  const annotations = { ...ci.annotations, ...userAnnotations }
  const labels = { ...ci.labels, ...userLabels }
  const buildValues = { ...values, annotations, labels, sourceDateEpoch, compressionLevel }
  // Images whose remote tags already hold their source are left out (read-only: nothing built yet).
  // A registry that does not answer or refuses the credentials fails now, before anything is built: one error per registry.
  const access = values.push ? accessChecker(api, values, { cwd, report, signal: io.signal }) : undefined
  const { toBuild, fresh, failures } = plan.length === 0
    ? { toBuild: [], fresh: [], failures: [] }
    : await incremental.finishUnchanged(api, plan, checking, annotations, { report, checkAccess: access })
  // Every image built: [{ output, archive, refName, tag, manifestDigest, plugins, result, push, warnings }].
  const images = failures.length > 0 || plan.length === 0
    ? []
    : inPlanOrder(plan, [...await buildImages(api, toBuild, buildValues, { cwd, report, signal: io.signal }), ...fresh])
  const warnings = runWarnings(images)
  for (const w of warnings) report.warn(w)
  const image = images.length === 1 && !images[0].fromTemplate ? images[0] : null
  // export-to.js (and the zlib it loads) only when asked for
  const exported = exportTo === null || failures.length > 0
    ? null
    : await require('./export-to.js').exportPlugins(api, found.plugins, exportTo, {
      signal: io.signal,
      onPlugin: (p, x) => report.progress(`exported ${p.directory}: ${x.files} files, ${formatBytes(x.unpackedSize)}`),
    })
  const built = images.filter((i) => !i.upToDate)
  if (values.push && images.length > 0) {
    if (built.length > 0) {
      const pushFailures = await pushBuilt(built, values, { cwd, report, signal: io.signal })
      failures.push(...pushFailures.map((f) => ({ stage: 'push', what: f.label, error: f.error })))
      const tagFailures = await incremental.pushExtraTags(api, built, registryOptions(values, cwd, 'package'), { report, signal: io.signal })
      failures.push(...tagFailures.map((f) => ({ stage: 'push', what: f.label, error: f.error })))
    }
    // Up-to-date images too: a signature already there is kept (upToDate), a missing one is added.
    if (values['sign-key'] !== undefined) {
      const signFailures = await require('./sign.js').signPushed(images, values, { cwd, report, signal: io.signal, passphrase: signingPassphrase })
      failures.push(...signFailures.map((f) => ({ stage: 'sign', what: f.label, error: f.error })))
    }
  }
  if (values.load && built.length > 0) {
    const loadFailures = await incremental.loadImages(built, { report })
    failures.push(...loadFailures.map((f) => ({ stage: 'load', what: f.label, error: f.error })))
  }
  const plugins = pluginReports(found.plugins, images, exported, configs)
  for (const img of images) img.dynpackPush = dynpackPushCommand(cwd, img)
  let catalogReport = null
  if (catalog && failures.length === 0) {
    try {
      catalogReport = await catalog.finish(plugins.map((p) => ({ dir: p.distDynamic, source: p.source, dynamicArtifact: p.digestPackage ?? p.localPackage })),
        { report, json: values.json, signal: io.signal, passphrase: signingPassphrase, registry: values.push ? registryOptions(values, cwd, 'package') : {} })
    } catch (error) {
      failures.push({ stage: 'catalog', what: `catalog ${values['catalog-index'] ?? values.catalog}`, error })
    }
  } else if (catalog) report.warn('the catalog was not written (nor its index pushed): an image was not pushed, see below')

  if (values.json) {
    io.stdout.write(json({
      mode: found.mode,
      root: found.root,
      folders: found.folders,
      image: image && {
        output: image.output,
        archive: image.archive,
        tag: values.tag,
        refName: image.result.refName,
        manifestDigest: image.result.manifestDigest,
        configDigest: image.result.configDigest,
        layerDigest: image.result.layerDigest,
        diffId: image.result.diffId,
        layerSize: image.result.layerSize,
        push: image.push,
        pushed: image.pushed ?? null,
        signed: image.signed ?? null,
      },
      images: images.map((i) => ({
        output: i.output,
        archive: i.archive,
        tag: i.tag,
        refName: i.refName,
        manifestDigest: i.manifestDigest,
        configDigest: i.result.configDigest,
        layerDigest: i.result.layerDigest,
        layerSize: i.result.layerSize,
        plugins: i.plugins,
        push: i.push,
        pushed: i.pushed ?? null,
        signed: i.signed ?? null,
        upToDate: !!i.upToDate,
        sourceDigest: i.sourceDigest ?? null,
        extraTags: i.extraTags ?? [],
        loaded: i.loaded ?? null,
      })),
      exportTo,
      plugins,
      catalog: catalogReport,
      skipped: found.skipped,
      warnings,
      failures: failures.map((f) => ({ stage: f.stage, what: f.what, code: f.error.code ?? 'E_INTERNAL', message: String(f.error.message) })),
    }))
  } else if (failures.length === 0) {
    // After a failure stdout stays empty: `> snippet.yaml` must not keep entries for images that are not in the registry.
    report.out(textReport({ cwd, tag: values.tag, quiet: values.quiet, images, exported, exportTo, plugins }))
  }
  if (catalogReport && !values.quiet) catalogReport.print()
  for (const f of failures) io.stderr.write(`dynpack: ${f.error.code ?? 'E_INTERNAL'}: ${f.stage === 'access' ? '' : `${f.what}: `}${String(f.error.message).replace(/\s*\n\s*/g, ' ')}\n`)
  if (failures.length > 0 && failures.every((f) => f.stage === 'access')) {
    report.note('nothing was built; fix the registry access and run again')
  } else if (failures.length > 0 && !values.json) {
    const unpushed = images.filter((i) => !i.pushed)
    if (unpushed.length > 0) report.note(`not pushed: ${unpushed.map((i) => displayPath(cwd, i.output)).join(', ')}; once fixed, push with \`${unpushed[0].dynpackPush.map(shellQuote).join(' ')}\`${unpushed.length > 1 ? ' (and likewise for the others)' : ''} or run again`)
  }
  return failures.length > 0 ? 1 : 0
}

/**
 * The plugins of every DIR (deduplicated): `{ mode, root, folders, plugins, skipped }`.
 * One DIR gives its own mode and root; several give mode 'folders' and root null,
 * each in `folders`. Two different folders holding the same plugin directory are
 * refused: they could not share an image or a tag.
 */
function discoverAll (dirs, cwd, report, values = {}) {
  const several = dirs.length > 1
  const byDistDynamic = new Map()
  const folders = []
  const skipped = []
  for (const d of dirs) {
    const found = discoverPlugins(path.resolve(cwd, d), { allowStale: Boolean(values['allow-stale']), warn: (t) => report.warn(t) })
    folders.push({ mode: found.mode, root: found.root })
    for (const s of found.skipped) {
      const where = several ? displayPath(cwd, path.join(found.root, s.path)) : s.path
      report.note(`skipping ${where}: ${s.reason}`)
      skipped.push(several ? { ...s, path: where } : s)
    }
    if (found.mode === 'plugin') {
      report.note(describeResolution({ mode: 'plugin', root: found.root, folders: [{ dir: found.plugins[0].distDynamic }] }, cwd))
    }
    if (found.plugins.length === 0) {
      const e = new Error(`${found.root}: none of the ${found.skipped.length} workspaces is an exported Backstage plugin (a plugin backstage.role and a dist-dynamic/ folder); export the plugins first`)
      e.code = 'E_NO_PLUGINS'
      throw e
    }
    for (const p of found.plugins) if (!byDistDynamic.has(p.distDynamic)) byDistDynamic.set(p.distDynamic, p)
  }
  const plugins = [...byDistDynamic.values()]
  const byDirectory = new Map()
  for (const p of plugins) {
    const other = byDirectory.get(p.directory)
    if (other) {
      const e = new Error(`${displayPath(cwd, other.distDynamic)} and ${displayPath(cwd, p.distDynamic)} are both the plugin ${p.directory} (${other.name === p.name ? p.name : `${other.name}, ${p.name}`}): one image, one tag or one export cannot hold both; pass only one of them`)
      e.code = 'E_PLUGIN_CONFLICT'
      throw e
    }
    byDirectory.set(p.directory, p)
  }
  if (!several) return { mode: folders[0].mode, root: folders[0].root, folders, plugins, skipped }
  return { mode: 'folders', root: null, folders, plugins, skipped }
}

/**
 * `(tags) => failures`: checkPushAccess's `{ registry, repository }` failures as run failures;
 * also says what it checks, each registry once.
 */
function accessChecker (api, values, { cwd, report, signal }) {
  const options = registryOptions(values, cwd, 'package')
  const said = new Set()
  return async (tags) => {
    const hosts = [...new Set(tags.map((t) => t.split('/')[0]))].filter((h) => !said.has(h))
    for (const h of hosts) said.add(h)
    if (hosts.length > 0) report.progress(`checking push access to ${hosts.join(', ')}`)
    const found = await api._run(signal, (token) => api._native.checkPushAccess([...new Set(tags)], options, token))
    return found.map((f) => {
      const error = new Error(f.message)
      error.code = f.code
      return { stage: 'access', what: f.repository, error }
    })
  }
}

function checkUsage (values) {
  if (values.output !== undefined && values.archive !== undefined) {
    throw usageError('--output and --archive exclude each other', 'package')
  }
  if (values.tag === undefined) {
    if (values.output !== undefined || values.archive !== undefined) {
      throw usageError(`--${values.output !== undefined ? 'output' : 'archive'} needs --tag IMAGE:TAG`, 'package')
    }
    if (values.push) throw usageError('--push needs --tag IMAGE:TAG', 'package')
  }
  if (values.revision !== undefined && !/^[0-9A-Za-z._/-]{1,128}$/.test(values.revision)) {
    throw usageError(`--revision ${JSON.stringify(values.revision)}: expected a commit id or a ref name`, 'package')
  }
  if (values.load && values.tag === undefined) throw usageError('--load needs --tag IMAGE:TAG', 'package')
  if (values['sign-key'] !== undefined && !values.push) {
    throw usageError('--sign-key signs the pushed images: it needs --push', 'package')
  }
  if (values.tag === undefined) {
    if (values['export-to'] === undefined) {
      throw usageError('pass --tag IMAGE:TAG to build an image, or --export-to DIR to write the plugin folders', 'package')
    }
  }
}

/**
 * The images to build: `[{ tag, output, plugins }]`. A plain --tag gives one
 * image of every plugin; a tag template gives one image per distinct expanded
 * tag (one per plugin with {dir} or {name}), each in its own layout
 * `<output>/<dir>` (or archive from the --archive template), so that each can
 * be pushed alone: a layout holding several images would need --ref, and
 * plugins of one version would share its ref name.
 */
function planImages (found, values, cwd) {
  const archive = values.archive !== undefined
  const besideDistDynamic = found.mode === 'folders'
    ? cwd
    : found.mode === 'dist-dynamic' && found.plugins[0].source ? found.plugins[0].source : found.root
  const outputRoot = path.resolve(cwd, values.output ?? path.join(besideDistDynamic, 'dist-oci'))
  if (!isTemplate(values.tag)) {
    const output = archive ? path.resolve(cwd, values.archive) : outputRoot
    return [{ tag: values.tag, output, plugins: found.plugins, fromTemplate: false }]
  }
  if (archive && !isTemplate(values.archive)) {
    throw usageError('with a tag template, --archive must be a template too, e.g. --archive out/{dir}.tar', 'package')
  }
  const perPlugin = /\{(dir|name)\}/.test(values.tag)
  const groups = new Map()
  for (const p of found.plugins) {
    const tag = expandTemplate(values.tag, p)
    const group = groups.get(tag)
    if (group && perPlugin) {
      const other = group.plugins[0]
      throw usageError(`${other.name} (${displayPath(cwd, other.distDynamic)}) and ${p.name} (${displayPath(cwd, p.distDynamic)}) would both be ${tag}: ` +
        `${values.tag} gives one image per plugin, and these two expand alike; put {dir} (or {scope}) in --tag`, 'package')
    }
    if (!group) {
      const output = archive ? path.resolve(cwd, expandTemplate(values.archive, p)) : path.join(outputRoot, p.directory)
      groups.set(tag, { tag, output, plugins: [], fromTemplate: true })
    }
    groups.get(tag).plugins.push(p)
  }
  const outputs = new Map()
  for (const g of groups.values()) {
    if (outputs.has(g.output)) {
      throw usageError(`the images ${outputs.get(g.output)} and ${g.tag} would both be written to ${displayPath(cwd, g.output)}; put {dir} in --archive`, 'package')
    }
    outputs.set(g.output, g.tag)
  }
  return [...groups.values()]
}

/** Builds the planned images. One failed build does not stop the others; all failures are reported. */
async function buildImages (api, plan, values, ctx) {
  const archive = values.archive !== undefined
  if (plan.length === 1 && !plan[0].fromTemplate) {
    return [await buildImage(api, plan[0].plugins, { ...values, ...groupValues(plan[0]), output: plan[0].output, archive }, ctx)]
  }
  const settled = []
  const queue = [...plan]
  const worker = async () => {
    for (let g = queue.shift(); g; g = queue.shift()) {
      try {
        settled.push({ ok: await buildImage(api, g.plugins, { ...values, ...groupValues(g), tag: g.tag, output: g.output, archive }, ctx) })
      } catch (error) {
        settled.push({ error, tag: g.tag })
      }
    }
  }
  // Two at a time: each build already uses every core; this overlaps the I/O.
  await Promise.all([worker(), worker()])
  const failures = settled.filter((s) => s.error)
  if (failures.length > 0) {
    if (failures.length === 1 && plan.length === 1) throw failures[0].error
    const e = new Error(`${failures.length} of ${plan.length} images failed: ` +
      failures.map((f) => `${f.tag}: ${f.error.code ?? 'E_INTERNAL'}: ${f.error.message}`).join('; '))
    e.code = failures[0].error.code ?? 'E_INTERNAL'
    throw e
  }
  const order = plan.map((g) => g.tag)
  return settled.map((s) => ({ ...s.ok, fromTemplate: true })).sort((a, b) => order.indexOf(a.tag) - order.indexOf(b.tag))
}

/**
 * The warnings of every image, each said once: the registry-port warning is the
 * same for every tag of a registry, and the plugins not named *-dynamic are
 * listed in one warning.
 */
function runWarnings (images) {
  const seen = new Set()
  const undynamic = []
  for (const img of images) {
    const host = img.tag.split('/')[0]
    for (const w of img.warnings) {
      const m = /^(.*): the package (.*) is not named \*-dynamic; /.exec(w)
      if (m) {
        if (!undynamic.some((u) => u.root === m[1])) undynamic.push({ root: m[1], name: m[2], text: w })
        continue
      }
      seen.add(w.startsWith(`${img.tag}: the registry has a port`) ? host + w.slice(img.tag.length) : w)
    }
  }
  const out = [...seen]
  if (undynamic.length === 1) out.push(undynamic[0].text)
  if (undynamic.length > 1) {
    out.push(`${undynamic.length} packages are not named *-dynamic (${undynamic.map((u) => `${u.name} in ${u.root}`).join(', ')}); are these the exported dist-dynamic folders? (export them first, e.g. \`npx @red-hat-developer-hub/cli plugin export\`)`)
  }
  return out
}

/** `npx dynpack push SOURCE` (as the README runs dynpack) for a built image, with --ref when its layout holds other images too. */
function dynpackPushCommand (cwd, image) {
  const argv = ['npx', 'dynpack', 'push', displayPath(cwd, image.output)]
  if (!image.archive) {
    try {
      const index = JSON.parse(fs.readFileSync(path.join(image.output, 'index.json'), 'utf8'))
      const named = (index.manifests ?? []).filter((m) => m.annotations?.['org.opencontainers.image.ref.name'])
      if (named.length > 1) argv.push('--ref', image.refName)
    } catch {
      argv.push('--ref', image.refName)
    }
  }
  return argv
}

/** Builds one image of `plugins`; resolves `{ output, archive, refName, tag, manifestDigest, plugins, result, push, warnings }`. */
async function buildImage (api, plugins, values, { cwd, report, signal }) {
  const { output, archive } = values
  mkdirParent(output)
  const count = plugins.length
  report.progress(`packaging ${count} plugin${count === 1 ? '' : 's'} into ${displayPath(cwd, output)}`)
  const options = { output, archive, tag: values.tag, annotations: values.annotations, labels: values.labels, allowPrefixDirectories: !!values['allow-prefix-dirs'], signal }
  if (values.platform) options.platform = values.platform // "" (the packagers' "no --platform") gives the default
  if (values.sourceDateEpoch !== undefined) options.sourceDateEpoch = values.sourceDateEpoch
  if (values.sbom) options.sbom = true
  if (values.compressionLevel !== undefined) options.compressionLevel = values.compressionLevel
  // With --push, the layer goes to the registry while it is compressed; the push then finds it there.
  if (values.push) options.uploadLayer = registryOptions(values, cwd, 'package')
  const started = Date.now()
  const live = report.liveProgress()
  options.onProgress = live.callback(`${count} plugin${count === 1 ? '' : 's'} -> ${displayPath(cwd, output)}`)
  const building = api.buildOciLayout(plugins.map((p) => p.distDynamic), options)
  preloadYaml() // for the snippet, while the image builds off the main thread
  const result = await building.finally(() => live.end())
  for (const p of result.plugins) {
    const stats = p.files != null ? `${p.files} files, ${formatBytes(p.unpackedSize ?? 0)}` : `${p.name}@${p.version}`
    report.progress(`added ${p.directory}: ${stats}`)
  }
  const warnings = result.warnings.map(String)
  report.detail(`built ${result.output} in ${Date.now() - started} ms: manifest ${result.manifestDigest}, layer ${result.layerDigest} (${formatBytes(result.layerSize)})`)
  for (const s of result.sboms) report.detail(`attached the SBOM of ${s.directory}: referrer ${s.manifestDigest}, SBOM ${s.sbomDigest} (${formatBytes(s.sbomSize)})`)
  const upload = result.layerUpload
  if (upload) report.detail(upload.uploaded ? `uploaded the layer while building (${formatBytes(upload.bytes)})` : `the push sends the layer: ${upload.note}`)
  const source = `${archive ? 'oci-archive' : 'oci'}:${displayPath(cwd, result.output)}:${result.refName}`
  return {
    output: result.output,
    archive,
    refName: result.refName,
    tag: values.tag,
    manifestDigest: result.manifestDigest,
    plugins: result.plugins.map((p) => p.directory),
    result,
    push: ['skopeo', 'copy', '--preserve-digests', source, `docker://${values.tag}`],
    warnings,
    extraTags: values.extraTags ?? [],
    sourceDigest: values.sourceDigest,
  }
}

/** One JSON-ready object per plugin, every key present. */
function pluginReports (found, images, exported, configs) {
  const built = new Map(images.flatMap((i) => i.result.plugins.map((p) => [p.directory, { ...p, tag: i.tag }])))
  const sboms = new Map(images.flatMap((i) => i.result.sboms ?? []).map((s) => [s.directory, s]))
  return found.map((p) => {
    const b = built.get(p.directory)
    if (images.length > 0 && !b) throw internal(`buildOciLayout returned no reference for ${p.directory}`)
    return {
      directory: p.directory,
      name: p.name,
      version: p.version,
      source: p.source,
      distDynamic: p.distDynamic,
      image: b ? b.tag : null,
      package: b ? b.reference : null,
      digestPackage: b ? b.digestReference : null,
      localPackage: exported ? `./local-plugins/${p.directory}` : null,
      sbom: sboms.has(p.directory) ? { referrer: sboms.get(p.directory).manifestDigest, digest: sboms.get(p.directory).sbomDigest } : null,
      pluginConfig: p.appConfig ? { file: p.appConfig.file, yaml: p.appConfig.yaml, config: configs.get(p)?.toJSON() ?? null } : null,
      [CONFIG_NODE]: configs.get(p),
    }
  })
}

/** What a person reads: what was written, how to push it, the snippet(s). `--quiet`: the snippet(s) only. */
function textReport ({ cwd, tag, quiet, images, exported, exportTo, plugins }) {
  const image = images.length === 1 && !images[0].fromTemplate ? images[0] : null
  // A pushed image's digest is known to exist remotely, so its plugins are pinned by digest.
  const pushedTags = new Set(images.filter((i) => i.pushed).map((i) => i.tag))
  const imageYaml = images.length > 0 && pluginsYaml(plugins.map((p) => {
    const pinned = pushedTags.has(p.image)
    return {
      package: pinned ? p.digestPackage : p.package,
      comments: [yamlLine('package', pinned ? p.package : p.digestPackage)],
      pluginConfig: p[CONFIG_NODE],
    }
  }))
  const localYaml = exported && pluginsYaml(plugins.map((p) => ({ package: p.localPackage, pluginConfig: p[CONFIG_NODE] })))
  if (quiet) return [imageYaml, localYaml].filter(Boolean).join('---\n')

  const n = plugins.length
  const width = Math.max(...plugins.map((p) => p.directory.length))
  const lines = []
  if (image?.upToDate) {
    lines.push(`${tag} is up to date: its source digest ${image.sourceDigest} is the one in the registry, so nothing was built or uploaded (${n} plugin${n === 1 ? '' : 's'}, manifest ${image.manifestDigest}):`,
      ...plugins.map((p) => `  ${p.directory.padEnd(width)}  ${p.name}@${p.version}`), '')
  } else if (image) {
    lines.push(`Built ${image.archive ? 'OCI archive' : 'OCI image layout'} ${displayPath(cwd, image.output)} for ${tag} ` +
      `(${n} plugin${n === 1 ? '' : 's'}, layer ${formatBytes(image.result.layerSize)}, manifest ${image.result.manifestDigest}):`,
    ...plugins.map((p) => `  ${p.directory.padEnd(width)}  ${p.name}@${p.version}`), '')
  } else if (images.length > 0) {
    const k = images.filter((i) => !i.upToDate).length
    const same = images.length - k
    const rows = images.map((i) => [i.plugins.join(' '), i.tag, i.upToDate ? '(up to date, not rebuilt)' : displayPath(cwd, i.output)])
    const w = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length)))
    lines.push(`Built ${k} OCI ${images.find((i) => !i.upToDate)?.archive ? 'archive' : 'image layout'}${k === 1 ? '' : 's'} from ${tag} (${n} plugin${n === 1 ? '' : 's'}${same ? `; ${same} image${same === 1 ? '' : 's'} up to date` : ''}):`,
      ...rows.map((r) => `  ${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`), '')
  }
  if (images.length > 0) {
    const pushed = images.filter((i) => i.pushed)
    const unpushed = images.filter((i) => !i.pushed)
    if (pushed.length > 0) lines.push(...pushed.map((i) => `${i.upToDate ? 'Up to date' : 'Pushed'} ${i.pushed.reference}${i.extraTags?.length ? ` (also ${i.extraTags.join(', ')})` : ''}.`), '')
    if (unpushed.length > 0) {
      lines.push(`Push ${unpushed.length === 1 ? 'it' : 'them'} with:`, ...unpushed.map((i) => '  ' + i.dynpackPush.map(shellQuote).join(' ')),
        'or with skopeo:', ...unpushed.map((i) => '  ' + i.push.map(shellQuote).join(' ')), '')
    }
    lines.push(unpushed.length === 0
      ? 'Here is an example dynamic-plugins.yaml for these plugins, pinned by digest (the tag form is commented):'
      : 'Here is an example dynamic-plugins.yaml for these plugins (swap the commented line in to pin the digest):',
    imageYaml)
  }
  if (exported) {
    lines.push(`Wrote ${n} plugin folder${n === 1 ? '' : 's'} and index.json to ${displayPath(cwd, exportTo)}:`,
      ...exported.map((x) => `  ${x.directory.padEnd(width)}  ${x.files} files, ${formatBytes(x.unpackedSize)}`), '',
      'Here is an example dynamic-plugins.yaml for these plugins:',
      localYaml)
  }
  return lines.join('\n')
}

/**
 * `--tag` may be repeated: the first names the image (and its layout), the
 * others are pushed the same manifest after it. Leaves the first in
 * `values.tag`; returns the others.
 */
function splitTags (values) {
  const tags = values.tag ?? []
  values.tag = tags[0]
  if (tags.length > 1 && !values.push) throw usageError('several --tag values are pushed as one image: they need --push', 'package')
  return tags.slice(1)
}

/** The per-image values buildImage takes from a planned group (its annotations carry its source digest). */
function groupValues (g) {
  return { annotations: g.annotations, extraTags: g.extraTags, sourceDigest: g.sourceDigest }
}

function inPlanOrder (plan, images) {
  const order = plan.map((g) => g.tag)
  return images.sort((a, b) => order.indexOf(a.tag) - order.indexOf(b.tag))
}

/** `--source-date-epoch SECONDS`: decimal seconds since 1970, as SOURCE_DATE_EPOCH. */
function parseEpoch (value) {
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw usageError(`--source-date-epoch ${JSON.stringify(value)}: expected whole seconds since 1970, e.g. $(git log -1 --format=%ct)`, 'package')
  }
  return Number(value)
}

/** Creates the folder that will hold `output`, so that `--output out/oci` works in a fresh checkout. */
function mkdirParent (output) {
  try {
    fs.mkdirSync(path.dirname(output), { recursive: true })
  } catch (err) {
    const e = new Error(`${path.dirname(output)}: cannot create the output's folder (${err.message}); pass a writable location`)
    e.code = 'E_DESTINATION'
    throw e
  }
}

function internal (message) {
  const e = new Error(message)
  e.code = 'E_INTERNAL'
  return e
}

module.exports = { name: 'package', summary: 'package plugins into an OCI image (no podman/docker) and print dynamic-plugins.yaml', usage, run }
