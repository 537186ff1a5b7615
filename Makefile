# bpf-vrouter: one Makefile for the BPF datapath, libvrouter, vrouterctl and the tests.
# Quiet by default; V=1 shows the commands. Everything built lands in build/.

BUILD     ?= build
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
PKG_CONFIG ?= pkg-config

ARCH_INC  := /usr/include/$(shell $(CC) -print-multiarch)
LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS   := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)

BPF_CFLAGS := -target bpf -O2 -g -mcpu=v3 -Wall -Werror -Iheaders -Ibpf -idirafter $(ARCH_INC)
CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Werror -std=gnu11 -Iheaders -Iloader -I$(BUILD) $(LIBBPF_CFLAGS)
LDLIBS     += $(LIBBPF_LIBS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean deps demo check bench lint

all: $(BUILD)/vrouterctl $(BUILD)/test_datapath $(BUILD)/tapvm

BPF_SRCS := bpf/vrouter.bpf.c
BPF_DEPS := $(wildcard bpf/*.h bpf/lib/*.h headers/*.h)
LIB_SRCS := $(filter-out loader/vrouterctl.c loader/cli_%.c,$(wildcard loader/*.c))
CLI_SRCS := loader/vrouterctl.c $(wildcard loader/cli_*.c)
LIB_HDRS := $(wildcard loader/*.h) $(wildcard headers/*.h)

$(BUILD):
	$(Q)mkdir -p $@

$(BUILD)/vrouter.bpf.o: $(BPF_SRCS) $(BPF_DEPS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(BUILD)/vrouter.skel.h: $(BUILD)/vrouter.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name vrouter > $@

$(BUILD)/libvrouter.a: $(LIB_SRCS) $(LIB_HDRS) $(BUILD)/vrouter.skel.h
	$(call msg,AR,$@)
	$(Q)rm -f $@ $(BUILD)/lib_*.o
	$(Q)for f in $(LIB_SRCS); do \
		$(CC) $(CFLAGS) -c $$f -o $(BUILD)/lib_$$(basename $$f .c).o || exit 1; done
	$(Q)ar rcs $@ $(BUILD)/lib_*.o

$(BUILD)/vrouterctl: $(CLI_SRCS) $(BUILD)/libvrouter.a $(LIB_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(CLI_SRCS) $(BUILD)/libvrouter.a $(LDLIBS) -o $@

$(BUILD)/test_datapath: $(wildcard selftests/test_datapath*.c selftests/*.h) $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests $(wildcard selftests/test_datapath*.c) $(BUILD)/libvrouter.a $(LDLIBS) -o $@

# The scale benchmark (make bench): the datapath configured at full size, forwarding checked.
all: $(BUILD)/bench_scale

$(BUILD)/bench_scale: selftests/bench_scale.c selftests/pkt.h $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests $< $(BUILD)/libvrouter.a $(LDLIBS) -o $@

# Route churn beside live traffic (selftests/e2e_hitless.sh).
all: $(BUILD)/churn

$(BUILD)/churn: selftests/churn.c $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libvrouter.a $(LDLIBS) -o $@

# Packet fuzzing of the datapath (selftests/fuzz_pkt.c): random tables and random or mutated frames through the four
# programs with BPF_PROG_TEST_RUN, invariants checked on every run; `make check` runs --short (about 30 s), `make fuzz`
# --long (FUZZ_PKT_SECONDS, 300).
all: $(BUILD)/fuzz_pkt

$(BUILD)/fuzz_pkt: selftests/fuzz_pkt.c selftests/pkt.h selftests/setup.h $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests $< $(BUILD)/libvrouter.a $(LDLIBS) -o $@

$(BUILD)/tapvm: selftests/tapvm.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# --- vrouter-agent configuration loader (agent/config.c) and its unit tests ---
YAML_CFLAGS := $(shell $(PKG_CONFIG) --cflags yaml-0.1 2>/dev/null)
YAML_LIBS   := $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null || echo -lyaml)
CONFIG_SRCS := agent/config.c agent/bird.c
CONFIG_HDRS := agent/config.h agent/bird.h

all: $(BUILD)/test_config

$(BUILD)/test_config: selftests/test_config.c $(CONFIG_SRCS) $(CONFIG_HDRS) $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(YAML_CFLAGS) -Iagent -DVR_EXAMPLES_DIR='"$(abspath agent/examples)"' \
		selftests/test_config.c $(CONFIG_SRCS) $(BUILD)/libvrouter.a $(YAML_LIBS) -o $@
# --- end of the configuration loader block ---

# --- vrouter-agent daemon (agent/main.c, log, ports, port API): links libvrouter, libbpf and libyaml ---
AGENT_SRCS := agent/main.c agent/loop.c agent/log.c agent/ports.c agent/port_api.c agent/datapath.c agent/gateway.c \
	      $(CONFIG_SRCS)
AGENT_HDRS := agent/log.h agent/loop.h agent/ports.h agent/port_api.h agent/datapath.h agent/gateway.h $(CONFIG_HDRS)
# XMPP sessions and learned routes, with the codec (libxml2; XML_CFLAGS/XML_LIBS are set further down).
AGENT_XMPP_SRCS := agent/xmpp_session.c agent/routes.c agent/xmpp_parse.c agent/xmpp_build.c
AGENT_XMPP_HDRS := agent/xmpp_session.h agent/routes.h agent/xmpp.h

all: $(BUILD)/vrouter-agent

$(BUILD)/vrouter-agent: $(AGENT_SRCS) $(AGENT_HDRS) $(AGENT_XMPP_SRCS) $(AGENT_XMPP_HDRS) $(BUILD)/libvrouter.a $(LIB_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(YAML_CFLAGS) $(XML_CFLAGS) -Iagent $(AGENT_SRCS) $(AGENT_XMPP_SRCS) $(BUILD)/libvrouter.a \
		$(YAML_LIBS) $(XML_LIBS) $(LDLIBS) -o $@
# --- end of the vrouter-agent block ---

# --- XMPP codec (agent/xmpp_parse.c, agent/xmpp_build.c) and its unit tests: libxml2 ---
XML_CFLAGS := $(shell $(PKG_CONFIG) --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
XML_LIBS   := $(shell $(PKG_CONFIG) --libs libxml-2.0 2>/dev/null || echo -lxml2)
XMPP_SRCS  := agent/xmpp_parse.c agent/xmpp_build.c
XMPP_HDRS  := agent/xmpp.h

all: $(BUILD)/test_xmpp

# `valgrind --leak-check=full --error-exitcode=1 build/test_xmpp` runs clean (about 2.5 minutes).
$(BUILD)/test_xmpp: selftests/test_xmpp.c $(XMPP_SRCS) $(XMPP_HDRS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XML_CFLAGS) -Iagent selftests/test_xmpp.c $(XMPP_SRCS) $(XML_LIBS) -o $@
# --- end of the XMPP codec block ---

# --- the agent's XMPP sessions against a scripted fake control node (selftests/e2e_agent_xmpp.sh) ---
all: $(BUILD)/test_agent_xmpp

$(BUILD)/test_agent_xmpp: selftests/test_agent_xmpp.c $(XMPP_SRCS) $(XMPP_HDRS) $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XML_CFLAGS) -Iagent selftests/test_agent_xmpp.c $(XMPP_SRCS) $(BUILD)/libvrouter.a \
		$(XML_LIBS) $(LDLIBS) -o $@
# --- end of the agent XMPP test block ---

# --- vrouter-controller, the route reflector (agent/controller.c), and its protocol test: libxml2 ---
CTRL_SRCS := agent/controller.c agent/loop.c agent/log.c $(XMPP_SRCS)
CTRL_HDRS := agent/log.h agent/loop.h agent/config.h $(XMPP_HDRS)

all: $(BUILD)/vrouter-controller $(BUILD)/test_controller

$(BUILD)/vrouter-controller: $(CTRL_SRCS) $(CTRL_HDRS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XML_CFLAGS) -Iagent $(CTRL_SRCS) $(XML_LIBS) -o $@

$(BUILD)/test_controller: selftests/test_controller.c $(XMPP_SRCS) $(XMPP_HDRS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XML_CFLAGS) -Iagent selftests/test_controller.c $(XMPP_SRCS) $(XML_LIBS) -o $@
# --- end of the vrouter-controller block ---

# Installs the Debian packages the build and the tests need; does nothing when all are there.
DEB_PKGS := clang llvm libclang-rt-dev gcc make pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libxml2-dev \
	    libyaml-dev iproute2 ethtool tshark iputils-ping procps socat jq util-linux iperf3 \
	    qemu-system-x86 busybox-static xz-utils gnuplot-nox bird2 cppcheck clang-tidy valgrind iptables
deps:
	$(Q)missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  DEPS     installing:" $$missing; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash selftests/demo.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash selftests/run.sh

# Benchmarks (root): packet rate (64-byte frames, one core) and TCP VM -> VM through bpf-vrouter beside a bare
# XDP redirect, kernel VXLAN and plain routing, the gateway (decap + NAT) beside the kernel's MASQUERADE, and the
# control plane; results in $(BUILD)/bench/.
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)VR_BUILD=$(abspath $(BUILD)) bash selftests/bench.sh

clean:
	$(Q)rm -rf $(BUILD)

# --- control-plane benchmark helpers (selftests/bench_control.sh): a fake publishing agent built from the XMPP
# codec, and readers of a VRF's route table straight from the pinned maps ---
all: $(BUILD)/bench_publisher

$(BUILD)/bench_publisher: selftests/bench_publisher.c $(XMPP_SRCS) $(XMPP_HDRS) $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XML_CFLAGS) -Iagent selftests/bench_publisher.c $(XMPP_SRCS) $(BUILD)/libvrouter.a \
		$(XML_LIBS) $(LDLIBS) -o $@
# --- end of the control-plane benchmark block ---

# --- packet-rate benchmark (selftests/bench_pps.sh): its own BPF object (live-frames generator, counter, bare
# redirect; no datapath header, so no -Iheaders -Ibpf) and the driver that embeds it as a skeleton ---
BENCH_BPF_CFLAGS := -target bpf -O2 -g -mcpu=v3 -Wall -Werror -idirafter $(ARCH_INC)

all: $(BUILD)/bench_pps

$(BUILD)/bench_pps.bpf.o: selftests/bench_pps.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BENCH_BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(BUILD)/bench_pps.skel.h: $(BUILD)/bench_pps.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_pps > $@

$(BUILD)/bench_pps: selftests/bench_pps.c $(BUILD)/bench_pps.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LDLIBS) -o $@
# --- end of the packet-rate benchmark block ---

# --- static analysis and valgrind (selftests/analysis.sh; configuration in .clang-tidy and
# selftests/cppcheck.supp): cppcheck and clang-tidy over the user-space C, the unit tests under valgrind memcheck,
# and the minimum-kernel check (loader/vr_probe.c) through test_probe and vrouterctl ---
all: $(BUILD)/test_probe

$(BUILD)/test_probe: selftests/test_probe.c $(BUILD)/libvrouter.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libvrouter.a $(LDLIBS) -o $@

lint: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)VR_BUILD=$(abspath $(BUILD)) VR_VALGRIND_SLOW=1 bash selftests/analysis.sh
# --- end of the analysis block ---

# --- statically linked test_datapath for the Debian 6.1 guest (selftests/kernel61.sh): the guest's initramfs
# has no libc, libbpf or libelf, so the binary carries them (Debian's libbpf.a, libelf.a, libz.a) ---
STATIC_LIBS := $(shell $(PKG_CONFIG) --static --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)

all: $(BUILD)/static/test_datapath

$(BUILD)/static/test_datapath: $(wildcard selftests/test_datapath*.c selftests/*.h) $(BUILD)/libvrouter.a
	$(call msg,CC,$@ (static))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iselftests $(wildcard selftests/test_datapath*.c) $(BUILD)/libvrouter.a -static \
		$(STATIC_LIBS) -o $@
# --- end of the static test_datapath block ---

# --- fuzzing and sanitizers (selftests/fuzz.sh, selftests/fuzz/): libFuzzer targets for the parsers of untrusted
# bytes (the XMPP stream decoder with build -> decode round trips, the YAML config loader, the port API requests
# over a fake datapath), clang -fsanitize=fuzzer,address,undefined; and ASan+UBSan builds of the user-space unit
# tests and of vrouter-controller. `make check` runs each target a few seconds on its checked-in corpus
# (selftests/fuzz/corpus/TARGET) and the sanitized tests; `make fuzz` runs each target FUZZ_SECONDS ---
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 300
FUZZ_PKT_SECONDS ?= 300
SAN_CFLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-Wall -Wextra -Werror -std=gnu11 -Iheaders -Iloader -Iagent
FUZZ_CFLAGS  := $(SAN_CFLAGS) -fsanitize=fuzzer
FUZZ_BINS    := $(BUILD)/fuzz/fuzz_xmpp $(BUILD)/fuzz/fuzz_config $(BUILD)/fuzz/fuzz_port_api
ASAN_BINS    := $(BUILD)/asan/test_xmpp $(BUILD)/asan/test_config $(BUILD)/asan/test_controller \
		$(BUILD)/asan/vrouter-controller

.PHONY: fuzz
all: $(FUZZ_BINS) $(ASAN_BINS)

$(BUILD)/fuzz/fuzz_xmpp: selftests/fuzz/fuzz_xmpp.c selftests/fuzz/fuzz.h $(XMPP_SRCS) $(XMPP_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(XML_CFLAGS) $< $(XMPP_SRCS) $(XML_LIBS) -o $@

$(BUILD)/fuzz/fuzz_config: selftests/fuzz/fuzz_config.c selftests/fuzz/fuzz.h $(CONFIG_SRCS) $(CONFIG_HDRS) loader/vr_parse.c
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(YAML_CFLAGS) $< $(CONFIG_SRCS) loader/vr_parse.c $(YAML_LIBS) -o $@

# The real port API and port table; libvrouter's datapath calls are faked in the target.
FUZZ_PORT_SRCS := agent/port_api.c agent/ports.c agent/loop.c loader/vr_parse.c
$(BUILD)/fuzz/fuzz_port_api: selftests/fuzz/fuzz_port_api.c selftests/fuzz/fuzz.h $(FUZZ_PORT_SRCS) agent/port_api.h agent/ports.h \
			     agent/datapath.h agent/log.h $(CONFIG_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_PORT_SRCS) -o $@

$(BUILD)/asan/test_xmpp: selftests/test_xmpp.c $(XMPP_SRCS) $(XMPP_HDRS)
	$(call msg,ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) $(XML_CFLAGS) $< $(XMPP_SRCS) $(XML_LIBS) -o $@

$(BUILD)/asan/test_config: selftests/test_config.c $(CONFIG_SRCS) $(CONFIG_HDRS) loader/vr_parse.c
	$(call msg,ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) $(YAML_CFLAGS) -DVR_EXAMPLES_DIR='"$(abspath agent/examples)"' $< \
		$(CONFIG_SRCS) loader/vr_parse.c $(YAML_LIBS) -o $@

$(BUILD)/asan/test_controller: selftests/test_controller.c $(XMPP_SRCS) $(XMPP_HDRS)
	$(call msg,ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) $(XML_CFLAGS) $< $(XMPP_SRCS) $(XML_LIBS) -o $@

$(BUILD)/asan/vrouter-controller: $(CTRL_SRCS) $(CTRL_HDRS)
	$(call msg,ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(SAN_CFLAGS) $(XML_CFLAGS) $(CTRL_SRCS) $(XML_LIBS) -o $@

# Each target FUZZ_SECONDS (300 s; FUZZ_SECONDS=N to change), new inputs kept in $(BUILD)/fuzz/corpus/TARGET,
# crashes in $(BUILD)/fuzz/artifacts/. FUZZ_TARGETS="xmpp config" picks targets; FUZZ_MERGE=1 then folds the
# inputs that add coverage into the checked-in corpus.
# Then the packet fuzzer (selftests/fuzz_pkt.c) runs FUZZ_PKT_SECONDS (300) over new tables every minute.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS) $(BUILD)/fuzz_pkt
	$(Q)VR_BUILD=$(abspath $(BUILD)) FUZZ_SECONDS=$(FUZZ_SECONDS) bash selftests/fuzz.sh --long $(FUZZ_TARGETS)
	$(Q)$(BUILD)/fuzz_pkt --long --seconds $(FUZZ_PKT_SECONDS)
# --- end of the fuzzing and sanitizers block ---
