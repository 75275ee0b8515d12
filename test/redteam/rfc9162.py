#!/usr/bin/env python3
# Independent RFC 9162 (section 2.1) Merkle tree hashes and proofs, from leaf
# hashes given one per line in hex on stdin; requests as arguments:
#   root:S  incl:I:S  cons:A:B      -> one line each: hex hashes, comma-separated
# Written for test/redteam/r10_090_findings.sh (no code shared with src/).
import hashlib, sys
leaves = [bytes.fromhex(l.strip()) for l in sys.stdin if l.strip()]
def node(a, b): return hashlib.sha256(b'\x01' + a + b).digest()
memo = {}
def mth(lo, hi):
    if (lo, hi) in memo: return memo[(lo, hi)]
    n = hi - lo
    if n == 1: r = leaves[lo]
    else:
        k = 1
        while k * 2 < n: k *= 2
        r = node(mth(lo, lo + k), mth(lo + k, hi))
    memo[(lo, hi)] = r
    return r
def path(m, lo, hi):
    n = hi - lo
    if n == 1: return []
    k = 1
    while k * 2 < n: k *= 2
    if m < k: return path(m, lo, lo + k) + [mth(lo + k, hi)]
    return path(m - k, lo + k, hi) + [mth(lo, lo + k)]
def subproof(m, lo, hi, b):
    n = hi - lo
    if m == n: return [] if b else [mth(lo, hi)]
    k = 1
    while k * 2 < n: k *= 2
    if m <= k: return subproof(m, lo, lo + k, b) + [mth(lo + k, hi)]
    return subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]
for req in sys.argv[1:]:
    p = req.split(':')
    if p[0] == 'root': out = [mth(0, int(p[1]))]
    elif p[0] == 'incl': out = path(int(p[1]), 0, int(p[2]))
    else: out = subproof(int(p[1]), 0, int(p[2]), True)
    print(req + ' ' + ','.join(h.hex() for h in out))
