'use strict'
// The `plugins:` list of dynamic-plugins.yaml that dynpack prints, written
// with the `yaml` library so that nothing a plugin folder holds (app-config
// text, package names in comments) can add lines to it. The snippet must read
// the same with `yaml` (YAML 1.2, what Backstage reads app-config with) and
// with PyYAML (YAML 1.1, RHDH's plugin installer), so the emitter avoids what
// the two parsers read differently:
// - strings that YAML 1.1 would resolve to a boolean, number or date are
//   quoted (`compat: 'yaml-1.1'`);
// - characters that are line breaks only for YAML 1.1 (U+0085, U+2028,
//   U+2029) or not printable for it are written as escapes inside double
//   quotes, never raw, and removed from comments;
// - aliases are expanded and merge keys (`<<`) resolved, so that neither
//   anchors of two app-configs nor the parsers' merge rules can clash;
// - numbers are written in decimal (`0o14` is a string for YAML 1.1), floats
//   with a dot (`1.0e-7`; `1e-7` is a string for YAML 1.1);
// - tabs and a lone `=` or `<<` are double-quoted, and keys that are empty
//   or collections refused (PyYAML fails on, or reads them differently).

/**
 * The `yaml` package, loaded on first use: loading it takes about 25 ms, which
 * `dynpack package` spends while the image builds off the main thread (`preload`).
 */
let yamlPackage
function YAMLPackage () {
  yamlPackage ??= require('yaml')
  return yamlPackage
}

/** Characters YAML 1.1 or 1.2 would not keep as written in a plain or block scalar, or a comment. */
const UNSAFE = /[\0-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const UNSAFE_RAW = /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
const UNSAFE_COMMENT = new RegExp(UNSAFE.source, 'g')

/** Tags both parsers resolve the same way; any other tag in an app-config is refused. */
const PLAIN_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`))

/** How many nodes one app-config may expand to once its aliases are copied (a "billion laughs" guard). */
const MAX_NODES = 100_000

function fail (file, message) {
  const e = new Error(`${file}: ${message}; fix the app-config file or remove it`)
  e.code = 'E_INVALID_APP_CONFIG'
  return e
}

/** One comment line of text from anywhere: line breaks and unprintable characters become spaces. */
function commentLine (text) {
  return ` ${String(text).replace(/\n/g, ' ').replace(UNSAFE_COMMENT, ' ')}`
}

/** A comment (possibly several lines) kept from an app-config, with nothing a parser could read as a break. */
function safeComment (text) {
  return text == null ? text : String(text).replace(UNSAFE_COMMENT, ' ')
}

/**
 * Parses an app-config file's text into the YAML node that goes under
 * `pluginConfig`, or null when the file holds no content (empty, comments
 * only). Only the first document is used, as before. Throws
 * E_INVALID_APP_CONFIG (naming `file` and the line) for YAML that does not
 * parse, has duplicate, empty or collection keys, uses a tag other than the
 * core ones, or expands beyond MAX_NODES.
 */
function parseAppConfig (text, file) {
  const docs = YAMLPackage().parseAllDocuments(String(text).replace(/^\uFEFF/, ''), { merge: true, prettyErrors: true, uniqueKeys: true })
  const doc = Array.isArray(docs) ? docs[0] : docs // an empty text gives an EmptyStream
  if (!doc || !YAMLPackage().isDocument(doc)) return null
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) throw fail(file, `not valid YAML (${problem.message.split('\n')[0]})`)
  if (doc.contents == null || (YAMLPackage().isScalar(doc.contents) && doc.contents.value == null)) return null

  let nodes = 0
  YAMLPackage().visit(doc, {
    Alias (_, alias) {
      const target = alias.resolve(doc)
      if (!target) throw fail(file, `alias *${alias.source} has no anchor before it`)
      return strip(target.clone())
    },
    Pair (_, pair) {
      // JavaScript and Python read these differently (a "" key, an unhashable dict): meaningless in an app-config
      const key = pair.key
      if (key == null || (YAMLPackage().isScalar(key) && key.value == null)) throw fail(file, 'a mapping key is empty (null)')
      if (YAMLPackage().isCollection(key)) throw fail(file, 'a mapping key is itself a mapping or a list')
    },
    Node (_, node) {
      if (++nodes > MAX_NODES) throw fail(file, `it expands to more than ${MAX_NODES} YAML nodes once its aliases are copied`)
      if (node.tag && !PLAIN_TAGS.has(node.tag)) throw fail(file, `tag ${JSON.stringify(node.tag)} is not one RHDH's installer reads`)
    },
  })
  YAMLPackage().visit(doc, {
    Node (_, node) {
      if (YAMLPackage().isMap(node)) resolveMerges(node, file)
      node.anchor = undefined
    },
  })
  const contents = doc.contents
  contents.commentBefore = [doc.commentBefore, contents.commentBefore].filter((c) => c != null).join('\n') || undefined
  contents.comment = [contents.comment, doc.comment].filter((c) => c != null).join('\n') || undefined
  return contents
}

/** A copied node keeps no comments: they belong to the place it was copied from. */
function strip (node) {
  YAMLPackage().visit(node, { Node (_, n) { n.comment = undefined; n.commentBefore = undefined } })
  node.comment = node.commentBefore = undefined
  return node
}

function isMergeKey (key) {
  return YAMLPackage().isScalar(key) && typeof key.value === 'symbol' && key.source === '<<'
}

/** Replaces `<<: map` / `<<: [maps]` by the keys they merge, as both parsers would (explicit keys win, earlier sources win). */
function resolveMerges (map, file) {
  if (!map.items.some((p) => isMergeKey(p.key))) return
  const items = []
  const merged = []
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) { items.push(pair); continue }
    const sources = YAMLPackage().isSeq(pair.value) ? pair.value.items : [pair.value]
    for (const source of sources) {
      if (!YAMLPackage().isMap(source)) throw fail(file, 'a merge key (<<) must name a mapping or a list of mappings')
      resolveMerges(source, file)
      merged.push(...source.items)
    }
  }
  const has = (key) => items.some((p) => sameKey(p.key, key))
  for (const pair of merged) {
    if (!has(pair.key)) items.push(new (YAMLPackage()).Pair(strip(pair.key.clone()), pair.value == null ? pair.value : strip(pair.value.clone())))
  }
  map.items = items
}

function sameKey (a, b) {
  const v = (k) => (YAMLPackage().isScalar(k) ? k.value : JSON.stringify(k))
  return v(a) === v(b)
}

/** Makes every node of `root` print the same for both parsers (see the top of this file). */
function harden (root) {
  // one visitor for every node: visit calls only the most specific one (Scalar, Map, …) per node
  YAMLPackage().visit(root, {
    Node (_, node) {
      node.comment = safeComment(node.comment)
      node.commentBefore = safeComment(node.commentBefore)
      if (!YAMLPackage().isScalar(node)) return
      // the library writes a block scalar's header comment (`key: > # c`) as a line of its content
      if (node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL') node.comment = undefined
      if (typeof node.value === 'string') {
        // a tab is fine for YAML 1.2 in a plain scalar, an error for PyYAML; plain `=` and `<<`
        // are YAML 1.1's value and merge types, which `compat` does not know
        if (UNSAFE.test(node.value) || /[\r\t]/.test(node.value) || node.value === '=' || node.value === '<<') node.type = 'QUOTE_DOUBLE'
      } else if (typeof node.value === 'number') {
        node.format = undefined
      }
    },
  })
}

/** Writes the characters YAML 1.1 cannot take raw as escapes; they only occur inside double quotes (see harden). */
function escapeRaw (text) {
  return text.replace(UNSAFE_RAW, (c) => {
    if (c === '\u0085') return '\\N'
    if (c === '\u2028') return '\\L'
    if (c === '\u2029') return '\\P'
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

/**
 * The core schema's int and float tags, writing numbers so that YAML 1.1
 * reads them as numbers too: its floats need a `.` (`1e-7` would be a string
 * for PyYAML, `1.0e-7` is a float for both).
 */
function numberTags (tags) {
  return tags.map((tag) => {
    if (tag.tag !== 'tag:yaml.org,2002:int' && tag.tag !== 'tag:yaml.org,2002:float') return tag
    return {
      ...tag,
      stringify (node, ctx, onComment, onChompKeep) {
        const text = tag.stringify(node, ctx, onComment, onChompKeep)
        return /^[-+]?[0-9]+[eE][-+]?[0-9]+$/.test(text) ? text.replace(/^([-+]?[0-9]+)/, '$1.0') : text
      },
    }
  })
}

/** Options of every document dynpack prints. */
const OUTPUT = { version: '1.2', compat: 'yaml-1.1', customTags: numberTags }

/**
 * `key: value` as one line of YAML, for a comment that becomes a valid entry
 * when uncommented (the by-digest `# package: …` under a by-tag one).
 */
function yamlLine (key, value) {
  const doc = new (YAMLPackage()).Document({ [key]: String(value) }, OUTPUT)
  harden(doc.contents)
  const scalar = doc.contents.items[0].value
  if (/\n/.test(scalar.value)) scalar.type = 'QUOTE_DOUBLE'
  return escapeRaw(doc.toString({ lineWidth: 0, minContentWidth: 0 })).trimEnd()
}

/**
 * The `plugins:` list of dynamic-plugins.yaml. Each entry:
 * `{ package, comments?: string[] (shown as `# …` lines under package), integrity?,
 *   pluginConfig?: YAML node from parseAppConfig, or the app-config text,
 *   pluginConfigFile?: the file it came from, for errors }`.
 */
function pluginsYaml (entries) {
  const doc = new (YAMLPackage()).Document({ plugins: [] }, OUTPUT)
  const list = doc.get('plugins', true)
  for (const e of entries) {
    const entry = doc.createNode({ package: String(e.package) })
    const after = []
    if (e.integrity) after.push(doc.createPair('integrity', String(e.integrity)))
    after.push(doc.createPair('disabled', false))
    const comments = (e.comments ?? []).map(commentLine)
    if (comments.length) after[0].key.commentBefore = comments.join('\n')
    entry.items.push(...after)
    const config = typeof e.pluginConfig === 'string'
      ? parseAppConfig(e.pluginConfig, e.pluginConfigFile ?? 'app-config.yaml')
      : e.pluginConfig
    if (config != null) entry.items.push(doc.createPair('pluginConfig', config.clone()))
    list.items.push(entry)
  }
  harden(doc.contents)
  return escapeRaw(doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true }))
}

module.exports = { pluginsYaml, parseAppConfig, yamlLine, preload: YAMLPackage }
