#!/usr/bin/env bash
# Unit tests of the pure-C primitives and the battledger command-line tool;
# no database needed.  Builds src/core/{sha256,merkle,ed25519,codec,note,batch}.c with
# test/unit/test_crypto.c and with src/cli/*.c into a temporary directory
# (gcc, -Werror, libcrypto), then runs:
#   1. test_crypto: known answers, generated proofs vs a naive RFC 9162
#      model, compact ranges, base64, notes, cosignatures, tlog-proofs;
#   2. every RFC 9162 JSON vector in test/vectors/rfc9162 through the CLI
#      (parsed with Perl's core JSON::PP): exactly wantErr=false accepted;
#   3. end-to-end CLI checks (keys, weak keys refused, signatures cross-checked
#      with the openssl tool and Perl's Digest::SHA, checkpoints, proofs, exit
#      codes).
# Exits non-zero on any failure.  Usage: test/unit/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

CC=${CC:-gcc}
CFLAGS=(-std=c99 -O2 -Wall -Wextra -Werror -Wdeclaration-after-statement
        -Wmissing-prototypes)
LIB=(src/core/sha256.c src/core/merkle.c src/core/ed25519.c src/core/codec.c src/core/note.c src/core/batch.c)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "== build"
"$CC" "${CFLAGS[@]}" -Isrc/core -o "$T/test_crypto" test/unit/test_crypto.c "${LIB[@]}" -lcrypto
VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" battledger.control)
"$CC" "${CFLAGS[@]}" -DBL_VERSION="\"$VERSION\"" -Isrc/core -o "$T/battledger" src/cli/*.c "${LIB[@]}" -lcrypto
B="$T/battledger"
failed=()

echo "== C unit tests"
mkdir "$T/fx"
if ! "$T/test_crypto" --fixtures "$T/fx"; then
  failed+=(test_crypto)
fi

echo "== RFC 9162 vectors through the CLI"
cat > "$T/vectors.pl" <<'PERL'
# Runs each vector through the CLI; accepted means exit 0, rejected exit 1.
use strict;
use warnings;
use JSON::PP;
use File::Find;

my ($cli, $dir, $tmp) = @ARGV;
my (@files, %n);
find(sub { push @files, $File::Find::name if /\.json\z/ }, $dir);
my $proof_file = "$tmp/vector.proof";

sub run_cli {
  my @args = @_;
  open(my $out, '-|', $cli, @args) or die "cannot run $cli: $!";
  my $verdict = join('', <$out>);
  close($out);
  return ($? >> 8, $? & 127, $verdict);
}

for my $f (sort @files) {
  open(my $fh, '<', $f) or die "$f: $!";
  my $v = decode_json(do { local $/; <$fh> });
  close($fh);
  # One hash per line; an empty string stays an (invalid) empty line.
  open(my $p, '>', $proof_file) or die;
  print $p map { "$_\n" } @{ $v->{proof} // [] };
  close($p);
  my ($kind, @args);
  if (exists $v->{leafIdx}) {
    $kind = 'inclusion';
    @args = ('verify-inclusion', '--size', $v->{treeSize}, '--index', $v->{leafIdx},
             '--root', $v->{root}, '--leaf-hash', $v->{leafHash},
             '--proof-file', $proof_file);
  } else {
    $kind = 'consistency';
    @args = ('verify-consistency-raw', '--size1', $v->{size1}, '--size2', $v->{size2},
             '--root1', $v->{root1}, '--root2', $v->{root2},
             '--proof-file', $proof_file);
  }
  my ($rc, $sig, $verdict) = run_cli(@args);
  my $want_ok = $v->{wantErr} ? 0 : 1;
  $n{$kind}++;
  $n{$want_ok ? 'want_ok' : 'want_err'}++;
  if ($sig || ($rc != 0 && $rc != 1)) {
    $n{bad_exit}++;
    print STDERR "vector $f: exit $rc signal $sig: $verdict";
  } elsif (($rc == 0) != $want_ok) {
    $n{mismatch}++;
    print STDERR "vector $f: wantErr=" . ($v->{wantErr} ? 'true' : 'false') . " but $verdict";
  } else {
    $n{$rc == 0 ? 'accepted' : 'rejected'}++;
  }
}
printf "vectors: %d files (%d inclusion, %d consistency); %d of %d valid accepted, " .
       "%d of %d invalid rejected; %d mismatches, %d bad exits\n",
  scalar(@files), $n{inclusion} // 0, $n{consistency} // 0, $n{accepted} // 0,
  $n{want_ok} // 0, $n{rejected} // 0, $n{want_err} // 0, $n{mismatch} // 0,
  $n{bad_exit} // 0;
exit(($n{mismatch} || $n{bad_exit} || !@files) ? 1 : 0);
PERL
if ! perl "$T/vectors.pl" "$B" test/vectors/rfc9162 "$T"; then
  failed+=(vectors)
fi

echo "== CLI end to end"
cli_pass=0
cli_fail=0

# expect RC DESCRIPTION CMD...: the command must exit with RC.
expect() {
  local want=$1 what=$2 rc=0
  shift 2
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  if [ "$rc" -eq "$want" ]; then
    cli_pass=$((cli_pass + 1))
  else
    cli_fail=$((cli_fail + 1))
    echo "FAIL [cli] $what: exit $rc, wanted $want" >&2
    head -3 "$T/out" "$T/err" >&2
  fi
}

# same DESCRIPTION A B: the two strings must be equal (and non-empty).
same() {
  if [ -n "$2" ] && [ "$2" = "$3" ]; then
    cli_pass=$((cli_pass + 1))
  else
    cli_fail=$((cli_fail + 1))
    echo "FAIL [cli] $1: '$2' != '$3'" >&2
  fi
}

# --version names the extension version it was built with
expect 0 "--version" "$B" --version
same "--version is the control file's default_version" "$(cat "$T/out")" "battledger $VERSION"

F="$T/fx"
K="$T/keys"
mkdir "$K"

# usage and exit codes
expect 0 "--help" "$B" --help
expect 0 "command --help" "$B" verify-proof --help
expect 2 "no command" "$B"
expect 2 "unknown command" "$B" frobnicate
expect 2 "unknown option" "$B" sign --key x --bogus
expect 2 "missing value" "$B" sign --key
expect 2 "missing required option" "$B" verify-checkpoint
expect 2 "bad vkey" "$B" verify-checkpoint --vkey not-a-key --file "$F/small.checkpoint"
expect 2 "bad decimal" "$B" verify-inclusion --size 01 --index 0 --root "" --leaf-hash "" --proof-file /dev/null
expect 2 "bad base64" "$B" verify-consistency-raw --size1 1 --size2 2 --root1 '!!!!' --root2 "" --proof-file /dev/null
expect 1 "unreadable key" "$B" sign --key "$K/none.key" --hex 00
grep -q '^battledger: error: ' "$T/err" && same "error line format" ok ok || same "error line format" bad ok

# keys
expect 0 "keygen --out" "$B" keygen --out "$K/m"
pub=$(awk '$1 == "public_key" {print $2}' "$T/out")
kid=$(awk '$1 == "key_id" {print $2}' "$T/out")
same "private key mode 0600" "$(stat -c %a "$K/m.key")" 600
expect 1 "keygen refuses to overwrite" "$B" keygen --out "$K/m"
expect 0 "pubkey of private key" "$B" pubkey --key "$K/m.key"
same "pubkey raw" "$(awk '$1 == "public_key" {print $2}' "$T/out")" "$pub"
same "pubkey key id" "$(awk '$1 == "key_id" {print $2}' "$T/out")" "$kid"
want_kid=$( (printf 'battledger key v1\n'; printf '%s' "$pub" | xxd -r -p) | perl -MDigest::SHA=sha256_hex -0777 -ne 'print sha256_hex($_)')
same "key id = SHA-256(prefix || pub)" "$kid" "$want_kid"
openssl pkey -in "$K/m.key" -pubout -out "$K/openssl.pub" 2>/dev/null
expect 0 "pubkey of openssl-written public PEM" "$B" pubkey --key "$K/openssl.pub"
same "openssl public key" "$(awk '$1 == "public_key" {print $2}' "$T/out")" "$pub"
expect 0 "keygen to stdout" "$B" keygen
cp "$T/out" "$K/stdout.key"
expect 0 "stdout key readable by openssl" openssl pkey -in "$K/stdout.key" -noout

# weak keys: the identity key 01 00..00, under which R = identity, S = 0 signs
# every message, is refused wherever the CLI takes a public key
ID_PUB=01$(printf '%062d' 0)
{ echo '-----BEGIN PUBLIC KEY-----'; printf '302a300506032b6570032100%s' "$ID_PUB" | xxd -r -p | base64
  echo '-----END PUBLIC KEY-----'; } > "$K/weak.pub"
expect 1 "pubkey refuses a weak public key" "$B" pubkey --key "$K/weak.pub"
grep -q 'weak Ed25519 public key.*small order' "$T/err" && same "weak key message" ok ok || same "weak key message" "$(cat "$T/err")" ok
expect 1 "vkey refuses a weak public key" "$B" vkey --key "$K/weak.pub" --name example.com/weak
# weak_vkey NAME ALG: the C2SP verifier key of the identity key
weak_vkey() {
  perl -MDigest::SHA=sha256 -MMIME::Base64 -e '
    my ($name, $alg, $pub) = ($ARGV[0], chr($ARGV[1]), pack("H*", $ARGV[2]));
    my $id = substr(sha256("$name\n$alg$pub"), 0, 4);
    print $name, "+", unpack("H*", $id), "+", encode_base64("$alg$pub", ""), "\n";' "$1" "$2" "$ID_PUB"
}
WEAK=$(weak_vkey example.com/weak 1)
WEAKW=$(weak_vkey example.com/weak 4)
# a checkpoint "signed" with R = identity, S = 0: it verified under the weak vkey before keys were checked
perl -MDigest::SHA=sha256 -MMIME::Base64 -e '
  my ($name, $pub) = ("example.com/weak", pack("H*", $ARGV[0]));
  my $id = substr(sha256("$name\n\x01$pub"), 0, 4);
  print "$name\n1\n", encode_base64("\x5a" x 32, ""), "\n\n",
        "\xe2\x80\x94 $name ", encode_base64($id . "\x01" . ("\x00" x 63), ""), "\n";' "$ID_PUB" > "$K/forged.checkpoint"
expect 2 "verify-checkpoint refuses a weak --vkey" "$B" verify-checkpoint --vkey "$WEAK" --file "$K/forged.checkpoint"
grep -q 'weak Ed25519 public key' "$T/err" && same "weak vkey message" ok ok || same "weak vkey message" "$(cat "$T/err")" ok
expect 2 "verify-checkpoint refuses a weak --witness" "$B" verify-checkpoint --vkey "$(cat "$F/log.vkey")" --witness "$WEAKW" --file "$F/small.checkpoint"

# signatures: Ed25519 is deterministic, so openssl must produce the same bytes
printf 'battery 42 passport' > "$K/msg"
expect 0 "sign --hex" "$B" sign --key "$K/m.key" --hex "$(xxd -p -c 1000 "$K/msg")"
sig_hex=$(cat "$T/out")
expect 0 "sign stdin" sh -c "'$B' sign --key '$K/m.key' < '$K/msg'"
same "stdin and --hex signatures" "$(cat "$T/out")" "$sig_hex"
same "signature equals openssl's" "$sig_hex" \
  "$(openssl pkeyutl -sign -rawin -inkey "$K/m.key" -in "$K/msg" | xxd -p -c 1000)"
expect 2 "sign bad hex" "$B" sign --key "$K/m.key" --hex abc

# sign-batch: root and manifest recomputed in Perl, signature checked by openssl
printf '%064x\n' 3 1 2 > "$K/batch"   # any order: the root is over the sorted hashes
expect 0 "sign-batch" sh -c "'$B' sign-batch --key '$K/m.key' --table public.telemetry --batch-id 'lot-7' < '$K/batch'"
perl -MDigest::SHA=sha256 -e '
  my @l = map { sha256("\x00" . pack("H*", sprintf("%064x", $_))) } 1 .. 3;
  my $root = sha256("\x01" . sha256("\x01" . $l[0] . $l[1]) . $l[2]);
  print STDOUT unpack("H*", $root), "\n";
  open(my $m, ">", $ARGV[0]) or die;
  print $m "battledger batch v2\n", pack("n", 16), "public.telemetry", "lot-7\n", pack("Q>", 3), $root;' "$K/manifest" > "$K/want_root"
same "batch root" "$(awk '$1 == "root" {print $2}' "$T/out")" "$(cat "$K/want_root")"
same "batch count" "$(awk '$1 == "count" {print $2}' "$T/out")" 3
awk '$1 == "signature" {print $2}' "$T/out" | xxd -r -p > "$K/batch.sig"
expect 0 "batch signature verifies with openssl" openssl pkeyutl -verify -rawin -pubin \
  -inkey "$K/m.pub" -in "$K/manifest" -sigfile "$K/batch.sig"
printf 'xyz\n' > "$K/badbatch"
expect 1 "sign-batch rejects a bad line" sh -c "'$B' sign-batch --key '$K/m.key' --table public.t --batch-id b < '$K/badbatch'"
expect 2 "sign-batch needs the table" sh -c "'$B' sign-batch --key '$K/m.key' --batch-id b < '$K/batch'"

# checkpoints from the C fixtures (log key, witness, sizes 7 and 13)
LOG=$(cat "$F/log.vkey")
WIT=$(cat "$F/witness.vkey")
expect 0 "vkey of fixture key" "$B" vkey --key "$F/log.key" --name example.com/log
same "vkey matches library" "$(cat "$T/out")" "$LOG"
expect 0 "verify checkpoint" "$B" verify-checkpoint --vkey "$LOG" --file "$F/small.checkpoint"
# a checkpoint saved with psql -At's extra newline: refused, and the message says why
{ cat "$F/small.checkpoint"; echo; } > "$T/extra-newline.checkpoint"
expect 1 "a blank line after the signatures" "$B" verify-checkpoint --vkey "$LOG" --file "$T/extra-newline.checkpoint"
same "the message names the blank line" "$(grep -c 'a blank line follows the signatures' "$T/out")" 1
expect 0 "verify checkpoint stdin" sh -c "'$B' verify-checkpoint --vkey '$LOG' < '$F/small.checkpoint'"
expect 0 "verify cosigned checkpoint" "$B" verify-checkpoint --vkey "$LOG" --witness "$WIT" --file "$F/big.checkpoint"
expect 1 "missing cosignature" "$B" verify-checkpoint --vkey "$LOG" --witness "$WIT" --file "$F/small.checkpoint"
expect 1 "unexpected origin" "$B" verify-checkpoint --vkey "$LOG" --origin example.com/other --file "$F/small.checkpoint"
sed '2s/^7$/8/' "$F/small.checkpoint" > "$K/tampered.checkpoint"
expect 1 "tampered checkpoint" "$B" verify-checkpoint --vkey "$LOG" --file "$K/tampered.checkpoint"
grep -q '^FAIL: ' "$T/out" && same "verdict line" ok ok || same "verdict line" bad ok
expect 1 "other log's key" "$B" verify-checkpoint --vkey "$("$B" vkey --key "$K/m.key" --name example.com/log)" --file "$F/small.checkpoint"

# tlog-proof bundle of leaf 5 (8-byte little-endian 5) at size 13
expect 0 "verify-proof --leaf-file" "$B" verify-proof --vkey "$LOG" --proof "$F/leaf5.tlog-proof" --leaf-file "$F/leaf5.bin"
expect 0 "verify-proof --leaf-hex + witness" "$B" verify-proof --vkey "$LOG" --witness "$WIT" --proof "$F/leaf5.tlog-proof" --leaf-hex 0500000000000000
expect 1 "verify-proof wrong leaf" "$B" verify-proof --vkey "$LOG" --proof "$F/leaf5.tlog-proof" --leaf-hex 0600000000000000
sed 's/^index 5$/index 4/' "$F/leaf5.tlog-proof" > "$K/bad.tlog-proof"
expect 1 "verify-proof wrong index" "$B" verify-proof --vkey "$LOG" --proof "$K/bad.tlog-proof" --leaf-hex 0500000000000000
expect 2 "verify-proof both leaf options" "$B" verify-proof --vkey "$LOG" --proof "$F/leaf5.tlog-proof" --leaf-hex 05 --leaf-file "$F/leaf5.bin"

# consistency 7 -> 13
expect 0 "verify-consistency" "$B" verify-consistency --vkey "$LOG" --old "$F/small.checkpoint" --new "$F/big.checkpoint" --proof "$F/7-13.proof"
expect 1 "verify-consistency swapped" "$B" verify-consistency --vkey "$LOG" --old "$F/big.checkpoint" --new "$F/small.checkpoint" --proof "$F/7-13.proof"
head -n 1 "$F/7-13.proof" > "$K/short.proof"
expect 1 "verify-consistency truncated proof" "$B" verify-consistency --vkey "$LOG" --old "$F/small.checkpoint" --new "$F/big.checkpoint" --proof "$K/short.proof"

# CLI-only flow: sign a checkpoint, cosign it, verify both
"$B" keygen --out "$K/w" > /dev/null
root=$(printf '' | openssl dgst -sha256 -binary | base64)
expect 0 "sign-checkpoint" "$B" sign-checkpoint --key "$K/m.key" --origin battledger.example/member-a --size 0 --root "$root"
cp "$T/out" "$K/a.checkpoint"
expect 0 "cosign" "$B" cosign --key "$K/w.key" --name witness.example/w --time 1700000000 --file "$K/a.checkpoint"
cp "$T/out" "$K/a.cosigned"
AV=$("$B" vkey --key "$K/m.key" --name battledger.example/member-a)
WV=$("$B" vkey --key "$K/w.key" --name witness.example/w --cosigner)
expect 0 "verify CLI-signed cosigned checkpoint" "$B" verify-checkpoint --vkey "$AV" --witness "$WV" --file "$K/a.cosigned"
expect 1 "Ed25519 vkey is not a witness key" "$B" verify-checkpoint --vkey "$AV" --witness "$AV" --file "$K/a.cosigned"
expect 0 "consistency between equal checkpoints" "$B" verify-consistency --vkey "$LOG" --old "$F/small.checkpoint" --new "$F/small.checkpoint" --proof /dev/null
"$B" sign-checkpoint --key "$F/log.key" --origin example.com/log --size 0 --root "$root" > "$K/empty.checkpoint"
expect 0 "consistency from the empty tree" "$B" verify-consistency --vkey "$LOG" --old "$K/empty.checkpoint" --new "$F/small.checkpoint" --proof /dev/null
expect 1 "empty tree needs an empty proof" "$B" verify-consistency --vkey "$LOG" --old "$K/empty.checkpoint" --new "$F/big.checkpoint" --proof "$F/7-13.proof"

echo "cli: $cli_pass checks passed, $cli_fail failed"
[ "$cli_fail" -eq 0 ] || failed+=(cli)

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]}"
  exit 1
fi
echo "== all unit tests passed"
