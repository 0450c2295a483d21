#!/usr/bin/env bash
# testnet.sh — a small authoritative DNS hierarchy on loopback, served by NSD.
#
#   tests/testnet/testnet.sh start DIR    generate zones, keys and configs into DIR,
#                                   start the servers, wait until they answer
#   tests/testnet/testnet.sh stop DIR     stop exactly the servers `start` started
#
# Options after DIR (for bench/compare.sh):
#   --nsd-port PORT      NSD listens on PORT instead of 53 (a delaying proxy
#                        then takes port 53 of the same addresses)
#   --bench-domains N    also generate N mail domains for the benchmark, senders
#                        and client addresses for its inbound mode
#                        (see write_bench_zones)
#
# Root hints cannot carry a port number, so every server gets its own loopback
# address and listens on port 53 there:
#
#   127.0.0.2  "."                       signed (its key is the trust anchor)
#   127.0.0.3  "com." "net." signed; "arpa." unsigned (holds a few PTRs)
#   127.0.0.4  "yada123.com." unsigned, "signed123.com." signed,
#              "bogus123.com." signed with deliberately broken MX/A signatures
#   127.0.0.5  "mailhost.net." unsigned (out-of-zone exchangers, CNAME targets);
#              "spfprov.net." (a shared SPF provider, includes three deep) and
#              "128-25.2.0.11.in-addr.arpa." (an RFC 2317 classless delegation)
#   127.0.0.4  also "spfsender.com." (a receiving server's senders: SPF trees,
#              DMARC, and the forward names of the inbound reverse entries)
#   127.0.0.66 nothing: the only name server of "dead123.com." (a delegation
#              that never answers, for resolver deadlines)
#
# Everything lives in DIR: zones/ (zone files, signed copies), keys/ (DNSSEC
# keys), nsd-<server>/ (config, log, pidfile, control socket), plus
#   DIR/root.hints     root hints pointing at 127.0.0.2
#   DIR/root.key       trust anchor (the test root's KSK as a DNSKEY record)
#   DIR/unbound.conf   a Debian-unbound config that recurses through this net
#   DIR/env            shell-sourceable variables naming all of the above
#
# Needs root (port 53) and Debian's nsd, ldnsutils and dnsutils packages.
set -euo pipefail

# Servers as name=address; the name is used for the per-server directory.
SERVERS=(root=127.0.0.2 tld=127.0.0.3 mail=127.0.0.4 mailhost=127.0.0.5)

# The zones each server carries (zone name -> server name).
declare -A ZONE_SERVER=(
    [.]=root
    [com.]=tld [net.]=tld [arpa.]=tld
    [yada123.com.]=mail [signed123.com.]=mail [bogus123.com.]=mail
    [mailhost.net.]=mailhost
    [spfsender.com.]=mail [spfprov.net.]=mailhost [128-25.2.0.11.in-addr.arpa.]=mailhost
)

READY_TIMEOUT=10 # seconds to wait for all servers to answer
STOP_TIMEOUT=10  # seconds to wait for the servers to exit
NSD_PORT=53      # --nsd-port
BENCH_DOMAINS=0  # --bench-domains
# Generated benchmark zones (zone name -> server name), see write_bench_zones.
declare -A BENCH_ZONE_SERVER=()

die() {
    echo "testnet: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|stop DIR [--nsd-port PORT] [--bench-domains N]" >&2
    exit 2
}

# File name of a zone: "." is "root", otherwise the name without the dot.
zone_file_name() {
    if [[ $1 == . ]]; then echo root; else echo "${1%.}"; fi
}

server_addr() {
    local entry
    for entry in "${SERVERS[@]}"; do
        if [[ ${entry%%=*} == "$1" ]]; then
            echo "${entry#*=}"
            return
        fi
    done
    die "unknown server $1"
}

# ---------------------------------------------------------------- zone data

write_zones() {
    local z=$DIR/zones
    mkdir -p "$z"

    # The root. a.root-servers.net and ns1.tld-servers.net sit below the net.
    # delegation, so here they are glue; net. holds them authoritatively.
    cat >"$z/root.zone" <<'EOF'
$ORIGIN .
$TTL 86400
.                       SOA   a.root-servers.net. hostmaster.root-servers.net. 1 1800 900 604800 3600
.                       NS    a.root-servers.net.
a.root-servers.net.     A     127.0.0.2
com.                    NS    ns1.tld-servers.net.
net.                    NS    ns1.tld-servers.net.
arpa.                   NS    ns1.tld-servers.net.
ns1.tld-servers.net.    A     127.0.0.3
EOF

    cat >"$z/com.zone" <<'EOF'
$ORIGIN com.
$TTL 86400
@                       SOA   ns1.tld-servers.net. hostmaster.tld-servers.net. 1 1800 900 604800 3600
@                       NS    ns1.tld-servers.net.
; Each mail domain has an in-bailiwick name server, with glue.
yada123                 NS    ns1.yada123
ns1.yada123             A     127.0.0.4
spfsender               NS    ns1.spfsender
ns1.spfsender           A     127.0.0.4
signed123               NS    ns1.signed123
ns1.signed123           A     127.0.0.4
bogus123                NS    ns1.bogus123
ns1.bogus123            A     127.0.0.4
; A dead delegation: nothing listens on its only name server's address, so
; every lookup below it ends at the resolver's own deadline.
dead123                 NS    ns1.dead123
ns1.dead123             A     127.0.0.66
EOF

    cat >"$z/net.zone" <<'EOF'
$ORIGIN net.
$TTL 86400
@                       SOA   ns1.tld-servers.net. hostmaster.tld-servers.net. 1 1800 900 604800 3600
@                       NS    ns1.tld-servers.net.
; Server names used by the root and the TLDs; not delegated, so they are
; ordinary (signed) data of this zone.
ns1.tld-servers         A     127.0.0.3
a.root-servers          A     127.0.0.2
mailhost                NS    ns1.mailhost
ns1.mailhost            A     127.0.0.5
spfprov                 NS    ns1.spfprov
ns1.spfprov             A     127.0.0.5
EOF

    # Reverse names live directly in arpa. (nothing is delegated below it).
    # 11.0.2.0/24 is used because libunbound has built-in local zones for the
    # reverse trees of private and documentation ranges.
    cat >"$z/arpa.zone" <<'EOF'
$ORIGIN arpa.
$TTL 3600
@                       SOA   ns1.tld-servers.net. hostmaster.tld-servers.net. 1 1800 900 604800 3600
@                       NS    ns1.tld-servers.net.
1.2.0.11.in-addr        PTR   mx1.yada123.com.
2.2.0.11.in-addr        PTR   mx2.mailhost.net.
3.2.0.11.in-addr        PTR   mx1.signed123.com.
; Inbound clients (test_inbound.py): a name that leads back to the address,
; one that does not, two names, none (12 has no PTR: NXDOMAIN), and 129-130
; in a classless delegation (RFC 2317): CNAMEs into 128-25.2.0.11.in-addr.arpa.
10.2.0.11.in-addr       PTR   out.spfsender.com.
11.2.0.11.in-addr       PTR   mismatch.spfsender.com.
13.2.0.11.in-addr       PTR   two-a.spfsender.com.
13.2.0.11.in-addr       PTR   two-b.spfsender.com.
128-25.2.0.11.in-addr   NS    ns1.mailhost.net.
129.2.0.11.in-addr      CNAME 129.128-25.2.0.11.in-addr.arpa.
130.2.0.11.in-addr      CNAME 130.128-25.2.0.11.in-addr.arpa.
EOF

    cat >"$z/128-25.2.0.11.in-addr.arpa.zone" <<'EOF'
$ORIGIN 128-25.2.0.11.in-addr.arpa.
$TTL 3600
@                       SOA   ns1.mailhost.net. hostmaster.mailhost.net. 1 3600 900 604800 300
@                       NS    ns1.mailhost.net.
129                     PTR   classless.spfsender.com.
130                     PTR   relay.spfprov.net.
EOF

    write_spf_zones "$z"

    write_yada_zone "$z/yada123.com.zone"
    if ((BENCH_DOMAINS > 0)); then write_bench_zones; fi

    cat >"$z/mailhost.net.zone" <<'EOF'
$ORIGIN mailhost.net.
$TTL 3600
@                       SOA   ns1.mailhost.net. hostmaster.mailhost.net. 1 3600 900 604800 300
@                       NS    ns1
ns1                     A     127.0.0.5
@                       MX    10 mx2
@                       TXT   "v=spf1 mx -all"
mx2                     A     192.0.2.20
mx2                     AAAA  2001:db8::20
mx3                     A     198.51.100.30
mx3                     AAAA  2001:db8::30
host                    A     198.51.100.10
relay                   CNAME mx2
EOF

    # A TLSA association for DANE; the digest is arbitrary but stable.
    local tlsa
    tlsa=$(printf 'mx1.signed123.com' | sha256sum | cut -d' ' -f1)
    cat >"$z/signed123.com.zone" <<EOF
\$ORIGIN signed123.com.
\$TTL 3600
@                       SOA   ns1.signed123.com. hostmaster.signed123.com. 1 3600 900 604800 300
@                       NS    ns1
ns1                     A     127.0.0.4
@                       MX    10 mx1
@                       TXT   "v=spf1 mx -all"
mx1                     A     192.0.2.60
mx1                     AAAA  2001:db8::60
_25._tcp.mx1            TLSA  3 1 1 $tlsa
EOF

    cat >"$z/bogus123.com.zone" <<'EOF'
$ORIGIN bogus123.com.
$TTL 3600
@                       SOA   ns1.bogus123.com. hostmaster.bogus123.com. 1 3600 900 604800 300
@                       NS    ns1
ns1                     A     127.0.0.4
@                       MX    10 mx1
mx1                     A     192.0.2.50
EOF
}

# yada123.com. is the main mail domain of the tests; each name exercises one
# behaviour of a resolver (see the comments).
write_yada_zone() {
    local f=$1 i
    cat >"$f" <<'EOF'
$ORIGIN yada123.com.
$TTL 3600
@                       SOA   ns1.yada123.com. hostmaster.yada123.com. 1 3600 900 604800 300
@                       NS    ns1
ns1                     A     127.0.0.4
; One in-zone and one out-of-zone exchanger.
@                       MX    10 mx1
@                       MX    20 mx2.mailhost.net.
mx1                     A     192.0.2.10
mx1                     AAAA  2001:db8::10
@                       TXT   "v=spf1 mx -all"
_dmarc                  TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@yada123.com"
_submission._tcp        SRV   0 1 587 mx1
; CNAME chain that leaves the zone: www -> web -> host.mailhost.net.
www                     CNAME web
web                     CNAME host.mailhost.net.
; A only: an AAAA query is NODATA.
onlya                   A     192.0.2.21
; Short TTL, for cache expiry and TTL ageing.
short           2       A     192.0.2.30
; Dedicated names for cache tests (nothing else queries them).
cached                  A     192.0.2.31
aged                    A     192.0.2.32
hit                     A     192.0.2.33
; For the MX chaser: exchangers nobody else asks for.
chase                   MX    10 mxa.chase
chase                   MX    20 mxb.chase
mxa.chase               A     192.0.2.34
mxa.chase               AAAA  2001:db8::34
mxb.chase               A     192.0.2.35
mxb.chase               AAAA  2001:db8::35
; RFC 7505 null MX: this name accepts no mail.
nomail                  MX    0 .
; No MX: mail goes to the address records (implicit MX).
implicit                A     192.0.2.40
implicit                AAAA  2001:db8::40
; An MX target that is an alias (not allowed by RFC 2181, seen in the wild).
cnamemx                 MX    10 alias
alias                   CNAME mx1
EOF

    # big: ten 200-byte strings, about 2.1 KB on the wire. More than an EDNS
    # buffer of 1232 bytes, less than 4 KB.
    local chunk
    chunk=$(printf '%0200d' 0 | tr 0 x)
    for i in $(seq -w 1 10); do
        printf 'big                     TXT   "%s"\n' "$i${chunk:2}"
    done >>"$f"

    # many: 1000 exchangers, each with an address (a large TCP-only answer,
    # and a stress case for an MX chaser).
    for ((i = 1; i <= 1000; i++)); do
        printf 'many                    MX    10 mx%04d.many\n' "$i"
        printf 'mx%04d.many              A     198.51.100.%d\n' "$i" $((i % 250 + 1))
    done >>"$f"

    # h001..h300: many small distinct answers, to fill a small cache.
    for ((i = 1; i <= 300; i++)); do
        printf 'h%03d                    A     203.0.113.%d\n' "$i" $((i % 250 + 1))
    done >>"$f"
}

# A receiving mail server's senders. spfsender.com. includes the shared
# provider _spf.spfprov.net., which includes _netblocks, which includes
# _netblocks3: three levels below the sender, as big mail providers are.
# The other names each exercise one bound of an SPF evaluation.
write_spf_zones() {
    local z=$1 i many1="" many2=""
    for ((i = 1; i <= 6; i++)); do many1+=" a:h$i.many.spfsender.com"; done
    for ((i = 7; i <= 11; i++)); do many2+=" a:h$i.many.spfsender.com"; done
    cat >"$z/spfsender.com.zone" <<EOF
\$ORIGIN spfsender.com.
\$TTL 3600
@                       SOA   ns1 hostmaster 1 3600 900 604800 300
@                       NS    ns1
ns1                     A     127.0.0.4
@                       MX    10 mx1
@                       TXT   "v=spf1 include:_spf.spfprov.net mx a:out.spfsender.com -all"
_dmarc                  TXT   "v=DMARC1; p=reject"
mx1                     A     11.0.2.20
mx1                     AAAA  2001:db8:b::20
out                     A     11.0.2.10
out                     AAAA  2001:db8:b::10
mismatch                A     192.0.2.99
two-a                   A     11.0.2.13
two-b                   A     11.0.2.13
two-b                   AAAA  2001:db8:b::13
classless               A     11.0.2.129
; A record split over two strings (joined before parsing).
split                   TXT   "v=spf1 include:_spf.spf" "prov.net -all"
; Loops: a record that includes itself through another.
loop                    TXT   "v=spf1 include:loop2.spfsender.com -all"
loop2                   TXT   "v=spf1 include:loop.spfsender.com -all"
; Eleven DNS-querying terms: a permerror at the eleventh (two strings: a
; string holds at most 255 bytes).
many                    TXT   "v=spf1$many1" "$many2 -all"
; Macros depend on the message: not chased, pyspf expands them.
macro                   TXT   "v=spf1 exists:%{i}._ip.spfsender.com include:_spf.spfprov.net -all"
; Three names that do not exist: the third void lookup is a permerror.
voids                   TXT   "v=spf1 a:nx1.spfsender.com a:nx2.spfsender.com exists:nx3.spfsender.com include:_spf.spfprov.net -all"
; An include of a name that does not exist: a permerror there.
nxinclude               TXT   "v=spf1 include:nx1.spfsender.com include:_spf.spfprov.net -all"
; Two SPF records: a permerror.
double                  TXT   "v=spf1 -all"
double                  TXT   "v=spf1 ~all"
EOF
    for ((i = 1; i <= 11; i++)); do
        printf 'h%d.many                  A     11.0.2.%d\n' "$i" $((200 + i))
    done >>"$z/spfsender.com.zone"
    cat >"$z/spfprov.net.zone" <<'EOF'
$ORIGIN spfprov.net.
$TTL 3600
@                       SOA   ns1 hostmaster 1 3600 900 604800 300
@                       NS    ns1
ns1                     A     127.0.0.5
_spf                    TXT   "v=spf1 include:_netblocks.spfprov.net ip4:198.51.100.0/26 ~all"
_netblocks              TXT   "v=spf1 include:_netblocks3.spfprov.net ip6:2001:db8:c::/48 ~all"
_netblocks3             TXT   "v=spf1 a:relay.spfprov.net ip4:203.0.113.0/25 ~all"
relay                   A     11.0.2.130
EOF
}

# ---------------------------------------------------------------- bench data

BENCH_PROVIDERS=8       # hosting providers' zones: mxprov0.net. ...
BENCH_PROVIDER_HOSTS=16 # exchangers per provider: mx00 ... mx15

# --bench-domains N: mail domains for bench/ (mxbench --mode mta). Each is
# its own unsigned zone on the mail server, delegated from com. (or net.,
# one in five), with 1-3 exchangers, all with A and AAAA: in the domain's
# own zone, at hosting providers (zones on the mailhost server shared by
# many domains, as big providers are), or one of each. Writes
# DIR/bench-domains.txt (a domain per line) and DIR/bench-queries.txt
# ("name type", every MX, A and AAAA those deliveries ask for), and the
# inbound side (write_bench_inbound).
write_bench_zones() {
    local z=$DIR/zones mail_addr host_addr i j p h k layout label tld name f mx
    local -A seen=()
    mail_addr=$(server_addr mail)
    host_addr=$(server_addr mailhost)
    : >"$DIR/bench-domains.txt"
    : >"$DIR/bench-queries.txt"
    : >"$DIR/bench-inbound.txt"
    for ((p = 0; p < BENCH_PROVIDERS; p++)); do
        name=mxprov$p.net.
        BENCH_ZONE_SERVER[$name]=mailhost
        printf 'mxprov%d NS ns1.mxprov%d\nns1.mxprov%d A %s\n' $p $p $p "$host_addr" >>"$z/net.zone"
        {
            printf '$ORIGIN %s\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 900 604800 300\n' "$name"
            printf '@ NS ns1\nns1 A %s\n' "$host_addr"
            for ((h = 0; h < BENCH_PROVIDER_HOSTS; h++)); do
                printf 'mx%02d A 198.19.%d.%d\n' $h $p $((h + 1))
                printf 'mx%02d AAAA 2001:db8:19:%d::%d\n' $h $p $((h + 1))
            done
        } >"$z/${name%.}.zone"
    done
    for ((i = 1; i <= BENCH_DOMAINS; i++)); do
        tld=com
        if ((i % 5 == 0)); then tld=net; fi
        printf -v label 'dom%04d' "$i"
        name=$label.$tld.
        f=$z/${name%.}.zone
        BENCH_ZONE_SERVER[$name]=mail
        printf '%s NS ns1.%s\nns1.%s A %s\n' "$label" "$label" "$label" "$mail_addr" >>"$z/$tld.zone"
        {
            printf '$ORIGIN %s\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 900 604800 300\n' "$name"
            printf '@ NS ns1\nns1 A %s\n' "$mail_addr"
        } >"$f"
        echo "${name%.}" >>"$DIR/bench-domains.txt"
        echo "${name%.} MX" >>"$DIR/bench-queries.txt"
        k=$((1 + i % 3))
        layout=$((i / 3 % 3)) # 0: own zone, 1: providers, 2: one of each
        for ((j = 1; j <= k; j++)); do
            if ((layout == 0 || (layout == 2 && j == 1))); then
                mx=mx$j.$name
                printf '@ MX %d mx%d\nmx%d A 198.18.%d.%d\nmx%d AAAA 2001:db8:18:%d::%d\n' \
                    $((10 * j)) $j $j $((i / 250)) $((i % 250 + 1)) $j $i $j >>"$f"
            else
                p=$(((i * 7 + j) % BENCH_PROVIDERS))
                h=$(((i * 13 + j * 5) % BENCH_PROVIDER_HOSTS))
                printf -v mx 'mx%02d.mxprov%d.net.' $h $p
                printf '@ MX %d %s\n' $((10 * j)) "$mx" >>"$f"
            fi
            if [[ -z ${seen[$mx]:-} ]]; then
                seen[$mx]=1
                printf '%s A\n%s AAAA\n' "${mx%.}" "${mx%.}" >>"$DIR/bench-queries.txt"
            fi
        done
        write_bench_inbound "$i" "$name" "$f"
    done
}

BENCH_SPF_PROVIDERS=3 # shared SPF providers: spfprov0.net. ...

# The providers: _spf includes _netblocks, which includes _netblocks3,
# which has an "a" term: three levels below the sender, as Google's and
# Microsoft's records are.
write_bench_spf_providers() {
    local z=$DIR/zones p name host_addr
    host_addr=$(server_addr mailhost)
    for ((p = 0; p < BENCH_SPF_PROVIDERS; p++)); do
        name=spfprov$p.net.
        BENCH_ZONE_SERVER[$name]=mailhost
        printf 'spfprov%d NS ns1.spfprov%d\nns1.spfprov%d A %s\n' $p $p $p "$host_addr" >>"$z/net.zone"
        cat >"$z/${name%.}.zone" <<EOF
\$ORIGIN $name
\$TTL 3600
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
ns1 A $host_addr
_spf TXT "v=spf1 include:_netblocks.$name ip4:198.51.$p.0/24 ~all"
_netblocks TXT "v=spf1 include:_netblocks3.$name ip6:2001:db8:$p::/48 ~all"
_netblocks3 TXT "v=spf1 a:relay.$name ip4:203.0.$p.0/24 ~all"
relay A 198.18.250.$((p + 1))
EOF
    done
    # Clients of the classless (RFC 2317) delegation: 11.1.0.128/25.
    BENCH_ZONE_SERVER[128-25.0.1.11.in-addr.arpa.]=mailhost
    printf '128-25.0.1.11.in-addr NS ns1.mailhost.net.\n' >>"$z/arpa.zone"
    printf '$ORIGIN 128-25.0.1.11.in-addr.arpa.\n$TTL 3600\n@ SOA ns1.mailhost.net. hostmaster.mailhost.net. 1 3600 900 604800 300\n@ NS ns1.mailhost.net.\n' \
        >"$z/128-25.0.1.11.in-addr.arpa.zone"
}

# Domain $1 ($2, zone file $3) as a sender: an SPF record with "mx" and an
# include of a shared provider, a DMARC record, and a client address whose
# reverse entry (one domain in four each) leads back to it, leads to a name
# that does not, is missing, or sits in the classless delegation. Writes a
# line "ADDRESS DOMAIN" to DIR/bench-inbound.txt (mxbench --mode inbound).
write_bench_inbound() {
    local i=$1 name=$2 f=$3 z=$DIR/zones x y addr
    ((i > 1)) || write_bench_spf_providers
    printf '@ TXT "v=spf1 mx include:_spf.spfprov%d.net -all"\n_dmarc TXT "v=DMARC1; p=quarantine"\n' \
        $((i % BENCH_SPF_PROVIDERS)) >>"$f"
    x=$((i / 250 + 1)) y=$((i % 250 + 1))
    case $((i % 4)) in
    0) addr=11.1.$x.$y
       printf '%d.%d.1.11.in-addr PTR mail.%s\n' $y $x "$name" >>"$z/arpa.zone"
       printf 'mail A %s\nmail AAAA 2001:db8:11:%d::%d\n' "$addr" $x $y >>"$f" ;;
    1) addr=11.1.$x.$y
       printf '%d.%d.1.11.in-addr PTR other.%s\n' $y $x "$name" >>"$z/arpa.zone"
       printf 'other A 198.18.251.%d\n' $y >>"$f" ;;
    2) addr=11.1.$x.$y ;;
    3) addr=11.1.0.$((128 + i / 4 % 128))
       printf '%d.0.1.11.in-addr CNAME %d.128-25.0.1.11.in-addr.arpa.\n' $((128 + i / 4 % 128)) \
           $((128 + i / 4 % 128)) >>"$z/arpa.zone"
       printf '%d PTR mail.%s\n' $((128 + i / 4 % 128)) "$name" >>"$z/128-25.0.1.11.in-addr.arpa.zone"
       printf 'mail A %s\n' "$addr" >>"$f" ;;
    esac
    echo "$addr ${name%.}" >>"$DIR/bench-inbound.txt"
}

# ---------------------------------------------------------------- DNSSEC

# Generate a KSK and a ZSK for zone $1 and sign its zone file into
# <file>.signed. The KSK's DS record goes to stdout (for the parent).
sign_zone() {
    local zone=$1 name ksk zsk
    name=$(zone_file_name "$zone")
    # ldns-keygen writes its files into the current directory.
    ksk=$(cd "$DIR/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$zone")
    zsk=$(cd "$DIR/keys" && ldns-keygen -a ECDSAP256SHA256 "$zone")
    # Inception an hour in the past, so that clock skew between signing and
    # validation never makes a fresh signature "not yet valid".
    ldns-signzone -o "$zone" -i "$(date -u -d '1 hour ago' +%Y%m%d%H%M%S)" \
        -f "$DIR/zones/$name.zone.signed" "$DIR/zones/$name.zone" \
        "$DIR/keys/$ksk" "$DIR/keys/$zsk"
    # The .ds file has no TTL; the parent's $TTL applies.
    cat "$DIR/keys/$ksk.ds"
}

# Break the RRSIGs over the MX and A RRsets of the apex and mx1 of bogus123.
# Only the signature bytes change (one base64 character in the middle of the
# 64-byte ECDSA signature), so the zone still parses and NSD loads it, but
# every validator must reject those RRsets. ns1 stays intact so the server's
# address is never in doubt.
break_bogus_signatures() {
    local f=$DIR/zones/bogus123.com.zone.signed
    awk -v OFS='\t' '
        $4 == "RRSIG" && ($5 == "MX" || $5 == "A") &&
        ($1 == "bogus123.com." || $1 == "mx1.bogus123.com.") {
            sig = $NF
            c = substr(sig, 20, 1)
            $NF = substr(sig, 1, 19) (c == "A" ? "B" : "A") substr(sig, 21)
            broken++
        }
        { print }
        END { if (broken != 2) { print "broke " broken " RRSIGs, expected 2" > "/dev/stderr"; exit 1 } }
    ' "$f" >"$f.tmp"
    mv "$f.tmp" "$f"
}

# Sign bottom-up so that each parent gets its children's DS records before it
# is signed itself.
sign_all() {
    mkdir -p "$DIR/keys"
    local root_ksk
    sign_zone signed123.com. >>"$DIR/zones/com.zone"
    sign_zone bogus123.com. >>"$DIR/zones/com.zone"
    break_bogus_signatures
    sign_zone com. >>"$DIR/zones/root.zone"
    sign_zone net. >>"$DIR/zones/root.zone"
    sign_zone . >/dev/null

    # The trust anchor is the root KSK's DNSKEY record (flags 257), taken from
    # the key file and stripped of ldns's trailing comment.
    root_ksk=$(grep -l 'DNSKEY[[:space:]]*257 ' "$DIR"/keys/K.+*.key)
    sed 's/[[:space:]]*;.*$//' "$root_ksk" >"$DIR/root.key"
}

# Zone file an NSD instance serves: the signed copy where there is one.
served_file() {
    local name
    name=$(zone_file_name "$1")
    if [[ -f $DIR/zones/$name.zone.signed ]]; then
        echo "zones/$name.zone.signed"
    else
        echo "zones/$name.zone"
    fi
}

# ---------------------------------------------------------------- NSD

# One NSD config per server. All state is kept in the server's directory so
# that several instances (and a system nsd) never share a file, and NSD keeps
# running as root without a chroot.
write_nsd_conf() {
    local server=$1 addr=$2 sdir=$DIR/nsd-$1 zone
    mkdir -p "$sdir"
    {
        cat <<EOF
# Generated by testnet.sh for the "$server" server.
server:
    ip-address: $addr
    port: $NSD_PORT
    do-ip4: yes
    do-ip6: no
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "$DIR"
    database: ""
    zonelistfile: "$sdir/zone.list"
    xfrdfile: "$sdir/xfrd.state"
    xfrdir: "$sdir"
    pidfile: "$sdir/nsd.pid"
    logfile: "$sdir/nsd.log"
    cookie-secret-file: "$sdir/cookiesecrets.txt"
    identity: "testnet-$server"
    hide-version: yes
    verbosity: 1

# A Unix socket needs no TLS keys; nsd-control -c <this file> uses it
# (tests read query counters with "stats_noreset").
remote-control:
    control-enable: yes
    control-interface: "$sdir/control.sock"
EOF
        for zone in "${!ZONE_SERVER[@]}"; do
            [[ ${ZONE_SERVER[$zone]} == "$server" ]] || continue
            printf '\nzone:\n    name: "%s"\n    zonefile: "%s"\n' \
                "$zone" "$(served_file "$zone")"
        done
        for zone in "${!BENCH_ZONE_SERVER[@]}"; do
            [[ ${BENCH_ZONE_SERVER[$zone]} == "$server" ]] || continue
            printf '\nzone:\n    name: "%s"\n    zonefile: "zones/%s.zone"\n' \
                "$zone" "${zone%.}"
        done
        # Benchmark load is far above NSD's default response rate limit
        # (200/s), which would drop or truncate answers.
        if ((BENCH_DOMAINS > 0)); then printf '\nserver:\n    rrl-ratelimit: 0\n'; fi
    } >"$sdir/nsd.conf"
    nsd-checkconf "$sdir/nsd.conf" || die "bad NSD config $sdir/nsd.conf"
}

# The zones of a server, one per line (for the readiness probe).
zones_of() {
    local zone
    for zone in "${!ZONE_SERVER[@]}"; do
        [[ ${ZONE_SERVER[$zone]} == "$1" ]] && echo "$zone"
    done
    return 0
}

# Start NSD in the foreground (-d) as a background job and record $! in
# DIR/pids as "server pid". That process stays NSD's top process (it becomes
# xfrd and forks the serving processes), and SIGTERM to it stops them all.
# stdio is redirected so that a caller reading our output (pytest, a pipe) is
# not held open by NSD.
start_servers() {
    local entry server
    : >"$DIR/pids"
    for entry in "${SERVERS[@]}"; do
        server=${entry%%=*}
        nsd -d -c "$DIR/nsd-$server/nsd.conf" \
            </dev/null >>"$DIR/nsd-$server/stderr.log" 2>&1 &
        echo "$server $!" >>"$DIR/pids"
    done
}

show_logs() {
    local f
    for f in "$DIR"/nsd-*/nsd.log "$DIR"/nsd-*/stderr.log; do
        [[ -s $f ]] || continue
        echo "---- $f" >&2
        tail -n 30 "$f" >&2
    done
}

# Ask every server for the SOA of each of its zones until all answer
# authoritatively. Fails early if an NSD process has died (e.g. port in use).
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) server pid addr zone out pending
    while :; do
        pending=()
        while read -r server pid; do
            if ! kill -0 "$pid" 2>/dev/null; then
                show_logs
                die "NSD for $server (pid $pid) exited during startup"
            fi
            addr=$(server_addr "$server")
            for zone in $(zones_of "$server"); do
                out=$(dig +norec +time=1 +tries=1 -p "$NSD_PORT" @"$addr" "$zone" SOA 2>/dev/null || true)
                if ! grep -q 'status: NOERROR' <<<"$out" ||
                    ! grep -Eq 'flags:[^;]* aa' <<<"$out"; then
                    pending+=("$zone@$addr")
                fi
            done
        done <"$DIR/pids"
        ((${#pending[@]} == 0)) && return 0
        if ((SECONDS >= deadline)); then
            show_logs
            die "not answering after ${READY_TIMEOUT}s: ${pending[*]}"
        fi
        # Unanswered UDP to a closed port fails at once (ICMP), so pause a
        # little rather than spin.
        sleep 0.1
    done
}

# ---------------------------------------------------------------- outputs

write_hints_and_env() {
    cat >"$DIR/root.hints" <<'EOF'
; Root hints for the loopback test hierarchy (see tests/testnet/testnet.sh).
.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     127.0.0.2
EOF

    # A Debian-unbound config recursing through the test hierarchy; tests may
    # include it and override "port:" afterwards.
    cat >"$DIR/unbound.conf" <<EOF
# Generated by testnet.sh: unbound recursing through the test hierarchy.
server:
    interface: 127.0.0.1
    port: 5399
    do-ip6: no
    num-threads: 1
    so-reuseport: no
    chroot: ""
    username: ""
    directory: "$DIR"
    pidfile: "$DIR/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    # The test servers live on 127.0.0.x.
    do-not-query-localhost: no
    root-hints: "$DIR/root.hints"
    trust-anchor-file: "$DIR/root.key"
    # No root trust-anchor signalling/sentinel queries: less noise upstream.
    trust-anchor-signaling: no
    root-key-sentinel: no
remote-control:
    control-enable: no
EOF

    # %q quoting keeps the file safe to source whatever DIR looks like.
    {
        printf 'TESTNET_DIR=%q\n' "$DIR"
        printf 'ROOT_HINTS=%q\n' "$DIR/root.hints"
        printf 'TRUST_ANCHOR=%q\n' "$DIR/root.key"
        printf 'UNBOUND_CONF=%q\n' "$DIR/unbound.conf"
        printf 'ROOT_SERVER=%s\n' "$(server_addr root)"
        printf 'TLD_SERVER=%s\n' "$(server_addr tld)"
        printf 'MAIL_SERVER=%s\n' "$(server_addr mail)"
        printf 'MAILHOST_SERVER=%s\n' "$(server_addr mailhost)"
        printf 'NSD_CONF_ROOT=%q\n' "$DIR/nsd-root/nsd.conf"
        printf 'NSD_CONF_TLD=%q\n' "$DIR/nsd-tld/nsd.conf"
        printf 'NSD_CONF_MAIL=%q\n' "$DIR/nsd-mail/nsd.conf"
        printf 'NSD_CONF_MAILHOST=%q\n' "$DIR/nsd-mailhost/nsd.conf"
        printf 'NSD_PORT=%s\n' "$NSD_PORT"
        if ((BENCH_DOMAINS > 0)); then
            printf 'BENCH_DOMAINS_FILE=%q\n' "$DIR/bench-domains.txt"
            printf 'BENCH_QUERIES_FILE=%q\n' "$DIR/bench-queries.txt"
            printf 'BENCH_INBOUND_FILE=%q\n' "$DIR/bench-inbound.txt"
        fi
    } >"$DIR/env"
}

# ---------------------------------------------------------------- commands

# True if $1 is still a live NSD process started with our config $2 (the
# check guards against a recycled pid).
is_our_nsd() {
    alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# A process and all its descendants (NSD forks xfrd, which forks the server).
process_tree() {
    local child
    echo "$1"
    for child in $(ps -o pid= --ppid "$1" || true); do
        process_tree "$child"
    done
}

# True while $1 exists and is not a zombie.
alive() {
    [[ -r /proc/$1/stat ]] &&
        [[ $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) != Z ]]
}

cmd_stop() {
    [[ -f $DIR/pids ]] || return 0
    local server pid watch=() deadline
    while read -r server pid; do
        is_our_nsd "$pid" "$DIR/nsd-$server/nsd.conf" || continue
        # NSD's main process tells its children to quit; keep their pids
        # too, so that we return only once the sockets are released.
        mapfile -t -O "${#watch[@]}" watch < <(process_tree "$pid")
        kill -TERM "$pid"
    done <"$DIR/pids"

    deadline=$((SECONDS + STOP_TIMEOUT))
    for pid in "${watch[@]}"; do
        while alive "$pid"; do
            if ((SECONDS >= deadline)); then
                echo "testnet: pid $pid still running, sending SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
                deadline=$((SECONDS + STOP_TIMEOUT))
            fi
            sleep 0.05
        done
    done
    rm -f "$DIR/pids"
}

cmd_start() {
    local entry
    # A previous testnet in the same DIR is stopped, its files replaced.
    cmd_stop
    rm -rf "$DIR/zones" "$DIR/keys" "$DIR"/nsd-* "$DIR/root.hints" \
        "$DIR/root.key" "$DIR/env" "$DIR/unbound.conf"

    write_zones
    sign_all
    for entry in "${SERVERS[@]}"; do
        write_nsd_conf "${entry%%=*}" "${entry#*=}"
    done
    write_hints_and_env

    start_servers
    if ! (wait_ready); then
        cmd_stop
        exit 1
    fi
    echo "testnet: ready in $DIR (source $DIR/env)"
}

parse_options() {
    while (($# > 0)); do
        case $1 in
        --nsd-port) NSD_PORT=${2:?}; shift 2 ;;
        --bench-domains) BENCH_DOMAINS=${2:?}; shift 2 ;;
        *) usage ;;
        esac
    done
}

[[ $# -ge 2 ]] || usage
DIR=$2
parse_options "${@:3}"
if [[ $1 == start ]]; then mkdir -p "$DIR"; fi
if [[ -d $DIR ]]; then
    DIR=$(cd "$DIR" && pwd) # NSD and unbound want absolute paths
fi
case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
*) usage ;;
esac
