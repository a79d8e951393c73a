// The policy playground's page: one CodeMirror editor over the policy's rule
// files and the picked report set; every edit (debounced) sends the edited
// files, the reports and `now` to /api/check, which answers with `policy
// check`'s diagnostics and the recovery with explain. Nothing leaves this origin.
import { EditorView, basicSetup } from "codemirror";
import { GutterMarker, gutter, hoverTooltip } from "@codemirror/view";
import { EditorState, RangeSet, StateEffect, StateField } from "@codemirror/state";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";

const DEBOUNCE_MS = 60; // a check of the shipped policy takes ~25 ms: a pause this short in typing is worth one
const CHANGES_DEBOUNCE_MS = 400; // the diff recovers every case twice: asked once typing pauses, so it never slows a check
const $ = (id) => document.getElementById(id);

const docs = new Map(); // key ("policy/<name>" or "report/<name>") -> {kind, name, original, state}
let active = null;
let latest = { problems: [], recovery: null };
let asked = 0; // the number of the last request sent
let answered = 0; // ... and of the last answer shown (older answers are dropped)
let timer = null;
let changesAsked = 0;
let changesTimer = null;

// One request of a kind in flight at a time: calls while it runs make one more run after it,
// with what the page holds then (a fast typist does not queue a check per keystroke).
function coalesced(run) {
  let busy = false;
  let again = false;
  return async function go() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await run();
    } finally {
      busy = false;
      if (again) {
        again = false;
        go();
      }
    }
  };
}

const view = new EditorView({ parent: $("editor"), state: EditorState.create({ doc: "" }) });
view.scrollDOM.tabIndex = 0; // a keyboard user can reach the scroll area (axe: scrollable-region-focusable)

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(relative(path), init);
  } catch (error) {
    throw new Error("the playground does not answer (was it stopped?)");
  }
  const answer = await response.json().catch(() => ({ error: `the playground answered ${response.status}` }));
  if (response.status === 401) throw new Error("signed out: reload the page to sign in again");
  if (!response.ok) throw new Error(answer.error || `the playground answered ${response.status}`);
  return answer;
}

// The API's paths are relative to the page, which `playground` serves at /
// and `serve --playground` at /playground/.
function relative(path) {
  return path.replace(/^\//, "");
}

// Completion and hover text: keys and enum values from the rule-file JSON Schemas
// (/api/vocabulary, by the file's `kind`), strategy names and their zh/en
// descriptions from strategies.yaml as it is being edited, and what each of the
// policy's properties, statuses and actions means in zh and en (`names`, from
// the rule files' description/seed as the playground read them).
let vocabulary = {};

// "visitor.info property browser\nthe visitor's browser\n访客的浏览器", one block per entry.
function meaning(name) {
  const entries = vocabulary.names?.[name];
  if (!entries?.length) return "";
  return entries.map((e) => [`${e.what} ${name}`, e.en, e.zh].filter(Boolean).join("\n")).join("\n\n");
}

// Value completions the policy itself names: actions after `on:`, statuses after `status:`/`recoverAs:`.
const NAMED_VALUES = { on: "action", status: "status", recoverAs: "status" };

function namesOf(what) {
  const out = {};
  for (const [name, entries] of Object.entries(vocabulary.names || {})) if (entries.some((e) => e.what === what)) out[name] = meaning(name);
  return out;
}

function kindOf(state) {
  return /^kind:\s*["']?([A-Za-z]+)/m.exec(state.doc.toString())?.[1] || "";
}

function strategies() {
  const doc = [...docs.values()].find((d) => d.kind === "policy" && kindOf(d.state) === "strategies");
  if (!doc) return {};
  const text = doc.state.doc.toString();
  const out = {};
  const blocks = text.split(/^(?=  [a-z][A-Za-z0-9]*:\s*$)/m).slice(1);
  for (const block of blocks) {
    const name = /^  ([a-z][A-Za-z0-9]*):/.exec(block)[1];
    const en = /^\s+en:\s*(.+)$/m.exec(block)?.[1] || "";
    const zh = /^\s+zh:\s*(.+)$/m.exec(block)?.[1] || "";
    out[name] = [en, zh].filter(Boolean).join("\n");
  }
  return out;
}

function complete(context) {
  const kind = vocabulary[kindOf(context.state)];
  const line = context.state.doc.lineAt(context.pos);
  const before = line.text.slice(0, context.pos - line.from);
  const value = /^\s*(?:-\s+)?([A-Za-z]+):\s+["']?([A-Za-z.]*)$/.exec(before);
  if (value) {
    const named = NAMED_VALUES[value[1]] ? namesOf(NAMED_VALUES[value[1]]) : {};
    const table = value[1] === "strategy" ? strategies() : { ...(kind?.values || {}), ...named };
    const options = Object.entries(table).map(([label, info]) => ({ label, type: value[1] === "strategy" ? "function" : "enum", info: meaning(label) || info }));
    return options.length ? { from: context.pos - value[2].length, options, validFor: /^[A-Za-z.]*$/ } : null;
  }
  const key = /^\s*(?:-\s+)?([A-Za-z]*)$/.exec(before);
  if (key && kind && (key[1] || context.explicit)) {
    const here = kind.tree && branchAt(kind.tree, pathAt(context.state, line, before));
    const table = here && Object.keys(here.keys).length ? here.keys : kind.keys; // a path the schema does not know: every key
    const options = Object.entries(table).map(([label, info]) => ({ label, type: "property", info, apply: `${label}: ` }));
    return { from: context.pos - key[1].length, options, validFor: /^[A-Za-z]*$/ };
  }
  return null;
}

// The keys from the document's top to the mapping the cursor's line is in, read
// from the indentation above it (`[]` for a list's item): ["properties", "departmentId"].
function pathAt(state, line, before) {
  const start = /^(\s*)(-\s+)?/.exec(before);
  let column = start[0].length; // where the key being typed starts
  const path = [];
  let inItem = false;
  if (start[2]) {
    path.unshift("[]");
    column = start[1].length;
    inItem = true;
  }
  for (let n = line.number - 1; n >= 1; n--) {
    const text = state.doc.line(n).text;
    if (/^\s*(#.*)?$/.test(text)) continue;
    const found = /^(\s*)(-\s+)?(?:(["']?)([^\s:#"'][^:#"']*)\3:(\s*(?:#.*)?$|\s))?/.exec(text);
    const dash = found[1].length;
    const keyAt = dash + (found[2] ? found[2].length : 0);
    const block = found[4] !== undefined && /^\s*(#.*)?$/.test(found[5]); // "key:" with its value below
    if (found[2] && dash < column && (keyAt >= column || !found[4])) {
      path.unshift("[]"); // a sibling key of this list item, or an item whose mapping starts below
      column = dash;
      inItem = true;
    } else if (found[4] !== undefined && block && (keyAt < column || (inItem && keyAt === column && !found[2]))) {
      path.unshift(found[4]);
      column = keyAt;
      inItem = false;
      if (found[2]) {
        path.unshift("[]");
        column = dash;
        inItem = true;
      }
    }
    if (column === 0 && !inItem) break;
  }
  return path;
}

// The schema's branch at `path`: a name, else `*` (any name) at each step.
function branchAt(tree, path) {
  if (!path.length) return tree;
  for (const step of [path[0], "*"]) {
    const child = tree.children[step];
    const found = child && branchAt(child, path.slice(1));
    if (found) return found;
  }
  return null;
}

const hover = hoverTooltip((view, pos) => {
  const word = view.state.wordAt(pos);
  if (!word) return null;
  const name = view.state.sliceDoc(word.from, word.to);
  const after = view.state.sliceDoc(word.to, word.to + 1);
  const kind = vocabulary[kindOf(view.state)] || { keys: {}, values: {} };
  const known = strategies();
  const text =
    after === ":" && kind.keys[name] ? kind.keys[name] : known[name] ? `strategy ${name}\n${known[name]}` : meaning(name) || kind.values[name];
  if (!text) return null;
  return {
    pos: word.from,
    end: word.to,
    create: () => ({ dom: element("div", { class: "hover-text" }, text) }),
  };
});

// Coverage in the gutter: after "Run suites", each rule or table row no case exercises.
class Uncovered extends GutterMarker {
  constructor(text) {
    super();
    this.text = text;
  }
  toDOM() {
    return element("span", { class: "uncovered", title: this.text }, "○");
  }
}
const setCoverage = StateEffect.define();
const coverageField = StateField.define({
  create: () => RangeSet.empty,
  update(markers, tr) {
    for (const effect of tr.effects) if (effect.is(setCoverage)) return effect.value;
    return markers.map(tr.changes);
  },
});
const coverageGutter = [coverageField, gutter({ class: "cm-coverage-gutter", markers: (v) => v.state.field(coverageField) })];
let uncovered = [];

function showCoverageInEditor() {
  if (!active) return;
  const doc = docs.get(active);
  const lines = view.state.doc;
  const here = doc.kind === "policy" ? uncovered.filter((m) => m.file === doc.name && m.line >= 1 && m.line <= lines.lines) : [];
  const markers = here.sort((a, b) => a.line - b.line).map((m) => new Uncovered(m.text).range(lines.line(m.line).from));
  view.dispatch({ effects: setCoverage.of(RangeSet.of(markers)) });
}

function newState(key, text) {
  return EditorState.create({
    doc: text,
    extensions: [
      basicSetup,
      yaml(),
      lintGutter(),
      coverageGutter,
      EditorState.languageData.of(() => [{ autocomplete: complete }]),
      hover,
      EditorView.contentAttributes.of({ "aria-label": `${key.startsWith("report/") ? "report" : "rule file"} ${key.split("/")[1]}` }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged && docs.has(key)) {
          docs.get(key).state = update.state;
          markEdited();
          schedule();
        }
      }),
    ],
  });
}

function addDoc(kind, name, text) {
  const key = `${kind}/${name}`;
  docs.set(key, { kind, name, original: text, state: newState(key, text) });
  return key;
}

function text(key) {
  return docs.get(key).state.doc.toString();
}

function open(key, line = 0, col = 0) {
  if (!docs.has(key)) return;
  if (active && docs.has(active) && active !== key) docs.get(active).state = view.state;
  if (active !== key) {
    active = key;
    view.setState(docs.get(key).state);
  }
  $("editor-title").textContent = docs.get(key).name;
  for (const button of document.querySelectorAll(".tree button")) button.setAttribute("aria-current", String(button.dataset.key === key));
  showDiagnosticsInEditor();
  showCoverageInEditor();
  if (line > 0) {
    const doc = view.state.doc;
    const at = doc.line(Math.min(line, doc.lines));
    const pos = Math.min(at.from + Math.max(col - 1, 0), at.to);
    view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
  }
  view.focus();
}

function treeItem(key) {
  const { name } = docs.get(key);
  return element("li", {}, element("button", { type: "button", "data-key": key, onclick: () => open(key) }, name));
}

function markEdited() {
  for (const button of document.querySelectorAll(".tree button")) {
    const doc = docs.get(button.dataset.key);
    button.classList.toggle("edited", Boolean(doc) && doc.original !== text(button.dataset.key));
  }
}

function schedule() {
  clearTimeout(timer);
  clearTimeout(changesTimer);
  $("status").textContent = "checking…";
  timer = setTimeout(checkSoon, DEBOUNCE_MS);
}

function editedFiles() {
  const files = {};
  for (const [key, doc] of docs) if (doc.kind === "policy" && text(key) !== doc.original) files[doc.name] = text(key);
  return files;
}

function reports() {
  return [...docs].filter(([, doc]) => doc.kind === "report").map(([key, doc]) => ({ name: doc.name, text: text(key) }));
}

async function check() {
  const number = ++asked;
  const body = { files: editedFiles(), now: $("now").value.trim() };
  const given = reports();
  if (given.length) body.reports = given;
  let answer;
  try {
    answer = await api("/api/check", body);
  } catch (error) {
    answer = { problems: [], recovery: null, requestError: error.message };
  }
  if (number < answered) return;
  answered = number;
  latest = answer;
  showAll();
  document.body.dataset.answered = String(answered);
  clearTimeout(changesTimer);
  changesTimer = setTimeout(changesSoon, CHANGES_DEBOUNCE_MS);
}
const checkSoon = coalesced(check);

// "What my change does": `policy diff` of the policy as started against the edited one,
// over the report sets and the policy's suites. Slower than a check, so asked after it.
async function changes() {
  const files = editedFiles();
  const box = $("changes");
  if (!Object.keys(files).length) {
    box.replaceChildren(element("p", {}, "No edits yet: every case recovers as with the policy the playground started with."));
    return;
  }
  const number = ++changesAsked;
  $("changes-status").textContent = "comparing…";
  let answer;
  try {
    answer = await api("/api/changes", { files });
  } catch (error) {
    answer = { diff: null, message: error.message };
  }
  if (number !== changesAsked) return;
  $("changes-status").textContent = "";
  showChanges(answer);
}
const changesSoon = coalesced(changes);

function showChanges(answer) {
  const box = $("changes");
  box.replaceChildren();
  const result = answer.diff;
  if (!result) {
    box.append(element("p", {}, answer.message));
    return;
  }
  const s = result.summary;
  box.append(
    element(
      "p",
      { class: "headline" },
      s.behaviourChanged
        ? `${s.behaviourChanges} rule change${s.behaviourChanges === 1 ? " changes" : "s change"} behaviour; ${s.casesChanged} of ${s.cases} cases recover differently (${s.valuesChanged} values)`
        : `No behaviour change: ${s.cases} of ${s.cases} cases recover the same`,
    ),
  );
  const rules = result.structural.map((c) =>
    element(
      "li",
      { class: c.kind },
      ruleButton(c.file, c.line, c.col),
      ` ${c.subject}: ${c.message}`,
      c.kind === "behaviour" ? null : element("span", { class: "kind" }, ` (${c.kind === "check" ? "what policy check proves" : "no recovery changes"})`),
    ),
  );
  if (rules.length) box.append(element("h3", {}, "Rule changes"), element("ul", { id: "rule-changes" }, ...rules));
  const sets = new Set([...$("report-set").options].map((o) => o.value).filter(Boolean));
  const cases = result.cases.map((c) =>
    element(
      "li",
      { "data-case": c.name },
      element("button", { type: "button", class: "case", onclick: () => (sets.has(c.name) ? pickReportSet(c.name) : openCase(c.name)) }, c.name),
      element("ul", {}, ...c.changes.map((v) => element("li", { class: "value" }, `${v.path}: ${v.old} → ${v.new}`))),
    ),
  );
  if (cases.length) box.append(element("h3", {}, "Cases that recover differently"), element("ul", { id: "changed-cases" }, ...cases));
  for (const note of result.notes) box.append(element("p", { class: "note" }, note));
}

function ruleButton(file, line, col) {
  const label = line ? `${file}:${line}` : file;
  if (!docs.has(`policy/${file}`)) return element("span", { class: "rule" }, label);
  return element("a", { class: "rule", href: `#${label}`, onclick: (e) => (e.preventDefault(), open(`policy/${file}`, line, col)) }, label);
}

function pickReportSet(name) {
  $("report-set").value = name;
  loadReportSet(name);
}

// A suite case from "what my change does": its reports and `now` loaded as a report set is,
// and recovered under the edited policy.
function openCase(name) {
  $("report-set").value = "";
  loadReportSet(name, "/api/case");
}

function showAll() {
  const problems = latest.problems || [];
  const errors = problems.filter((p) => p.severity === "error");
  const warnings = problems.filter((p) => p.severity !== "error");
  $("counts").textContent = `(${errors.length} error${errors.length === 1 ? "" : "s"}, ${warnings.length} warning${warnings.length === 1 ? "" : "s"})`;
  $("status").textContent = latest.requestError
    ? latest.requestError
    : errors.length
      ? `the policy has ${errors.length} error${errors.length === 1 ? "" : "s"}`
      : "policy check passes";
  const box = $("diagnostics");
  box.replaceChildren();
  for (const [title, list, kind] of [["Errors", errors, "error"], ["Warnings", warnings, "warning"]]) {
    if (!list.length) continue;
    box.append(element("h3", {}, title), element("ul", {}, ...list.map((p) => diagnosticItem(p, kind))));
  }
  if (!problems.length && !latest.requestError) box.append(element("p", {}, "No problems: `policy check` passes."));
  showDiagnosticsInEditor();
  showRecovery();
  if (!$("suite-case").hidden) showSuiteCase();
}

function where(p) {
  return p.line ? `${p.file}:${p.line}:${p.col}` : p.file;
}

function diagnosticItem(p, kind) {
  const label = `${where(p)}: ${p.severity}[${p.code}]: ${p.message}`;
  const item = element("li", { class: kind }, element("button", { type: "button", onclick: () => open(`policy/${p.file}`, p.line, p.col) }, label));
  // A broken invariant's counterexample, as the message sequence that breaks it: "action [status] -> ...".
  const path = p.code === "invariant-fails" ? /fails: (.*?); /.exec(p.message) : null;
  if (path) {
    const steps = path[1].split(" -> ").map((step) => {
      const [, action, status] = /^(.*) \[([^\]]*)\]$/.exec(step) || [null, step, ""];
      return element("li", {}, element("code", {}, action), status ? ` → ${status}` : "");
    });
    item.append(element("ol", { class: "steps", "aria-label": "the messages that break it" }, ...steps));
  }
  return item;
}

function showDiagnosticsInEditor() {
  if (!active) return;
  const doc = docs.get(active);
  const here = doc.kind === "policy" ? (latest.problems || []).filter((p) => p.file === doc.name) : [];
  const lines = view.state.doc;
  const marks = here.map((p) => {
    const at = lines.line(Math.min(Math.max(p.line, 1), lines.lines));
    const from = Math.min(at.from + Math.max(p.col - 1, 0), at.to);
    const word = /^[^\s,:#]+/.exec(lines.sliceString(from, at.to));
    const to = word ? from + word[0].length : at.to;
    return { from, to: Math.max(to, from), severity: p.severity === "error" ? "error" : "warning", message: `${p.message} [${p.code}]` };
  });
  view.dispatch(setDiagnostics(view.state, marks));
}

// The explain tables: the sections `recover --format table` shows.
const SECTIONS = [
  ["Visitor", "$.visitor."],
  ["Chat props", "$.chat.props."],
  ["Chat state", "$.chat.state."],
  ["Messages", "$.chat.messages"],
  ["Other chats", "$.otherChats"],
];

function shown(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function who(source) {
  if (!source) return "-";
  return source.type === "visitor" ? "visitor" : `${source.type} ${source.id ?? ""}`.trim();
}

function ruleLink(rule, strategy) {
  const cell = element("td", { class: "decided" });
  const match = rule ? /([^/:]+\.ya?ml):(\d+):(\d+)$/.exec(rule) : null;
  if (match) cell.append(ruleButton(match[1], Number(match[2]), Number(match[3])), " ");
  else if (rule) cell.append(`${rule} `);
  cell.append(strategy || "");
  return cell;
}

function table(caption, headers, rows) {
  return element(
    "table",
    {},
    element("caption", {}, caption),
    element("thead", {}, element("tr", {}, ...headers.map((h) => element("th", { scope: "col" }, h)))),
    element("tbody", {}, ...rows),
  );
}

function entryRow(path, entry) {
  const reasons = [entry.why, ...(entry.lost || []).map((l) => l.why)].filter(Boolean);
  const source = entry.heldBy ? entry.heldBy.map(who).join(", ") : who(entry.source);
  let kind = "";
  if (entry.recovered === false) kind = "unmatched";
  else if (entry.strategy === "set aside" || entry.strategy === "no rule for this action") kind = "unmatched";
  const value = entry.recovered === false ? "(not recovered)" : shown(entry.value);
  return element(
    "tr",
    { class: kind, "data-path": path },
    element("td", { class: "path" }, path),
    element("td", { class: "value" }, value),
    ruleLink(entry.rule, entry.strategy),
    element("td", {}, source),
    element("td", {}, reasons.join("; ") || "-"),
  );
}

function showRecovery() {
  const tables = $("recovery-tables");
  tables.replaceChildren();
  const recovery = latest.recovery;
  $("recovery-error").textContent = latest.recoveryError || "";
  $("recovery-json").textContent = recovery ? JSON.stringify(recovery, null, 2) : "";
  if (!recovery) {
    if (!latest.recoveryError && !reports().length) tables.append(element("p", {}, "Pick a report set to see its recovery."));
    return;
  }
  const explain = recovery.explain || {};
  const headers = ["Path", "Value", "Decided by", "Source", "Why, and what lost"];
  for (const [title, prefix] of SECTIONS) {
    const rows = Object.entries(explain)
      .filter(([path]) => path.startsWith(prefix))
      .map(([path, entry]) => entryRow(path.slice(prefix.length).replace(/^\./, "") || path, entry));
    if (rows.length) tables.append(table(title, headers, rows));
  }
  const directives = (recovery.directives || []).map((d) =>
    element("tr", {}, element("td", {}, who(d.to)), element("td", { class: "value" }, d.do + (d.seconds ? ` ${d.seconds}s` : "")), ruleLink(d.rule, "client rule"), element("td", {}, d.reason || "-")),
  );
  if (directives.length) tables.append(table("Directives", ["To", "Do", "Decided by", "Why"], directives));
  const conflicts = (recovery.conflicts || []).map((c) =>
    element(
      "tr",
      { class: "conflict" },
      element("td", { class: "path" }, c.path.replace(/^\$\./, "")),
      element("td", { class: "value" }, shown(c.decided.value)),
      ruleLink(c.decided.rule, c.decided.strategy),
      element("td", {}, c.values.map((v) => `${who(v.source)} said ${shown(v.value)}`).join("; ")),
    ),
  );
  if (conflicts.length) tables.append(table("Conflicts", ["Path", "Decided", "Decided by", "Said"], conflicts));
  const setAside = (recovery.setAside || [])
    .filter((s) => s.code !== "untrusted")
    .map((s) =>
      element("tr", { class: "unmatched" }, element("td", {}, s.message?.id ?? "-"), element("td", {}, s.message?.action ?? "-"), element("td", {}, (s.heldBy || []).map(who).join(", ")), element("td", {}, s.reason || "-")),
    );
  if (setAside.length) tables.append(table("Set aside", ["Message", "Action", "Held by", "Why"], setAside));
}

const TABS = { tables: "recovery-tables", json: "recovery-json", case: "suite-case" };

function selectTab(which) {
  for (const [name, panel] of Object.entries(TABS)) {
    $(`tab-${name}`).setAttribute("aria-selected", String(name === which));
    $(panel).hidden = name !== which;
  }
  if (which === "case") showSuiteCase();
}

async function showSuiteCase() {
  const out = $("suite-case-yaml");
  out.textContent = "…";
  const name = $("report-set").value || "a case from the playground";
  try {
    const answer = await api("/api/suite-case", { files: editedFiles(), reports: reports(), now: $("now").value.trim(), name });
    out.textContent = answer.yaml;
  } catch (error) {
    out.textContent = error.message;
  }
}

// Only the last set asked for is shown: arrowing through the picker asks for each set on the way.
let setAsked = 0;
async function loadReportSet(name, path = "/api/report-set") {
  const number = ++setAsked;
  let set = { about: "", reports: [] };
  if (name) {
    try {
      set = await api(`${path}?name=${encodeURIComponent(name)}`);
    } catch (error) {
      set = { about: error.message, reports: [] };
    }
  }
  if (number !== setAsked) return;
  if (set.now) $("now").value = set.now; // a suite case recovers at its own `now`
  for (const [key, doc] of [...docs]) if (doc.kind === "report") docs.delete(key);
  $("report-files").replaceChildren();
  $("report-about").textContent = set.about;
  for (const report of set.reports) $("report-files").append(treeItem(addDoc("report", report.name, report.text)));
  if (active && !docs.has(active)) open(`policy/${[...docs.values()][0].name}`);
  checkSoon();
}

// Reports of one's own: typed or pasted into a new one, or dropped on the file list.
const NEW_REPORT = `{
  "visitorId": "v-1",
  "source": {"type": "visitor"},
  "sentAt": "2026-11-24T09:00:00Z",
  "visitor": {"status": "inSite", "info": {"browser": "Firefox 132"}}
}
`;

function freeReportName(wanted) {
  let name = wanted;
  for (let n = 2; docs.has(`report/${name}`); n++) name = wanted.replace(/(\.[a-z]+)?$/, `-${n}$1`);
  return name;
}

function addReport(name, text) {
  const key = addDoc("report", freeReportName(name), text);
  $("report-files").append(treeItem(key));
  markEdited();
  checkSoon();
  return key;
}

async function dropReports(event) {
  event.preventDefault();
  $("files-nav").classList.remove("dropping");
  const files = [...(event.dataTransfer?.files || [])];
  for (const file of files) {
    if (file.size > 1024 * 1024) {
      $("report-about").textContent = `${file.name} is larger than 1 MiB`;
      continue;
    }
    open(addReport(file.name, await file.text()));
  }
}

async function save() {
  $("status").textContent = "saving…";
  try {
    const answer = await api("/api/save", { files: editedFiles() });
    if (answer.saved.length) for (const name of answer.saved) docs.get(`policy/${name}`).original = text(`policy/${name}`);
    markEdited();
    $("status").textContent = answer.message;
  } catch (error) {
    $("status").textContent = error.message;
  }
}

async function runSuites() {
  $("tests").hidden = false;
  $("tests-status").textContent = "running…";
  const box = $("tests-result");
  let answer;
  try {
    answer = await api("/api/suites", { files: editedFiles() });
  } catch (error) {
    answer = { ran: false, message: error.message };
  }
  $("tests-status").textContent = "";
  box.replaceChildren();
  if (!answer.ran) {
    box.append(element("p", { class: "failed" }, answer.message));
    return;
  }
  const failed = answer.cases - answer.passed;
  box.append(
    element("p", { class: failed ? "failed" : "passed", id: "tests-summary" }, `${answer.passed} passed, ${failed} failed (${answer.cases} cases in ${answer.suites} suites); coverage ${answer.coverage.percent}%`),
  );
  const items = [
    ...answer.problems.map((p) => element("li", { class: "failed" }, `${where(p)}: ${p.message}`)),
    ...answer.failures.map((f) =>
      element(
        "li",
        { class: "failed" },
        `${f.file}:${f.line}:${f.col}: ${f.case}: ${f.path ? f.path + ": " : ""}expected ${f.expected}, got ${f.actual}`,
        f.decidedBy ? element("span", {}, "; decided by ", decidedBy(f.decidedBy)) : null,
      ),
    ),
    ...answer.coverage.missing.map((m) => element("li", { class: "uncovered" }, ruleButton(m.file, m.line, m.col), ` ${m.text.replace(/^\S+: not covered: /, "no case exercises ")}`)),
  ];
  if (items.length) box.append(element("ul", { id: "test-failures" }, ...items));
  uncovered = answer.coverage.missing;
  showCoverageInEditor();
}

function decidedBy(text) {
  const match = /^([^/:\s]+\.ya?ml):(\d+):(\d+)(.*)$/.exec(text);
  if (!match) return text;
  const span = element("span", {}, ruleButton(match[1], Number(match[2]), Number(match[3])), match[4]);
  return span;
}

async function download(path, filename) {
  $("status").textContent = `preparing ${filename}…`;
  try {
    const response = await fetch(relative(path), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ files: editedFiles() }) });
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || `the playground answered ${response.status}`);
    const url = URL.createObjectURL(await response.blob());
    const link = element("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    $("status").textContent = `downloaded ${filename}`;
  } catch (error) {
    $("status").textContent = error.message;
  }
}

async function start() {
  let listing;
  try {
    listing = await api("/api/files");
  } catch (error) {
    $("status").textContent = error.message;
    return;
  }
  $("policy-dir").textContent = listing.directory;
  vocabulary = await api("/api/vocabulary").catch(() => ({}));
  for (const file of listing.files) $("policy-files").append(treeItem(addDoc("policy", file.name, file.text)));
  $("save").hidden = !listing.writable;
  $("save").addEventListener("click", save);
  $("run-suites").addEventListener("click", runSuites);
  $("new-report").addEventListener("click", () => open(addReport("report.json", NEW_REPORT)));
  $("files-nav").addEventListener("dragover", (e) => (e.preventDefault(), $("files-nav").classList.add("dropping")));
  $("files-nav").addEventListener("dragleave", () => $("files-nav").classList.remove("dropping"));
  $("files-nav").addEventListener("drop", dropReports);
  $("download-patch").addEventListener("click", () => download("/api/patch", "policy.patch"));
  $("download-zip").addEventListener("click", () => download("/api/zip", "policy.zip"));
  const sets = await api("/api/report-sets").catch((error) => ({ sets: [], problem: error.message }));
  if (sets.problem) $("report-about").textContent = sets.problem;
  for (const name of sets.sets) $("report-set").append(element("option", { value: name }, name));
  $("report-set").addEventListener("change", (e) => loadReportSet(e.target.value));
  $("now").addEventListener("input", schedule);
  for (const name of Object.keys(TABS)) $(`tab-${name}`).addEventListener("click", () => selectTab(name));
  open(`policy/${listing.files[0].name}`);
  checkSoon();
}

start();
