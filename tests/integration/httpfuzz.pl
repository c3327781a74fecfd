#!/usr/bin/perl
# tests/integration/httpfuzz.pl - hostile HTTP clients for tests/integration/badinput.sh
#
#   httpfuzz.pl truncate PORT TOKEN PATH MEDIA FILE   every prefix of FILE as a body
#   httpfuzz.pl mutate PORT TOKEN PATH MEDIA FILE N SEED
#                                                   N seeded mutations of FILE as bodies
#   httpfuzz.pl raw PORT FILE SECS                  send FILE's bytes as they are, print the
#                                                   status line (or "closed" / "timeout")
#   httpfuzz.pl slow PORT TOKEN PATH MEDIA FILE DELAY_MS
#                                                   send a whole request a few bytes at a
#                                                   time, DELAY_MS apart; print the status
#   httpfuzz.pl stall PORT TOKEN PATH WHAT LIMIT    send part of a request (WHAT: "line",
#                                                   "headers" or "body"), then nothing; print
#                                                   how long until the server closed it
#
# truncate and mutate check every answer: it must come within 10 s, have a status in
# 200/201/400/404/409/413/415/422, be JSON (for predictions and labels with accepted and
# rejected), and for 4xx be application/problem+json with type, title, detail and a
# matching status. Each prints a summary ("N requests: 200 x a, 400 x b")
# and exits 1 after the first bad answer, saving the body that caused it to FILE.bad.N and
# printing a curl line that repeats it. One connection per request (Connection: close).
use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $cmd = shift @ARGV or die "usage: httpfuzz.pl truncate|mutate|raw|slow|stall ...\n";

sub slurp {
	my ($f) = @_;
	open(my $h, '<:raw', $f) or die "httpfuzz: $f: $!\n";
	local $/;
	my $d = <$h>;
	close $h;
	return $d // '';
}

sub connect_to {
	my ($port) = @_;
	for my $try (1 .. 50) {
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
			Proto => 'tcp', Timeout => 5);
		if ($s) {
			binmode $s;
			$s->autoflush(1);
			return $s;
		}
		sleep 0.02; # the accept queue may be full for a moment
	}
	return undef;
}

# request PORT RAW-BYTES: send them, read the answer until the server closes.
# Returns (status, headers hashref, body) or (undef, why).
sub request {
	my ($port, $raw, $limit) = @_;
	$limit //= 10;
	my $s = connect_to($port) or return (undef, "cannot connect: $!");
	my $buf = '';
	my $ok = eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		local $SIG{PIPE} = 'IGNORE';
		alarm $limit;
		my $off = 0;
		while ($off < length $raw) {
			my $n = syswrite($s, $raw, 65536, $off);
			last unless defined $n; # the server may answer early (413) and close
			$off += $n;
		}
		# until the server closes, or the answer is complete (keep-alive)
		while (1) {
			my $n = sysread($s, my $chunk, 65536);
			last unless $n;
			$buf .= $chunk;
			my $e = index($buf, "\r\n\r\n");
			if ($e >= 0 && substr($buf, 0, $e) =~ /\r\ncontent-length:\s*(\d+)/i) {
				last if length($buf) >= $e + 4 + $1;
			}
		}
		alarm 0;
		1;
	};
	close $s;
	return (undef, $@ =~ /timeout/ ? 'timeout' : "error: $@") unless $ok;
	return (undef, 'closed without an answer') if $buf eq '';
	my ($head, $body) = split /\r\n\r\n/, $buf, 2;
	my @lines = split /\r\n/, $head;
	my $status = shift @lines;
	return (undef, "bad status line: $status") unless $status =~ m{^HTTP/1\.[01] (\d{3})};
	my $code = $1;
	my %h;
	for (@lines) {
		$h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
	}
	return ($code, \%h, $body // '');
}

sub post_raw {
	my ($path, $token, $media, $body) = @_;
	return "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" .
	    "Authorization: Bearer $token\r\nContent-Type: $media\r\n" .
	    "Content-Length: " . length($body) . "\r\n\r\n" . $body;
}

my %allowed = map { $_ => 1 } qw(200 201 400 404 409 413 415 422);

# Check one answer; returns '' when it is fine, else why not.
sub judge {
	my ($code, $h, $body, $batch) = @_;
	return $h unless defined $code; # $h holds the reason
	return "status $code" unless $allowed{$code};
	my $doc = eval { JSON::PP->new->decode($body) };
	return "status $code with a body that is not JSON: " . substr($body, 0, 200) unless $doc;
	if ($code >= 400) {
		my $ct = $h->{'content-type'} // '';
		return "status $code as $ct, not application/problem+json"
		    unless $ct eq 'application/problem+json';
		return "status $code: problem lacks type/title/detail or has another status"
		    unless ref $doc eq 'HASH' && defined $doc->{type} && defined $doc->{title} &&
		    defined $doc->{detail} && ($doc->{status} // 0) == $code;
	} elsif ($batch) {
		return "status $code without accepted/rejected"
		    unless ref $doc eq 'HASH' && defined $doc->{accepted} && ref $doc->{rejected} eq 'ARRAY';
	}
	return '';
}

sub report {
	my ($n, $counts) = @_;
	my @c = map { "$_ x $counts->{$_}" } sort keys %$counts;
	print "$n requests: ", join(', ', @c), "\n";
}

sub fail_with {
	my ($file, $i, $body, $why, $port, $token, $path, $media) = @_;
	my $bad = "$file.bad.$i";
	open(my $o, '>:raw', $bad) or die;
	print $o $body;
	close $o;
	print "BAD ANSWER to body $i ($why)\n";
	print "repeat: curl -s -H 'Authorization: Bearer $token' -H 'Content-Type: $media' " .
	    "--data-binary \@$bad http://127.0.0.1:$port$path\n";
	exit 1;
}

if ($cmd eq 'truncate') {
	my ($port, $token, $path, $media, $file) = @ARGV;
	my $full = slurp($file);
	my %counts;
	for my $n (0 .. length($full) - 1) {
		my $body = substr($full, 0, $n);
		my ($code, $h, $b) = request($port, post_raw($path, $token, $media, $body));
		my $why = judge($code, $h, $b, $path =~ m{/(predictions|labels)$});
		fail_with($file, $n, $body, $why, $port, $token, $path, $media) if $why;
		$counts{$code}++;
	}
	report(length $full, \%counts);
	exit 0;
}

if ($cmd eq 'mutate') {
	my ($port, $token, $path, $media, $file, $n, $seed) = @ARGV;
	my $orig = slurp($file);
	srand($seed);
	# fragments that have broken parsers before
	my @frag = ('[', ']', '{', '}', '"', '\\', '\\u', '\\ud800', '\\u0000', ',', ':', 'NaN',
		'-Infinity', '1e999', '-0', '0.', '1e', '00', "\xff", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe2\x82", "\x00", "\r", "\n", "\r\n", "\t", 'null', 'true',
		'"features":', '"segments":', '"id":', '"score":', '9' x 400, '1' . ('0' x 330),
		'0.' . ('1' x 800), '1e-400', '[' x 40, ('{"a":' x 40), '"' . ('x' x 300) . '"',
		'""', '"a","b"', ';', "\xef\xbb\xbf");
	my %counts;
	for my $i (1 .. $n) {
		my $b = $orig;
		my $ops = 1 + int(rand(4));
		for (1 .. $ops) {
			my $len = length $b;
			my $pos = $len ? int(rand($len)) : 0;
			my $op = int(rand(6));
			if ($op == 0 && $len) {          # flip a bit
				substr($b, $pos, 1) = chr(ord(substr($b, $pos, 1)) ^ (1 << int(rand(8))));
			} elsif ($op == 1 && $len) {     # delete a run
				substr($b, $pos, 1 + int(rand(8))) = '';
			} elsif ($op == 2) {             # insert a fragment
				substr($b, $pos, 0) = $frag[int(rand(@frag))];
			} elsif ($op == 3 && $len) {     # replace a run with a fragment
				substr($b, $pos, 1 + int(rand(6))) = $frag[int(rand(@frag))];
			} elsif ($op == 4 && $len) {     # duplicate a run
				my $l = 1 + int(rand(40));
				substr($b, $pos, 0) = substr($b, $pos, $l);
			} elsif ($len) {                 # truncate
				$b = substr($b, 0, $pos);
			}
		}
		my ($code, $h, $body) = request($port, post_raw($path, $token, $media, $b));
		my $why = judge($code, $h, $body, $path =~ m{/(predictions|labels)$});
		fail_with($file, $i, $b, $why, $port, $token, $path, $media) if $why;
		$counts{$code}++;
	}
	report($n, \%counts);
	exit 0;
}

if ($cmd eq 'raw') {
	my ($port, $file, $secs) = @ARGV;
	my ($code, $h, $body) = request($port, slurp($file), $secs // 10);
	if (defined $code) {
		print "$code\n";
	} else {
		print(($h =~ /timeout/ ? 'timeout' : 'closed'), "\n");
	}
	exit 0;
}

if ($cmd eq 'slow') {
	my ($port, $token, $path, $media, $file, $delay) = @ARGV;
	my $raw = post_raw($path, $token, $media, slurp($file));
	my $s = connect_to($port) or do { print "cannot connect\n"; exit 1 };
	local $SIG{PIPE} = 'IGNORE';
	for (my $off = 0; $off < length $raw; $off += 7) {
		unless (defined syswrite($s, substr($raw, $off, 7))) {
			print "closed while sending\n";
			exit 1;
		}
		sleep $delay / 1000;
	}
	my $buf = '';
	local $SIG{ALRM} = sub { print "timeout\n"; exit 1 };
	alarm 10;
	while (sysread($s, my $c, 65536)) { $buf .= $c }
	my ($line) = split /\r\n/, $buf;
	my ($code) = ($line // '') =~ m{^HTTP/1\.[01] (\d{3})};
	my (undef, $body) = split /\r\n\r\n/, $buf, 2;
	print(($code // 'closed'), " ", ($body // ''), "\n");
	exit 0;
}

if ($cmd eq 'stall') {
	my ($port, $token, $path, $what, $limit) = @ARGV;
	my $s = connect_to($port) or do { print "cannot connect\n"; exit 1 };
	local $SIG{PIPE} = 'IGNORE';
	my $part;
	if ($what eq 'line') {
		$part = "POST $path HT";
	} elsif ($what eq 'headers') {
		$part = "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $token\r\nContent-Ty";
	} else {
		$part = "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $token\r\n" .
		    "Content-Type: application/x-ndjson\r\nContent-Length: 5000\r\n\r\n{\"id\": \"stalled\", ";
	}
	# trickle the part in, then stop
	for my $ch (split //, $part) {
		syswrite($s, $ch);
		sleep 0.01;
	}
	my $t0 = time;
	local $SIG{ALRM} = sub { printf "still open after %d s\n", $limit; exit 1 };
	alarm $limit;
	my $buf = '';
	while (sysread($s, my $c, 4096)) { $buf .= $c }
	my ($line) = split /\r\n/, $buf;
	printf "closed after %.1f s%s\n", time - $t0, $line ? " ($line)" : '';
	exit 0;
}

die "httpfuzz: unknown command $cmd\n";
