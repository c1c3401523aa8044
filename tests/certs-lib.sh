# SPDX-License-Identifier: BSD-2-Clause
# certs-lib.sh - test certificates made with the openssl command, sourced (not run) by the scripts
# that make them: the fixture generators (tests/data/mkcerts.sh, tests/data/stir/mkcerts.sh,
# tests/clientid-certs/mkcerts.sh), the testbed and the tests with a PKI of their own. Everything
# happens in the current directory, configured by its certs.cnf (certs_cnf). Two ways to a certificate:
#   certs_mint   a fresh EC P-256 key and its certificate in one step, valid from now ($certs_days days)
#   certs_key + certs_sign   through `openssl ca` (certs_db first), with fixed dates: committed fixtures

# certs_days - how long a certs_mint certificate is valid
certs_days=30
# certs_valid - the validity of a certs_sign certificate unless given (fixtures stay reproducible)
certs_valid="-startdate 20250101000000Z -enddate 21250101000000Z"
# certs_dn - what precedes /CN= in the subject of a certs_sign certificate
certs_dn=

# certs_fresh DIR - regenerating the fixtures of DIR: go there, remove the old keys and certificates
certs_fresh() {
	cd "$1"
	rm -f ./*.pem ./*.key ./*.cnf index.txt* serial*
}

# certs_cnf - write certs.cnf: the request defaults, the `openssl ca` settings (its [ ca ] section) and
# the CA extension section v3_ca, then the caller's extension sections, read from stdin
certs_cnf() {
	cat >certs.cnf <<-'CNF'
		[ req ]
		distinguished_name = dn
		prompt = no
		[ dn ]
		[ ca ]
		default_ca = fixture
		[ fixture ]
		database = index.txt
		new_certs_dir = .
		serial = serial
		default_md = sha256
		policy = any
		unique_subject = no
		copy_extensions = none
		[ any ]
		commonName = supplied
		[ v3_ca ]
		basicConstraints = critical, CA:true
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
	CNF
	cat >>certs.cnf
}

# certs_leaf NAME - the first lines of an end-entity extension section NAME for certs_cnf: not a CA,
# for digital signatures only
certs_leaf() {
	printf '[ %s ]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\n' "$1"
}

# certs_mint NAME EXT SUBJECT SAN [ISSUER] - an EC P-256 key NAME.key and certificate NAME.pem with the
# extensions of section EXT of certs.cnf (and subjectAltName SAN unless empty), valid $certs_days days
# from now, self-signed or issued by ISSUER (ISSUER.pem, ISSUER.key)
certs_mint() {
	set -- "$1" "$2" "$3" "$4" "${5-}" -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
		-days "$certs_days" -config certs.cnf -extensions "$2" -subj "$3" -keyout "$1.key" -out "$1.pem"
	[ -z "$4" ] || set -- "$@" -addext "subjectAltName=$4"
	[ -z "$5" ] || set -- "$@" -CA "$5.pem" -CAkey "$5.key"
	shift 5
	openssl req "$@" 2>/dev/null
}

# certs_db SERIAL - an empty `openssl ca` database whose first serial is SERIAL (hex)
certs_db() {
	: >index.txt
	echo "$1" >serial
}

# certs_key NAME [CURVE] - an EC key NAME.key (P-256 unless CURVE)
certs_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"${2:-P-256}" -out "$1.key" 2>/dev/null
}

# certs_sign NAME CN ISSUER EXT [DATES] - NAME.pem for NAME.key, subject $certs_dn/CN=CN, extensions of
# section EXT, through `openssl ca`: issued by ISSUER (ISSUER.pem, ISSUER.key) or self-signed when
# ISSUER is "self"; valid DATES (openssl ca's -startdate and -enddate), $certs_valid unless given
certs_sign() {
	set -- "$1" "$2" "$3" "$4" "${5:-$certs_valid}"
	openssl req -new -key "$1.key" -subj "$certs_dn/CN=$2" -out "$1.csr"
	# shellcheck disable=SC2086 # DATES are two options and their values
	if [ "$3" = self ]; then
		openssl ca -batch -config certs.cnf -selfsign -keyfile "$1.key" -extensions "$4" $5 \
			-in "$1.csr" -out "$1.pem" 2>/dev/null
	else
		openssl ca -batch -config certs.cnf -cert "$3.pem" -keyfile "$3.key" -extensions "$4" $5 \
			-in "$1.csr" -out "$1.pem" 2>/dev/null
	fi
	rm -f "$1.csr"
	# only the PEM block
	openssl x509 -in "$1.pem" -out "$1.pem"
}

# certs_clean - remove certs.cnf, the `openssl ca` database and the copies it keeps of what it signed
certs_clean() {
	rm -f certs.cnf index.txt* serial* ./[0-9A-F][0-9A-F][0-9A-F][0-9A-F].pem
}
