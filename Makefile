# healthpass: PGXS build. `make test` and `make demo` install what is
# missing (test/install-deps.sh), build, install and run in a throwaway
# cluster. The version's one source of truth is healthpass.control.

EXTENSION   = healthpass
PGVER      ?= 15
PG_CONFIG  ?= $(firstword $(wildcard /usr/lib/postgresql/$(PGVER)/bin/pg_config) pg_config)
EXTVERSION := $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big  = healthpass
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
# Extension SQL, one pair of files per domain (NN_domain.sql):
#   sql/schema/  what is created once: types, tables, indexes, seed rows
#   sql/api/     what every upgrade replays: CREATE OR REPLACE functions,
#                triggers, comments and grants
# The fresh install script is each domain's schema file then its api file,
# in name order. An upgrade script A--B is sql/updates/A--B.sql (the schema
# changes of that step) followed by every api file. Released install
# scripts are frozen in sql/versions/ (the upgrade test installs them).
SCHEMA_SQL  = $(sort $(wildcard sql/schema/*.sql))
API_SQL     = $(sort $(wildcard sql/api/*.sql))
DOMAINS     = $(sort $(notdir $(SCHEMA_SQL) $(API_SQL)))
UPDATES     = $(sort $(wildcard sql/updates/*--$(EXTVERSION).sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql \
              $(patsubst sql/updates/%,$(EXTENSION)--%,$(UPDATES))
DATA        = $(wildcard sql/versions/$(EXTENSION)--*.sql)
# pg_regress inputs: sql/*.sql with outputs in expected/
REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src -DHEALTHPASS_VERSION='"$(EXTVERSION)"' $(shell pkg-config --cflags freetype2)
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK  = -lsodium -lqrencode -lpng -lz -lfreetype -lcrypto
EXTRA_CLEAN = $(EXTENSION)--*.sql results regression.diffs regression.out test/out

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all install installcheck:
	@echo "PostgreSQL $(PGVER) server headers are missing: run 'make deps' (make test and make demo do it for you)" >&2; exit 1
clean:
	rm -rf $(OBJS) $(DATA_built) $(EXTRA_CLEAN) healthpass.so
endif

# the version is compiled in: rebuild it when the control file changes
src/healthpass.o: $(EXTENSION).control

SQL_HEADER = printf '%s\n' '-- complain if script is sourced in psql, rather than via CREATE EXTENSION' \
	    '\echo Use "$(1) EXTENSION $(EXTENSION)" to load this file. \quit' '' \
	    '-- names in the script resolve in the API schema, then in the internal one' \
	    "SELECT pg_catalog.set_config('search_path', 'healthpass, healthpass_internal', true);"

$(EXTENSION)--$(EXTVERSION).sql: $(SCHEMA_SQL) $(API_SQL) $(EXTENSION).control
	{ $(call SQL_HEADER,CREATE); \
	  for d in $(DOMAINS); do for f in sql/schema/$$d sql/api/$$d; do \
	    if [ -f "$$f" ]; then printf '\n-- ===== %s\n' "$$f"; cat "$$f"; fi; done; done; } > $@

# A line "--@include sql/schema/NN_domain.sql" in an update step stands for
# that whole file: a domain new in the version is written once.
# An update script also stops Citus from propagating its DDL while it runs
# (where citus is loaded): Citus would send each statement on a distributed
# table to the shards with the whole script as its text. The shards and the
# workers' own copies are brought up to date by healthpass.distribute()
# afterwards (doc/citus.md, "Updating a distributed healthpass").
CITUS_QUIET = "SELECT pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true) WHERE pg_catalog.current_setting('citus.version', true) IS NOT NULL;"

$(EXTENSION)--%--$(EXTVERSION).sql: sql/updates/%--$(EXTVERSION).sql $(SCHEMA_SQL) $(API_SQL) $(EXTENSION).control
	{ $(call SQL_HEADER,ALTER); printf '%s\n' $(CITUS_QUIET); \
	  printf '\n-- ===== %s\n' "$<"; \
	  awk '/^--@include /{ f = $$2; while ((getline l < f) > 0) print l; close(f); next } { print }' $<; \
	  for f in $(API_SQL); do printf '\n-- ===== %s\n' "$$f"; cat "$$f"; done; } > $@

.PHONY: deps build test demo bench fuzz
deps:
	PGVER=$(PGVER) test/install-deps.sh

# the lock keeps parallel builds in one work tree from racing each other
build: deps
	flock /tmp/healthpass-build.lock $(MAKE) all install

test: build
	PGVER=$(PGVER) test/run-tests.sh

# the extension on a 3-node Citus cluster on loopback (doc/citus.md): builds
# Citus 13.2.2 from ../shared/citus/ once (cached), distributes a populated
# database and runs the pgTAP suites against the coordinator
.PHONY: test-citus
test-citus: build
	PGVER=$(PGVER) test/citus/run-citus-tests.sh

# one node against the 3-node cluster: scan throughput, trace latency,
# re-colouring time (test/bench/citus/scale.sh; HP_BENCH_* sizes)
.PHONY: bench-citus
bench-citus: build
	PGVER=$(PGVER) test/bench/citus/scale.sh

demo: build
	PGVER=$(PGVER) test/demo/run-demo.sh

bench: build
	PGVER=$(PGVER) test/bench/run-bench.sh

# coverage-guided fuzzing of the HP1 and HC1 decode paths (FUZZ_SECONDS
# each, default 300)
FUZZ_SECONDS ?= 300
fuzz: deps
	test/fuzz/run-fuzz.sh $(FUZZ_SECONDS) hp1
	test/fuzz/run-fuzz.sh $(FUZZ_SECONDS) hc1
