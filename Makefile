# tuna - Linux containers from scratch, one step at a time.
#
#   make              build every step into bin/NN-name (static)
#   sudo make check   install what the tests need, then run every suite
#   sudo make lab     install what the labs need, then replay the blog post
#   make vm           the student's machine: a stock Debian 12 VM (systemd,
#                     cgroup v2, OpenZFS), root console here, this tree in /tuna
#   make deps         install (Debian/Ubuntu) or list what labs and tests need
#                     (labs/deps.sh check; `labs/deps.sh --list lab` prints the
#                     lab's smaller set)
#   make sanitize     build with ASan+UBSan into bin-sanitize/ and run the suite
#                     (SUITES="test_a test_b" for some of it)
#   make install      PREFIX=/usr/local DESTDIR= : binaries, labs and docs
#   make clean
#
# A new step needs no edit here: every folder steps/NN-name/ becomes
# bin/NN-name, built from all the .c files in it plus libtuna (common/).

CC      ?= gcc
CFLAGS  ?= -O2
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2
ALL_CFLAGS := -std=gnu11 $(WARN) -Icommon -MMD -MP $(CFLAGS)
# Stripped: the binaries are copied into container images (make LDFLAGS= for
# symbols, with CFLAGS='-O2 -g' for a debugger).
LDFLAGS ?= -s
PREFIX  ?= /usr/local
DESTDIR ?=

STEPS   := $(notdir $(wildcard steps/[0-9][0-9]-*))
COMMON  := $(wildcard common/*.c)

# Two flavours of the same sources: the real static build, and a sanitized
# one (ASan cannot link statically, so that one is dynamic).
BIN     := bin
OBJ     := build/static
SAN_BIN := bin-sanitize
SAN_OBJ := build/sanitize
SAN_FLAGS := -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined

.PHONY: all check lab deps deps-lab sanitize install clean exercise vm
# Keep the objects: make would otherwise delete them as intermediates.
.SECONDARY:
all: $(addprefix $(BIN)/,$(STEPS))

# --- the static build -------------------------------------------------------
$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJ)/libtuna.a: $(COMMON:%.c=$(OBJ)/%.o)
	$(AR) rcs $@ $^

# bin/NN-name from steps/NN-name/*.c; .SECONDEXPANSION lets each step list
# its own sources.
.SECONDEXPANSION:
$(BIN)/%: $$(addprefix $(OBJ)/,$$(subst .c,.o,$$(wildcard steps/$$*/*.c))) $(OBJ)/libtuna.a
	@mkdir -p $(BIN)
	$(CC) -static $(LDFLAGS) -o $@ $^ -lm

# --- the sanitized build ----------------------------------------------------
$(SAN_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(SAN_OBJ)/libtuna.a: $(COMMON:%.c=$(SAN_OBJ)/%.o)
	$(AR) rcs $@ $^

$(SAN_BIN)/%: $$(addprefix $(SAN_OBJ)/,$$(subst .c,.o,$$(wildcard steps/$$*/*.c))) $(SAN_OBJ)/libtuna.a
	@mkdir -p $(SAN_BIN)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ -lm

# --- test helpers: small programs the suites run against libtuna ------------
UNIT := build/unit
$(UNIT)/%-probe: tests/unit/%_probe.c $(OBJ)/libtuna.a
	@mkdir -p $(UNIT)
	$(CC) $(ALL_CFLAGS) -o $@ $^
PROBES := $(UNIT)/parse-probe $(UNIT)/trace-probe

# --- what users run -----------------------------------------------------------
# Two sets (labs/deps.sh): what the labs and exercises run, and that plus
# what the tests and benchmarks run.  Neither removes or replaces anything.
deps:
	./labs/deps.sh check

deps-lab:
	./labs/deps.sh lab

check: deps all $(PROBES)
	./tests/run

lab: deps-lab all
	./labs/all.sh

# The student's machine (docs/vm.md): built once (about 8 min) and cached.
vm: all
	./tests/student-vm/run.sh --console

# make exercise N=01: check the student's own work for step 01.
exercise: deps-lab all
	./labs/exercises/run $(N)

# make sanitize SUITES="test_common test_05_veth": only those suites.
SUITES ?=
sanitize: deps all $(PROBES) $(addprefix $(SAN_BIN)/,$(STEPS))
	TUNA_BIN=$(CURDIR)/$(SAN_BIN) ./tests/run $(SUITES)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/tuna
	install -m 755 $(addprefix $(BIN)/,$(STEPS)) $(DESTDIR)$(PREFIX)/bin/
	cp -R labs docs $(DESTDIR)$(PREFIX)/share/tuna/

clean:
	rm -rf $(BIN) $(SAN_BIN) build

-include $(shell find build -name '*.d' 2>/dev/null)

# make fuzz FUZZ_SECONDS=600: every libFuzzer harness in tests/fuzz/ for
# that long each (clang, -fsanitize=fuzzer,address,undefined).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	./tests/fuzz/run $(FUZZ_SECONDS)
