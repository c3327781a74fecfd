#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# bench/gen_service.pl - the rows of the service benchmark (bench/service.sh), fixed seed
#
#   gen_service.pl OUTDIR N BATCH
#
# N predictions with 16 numeric features (f01..f16) and 3 segments (s1: 2 values, s2: 3,
# s3: 4), one every 2 s ending 2 days before the start of the UTC day it was made (past
# times stay valid, so the files are reused), and a label for each. Writes under OUTDIR:
#   pred/bNNNN.ndjson   the predictions as NDJSON batches of BATCH (what the clients send)
#   labels/bNNNN.ndjson their labels, batched the same way
#   copy.txt            the same predictions as COPY text for predictions (client_id, ts,
#                       score, num, cat, seg): what psql \copy loads, values as the same
#                       digits
#   range               "FROM TO": RFC 3339 bounds around every ts (TO exclusive)
#   STAMP               written last: N BATCH and this script's size, to reuse the files
use strict;
use warnings;
use POSIX qw(strftime floor);

my ($out, $n, $batch) = @ARGV;
die "usage: gen_service.pl OUTDIR N BATCH\n" unless $out && $n && $batch;
mkdir $out;
mkdir "$out/pred";
mkdir "$out/labels";
unlink "$out/STAMP";

# a 31-bit LCG (exact in perl's doubles), so the data is the same everywhere
my $state = 20240601;
sub urand {
	$state = ($state * 1103515245 + 12345) % 2147483648;
	return $state / 2147483648.0;
}

my $day0 = floor(time / 86400) * 86400;
my $t1 = $day0 - 2 * 86400;
my $t0 = $t1 - 2 * $n;
open(my $copy, '>', "$out/copy.txt") or die "$out/copy.txt: $!\n";
my @s1 = qw(female male);
my @s2 = qw(north centre south);
my @s3 = qw(ct mri xray us);
my ($pf, $lf);
for my $i (0 .. $n - 1) {
	if ($i % $batch == 0) {
		close $pf if $pf;
		close $lf if $lf;
		my $b = sprintf "b%04d", $i / $batch;
		open($pf, '>', "$out/pred/$b.ndjson") or die;
		open($lf, '>', "$out/labels/$b.ndjson") or die;
	}
	my $id = "p$i";
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($t0 + 2 * $i));
	my @f = map { sprintf "%.4f", 100 * urand() - 20 } 1 .. 16;
	my ($a, $b, $c) = ($s1[int(urand() * 2)], $s2[int(urand() * 3)], $s3[int(urand() * 4)]);
	# the score depends on two features and a segment, the label on the score: AUROC ~0.8
	my $z = ($f[0] - 30) / 30 + ($f[1] - 30) / 60 + ($a eq 'male' ? 0.3 : 0);
	my $p = 1 / (1 + exp(-$z));
	my $score = sprintf "%.5f", $p;
	my $label = urand() < $p ? 1 : 0;
	my $feat = join(',', map { sprintf "\"f%02d\":%s", $_ + 1, $f[$_] } 0 .. 15);
	print $pf "{\"id\":\"$id\",\"ts\":\"$ts\",\"score\":$score,\"features\":{$feat},\"segments\":{\"s1\":\"$a\",\"s2\":\"$b\",\"s3\":\"$c\"}}\n";
	print $lf "{\"prediction_id\":\"$id\",\"label\":$label,\"ts\":\"$ts\"}\n";
	print $copy "$id\t$ts\t$score\t{" . join(',', @f) . "}\t{}\t{$a,$b,$c}\n";
}
close $pf;
close $lf;
close $copy;
open(my $r, '>', "$out/range") or die;
print $r strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($t0)), " ",
    strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($t1 + 1)), "\n";
close $r;
open(my $s, '>', "$out/STAMP") or die;
print $s "$n $batch ", -s $0, "\n";
close $s;
