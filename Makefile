# battledger — PGXS build.  PG_CONFIG defaults to PostgreSQL 15 (Debian's layout);
# override with `make PG_CONFIG=/path/to/pg_config`.
EXTENSION  = battledger
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = battledger
# src/core: pure C shared with the CLI, the unit tests and the fuzzers (no
# PostgreSQL header); src/pg: the PostgreSQL glue; src/cli: the CLI's front end.
CORE_OBJS = src/core/sha256.o src/core/ed25519.o src/core/merkle.o src/core/codec.o src/core/note.o \
            src/core/batch.o src/core/type_text.o src/core/number_text.o
PG_OBJS = src/pg/battledger.o src/pg/hash256.o src/pg/encode.o src/pg/ledger_rel.o \
          src/pg/chain.o src/pg/verify.o src/pg/guard.o src/pg/keys.o src/pg/key_proof.o src/pg/sign.o \
          src/pg/log.o src/pg/log_queue.o src/pg/log_entries.o src/pg/log_tree.o src/pg/log_seal.o \
          src/pg/log_bulk.o src/pg/log_proof.o src/pg/log_verify.o src/pg/log_verify_rows.o src/pg/log_keys.o \
          src/pg/battery_id.o src/pg/json_num.o src/pg/usage_latest.o src/pg/commitment_rows.o src/pg/passport_doc.o src/pg/usage_value.o src/pg/jsonb_push.o \
          src/pg/worker.o src/pg/arrive.o \
          src/pg/witness.o src/pg/enable.o src/pg/origin_claim.o src/pg/quarantine.o \
          src/pg/progress.o src/pg/pgutil.o src/pg/consortium.o src/pg/usage_lock.o \
          src/pg/bgworkers.o
OBJS = $(PG_OBJS) $(CORE_OBJS)
PG_CPPFLAGS = -Isrc/core -Isrc/pg

# The versioned install script is built from ordered parts in sql/install/;
# the upgrade script from the previous release from the parts in
# sql/upgrade/$(PREV_VERSION)--$(EXTVERSION)/ (see its README).  Released scripts
# are kept as released (sql/upgrade/): the install script of every release and
# the upgrades between them, so that every released version can be installed
# and updated to this one.
PREV_VERSION = 0.27.0
UPGRADE_DIR = sql/upgrade/$(PREV_VERSION)--$(EXTVERSION)
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql
DATA = $(wildcard sql/upgrade/$(EXTENSION)--*.sql)

# Regression tests: sql/<name>.sql against expected/<name>.out
REGRESS = hash256 encoding battery_id ledger guard verify signatures batches log registry consortium migrate security key_proof privileges batch_reread batch_names
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK += -lcrypto
EXTRA_CLEAN = regression.diffs regression.out results bin


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The library is installed under a temporary name and renamed over the old
# one (src/install_atomic.sh): a server running from the directory never
# finds it missing or half written when a new session loads it.
INSTALL_SHLIB := $(SHELL) $(srcdir)/src/install_atomic.sh $(INSTALL_SHLIB) --

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

# previous release -> this one: the parts of $(UPGRADE_DIR)/ in name order
# (*.sql copied, *.replace naming install functions to CREATE OR REPLACE),
# then the comments and privileges, which are idempotent.
sql/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql: $(wildcard $(UPGRADE_DIR)/*) sql/upgrade/replace_functions.awk $(wildcard sql/install/*.sql)
	{ for f in $(sort $(wildcard $(UPGRADE_DIR)/*.sql $(UPGRADE_DIR)/*.replace)); do \
	    case $$f in \
	      *.sql) cat "$$f" ;; \
	      *.replace) grep -v '^#' "$$f" | while read -r part names; do \
	                   [ -n "$$part" ] || continue; \
	                   awk -v names="$$names" -f sql/upgrade/replace_functions.awk "$$part" || exit 1; done ;; \
	    esac || exit 1; done && \
	  cat sql/install/95_comments.sql sql/install/99_privileges.sql; } > $@.tmp && mv $@.tmp $@

# PGXS does not track headers: rebuild every object when any header changes.
$(OBJS): $(wildcard src/*/*.h)

# `make check-temp`: the pg_regress suite with no server to prepare, on a
# temporary installation and instance (pg_regress --temp-instance
# --temp-config test/regress.conf), as contrib's `make check`; PGXS keeps
# the name `check` for its "not supported" message.  Works as root too.
check-temp: all
	PG_CONFIG='$(PG_CONFIG)' MAKE='$(MAKE)' bash test/lib/regress_temp.sh $(REGRESS)
.PHONY: check-temp

# The command-line tool for members and auditors: pure C, no server headers.
# CLI_CFLAGS / CLI_LDFLAGS take a packager's flags (debian/rules passes
# dpkg-buildflags' hardening flags).  `make install CLI_BINDIR=` (empty)
# installs the extension alone: the Debian package ships the CLI in
# battledger-tools, not in each postgresql-NN-battledger.
CLI_SRCS = src/cli/cli.c src/cli/cli_io.c src/cli/cli_keys.c src/cli/cli_note.c src/cli/cli_proof.c src/core/codec.c src/core/note.c src/core/ed25519.c src/core/merkle.c src/core/batch.c src/core/sha256.c
CLI_BINDIR ?= /usr/local/bin

bin/battledger: $(CLI_SRCS) $(wildcard src/core/*.h src/cli/*.h) $(EXTENSION).control
	@mkdir -p bin
	$(CC) -std=c99 -O2 -g -Isrc/core $(PG_CFLAGS) $(CLI_CFLAGS) -DBL_VERSION='"$(EXTVERSION)"' -o $@ $(CLI_SRCS) $(CLI_LDFLAGS) -lcrypto

all: bin/battledger

ifneq ($(CLI_BINDIR),)
install: install-cli
endif
install-cli: bin/battledger
	$(MKDIR_P) '$(DESTDIR)$(CLI_BINDIR)'
	$(INSTALL_PROGRAM) bin/battledger '$(DESTDIR)$(CLI_BINDIR)/battledger'
.PHONY: install-cli
