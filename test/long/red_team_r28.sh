#!/usr/bin/env bash
# Red teams of 0.23.0 as a long scenario: every case of their findings
# scripts must hold.
#   m23 (test/redteam/m23_0230_findings.sh): roles changed past the hosting
#       rule change nothing, on either member, now or backdated; a roles row
#       for a member nobody added yet neither counts nor keeps its host
#       from adding it; a member added again past the rules (a contested
#       hosting) is hosted, at each database, by the origin it saw first, so
#       a key added for it there signs for nobody.
#   p23 (test/redteam/p23_0230_findings.sh): a competitor's public key
#       registered for another member signs for the member that proves
#       possession of it; forged, replayed or garbage proofs prove nothing.
#   r28 (test/redteam/r28_0230_findings.sh): a member's DBA passing for
#       another origin with a placeholder battledger.origin; the key cache,
#       empty-origin rows, E1, X1, D1 and the update from 0.22.0 kept.
#   r29 (test/redteam/r29_0230_findings.sh): 0.23.0 as merged: pins and
#       the key cache, recopy_table()'s refusals, _origin(), the hosting
#       view's origin, registry_conflicts() with many contested keys.
#   s23 (test/redteam/s23_0230_findings.sh): a re-join names a leaf the
#       member rewrote while the witness was away.
#   r30 (test/redteam/r30_0230_findings.sh): battledger.restore: what a
#       restoring session may write is refused or named; the setting cannot
#       be left on for a database or a role.
#   j24 (test/redteam/j24_0240_findings.sh): a member joining after a
#       hosting contest hosts the contested member by no table copy's
#       order: unsettled until pin_member_host(); since 0.25.0 nor by a
#       row streamed in from a third origin (J5), its own hosts kept (J6).
#   kp24 (test/redteam/kp24_0240_findings.sh): a contested key's lookup
#       reads proofs checked once as they arrive (r29 C1's rest);
#       revoke_key() takes the member the key signs for here.
#   r31 (test/redteam/r31_0240_findings.sh): 0.23.0's surface: a usage
#       report cannot replay another's commitment (BL045), the usage lock is
#       no role's, a hosting hijack during an outage is named.
#   once25 (test/redteam/once25_0250_findings.sh): a replayed usage
#       commitment counts for neither report, at the writer and at replicas
#       in either arrival order, backdated or naming another battery.
#   rt25 (test/redteam/rt25_0240_findings.sh): 0.24.0 as released: a
#       commitment named by another event kind (quality check, consuming
#       move) counts for another battery; commitment_replayed's order is the
#       writer's clock; a row streamed between a joiner's copies hosted a
#       competitor there (J5, unsettled since 0.25.0).  FAILs until fixed
#       (0.25.0).
#   disc25 (test/redteam/disc25_0250_findings.sh): a commitment counts
#       once whatever event kind names it: refused at the writer (BL045),
#       counted for none and named past the rules, in either arrival order.
#   rt25b (test/redteam/rt25b_0250_findings.sh): 0.25.0 at REPEATABLE READ
#       apply: replays of one commitment read its index quadratically (the
#       trigger and registry_conflicts()); a replay racing its disclosure
#       leaves a contested report counted in the passport.
#   rt25c (test/redteam/rt25c_0250_findings.sh): the last fixes of 0.25.0:
#       an erased disclosure not folded at REPEATABLE READ, the sealer against
#       a database owner's settings, the replays' listing and probes.
#   rt26 (test/redteam/rt26_0260_findings.sh): 0.25.0 as released: a
#       database owner (no superuser) setting role or session_authorization
#       for its database stops the sealing worker and the apply workers;
#       an application's gin_fuzzy_search_limit hides a lot's consumers
#       from the writer's mass balance;
#       BL045 against an application's multi-row INSERT/COPY, a disclosure's
#       tier/erasure/savepoint life, the new C entry points' privileges.
#       FAILed W1, W2, G1, R1, R2 on 0.25.0; all hold since 0.26.0.
#   rt26b (test/redteam/rt26b_0260_findings.sh): 0.26.0's own changes:
#       _commitment_rows() against 0.25.0's SQL probe, the sealer's identity
#       override against a database owner's settings, consortium_status()'s
#       "runs as another role": its RESET for ALTER ROLE ALL and its false
#       positives. FAILed S3, S4, S5 on 185e6dc; all hold since.
#   rt26c (test/redteam/rt26c_0260_findings.sh): the passport path's new C
#       functions (_passport_battledger(), _usage_value()) against 0.25.0's
#       expressions on odd sources, a superuser's inputs, privileges,
#       memory, the kept SPI plan; a member's model with NaN/Infinity rated
#       values. FAILed N1, N2 on 7a9a235.
#   rt27b (test/redteam/rt27b_0270_findings.sh): 0.27.0's finite-number
#       rules: finite numbers past _json_num()'s bound (a model of 1e131071
#       Ah overflowing every legitimate-interest passport), a manufacture of
#       +5 and -5 kg dividing recycled_content() by zero, verify_member()'s
#       filing of a model's value (one member and three); the 0.26.0 upgrade.
#       FAILed F1, F2, F3, R1, V1, M1 on 5bd2efe.
#   rt27 (test/redteam/rt27_0270_findings.sh): 0.26.0 as released: a
#       member's signed row or batch written again where the member is not
#       hosted (by a plain role through PUBLIC's INSERT, or by a malicious
#       member's superuser under its own origin) before the member's own
#       copy arrived, which was then refused as a unique_conflict and its
#       subscription stopped; verify_member() naming such a row copied at
#       a join. FAILed 9 cases on 10c9a3f; all hold since.
#   rt27c (test/redteam/rt27c_0270_findings.sh): rt27's check took any
#       row of the origin adding the member for hosting: a malicious
#       member's superuser that added a competitor's member again passed a
#       third member's arrival check with copies of the competitor's rows
#       (the competitor's own then refused there), and verify_member() did
#       not name them. FAILed 3 cases (and a setup) on 3fcd2ea.
#   rt27d (test/redteam/rt27d_0270_findings.sh): 0.27.0's batch commit
#       re-read (the DestReceiver) and merge sort: a table owner's GIN
#       index on ledger_batch and gin_fuzzy_search_limit hiding rows that
#       ride unsigned on a batch from the re-read (as the owner and as an
#       INSERT-only application; verify() too), the hashes left in the
#       caller's context; guards (savepoints, COPY/CTE/loops, ties, RLS,
#       triggers, planner settings, a cancel mid re-read, DDL). FAILed F1,
#       F2, F3, M1 on 6c7c6e9.
#   priv27 (test/redteam/priv27_0270_findings.sh): the internal functions
#       PUBLIC could still execute: each of the 31 revoked is refused to a
#       plain role (42501 on the function), PUBLIC keeps exactly the 21 a
#       plain role's own statement reaches, and the plain role's, a
#       member's application's, legitimate interest's and the authority's
#       paths still give the owner's answers. FAILed R1, R2 on 6c7c6e9.
#   rt27e (test/redteam/rt27e_0270_findings.sh): priv27's callers (no
#       invoker function a role runs calls one it may not), the 0.26.0
#       update's privileges, _operator_rules() as the owner (signer
#       judged, two registrations racing), and gin_fuzzy_search_limit on
#       the readers of disclosure's GIN index: left by the database's
#       owner, the extension owner's usage_derived() lost its values. FAILed
#       G2 on c360e12.
#   idx28 (test/redteam/idx28_0280_findings.sh): a table owner's index
#       DDL against the C paths that scan the chain index directly: an
#       index of the chain's columns in another order, opclass or
#       collation, the chain index reindexed behind it, was taken as the
#       chain index (inserts failed, verify() named a clean table
#       corrupt, another member's rows refused on arrival);
#       DROP/RENAME/REINDEX/CLUSTER/invalid and other indexes held.
#       FAILed F1-F4, F6 on 463efb0.
#   cov28 (test/redteam/cov28_0280_findings.sh): every arrival refusal
#       that had no test making a member refuse an arriving row with it:
#       a malicious member's superuser publishing, past its own guards, a
#       row or batch each check must name (broken_link, bad_position,
#       missing_chain_fields, unsigned_row, key_not_yet_valid, key_expired,
#       key_revoked, foreign_batch, batch_key_mismatch, the batch commit
#       check's batch_... and unknown_batch_table, signer_not_hosted for a
#       batch, bad_leaf_hash); the
#       receiver's status names it and SKIP + ENABLE brings it back to ok.
#   rt28 (test/redteam/rt28_0280_findings.sh): 463efb0's batch names (id
#       and key): rows riding on another key's batch of an id (holds), the
#       re-read walking other keys' rows of the id through the index on
#       ledger_batch alone (a victim's commit, verify() quadratic in keys),
#       a name filed twice read as either manifest, memory per batch,
#       details naming the id only, the 0.27.0 update. FAILed P1, P2, M1,
#       M2, E1, E2, D1, D3 on 463efb0.
#   rt28b (test/redteam/rt28b_0280_findings.sh): idx28's chain index
#       against NULLS FIRST/DESC NULLS LAST/deduplicate-off/deferrable
#       twins, domain/enum/array chain columns, no index qualifying (55000)
#       and nondeterministic collations; rt28's batch checks across
#       savepoints, a failed commit check and long ids of two keys; the
#       0.27.0 update of a quoted schema's table (as fresh) and of an
#       owner's own ledger_batch indexes; fin28's _time_ok() under exotic
#       time zones and the offsets a passport prints.  FAILed B6 on
#       b0115ab (fixed in 60_batch_rows_index.sql); T4 open, printed (security.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for s in m23_0230 p23_0230 r28_0230 r29_0230 s23_0230 r30_0230 j24_0240 kp24_0240 r31_0240 once25_0250 rt25_0240 disc25_0250 rt25b_0250 rt25c_0250 rt26_0260 rt26b_0260 rt26c_0260 rt27b_0270 rt27_0270 rt27c_0270 rt27d_0270 priv27_0270 rt27e_0270 idx28_0280 cov28_0280 rt28_0280 rt28b_0280; do
  out=$(bash "test/redteam/${s}_findings.sh" 2>&1); x=$?
  grep -E '^(ok|FAIL|#) ' <<<"$out"
  n=$(grep -c '^ok ' <<<"$out")
  if [ $x != 0 ] || grep -q '^FAIL ' <<<"$out"; then
    echo "FAIL - $s: $x cases failed"; rc=1
  else
    echo "ok   - $s: $n cases hold"
  fi
done
exit $rc
