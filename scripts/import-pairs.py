#!/usr/bin/env python3
"""import-pairs.py [SRC]: lists pairs of files under SRC (default src/) that
import each other (`use crate::a::b`, `use super::x`, `super::x::f(...)`).

Imports are resolved to files by path (`a/b.rs` or `a/b/mod.rs`); a path that
names an item rather than a module resolves to the deepest module file found.
Prints one line per pair and exits 1 when there is any; silent and 0 otherwise.
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
root_files = {"lib.rs", "main.rs"}


def module_of(path):
    """Module path (list of names) of a file relative to src."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod" or (len(rel) == 1 and rel[0] + ".rs" in root_files):
        rel = rel[:-1]
    return rel


def file_of(parts):
    """Deepest existing module file for a module path prefix."""
    for n in range(len(parts), 0, -1):
        base = os.path.join(src, *parts[:n])
        for cand in (base + ".rs", os.path.join(base, "mod.rs")):
            if os.path.isfile(cand):
                return cand
    return None


# `use a::b::{c, d}` / `use a::b;` and inline `super::x::y(...)` paths.
PATH = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")
TREE = re.compile(r"\buse\s+((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\}", re.S)


def imports(path):
    text = open(path, encoding="utf-8").read()
    # Drop line comments (doc links are not imports).
    text = re.sub(r"//[^\n]*", "", text)
    mod = module_of(path)
    out = set()
    paths = [m.group(1) for m in PATH.finditer(text)]
    for m in TREE.finditer(text):
        for item in re.split(r"[,\s]+", m.group(2)):
            item = item.strip("{} ")
            if item and item not in ("self", "*"):
                paths.append(m.group(1) + "::" + item.split("::")[0])
    for p in paths:
        parts = p.split("::")
        if parts[0] == "crate":
            resolved = parts[1:]
        else:
            # super/self relative to the file's own module.
            base = list(mod)
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super":
                    base = base[:-1]
                parts = parts[1:]
            resolved = base + parts
        target = file_of(resolved)
        if target and os.path.abspath(target) != os.path.abspath(path):
            out.add(os.path.normpath(target))
    return out


def rust_files():
    for dirpath, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                yield os.path.normpath(os.path.join(dirpath, n))


graph = {f: imports(f) for f in rust_files()}
pairs = sorted(
    {tuple(sorted((a, b))) for a, deps in graph.items() for b in deps if a in graph.get(b, ())}
)
# A parent mod.rs declaring its children (and children using `super::x`)
# is the module tree, not a circle of imports: only sibling files count.
pairs = [
    (a, b)
    for a, b in pairs
    if not (os.path.basename(a) in ("mod.rs", "lib.rs") or os.path.basename(b) in ("mod.rs", "lib.rs"))
]
for a, b in pairs:
    print(f"{a} <-> {b}")
sys.exit(1 if pairs else 0)
