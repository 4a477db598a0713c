# The breakfast counter. `make run` sets up, builds and starts everything;
# `make check` builds and runs every test. See README.md.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANPREFIX ?= $(PREFIX)/share/man
# systemd looks for units in /usr/local/lib/systemd/system too.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR   ?=

CC       ?= cc
PKGS     := libzmq libsodium jansson sqlite3 ncursesw libsystemd
# Sanitizer builds go to their own folder: `make SAN=1 check`.
ifeq ($(SAN),1)
  BUILD  ?= build-san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT    := -O1 -g
else
  BUILD  ?= build
  SANFLAGS :=
  OPT    := -O2 -g
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wshadow \
            -Wno-missing-field-initializers -Iproto -Ibackend $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(PKG_LIBS) -pthread

PROTO_SRC   := proto/proto.c proto/commands.c proto/token.c proto/config.c proto/zio.c \
               proto/keys.c proto/client.c proto/follow.c proto/status.c proto/delivery.c \
               proto/launch.c
BACKEND_LIB := backend/log.c backend/db.c backend/bus.c backend/authn.c backend/request.c \
               backend/service.c backend/breaker.c backend/zap.c backend/notify.c \
               backend/supervisor.c
BACKEND_SVC := backend/svc_auth.c backend/auth_pw.c backend/svc_customer.c backend/svc_catalog.c \
               backend/svc_view.c backend/svc_payment.c backend/svc_delivery.c backend/svc_order.c \
               backend/order_saga.c
TUI_SRC     := tui/counter.c tui/cli.c tui/session.c tui/accounts.c tui/keys_cmd.c tui/output.c \
               tui/backend_ctl.c tui/logs_cmd.c tui/audit.c tui/history.c \
               tui/tui.c tui/tui_net.c tui/login.c tui/actions.c tui/dialog.c tui/widgets.c tui/table.c \
               tui/screen_customer.c tui/screen_manager.c tui/screen_delivery.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PROTO_OBJ   := $(call obj,$(PROTO_SRC))
BACKEND_OBJ := $(call obj,$(BACKEND_LIB) $(BACKEND_SVC))
TUI_OBJ     := $(call obj,$(TUI_SRC))

UNIT_TESTS  := $(BUILD)/tests/test_proto $(BUILD)/tests/test_bus $(BUILD)/tests/test_breaker \
               $(BUILD)/tests/test_config $(BUILD)/tests/test_db $(BUILD)/tests/test_tui \
               $(BUILD)/tests/test_token $(BUILD)/tests/test_keys $(BUILD)/tests/test_auth
TOOLS       := $(BUILD)/tests/rawsend $(BUILD)/tests/loadgen $(BUILD)/tests/bench_catchup \
               $(BUILD)/tests/notifyrecv
SYSTEMD_UNITS := $(BUILD)/systemd/counter.target $(BUILD)/systemd/counterd@.service

.PHONY: all run check check-san check-valgrind bench install uninstall clean deps
all: $(BUILD)/counter $(BUILD)/counterd $(UNIT_TESTS) $(TOOLS) $(SYSTEMD_UNITS)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c $(wildcard proto/*.h backend/*.h tui/*.h) | deps-checked
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Dependencies are checked once per build, before the first compile.
.PHONY: deps-checked
deps-checked:
	@scripts/deps.sh --check

$(BUILD)/counterd: $(BACKEND_OBJ) $(PROTO_OBJ) $(BUILD)/backend/counterd.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/counter: $(TUI_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The systemd units, ready to install (see scripts/systemd/counterd@.service.in):
# counter.target wants one counterd@ per service of `counterd --list`.
$(BUILD)/systemd/counter.target: scripts/systemd/counter.target.in scripts/systemd/gen-target.sh \
                                 $(BUILD)/counterd
	@mkdir -p $(dir $@)
	scripts/systemd/gen-target.sh $(BUILD)/counterd $< >$@.tmp && mv $@.tmp $@

# counterd@.service runs @BINDIR@/counterd: here the BINDIR of this make, and
# `make install` fills in its own (PREFIX, BINDIR) into the installed copy.
$(BUILD)/systemd/counterd@.service: scripts/systemd/counterd@.service.in
	@mkdir -p $(dir $@)
	sed 's|@BINDIR@|$(BINDIR)|g' $< >$@.tmp && mv $@.tmp $@

# The unit tests share tests/unit/unit.h.
$(BUILD)/tests/unit/test_proto.o $(BUILD)/tests/unit/test_bus.o \
    $(BUILD)/tests/unit/test_breaker.o $(BUILD)/tests/unit/test_config.o \
    $(BUILD)/tests/unit/test_db.o $(BUILD)/tests/unit/test_token.o \
    $(BUILD)/tests/unit/test_keys.o $(BUILD)/tests/unit/test_auth.o: tests/unit/unit.h

$(BUILD)/tests/test_proto: $(BUILD)/tests/unit/test_proto.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_config: $(BUILD)/tests/unit/test_config.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_db: $(BUILD)/tests/unit/test_db.o $(BUILD)/backend/db.o $(BUILD)/backend/log.o \
                       $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_bus: $(BUILD)/tests/unit/test_bus.o $(BACKEND_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_token: $(BUILD)/tests/unit/test_token.o $(BACKEND_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The keys on real files, and the ZAP handler naming CURVE peers on real sockets.
$(BUILD)/tests/test_keys: $(BUILD)/tests/unit/test_keys.o $(BUILD)/backend/zap.o $(BUILD)/backend/log.o \
                         $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The breaker is pure logic: its object and proto's (proto_oom, jint).
$(BUILD)/tests/test_breaker: $(BUILD)/tests/unit/test_breaker.o $(BUILD)/backend/breaker.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The auth worker's pure parts: auth_pw.c (hashes, throttle, token key).
$(BUILD)/tests/test_auth: $(BUILD)/tests/unit/test_auth.o $(BUILD)/backend/auth_pw.o \
                         $(BUILD)/backend/log.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The TUI's display widths: widgets.c and output.c, without counter's main.
$(BUILD)/tests/unit/test_tui.o: CFLAGS += -Itui
$(BUILD)/tests/tools/loadgen.o: CFLAGS += -Itui
$(BUILD)/tests/unit/test_tui.o: tests/unit/unit.h
$(BUILD)/tests/test_tui: $(BUILD)/tests/unit/test_tui.o $(BUILD)/tui/widgets.o $(BUILD)/tui/output.o \
                         $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/rawsend: $(BUILD)/tests/tools/rawsend.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/loadgen: $(BUILD)/tests/tools/loadgen.o $(BUILD)/tui/session.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS)

$(BUILD)/tests/bench_catchup: $(BUILD)/tests/tools/bench_catchup.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A NOTIFY_SOCKET of a test's own (tests/it/notify.sh): plain libc.
$(BUILD)/tests/notifyrecv: $(BUILD)/tests/tools/notifyrecv.o
	$(CC) $(LDFLAGS) -o $@ $^

# `make fuzz`: libFuzzer (clang, ASan + UBSan) over the CTR/2 decoder for
# FUZZ_TIME seconds; the corpus grows in $(BUILD)/fuzz/corpus, crashes land in
# $(BUILD)/fuzz/. Not part of `make check`. See tests/fuzz/fuzz_proto.c.
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
FUZZ_DIR  := $(BUILD)/fuzz
.PHONY: fuzz
fuzz: $(FUZZ_DIR)/fuzz_proto
	@mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_DIR)/fuzz_proto -max_total_time=$(FUZZ_TIME) -max_len=8192 -timeout=10 \
	    -dict=tests/fuzz/proto.dict -artifact_prefix=$(FUZZ_DIR)/ -print_final_stats=1 \
	    $(FUZZ_DIR)/corpus tests/fuzz/seeds

$(FUZZ_DIR)/fuzz_proto: tests/fuzz/fuzz_proto.c proto/proto.c proto/commands.c proto/proto.h | deps-checked
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (apt-get install clang)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -Iproto $(shell pkg-config --cflags jansson libsodium) -o $@ \
	    tests/fuzz/fuzz_proto.c proto/proto.c proto/commands.c $(shell pkg-config --libs jansson libsodium)

run: all
	@scripts/run.sh $(BUILD)

check: all
	@BUILD=$(BUILD) tests/run.sh

# The backend under valgrind's memcheck, on the scenarios that touch every
# worker (slow: a subset).
check-valgrind: all
	@VALGRIND=1 BUILD=$(BUILD) tests/run.sh '^it/(walkthrough|saga_walkthrough|saga_n1b|catchup)$$'

# The whole suite again under AddressSanitizer and UBSan.
check-san:
	@$(MAKE) --no-print-directory SAN=1 check

# The benchmark (DESIGN section 10): throughput, latency, catch-up, memory and
# the audit in a temporary shop. BENCH_SECONDS=5 for a quick run.
bench: all
	@BUILD=$(BUILD) scripts/bench.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man8 \
	    $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(BUILD)/counter $(BUILD)/counterd $(DESTDIR)$(BINDIR)/
	install -m 644 man/counter.1 $(DESTDIR)$(MANPREFIX)/man1/
	install -m 644 man/counterd.8 $(DESTDIR)$(MANPREFIX)/man8/
	install -m 644 $(BUILD)/systemd/counter.target $(DESTDIR)$(SYSTEMDUNITDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' scripts/systemd/counterd@.service.in \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/counterd@.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/counterd@.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/counter $(DESTDIR)$(BINDIR)/counterd \
	      $(DESTDIR)$(MANPREFIX)/man1/counter.1 $(DESTDIR)$(MANPREFIX)/man8/counterd.8 \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/counterd@.service $(DESTDIR)$(SYSTEMDUNITDIR)/counter.target

clean:
	rm -rf build build-san
