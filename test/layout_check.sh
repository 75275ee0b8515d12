#!/usr/bin/env bash
# The layout rules of issue 13 that a script can check, over src/ (well
# under a second, no build needed):
#   1. no circle of includes among the modules: a module is X.c with X.h;
#      "X includes Y" when X.c or X.h has #include "Y.h" for a Y.h of src/;
#   2. src/core/ includes no PostgreSQL header (the CLI, unit tests and
#      fuzzers build it without a server);
#   3. no C file over 700 lines without its reason at the top (a line
#      "Why one file:" within its first 40 lines);
#   4. src/typedefs.list (pgindent's list of the project's typedefs) names
#      exactly the typedefs of src/.
# Prints each violation and exits 1 if there is one.  Usage:
#   test/layout_check.sh [-v]      (-v also prints the module graph)
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - "${1:-}" <<'PY'
import os, re, sys, glob

verbose = sys.argv[1] == '-v'
files = sorted(glob.glob('src/*/*.[ch]'))
ours = {os.path.basename(f) for f in files if f.endswith('.h')}
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
problems = []

# 1. module graph
graph = {}
for f in files:
    mod = os.path.basename(f)[:-2]
    deps = graph.setdefault(mod, set())
    for h in inc.findall(open(f, encoding='utf-8').read()):
        if h in ours and h[:-2] != mod:
            deps.add(h[:-2])
index, low, stack, on, n = {}, {}, [], set(), [0]
def strong(v):
    index[v] = low[v] = n[0]; n[0] += 1
    stack.append(v); on.add(v)
    for w in sorted(graph.get(v, ())):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            problems.append('include circle among: ' + ' '.join(sorted(comp)))
sys.setrecursionlimit(10000)
for v in sorted(graph):
    if v not in index:
        strong(v)
if verbose:
    for v in sorted(graph):
        print(f'{v:14} -> {" ".join(sorted(graph[v]))}')

# 2. pure core
for f in glob.glob('src/core/*.[ch]'):
    for h in inc.findall(open(f, encoding='utf-8').read()):
        if h not in ours:
            problems.append(f'{f}: includes "{h}", not a src/core header')
    if re.search(r'^\s*#\s*include\s+<(postgres|fmgr|utils/|access/|catalog/)', open(f).read(), re.M):
        problems.append(f'{f}: includes a PostgreSQL header')

# 3. long files
for f in files:
    lines = open(f, encoding='utf-8').read().split('\n')
    if len(lines) > 700 and not any('Why one file:' in l for l in lines[:40]):
        problems.append(f'{f}: {len(lines)} lines and no "Why one file:" at its top')

# 4. typedefs list
names = set()
for f in files:
    s = re.sub(r'/\*.*?\*/', '', open(f, encoding='utf-8').read(), flags=re.S)
    for m in re.finditer(r'\btypedef\b', s):
        j, depth = m.end(), 0
        while j < len(s) and not (s[j] == ';' and depth == 0):
            depth += {'{': 1, '}': -1}.get(s[j], 0)
            j += 1
        decl = s[m.end():j]
        fp = re.search(r'\(\s*\*\s*([A-Za-z_]\w*)\s*\)', decl)
        if fp and '{' not in decl:
            names.add(fp.group(1))
            continue
        tail = decl[decl.rfind('}') + 1:] if '}' in decl else decl
        n = re.findall(r'([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$', tail.strip())
        if n:
            names.add(n[0])
listed = set(open('src/typedefs.list').read().split())
for n in sorted(names - listed):
    problems.append(f'typedef {n} missing from src/typedefs.list')
for n in sorted(listed - names):
    problems.append(f'src/typedefs.list names {n}, which src/ no longer defines')

for p in problems:
    print('layout:', p)
print(f'layout: {len(graph)} modules, {sum(len(d) for d in graph.values())} include edges, '
      f'{len(problems)} problem(s)')
sys.exit(1 if problems else 0)
PY
