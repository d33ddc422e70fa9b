# ctrk — one Makefile for every tool, the man pages and the tests.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DESTDIR   ?=
BUILD     ?= build

CC        ?= cc
CFLAGS    ?= -O2 -g
PKGS      := libcurl libcjson libarchive libcrypto libcap-ng zlib libmnl
# pkg-config is asked when a recipe first needs the flags, and only once:
# not when the Makefile is read, which may be before `make deps` (a
# prerequisite of demo and check) has installed the packages.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

CTRK_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	-I. -Ilib/common -DCTRK_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
CTRK_LIBS   = -Wl,--as-needed $(PKG_LIBS) -lmbedcrypto -lpthread

TOOLS     := $(patsubst %/main.c,%,$(wildcard ctrk-*/main.c))
LIB_SRC   := $(wildcard lib/common/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libctrk.a
BINS      := $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRC  := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
MAN_SRC   := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRC:man/%.scd=$(BUILD)/man/%)

.PHONY: all check check-asan check-unit check-bats valgrind deps build-deps install uninstall clean format demo bench man fuzz

all: $(BINS) $(UNIT_BINS) man

# Before anything is compiled: are the -dev packages there? Without them the
# build stops here with one line naming them, not with a compiler error.
build-deps:
	@sh tests/deps.sh --check-build

$(BUILD)/%.o: %.c $(wildcard lib/common/*.h) $(wildcard ctrk-*/*.h) Makefile | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(CTRK_CFLAGS) $(CFLAGS) -MMD -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# Each tool is its folder's .c files linked with the shared library.
tool_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c))
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(call tool_objs,$$*) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTRK_LIBS)

# ctrk-run's built-in seccomp profile is put in with .incbin, which the
# compiler's -MMD does not see.
$(BUILD)/ctrk-run/seccomp_profile.o: ctrk-run/seccomp-default.json

# ctrk-snap links libarchive statically: the shared one loads 14 more
# libraries (libxml2, ICU, libstdc++, nettle, ...), 1.3 ms of every run, also
# of prepare and view, which never read an archive.  The pax writer pulls in
# archive_write_set_format.o, which names every writer (xar needs libxml2,
# zip nettle): --gc-sections drops those ctrk-snap never calls.  What is left
# needs zlib and zstd (the gzip and zstd filters), bzip2 and xz (the filters
# of lib/common/extract.c, linked in for ctrk_remove_tree); they and mbedtls
# are linked statically too, since loading five shared libraries cost
# 0.3 ms of each prepare and remove, two of the five steps of a container
# start.  The price: a security fix in any of them needs a rebuild.
# ctrk-vol too, for the same reason: attach and detach are steps of a
# container start and read no archive.  Its export keeps ACLs, so libacl
# comes along (statically: libacl1-dev).
$(BUILD)/bin/ctrk-vol: CTRK_LIBS = -Wl,--gc-sections -Wl,--as-needed \
	$(filter-out -larchive,$(PKG_LIBS)) -l:libarchive.a -l:libz.a -l:libzstd.a -l:libbz2.a -l:liblzma.a \
	-l:libacl.a -l:libmbedcrypto.a -lpthread
$(BUILD)/bin/ctrk-snap: CTRK_LIBS = -Wl,--gc-sections -Wl,--as-needed \
	$(filter-out -larchive,$(PKG_LIBS)) -l:libarchive.a -l:libz.a -l:libzstd.a -l:libbz2.a -l:liblzma.a \
	-l:libmbedcrypto.a -lpthread

# tests/unit/test-TOOL-*.c test a tool's own code: they link its objects but main.o.
tool_lib_objs = $(filter-out %/main.o,$(call tool_objs,ctrk-$(word 2,$(subst -, ,$(1)))))
$(BUILD)/tests/test-snap-% $(BUILD)/tests/test-mount-% $(BUILD)/tests/test-pull-% $(BUILD)/tests/test-run-% \
		$(BUILD)/tests/test-netif-% $(BUILD)/tests/test-vol-%: \
		$(BUILD)/tests/unit/$$(notdir $$@).o $$(call tool_lib_objs,$$(notdir $$@)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTRK_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTRK_LIBS)

# Through a temp file: a page scdoc refuses must not be left half written,
# where make would take it as done.
man: $(MAN_PAGES)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	@if command -v scdoc >/dev/null; then scdoc < $< > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }; else echo "scdoc missing: skipping $@"; fi

# Installs only the Debian packages that are missing. demo, check and
# check-asan run it first, then build with a new make, which reads this
# Makefile with the packages in place.
deps:
	@sh tests/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@CTRK_BUILD=$(abspath $(BUILD)) sh tests/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory all BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined"
	@CTRK_BUILD=$(abspath build-asan) \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99 \
		sh tests/run.sh

check-unit: all
	@CTRK_BUILD=$(abspath $(BUILD)) CTRK_ONLY=unit sh tests/run.sh

# The unit tests under valgrind: no leaks, no invalid accesses.
valgrind: all
	@CTRK_BUILD=$(abspath $(BUILD)) CTRK_ONLY=unit CTRK_VALGRIND=1 sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@CTRK_BUILD=$(abspath $(BUILD)) bash tests/demo.sh

# libFuzzer targets over the code that first meets untrusted bytes, with
# ASan and UBSan.  Each tests/fuzz/fuzz-NAME.c is linked with every
# lib/common/*.c, the sources its `/* fuzz-sources: ... */` line names and
# the project's libraries (shared: the fuzzer is no start-up benchmark).  Its
# seeds are written by tests/fuzz/seeds-NAME.sh into build-fuzz/seeds-NAME;
# it runs FUZZ_SECONDS on build-fuzz/corpus-NAME, which grows from run to
# run.  A crash, leak, UB or timeout leaves its input in
# build-fuzz/NAME-crash-* (leak-, timeout-, oom-) and fails the target with
# the harness's name and that path (see tests/fuzz/README).
#   make fuzz                    every harness
#   make fuzz FUZZ="reference manifest" FUZZ_SECONDS=300
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ         ?= $(FUZZ_NAMES)
FUZZ_RUN     := $(patsubst fuzz-%,%,$(FUZZ))
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all
# A harness's extra sources, from its one `/* fuzz-sources: a.c b.c */` line.
fuzz_objs = $(patsubst %.c,$(BUILD)/%.o,$(shell sed -n \
	's|^[[:space:]]*/\*[[:space:]]*fuzz-sources:[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*\*/.*$$|\1|p' \
	tests/fuzz/fuzz-$(1).c))
$(BUILD)/fuzz-%: $(BUILD)/tests/fuzz/fuzz-%.o $(LIB_OBJ) $$(call fuzz_objs,$$*)
	$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined $(LDFLAGS) -o $@ $^ $(CTRK_LIBS)

fuzz:
	@sh tests/deps.sh --fuzz
	@for n in $(FUZZ_RUN); do [ -f tests/fuzz/fuzz-$$n.c ] || \
		{ echo "fuzz: no harness tests/fuzz/fuzz-$$n.c (there are: $(FUZZ_NAMES))"; exit 1; }; done
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
		$(FUZZ_RUN:%=build-fuzz/fuzz-%)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_RUN)

bench: all
	@CTRK_BUILD=$(abspath $(BUILD)) bash bench/pull.sh
	@CTRK_BUILD=$(abspath $(BUILD)) bash bench/unpack.sh
	@CTRK_BUILD=$(abspath $(BUILD)) bash bench/start.sh
	@CTRK_BUILD=$(abspath $(BUILD)) bash bench/netif.sh
	@CTRK_BUILD=$(abspath $(BUILD)) bash bench/vol.sh

install: $(BINS) man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	@for p in $(MAN_PAGES); do \
		[ -f $$p ] || continue; \
		s=$${p##*.}; install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; \
	done

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%)
	@for p in $(MAN_SRC:man/%.scd=%); do s=$${p##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$p; done

format:
	clang-format -i lib/common/*.[ch] ctrk-*/*.[ch] tests/unit/*.[ch]

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
