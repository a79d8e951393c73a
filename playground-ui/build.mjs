// `make ui`: bundle src/ into engine/chat_recovery/playground/static/ (committed,
// so pip install needs no Node) and record the hash of the sources the build
// came from; tests/test_playground.py fails when the sources change without a rebuild.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "..", "engine", "chat_recovery", "playground", "static");

// The same list and order as tests/test_playground.py's sources_hash.
export function sourcesHash() {
  const names = [".npmrc", "build.mjs", "package.json", "package-lock.json", ...readdirSync(join(here, "src")).sort().map((n) => "src/" + n)];
  const hash = createHash("sha256");
  for (const name of names) {
    hash.update(name + "\0");
    hash.update(readFileSync(join(here, name)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110", "firefox115", "safari16"],
  outfile: join(out, "app.js"),
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
copyFileSync(join(here, "src", "app.css"), join(out, "app.css"));
writeFileSync(join(out, "SOURCES.sha256"), sourcesHash() + "\n");
console.log("built " + out);
