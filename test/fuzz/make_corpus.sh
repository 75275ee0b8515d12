#!/usr/bin/env bash
# Rebuilds the seed corpus in test/fuzz/corpus/<target>/ from the project's
# own outputs: notes, checkpoints, cosignatures and vkeys written by the CLI
# with the committed TEST-ONLY key, tlog-proof bundles assembled from them
# (and checked with `battledger verify-proof`), the RFC 9162 vectors in
# test/vectors, and the identifiers of the battery_id regression test.
#
# Run it only when a format changes: the seeds are committed, and the fuzz
# targets (fuzz.h) expect the names and the tree used here (leaves
# "leaf 0".."leaf 12").  Seeds whose name starts with "crash-" are
# regression inputs of fixed bugs and are kept.  Everything is deterministic
# (Ed25519 signatures are) except the EC and encrypted PEM keys, which
# openssl generates afresh.
set -euo pipefail
cd "$(dirname "$0")/../.."

C=test/fuzz/corpus
KEY=test/data/TEST-ONLY-log.key
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

gcc -std=c99 -O2 -Isrc/core -o "$T/battledger" src/cli/*.c src/core/codec.c src/core/note.c src/core/ed25519.c src/core/merkle.c \
  src/core/batch.c src/core/sha256.c -lcrypto
B="$T/battledger"

mkdir -p "$C"
find "$C" -type f ! -name 'crash-*' -delete
for t in base64 vkey vkey_list checkpoint note tlog_proof merkle batch pem hash256 battery_id number cli; do
  mkdir -p "$C/$t"
done
seed() { cat > "$C/$1/seed-$2"; }

# The seeds' tree as RFC 9162 defines it (MTH, PATH, PROOF), in Perl, so that
# the generated proofs are checked by an implementation other than merkle.c.
cat > "$T/tree.pl" <<'PERL'
use strict;
use warnings;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64);
my @d = map { "leaf $_" } 0 .. 12;
sub k { my $n = shift; my $k = 1; $k *= 2 while $k * 2 < $n; $k }
sub mth {
  my @x = @_;
  return sha256('') if !@x;
  return sha256("\x00" . $x[0]) if @x == 1;
  my $k = k(scalar @x);
  sha256("\x01" . mth(@x[0 .. $k - 1]) . mth(@x[$k .. $#x]));
}
sub path {
  my ($m, @x) = @_;
  return () if @x <= 1;
  my $k = k(scalar @x);
  $m < $k ? (path($m, @x[0 .. $k - 1]), mth(@x[$k .. $#x]))
          : (path($m - $k, @x[$k .. $#x]), mth(@x[0 .. $k - 1]));
}
sub subproof {
  my ($m, $b, @x) = @_;
  return $b ? () : (mth(@x)) if $m == @x;
  my $k = k(scalar @x);
  $m <= $k ? (subproof($m, $b, @x[0 .. $k - 1]), mth(@x[$k .. $#x]))
           : (subproof($m - $k, 0, @x[$k .. $#x]), mth(@x[0 .. $k - 1]));
}
sub b64 { my $s = encode_base64(shift, ''); "$s\n" }
my ($what, $m, $n) = @ARGV;
print b64(mth(@d[0 .. $m - 1])) if $what eq 'root';
print map { b64($_) } path($m, @d[0 .. $n - 1]) if $what eq 'path';
print map { b64($_) } subproof($m, 1, @d[0 .. $n - 1]) if $what eq 'proof';
print b64(sha256("\x00" . $d[$m])) if $what eq 'leaf';
PERL
tree() { perl "$T/tree.pl" "$@"; }

LOG=$("$B" vkey --key "$KEY" --name fuzz.test/log)
WIT=$("$B" vkey --key "$KEY" --name fuzz.test/witness --cosigner)
for size in 0 7 13; do
  "$B" sign-checkpoint --key "$KEY" --origin fuzz.test/log --size "$size" \
    --root "$(tree root "$size" | tr -d '\n')" > "$T/cp$size"
done
"$B" cosign --key "$KEY" --name fuzz.test/witness --time 1700000000 --file "$T/cp13" > "$T/cp13w"
"$B" cosign --key "$KEY" --name fuzz.test/witness2 --time 1700000001 --file "$T/cp13w" > "$T/cp13ww"
tree path 5 13 > "$T/path"
tree proof 7 13 > "$T/proof"
"$B" verify-checkpoint --vkey "$LOG" --witness "$WIT" --file "$T/cp13w" > /dev/null
"$B" verify-consistency --vkey "$LOG" --old "$T/cp7" --new "$T/cp13" --proof "$T/proof" > /dev/null

# tlog-proof bundles for leaf 5, with and without an extra line
bundle() {
  printf 'c2sp.org/tlog-proof@v1\n%sindex 5\n' "$1"
  cat "$T/path"
  printf '\n'
  cat "$T/cp13w"
}
bundle '' > "$T/bundle"
bundle "extra $(printf 'row 5 metadata' | base64)"$'\n' > "$T/bundle-extra"
for f in bundle bundle-extra; do
  "$B" verify-proof --vkey "$LOG" --witness "$WIT" --proof "$T/$f" \
    --leaf-hex "$(printf 'leaf 5' | xxd -p)" > /dev/null
done

# base64, decimals, names, hex
tree root 13 | tr -d '\n' | seed base64 root
printf 'ZXh0cmE=' | seed base64 padded
printf '18446744073709551615' | seed base64 u64-max
printf '13' | seed base64 u64
printf 'fuzz.test/log' | seed base64 key-name
printf 'caf\xc3\xa9 \xe2\x80\x94 line' | seed base64 utf8-line
printf '0123456789abcdefABCDEF' | seed base64 hex

printf '%s' "$LOG" | seed vkey log
printf '%s' "$WIT" | seed vkey witness

# key lists (fuzz_vkey_list.c): the first byte picks the algorithm (bit 0)
# and the limit (bits 1-4: limit - 1) and the era (bits 5-7: era + 1)
"$B" keygen --out "$T/k2" > /dev/null
LOG2=$("$B" vkey --key "$T/k2.key" --name fuzz.test/log)
OTHER=$("$B" vkey --key "$T/k2.key" --name fuzz.test/other)
printf '\x20%s' "$LOG" | seed vkey_list one
printf '\x22%s\n%s\r\n\n' "$LOG2" "$LOG" | seed vkey_list rotated-crlf
printf '\x42%s\n%s' "$LOG" "$LOG2" | seed vkey_list era-1
printf '\x21%s' "$WIT" | seed vkey_list witness
printf '\x22%s\n%s' "$LOG" "$LOG" | seed vkey_list duplicate
printf '\x22%s\n%s' "$LOG" "$OTHER" | seed vkey_list two-names
printf '\x20%s\n%s' "$LOG" "$LOG2" | seed vkey_list too-many
printf '\x20\n\r\n' | seed vkey_list empty

for f in cp0 cp7 cp13w cp13ww; do seed note "$f" < "$T/$f"; done
sed '/^$/,$d' "$T/cp13" | seed checkpoint body13
sed '/^$/,$d' "$T/cp0" | seed checkpoint body0
{ sed '/^$/,$d' "$T/cp7"; printf 'ext one\n\xe2\x80\x94 ext two\n'; } | seed checkpoint body7-ext

seed tlog_proof leaf5 < "$T/bundle"
seed tlog_proof leaf5-extra < "$T/bundle-extra"

# merkle: u8 t, u64le a, u64le b, root1, root2, leaf hash, proof hashes
cat > "$T/merkle.pl" <<'PERL'
use strict;
use warnings;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
my ($out, @files) = @ARGV;
my $n = 0;
sub h { my $x = decode_base64($_[0] // ''); length($x) == 32 ? $x : substr($x . ("\0" x 32), 0, 32) }
for my $f (sort @files) {
  open(my $fh, '<', $f) or die "$f: $!";
  my $v = decode_json(do { local $/; <$fh> });
  close($fh);
  my $bin = exists $v->{leafIdx}
    ? pack('C Q< Q<', 13, $v->{leafIdx}, $v->{treeSize}) . h($v->{root}) . ("\0" x 32) . h($v->{leafHash})
    : pack('C Q< Q<', 13, $v->{size1}, $v->{size2}) . h($v->{root1}) . h($v->{root2}) . ("\0" x 32);
  $bin .= join('', map { h($_) } @{ $v->{proof} // [] });
  (my $name = $f) =~ s{.*/rfc9162/}{}; $name =~ s{[/.]}{-}g;
  open(my $o, '>', "$out/seed-$name") or die; binmode $o; print $o $bin; close($o);
  $n++;
}
PERL
mapfile -t vectors < <(find test/vectors/rfc9162 -name '*.json')
perl "$T/merkle.pl" "$C/merkle" "${vectors[@]}"
{ printf '\x0d'; perl -e 'print pack("Q< Q<", 5, 13)';
  tree root 13 | base64 -d; head -c 32 /dev/zero; tree leaf 5 | base64 -d
  base64 -d < "$T/path"; } | seed merkle leaf5
{ printf '\x0d'; perl -e 'print pack("Q< Q<", 7, 13)';
  tree root 7 | base64 -d; tree root 13 | base64 -d; head -c 32 /dev/zero
  base64 -d < "$T/proof"; } | seed merkle 7-13

{ printf '\x05lot-7'; for i in 3 1 2; do printf '%064x' "$i" | xxd -r -p; done; } | seed batch lot-7

seed pem test-key < "$KEY"
openssl pkey -in "$KEY" -pubout | seed pem test-pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null > "$T/ec.key"
seed pem ec-key < "$T/ec.key"
openssl pkey -in "$T/ec.key" -pubout | seed pem ec-pub
openssl pkcs8 -topk8 -in "$KEY" -passout pass:fuzz -v2 aes-256-cbc | seed pem encrypted-key

printf '%064x' 0 | seed hash256 zero
printf 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' | seed hash256 upper
printf 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8g5' | seed hash256 bad-digit

# masses as members write them, and what _json_num() must refuse without an error
i=0
for n in '12.5' ' -0.001e-3 ' '.5' '100' '+7.' 'NaN' 'Infinity' '1e1000' '1_000' '0x1A' 'abc' '1.2.3' '--1' 'e5' ''; do
  i=$((i + 1)); printf '%s' "$n" | seed number "$(printf '%02d' "$i")"
done

# every quoted literal of the battery_id regression test that names an identifier
perl -ne 'while (/\x27((?:[^\x27]|\x27\x27)*)\x27/g) { my $s = $1; $s =~ s/\x27\x27/\x27/g;
  print "$s\n" if $s =~ m{^\s*(https?:|\(01\)|gs1:|iso15459:|[a-z0-9+.-]+:)}i && length($s) < 200 }' \
  sql/battery_id.sql | sort -u > "$T/bids"
i=0
while IFS= read -r line; do
  i=$((i + 1)); printf '%s' "$line" | seed battery_id "$(printf '%03d' "$i")"
done < "$T/bids"

seed cli bundle < "$T/bundle"
seed cli checkpoint < "$T/cp13w"
seed cli path < "$T/path"
seed cli proof-7-13 < "$T/proof"
printf '6c6561662035' | seed cli hex

for d in "$C"/*/; do printf '%-22s %3d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"; done
