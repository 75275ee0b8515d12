#!/usr/bin/python3
"""How many of the 93 BatteryPass v1.2 attributes a battery's passports carry.

usage: passport_coverage.py ATTRIBUTE_MAP FORMAT=FILE[,FILE...] ...
Each FILE is one passport (JSON) of the same battery, one per tier; an attribute
counts for a format when one of its paths in ATTRIBUTE_MAP (the column named
like FORMAT up to a "@", e.g. battledger@0.3.0 uses the battledger column) has a
value in any of the format's files.  Prints one line per attribute and a summary
per format: all 93, and the ones the EV category must carry ("x")."""
import json, re, sys

def walk(node, parts):
    if not parts:
        return node not in (None, [], {}, '')
    p, rest = parts[0], parts[1:]
    m = re.fullmatch(r'(\w+)\[(?:(\w+)=([^\]]*))?\]', p)
    if m:
        items = node.get(m.group(1)) if isinstance(node, dict) else None
        if not isinstance(items, list):
            return False
        if m.group(2):
            items = [i for i in items if isinstance(i, dict) and str(i.get(m.group(2))).lower() == m.group(3).lower()]
        return any(walk(i, rest) for i in items)
    return isinstance(node, dict) and p in node and walk(node[p], rest)

def present(doc, fmt, path):
    if fmt == 'batterypass':
        aspect, path = path.split('/', 1)
        doc = next((v for k, v in doc.items() if k.endswith('#' + aspect)), None)
        if doc is None:
            return False
    return walk(doc, path.split('.'))

rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if not l.startswith('#')]
head, rows = rows[0], rows[1:]
formats = []
for arg in sys.argv[2:]:
    name, files = arg.split('=', 1)
    formats.append((name, name.split('@')[0], [json.load(open(f)) for f in files.split(',')]))
found = {name: set() for name, _, _ in formats}
for r in rows:
    rec = dict(zip(head, r))
    marks = []
    for name, col, docs in formats:
        paths = [p.strip() for p in rec[col].split('|') if p.strip() != '-']
        hit = any(present(d, col, p) for d in docs for p in paths)
        if hit:
            found[name].add(rec['no'])
        marks.append('+' if hit else '.')
    print(f"{rec['no']:>3} {rec['ev']:1} {' '.join(marks)}  {rec['attribute'][:70]}")
ev = {r[0] for r in rows if r[1] == 'x'}
union = set().union(*found.values()) if found else set()
print(f"\n{'format':28} {'of 93':>6} {'EV-mandatory of ' + str(len(ev)):>20}")
for name, _, _ in formats:
    print(f"{name:28} {len(found[name]):>6} {len(found[name] & ev):>20}")
news = [n for n, _, _ in formats if '@' not in n]
allnew = set().union(*(found[n] for n in news)) if news else set()
print(f"{'any-format':28} {len(allnew):>6} {len(allnew & ev):>20}   ({'+'.join(news)})")
