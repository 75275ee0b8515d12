# battledger — PGXS build.  PG_CONFIG defaults to PostgreSQL 15 (Debian's layout);
# override with `make PG_CONFIG=/path/to/pg_config`.
EXTENSION  = battledger
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = battledger
OBJS = src/battledger.o src/sha256.o src/hash256.o src/encode.o \
       src/ledger_rel.o src/chain.o src/verify.o src/guard.o \
       src/keys.o src/sign.o src/ed25519.o src/merkle.o src/note.o src/batch.o src/log.o src/battery_id.o src/type_text.o src/worker.o \
       src/arrive.o src/witness.o src/enable.o src/origin_claim.o src/quarantine.o src/progress.o

# The versioned install script is built from ordered parts in sql/install/;
# the upgrade script from 0.3.0 from the parts in sql/upgrade/0.3.0--0.4.0/
# (see its README).  Released scripts are kept as released (sql/upgrade/):
# the install scripts of 0.1.0, 0.2.0 and 0.3.0 and the upgrades between
# them, so that every released version can be installed and updated to this one.
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--0.3.0--0.4.0.sql
DATA = sql/upgrade/$(EXTENSION)--0.1.0.sql sql/upgrade/$(EXTENSION)--0.2.0.sql sql/upgrade/$(EXTENSION)--0.3.0.sql \
       sql/upgrade/$(EXTENSION)--0.1.0--0.2.0.sql sql/upgrade/$(EXTENSION)--0.2.0--0.3.0.sql

# Regression tests: sql/<name>.sql against expected/<name>.out
REGRESS = hash256 encoding battery_id ledger guard verify signatures batches log registry consortium migrate security privileges
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK += -lcrypto
EXTRA_CLEAN = regression.diffs regression.out results bin


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

# 0.3.0 -> 0.4.0: the parts of sql/upgrade/0.3.0--0.4.0/ in name order
# (*.sql copied, *.replace naming install functions to CREATE OR REPLACE),
# then the comments and privileges, which are idempotent.
UPGRADE_0_4_0_DIR = sql/upgrade/0.3.0--0.4.0
sql/$(EXTENSION)--0.3.0--0.4.0.sql: $(wildcard $(UPGRADE_0_4_0_DIR)/*) sql/upgrade/replace_functions.awk $(wildcard sql/install/*.sql)
	{ for f in $(sort $(wildcard $(UPGRADE_0_4_0_DIR)/*.sql $(UPGRADE_0_4_0_DIR)/*.replace)); do \
	    case $$f in \
	      *.sql) cat "$$f" ;; \
	      *.replace) grep -v '^#' "$$f" | while read -r part names; do \
	                   [ -n "$$part" ] || continue; \
	                   awk -v names="$$names" -f sql/upgrade/replace_functions.awk "$$part" || exit 1; done ;; \
	    esac || exit 1; done && \
	  cat sql/install/95_comments.sql sql/install/99_privileges.sql; } > $@.tmp && mv $@.tmp $@

# PGXS does not track headers: rebuild every object when any header changes.
$(OBJS): $(wildcard src/*.h)

# The command-line tool for members and auditors: pure C, no server headers.
# CLI_CFLAGS / CLI_LDFLAGS take a packager's flags (debian/rules passes
# dpkg-buildflags' hardening flags).  `make install CLI_BINDIR=` (empty)
# installs the extension alone: the Debian package ships the CLI in
# battledger-tools, not in each postgresql-NN-battledger.
CLI_SRCS = src/cli.c src/note.c src/ed25519.c src/merkle.c src/batch.c src/sha256.c
CLI_BINDIR ?= /usr/local/bin

bin/battledger: $(CLI_SRCS) $(wildcard src/*.h) $(EXTENSION).control
	@mkdir -p bin
	$(CC) -std=c99 -O2 -g $(PG_CFLAGS) $(CLI_CFLAGS) -DBL_VERSION='"$(EXTVERSION)"' -o $@ $(CLI_SRCS) $(CLI_LDFLAGS) -lcrypto

all: bin/battledger

ifneq ($(CLI_BINDIR),)
install: install-cli
endif
install-cli: bin/battledger
	$(MKDIR_P) '$(DESTDIR)$(CLI_BINDIR)'
	$(INSTALL_PROGRAM) bin/battledger '$(DESTDIR)$(CLI_BINDIR)/battledger'
.PHONY: install-cli
