/**
 * The operator's module graph has no import loops: every folder exports a small index and
 * depends on lower layers only (config -> markets -> orders, matching -> journal -> ledger,
 * ...). Type-only imports count too: a loop of types is still a loop a reader has to untangle.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.join(__dirname, "../../../operator");
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']/g;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sources(ROOT)) {
    const text = fs.readFileSync(file, "utf8");
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const target = resolve(file, m[1]);
      if (target !== undefined) deps.push(target);
    }
    g.set(file, deps);
  }
  return g;
}

/** Every cycle found by a depth-first search (each reported once, from its first file). */
function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const dep of g.get(file) ?? []) {
      if (state.get(dep) === "open") found.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (state.get(dep) === undefined) visit(dep);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of g.keys()) if (state.get(file) === undefined) visit(file);
  return found;
}

describe("operator module graph", () => {
  it("has no import loop anywhere in operator/ (the matching engine's stages take a context, not the engine)", () => {
    const loops = cycles(graph()).map((c) => c.map((f) => path.relative(ROOT, f)).join(" -> "));
    expect(loops).to.deep.equal([]);
  });

  it("finds a loop when there is one (the check itself works)", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(cycles(g)).to.deep.equal([["a", "b", "c", "a"]]);
  });
});
