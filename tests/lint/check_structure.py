#!/usr/bin/env python3
"""The tree's rules, checked on the sources and the built objects.

1. Layers: a file in agent/FOLDER (or exporters/) includes headers only from
   the folders LAYERS allows it, so a file's place says what it may touch.
2. No loops between modules. A module is a .c with its .h (a header alone is
   a module too); A depends on B when A includes B's header or, from the
   objects' symbol tables, calls or reads something B defines.
3. A global name that starts with a module's name ("tracker_...") is
   defined in that module (the longest such name wins), so a name says
   where it lives; and a constant is #defined in one file only.
4. No source file is longer than MAX_LINES, unless LONG_FILES says why.
5. Lines for people go through base/log: no hand-written "<N>kvmwarden:"
   prefix, and no "kvmwarden: ..." printed to stderr, outside it.

Usage: check_structure.py [OBJ_DIR]   (OBJ_DIR: build/obj; without it, only
the include graph is checked). Prints one line per check and closes with
`lint: N passed, N failed`.
"""
import collections
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What each folder may include besides itself. Lower layers never reach up:
# model and policy are pure, exporters read the model only, and cmd/ (with
# main.c) is the only code that may reach every layer.
LAYERS = {
    "base": set(),
    "config": {"base", "model"},
    "load": {"base", "model"},
    "model": {"base"},
    "collect": {"base", "model", "load", "config"},
    "policy": {"base", "model", "config"},
    "actuate": {"base", "model", "config", "policy", "collect"},
    "exporters": {"base", "model"},
    "serve": {"base", "model", "config", "exporters"},
    "top": {"base", "model", "config", "exporters", "serve"},
    "cmd": {"base", "config", "load", "collect", "model", "policy",
            "actuate", "exporters", "serve", "top"},
    "main": {"base", "cmd", "top"},
}

MAX_LINES = 600
# Files allowed past MAX_LINES, each with its reason.
LONG_FILES = {}


def sources():
    files = glob.glob(os.path.join(ROOT, "agent", "**", "*.[ch]"), recursive=True)
    files += glob.glob(os.path.join(ROOT, "exporters", "*.[ch]"))
    return sorted(os.path.relpath(f, ROOT) for f in files)


def folder_of(path):
    parts = path.split("/")
    if parts[0] == "exporters":
        return "exporters"
    return "main" if len(parts) == 2 else parts[1]


def module_of(path):
    return os.path.splitext(path)[0]


def header_index(files):
    """Include spelling -> file: agent's by folder, exporters' by name."""
    index = {}
    for path in files:
        if path.endswith(".h"):
            if path.startswith("agent/"):
                index[path[len("agent/"):]] = path
            else:
                index[os.path.basename(path)] = path
    return index


def includes(path):
    with open(os.path.join(ROOT, path)) as src:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', src.read(), re.M)


def strongly_connected(graph):
    """Tarjan's components of more than one node (iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def symbol_edges(obj_dir, modules):
    """module -> modules whose defined symbols its object uses."""
    defined, used = {}, collections.defaultdict(set)
    for obj in glob.glob(os.path.join(obj_dir, "**", "*.o"), recursive=True):
        module = os.path.splitext(os.path.relpath(obj, obj_dir))[0]
        if module not in modules:
            continue
        out = subprocess.run(["nm", "--defined-only", "-g", obj],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 3:
                defined[fields[2]] = module
        out = subprocess.run(["nm", "-u", obj], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            used[module].add(line.split()[-1])
    edges = collections.defaultdict(set)
    for module, symbols in used.items():
        for symbol in symbols:
            owner = defined.get(symbol)
            if owner and owner != module:
                edges[module].add(owner)
    return edges, defined


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL {name}:")
            for problem in problems:
                print(f"  {problem}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def main():
    obj_dir = sys.argv[1] if len(sys.argv) > 1 else None
    files = sources()
    headers = header_index(files)
    checks = Checks()

    layer_problems, unknown = [], []
    graph = collections.defaultdict(set)
    for path in files:
        graph[module_of(path)]
        for spelled in includes(path):
            target = headers.get(spelled)
            if target is None:
                if "/" in spelled and not spelled.endswith(".skel.h"):
                    unknown.append(f"{path}: \"{spelled}\" is not in the tree")
                continue
            if module_of(target) != module_of(path):
                graph[module_of(path)].add(module_of(target))
            mine, theirs = folder_of(path), folder_of(target)
            if mine != theirs and theirs not in LAYERS[mine]:
                layer_problems.append(f"{path} includes {spelled} ({mine} may not reach {theirs})")
            if spelled.startswith("agent/") or (path.startswith("agent/") and
                                                "/" not in spelled and spelled in headers
                                                and headers[spelled].startswith("agent/")):
                layer_problems.append(f"{path}: include \"{spelled}\" by its folder")
    checks.check("includes resolve in the tree", unknown)
    checks.check("each folder includes only the layers it may", layer_problems)

    cycles = strongly_connected(graph)
    checks.check("no include loop between modules",
                 [" <-> ".join(c) for c in cycles])

    defined = {}
    if obj_dir:
        edges, defined = symbol_edges(obj_dir, set(graph))
        merged = collections.defaultdict(set)
        for module in set(graph) | set(edges):
            merged[module] = graph.get(module, set()) | edges.get(module, set())
        cycles = strongly_connected(merged)
        checks.check("no call or include loop between modules",
                     [" <-> ".join(c) for c in cycles])
        names = {os.path.basename(m) for m in graph}
        misplaced = []
        for symbol, module in sorted(defined.items()):
            owners = [n for n in names if symbol.startswith(n + "_")]
            if owners and symbol != os.path.basename(module):
                owner = max(owners, key=len)
                if owner != os.path.basename(module):
                    misplaced.append(f"{symbol} is defined in {module}, "
                                     f"but its prefix names {owner}")
        checks.check("a name's module prefix is where it is defined",
                     misplaced)

    defines = collections.defaultdict(list)
    for path in files:
        with open(os.path.join(ROOT, path)) as src:
            for name, value in re.findall(r"^#define\s+([A-Z][A-Z0-9_]+)[ \t]+(\S.*)$",
                                          src.read(), re.M):
                if not name.endswith("_H"):
                    defines[name].append(path)
    checks.check("each constant is defined in one file",
                 [f"{name}: {', '.join(paths)}" for name, paths in sorted(defines.items())
                  if len(set(paths)) > 1])

    long_files = []
    for path in files:
        with open(os.path.join(ROOT, path)) as src:
            count = sum(1 for _ in src)
        if count > MAX_LINES and path not in LONG_FILES:
            long_files.append(f"{path}: {count} lines")
    checks.check(f"no file over {MAX_LINES} lines", long_files)

    by_hand = []
    pattern = re.compile(r'"<[0-7]>kvmwarden:|'
                         r'(fprintf|fputs)\((stderr,\s*)?"kvmwarden: ')
    for path in files:
        if path.startswith("agent/base/"):
            continue
        with open(os.path.join(ROOT, path)) as src:
            for number, line in enumerate(src, 1):
                if pattern.search(line):
                    by_hand.append(f"{path}:{number}: {line.strip()}")
    checks.check("log lines only through base/log.h", by_hand)

    print(f"lint: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
