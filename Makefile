# battledger — PGXS build.  PG_CONFIG defaults to PostgreSQL 15 (Debian's layout);
# override with `make PG_CONFIG=/path/to/pg_config`.
EXTENSION  = battledger
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = battledger
OBJS = src/battledger.o src/sha256.o src/hash256.o src/encode.o \
       src/ledger_rel.o src/chain.o src/verify.o src/guard.o \
       src/keys.o src/sign.o src/ed25519.o src/merkle.o

DATA = sql/$(EXTENSION)--$(EXTVERSION).sql

# Regression tests: sql/<name>.sql against expected/<name>.out
REGRESS = hash256 encoding ledger guard verify signatures batches
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK += -lcrypto
EXTRA_CLEAN = regression.diffs regression.out results


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
