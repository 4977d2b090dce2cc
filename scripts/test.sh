#!/bin/bash
# The kvm-idle test command: set up the machine, apply the series, run the
# host checks, build kernel, selftests and tool, boot the kernel under QEMU
# with kvm_amd.npt=1 (TDP MMU) and kvm_amd.npt=0 (shadow MMU) and run the
# tests in each.  Every check and every kselftest counts as one test; the
# last line is "N passed, N failed"; the exit status is 1 on any failure.
USAGE="usage: scripts/test.sh    (as root on a fresh Debian 12 machine; see README.md)

Environment: KVM_IDLE_BUILD, KVM_IDLE_PATCHES, KVM_IDLE_JOBS (see scripts/lib.sh);
  KVM_IDLE_TIMEOUT   seconds per guest boot (default 2400)
  KVM_IDLE_CMDLINE   extra kernel arguments for both boots
  KVM_IDLE_KERNEL    use this bzImage and skip the kernel build
  KVM_IDLE_MODES     boots to run (default: \"tdp shadow\"; \"none\" for none)
  KVM_IDLE_KCSAN=1   also build the KCSAN kernel (scripts/build-kcsan.sh, about
                     20 min cold) and run the race and oracle tests on it in
                     both MMU modes; fails on a data race that involves the
                     series' code (others are listed, see build/runs/test-kcsan-*)
  FORCE=1            let scripts/prepare-tree.sh drop work not in patches/
Logs: build/logs/ (one per step, the guests' consoles); guest results: build/runs/."
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"

LOGS=$KVM_IDLE_BUILD/logs
mkdir -p "$LOGS" || die "cannot create $LOGS"
L=$KVM_IDLE_LINUX
S=$KVM_IDLE_SCRIPTS
export KVM_IDLE_TIMEOUT=${KVM_IDLE_TIMEOUT:-2400}
npass=0 nfail=0 nskip=0
failed=() timings=() why=() reruns=() platform=()
T0=$(date +%s)

t_ok() { npass=$((npass + 1)); echo "ok - $1"; }
t_fail() { nfail=$((nfail + 1)); failed+=("$1"); echo "not ok - $1"; }
t_skip() { nskip=$((nskip + 1)); echo "ok - $1 # SKIP${2:+ $2}"; }

# step NAME COMMAND...: run with output to build/logs/NAME.log; on failure
# show the log's tail.  Returns the command's status.
step() {
	local name=$1 log=$LOGS/$1.log start rc=0
	shift
	start=$(date +%s)
	echo "== $name: $*"
	"$@" >"$log" 2>&1 || rc=$?
	timings+=("$(printf '%-24s %5d s' "$name" $(($(date +%s) - start)))")
	if [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
		echo "-- $name failed (exit $rc); last lines of $log:"
		tail -n "${KVM_IDLE_LOG_TAIL:-60}" "$log" | sed 's/^/   | /'
	fi
	return $rc
}

finish() {
	echo
	echo "== timings (total $(($(date +%s) - T0)) s)"
	printf '   %s\n' "${timings[@]}"
	if [ ${#reruns[@]} -gt 0 ]; then
		echo "== passed when run again after KVM_EXIT_SHUTDOWN (README, Known problems):"
		printf '   %s\n' "${reruns[@]}"
	fi
	if [ ${#platform[@]} -gt 0 ]; then
		echo "== platform faults: kernel reports before KVM or the series' code ran, not counted (README, Known problems):"
		printf '%s\n' "${platform[@]}"
	fi
	if [ ${#why[@]} -gt 0 ]; then
		# Last, so that a log cut to its tail (CI's) still says why.
		echo "== why the tests failed (their last lines):"
		printf '%s\n' "${why[@]}"
	fi
	if [ $nfail -gt 0 ]; then
		echo "== failed:"
		printf '   %s\n' "${failed[@]}"
	fi
	echo "$nskip skipped"
	echo "$npass passed, $nfail failed"
	[ $nfail -eq 0 ]
	exit
}

# tap_results PREFIX FILE: count the top-level TAP results of FILE.
tap_results() {
	local prefix=$1 file=$2 rerun=${3:-} line plan=0 seen=0 desc reason skip_reason='' first
	local name again shutdown
	local -a said=()
	[ -f "$file" ] || { t_fail "$prefix: no results ($file missing)"; return; }
	shutdown=$(ksft_shutdown_failures "$file")
	while IFS= read -r line; do
		# What a test printed before its result: kept for a failure.
		case "$line" in
		"ok "* | "not ok "*) ;;
		*) said+=("$line") ;;
		esac
		case "$line" in
		1..*) plan=${line#1..} ;;
		"# # SKIP "*) skip_reason=${line#"# # SKIP "} ;;
		"# ok "*"# SKIP"* | "# ok "*"# skip"*)
			# A skipped subtest (the runner prefixes its lines with
			# "# "; kselftest writes "ok N # SKIP name", after the
			# test's own "# SKIP reason" line): visible here, and a
			# failure where the test kernel and guest guarantee
			# the feature.
			desc=$(sed -E 's/^# ok [0-9]+ *-? *//; s/^# *(SKIP|skip) *//; s/ *# *(SKIP|skip).*$//' <<<"$line")
			reason=${skip_reason:-no reason given}
			skip_reason=
			if grep -qiE 'THP|hugetlb|huge page|DAX|NUMA' <<<"$desc"; then
				t_fail "$prefix: subtest skipped, but the test kernel has THP, hugetlb, DAX and NUMA: $desc ($reason)"
			else
				t_skip "$prefix: subtest $desc" "$reason"
			fi
			;;
		"ok "* | "not ok "*)
			seen=$((seen + 1))
			desc=$(sed -E 's/^(not )?ok [0-9]+ -? ?//' <<<"$line")
			name=$(sed -nE 's/^selftests: kvm-idle: ([^ ]+).*/\1/p' <<<"$desc")
			again=
			if [ -n "$name" ] && grep -qxF "$name" <<<"$shutdown" &&
				[ -n "$rerun" ] && [ -f "$rerun" ]; then
				again=$(tr -d '\r' <"$rerun" | grep -E "^(not )?ok [0-9]+ selftests: kvm-idle: $name( |$)" | tail -n 1)
			fi
			if [[ "$again" == "ok "* ]]; then
				t_ok "$prefix: selftests: kvm-idle: $name (run again: the first run's guest stopped with KVM_EXIT_SHUTDOWN, README: Known problems)"
				reruns+=("$prefix: $name: $(printf '%s\n' "${said[@]}" | grep -m1 'unexpected exit SHUTDOWN' | sed 's/^[# ]*//')")
			elif [[ "$line" == "not ok"* ]]; then
				[ -z "$again" ] || desc+=" (and when run again after KVM_EXIT_SHUTDOWN)"
				t_fail "$prefix: $desc"
				first=$((${#said[@]} - ${KVM_IDLE_WHY_LINES:-15}))
				[ $first -ge 0 ] || first=0
				why+=("-- $prefix: $desc" "$(printf '   | %s\n' "${said[@]:first}")")
			elif [[ "$desc" =~ \#\ *(SKIP|skip)(.*)$ ]]; then
				reason=${BASH_REMATCH[2]}
				desc=${desc%%#*}
				t_skip "$prefix: ${desc%"${desc##*[! ]}"}" "${reason# }"
			else
				t_ok "$prefix: $desc"
			fi
			said=()
			;;
		esac
	done < <(tr -d '\r' <"$file")
	if [[ "$plan" =~ ^[0-9]+$ ]] && [ "$seen" -lt "$plan" ]; then
		t_fail "$prefix: $((plan - seen)) of $plan tests did not report (crash or timeout?)"
	fi
}

# The series' functions, as they appear in a KCSAN report's stack traces.
SERIES_SYMS='idle_bitmap|young_range|[ ]ib_[a-z_0-9]+\+0x|tdp_mmu_young|tdp_mmu_clear_young|tdp_mmu_root_skip_lockless|kvm_rmap_young|kvm_rmap_age_spte|kvm_tdp_mmu_invalidate_all_roots'

# kcsan_reports LOG OUT: write each KCSAN report of the console LOG to OUT
# (blank line between reports), preceded by a summary; print "N M", the
# number of reports and of those whose stacks involve the series' code.
kcsan_reports() {
	local log=$1 out=$2
	awk -v syms="$SERIES_SYMS" '
		{ sub(/^.*\[ *[0-9]+\.[0-9]+\] /, "") }
		/BUG: KCSAN:/ { inrep = 1; rep = ""; n++ }
		inrep { rep = rep $0 "\n" }
		inrep && /^==========/ {
			inrep = 0
			ours = rep ~ syms
			m += ours
			title = rep; sub(/\n.*/, "", title)
			titles = titles (ours ? "  SERIES " : "  other  ") title "\n"
			reps = reps rep "\n"
		}
		END {
			printf "%d KCSAN report(s), %d involving the series (%s)\n%s\n%s", n, m, syms, titles, reps > "/dev/stderr"
			print n + 0, m + 0
		}' "$log" 2>"$out"
}

# boot_mode MODE FLAVOR KERNEL TESTS: boot the test guest in MODE (tdp or
# shadow) and count its results.  FLAVOR "" is the test kernel; "kcsan"
# boots KERNEL and runs only TESTS, and KCSAN reports are counted apart.
boot_mode() {
	local mode=$1 flavor=$2 kernel=$3 tests=$4 args name prefix rc run counts
	case $mode in
	tdp) args="kvm_amd.npt=1 kvm_intel.ept=1" name=npt1 ;;
	shadow) args="kvm_amd.npt=0 kvm_intel.ept=0" name=npt0 ;;
	*) die "KVM_IDLE_MODES: unknown mode $mode (tdp, shadow, none)" ;;
	esac
	args+=" $KVM_IDLE_TEST_CMDLINE"
	prefix="npt=${name#npt} ($mode MMU)"
	[ -z "$flavor" ] || { name=$flavor-$name prefix="$flavor: $prefix"; }
	rc=0
	KVM_IDLE_MEM=${KVM_IDLE_MEM:-8G} KVM_IDLE_RUN_NAME=test-$name KVM_IDLE_QUIET=1 \
		KVM_IDLE_CMDLINE="$args ${KVM_IDLE_CMDLINE:-}" \
		KVM_IDLE_KERNEL=${kernel:-${KVM_IDLE_KERNEL:-}} KVM_IDLE_KSFT_TESTS=${tests:-${KVM_IDLE_KSFT_TESTS:-}} \
		step "boot-$name" "$S/boot.sh" "$S/guest-tests.sh" "$mode" || rc=$?
	run=$KVM_IDLE_BUILD/runs/test-$name
	case $rc in
	124) t_fail "$prefix: guest finished within $KVM_IDLE_TIMEOUT s (console: $LOGS/test-$name.log)" ;;
	125 | 126) t_fail "$prefix: guest ran the tests to the end (console: $LOGS/test-$name.log)" ;;
	*) t_ok "$prefix: guest boots and runs the tests" ;;
	esac
	if [ "$flavor" = kcsan ]; then
		read -r -a counts < <(kcsan_reports "$LOGS/test-$name.log" "$run/kcsan.txt")
		if [ "${counts[1]}" -eq 0 ]; then
			t_ok "$prefix: no KCSAN data race involves the series (${counts[0]} report(s) in all: $run/kcsan.txt)"
		else
			t_fail "$prefix: no KCSAN data race involves the series (${counts[1]} of ${counts[0]} do: $run/kcsan.txt)"
		fi
		sed -n '1,/^$/p' "$run/kcsan.txt" | sed 's/^/   | /'
		# Every other kind of report still fails the run.
		grep -v -e 'BUG: KCSAN:' "$run/splats" >"$run/splats.other" || true
		mv "$run/splats.other" "$run/splats"
	fi
	if [ -s "$run/platform-splats" ]; then
		# Printed before KVM or the series' code ran (scripts/boot.sh):
		# listed, not counted (README, "Known problems").
		platform+=("-- $prefix: $(grep -c '^\[' "$run/platform-splats") kernel report(s) before KVM or the series' code ran ($run/platform-splats):"
			"$(head -n 12 "$run/platform-splats" | sed 's/^/   | /')")
	fi
	if [ -s "$run/splats" ]; then
		t_fail "$prefix: no kernel BUG/WARNING/lockdep/RCU reports in the console"
		sed 's/^/   | /' "$run/splats" | head -n 40
	elif [ $rc -ne 124 ] && [ $rc -ne 126 ]; then
		t_ok "$prefix: no kernel BUG/WARNING/lockdep/RCU reports in the console"
	fi
	tap_results "$prefix" "$run/guest.tap"
	tap_results "$prefix" "$run/kselftest.tap" "$run/kselftest-rerun.tap"
}

# The whole run is one function, read before it starts: editing this file
# while it runs does not change the run.
main() {
	# 1. Packages.
	if step setup "$S/setup.sh"; then
		t_ok "setup: packages installed"
		grep -h 'warning' "$LOGS/setup.log" || true
	else
		t_fail "setup: packages installed (see $LOGS/setup.log)"
		finish
	fi

	# 2. The kernel tree with the series applied.
	rc=0
	step prepare-tree "$S/prepare-tree.sh" || rc=$?
	case $rc in
	0)
		t_ok "series applies to the pinned base (git am)"
		grep -h -e 'warning' -e ': base: ' -e 'applied:' -e 'up to date:' "$LOGS/prepare-tree.log" || true
		;;
	2)
		t_fail "$L holds work not in patches/: export it or rerun with FORCE=1 (see $LOGS/prepare-tree.log)"
		finish
		;;
	*)
		t_fail "series applies to the pinned base (git am) (see $LOGS/prepare-tree.log)"
		finish
		;;
	esac

	# 3. Host checks on the series.
	if step check-mirror "$S/check-mirror.sh"; then t_ok "mirror: new Documentation/ and tools/ files match the top"; else
		t_fail "mirror: new Documentation/ and tools/ files match the top"
	fi
	mapfile -t patches < <(series_patches)
	for p in "${patches[@]}"; do
		if step "checkpatch-${p%%-*}" "$S/checkpatch.sh" "$KVM_IDLE_PATCHES/$p"; then
			t_ok "checkpatch --strict: $p"
		else
			t_fail "checkpatch --strict: $p"
		fi
	done
	if step kernel-doc "$S/check-kernel-doc.sh"; then
		t_ok "kernel-doc -Wall: no new warnings in the series' kernel files"
	else
		t_fail "kernel-doc -Wall: no new warnings in the series' kernel files (see $LOGS/kernel-doc.log)"
	fi
	if step sphinx "$S/check-sphinx.sh"; then
		t_ok "Sphinx (make htmldocs of admin-guide and userspace-api): no warning from the series' documentation"
	else
		t_fail "Sphinx: no warning from the series' documentation (see $LOGS/sphinx.log)"
	fi
	if command -v shellcheck >/dev/null; then
		if step shellcheck shellcheck -x -S warning "$S"/*.sh "$S"/*/*.sh "$KVM_IDLE_TOP/.ci/run"; then
			t_ok "shellcheck scripts/"
		else
			t_fail "shellcheck scripts/"
		fi
	else
		t_skip "shellcheck scripts/" "shellcheck not installed"
	fi

	# The mail the series would be sent as (dry run: nothing is sent).
	if step send-dry-run env GIT_AUTHOR_NAME="kvm-idle CI" GIT_AUTHOR_EMAIL="ci@example.net" \
		"$S/send-series.sh" --out "$KVM_IDLE_BUILD/outgoing"; then
		t_ok "send-series.sh --dry-run: identity rewritten, To/Cc from get_maintainer.pl"
	else
		t_fail "send-series.sh --dry-run (see $LOGS/send-dry-run.log)"
	fi

	# 4. Builds.
	if [ -n "${KVM_IDLE_KERNEL:-}" ]; then
		t_skip "kernel builds" "using KVM_IDLE_KERNEL=$KVM_IDLE_KERNEL"
		[ -f "$KVM_IDLE_KERNEL" ] || { t_fail "kernel image $KVM_IDLE_KERNEL exists"; finish; }
		step build-kernel "$S/build-kernel.sh" --config-only || true
	elif step build-kernel "$S/build-kernel.sh"; then
		t_ok "kernel builds"
	else
		t_fail "kernel builds (see $LOGS/build-kernel.log)"
		finish
	fi
	if step check-config "$S/check-config.sh"; then t_ok "kernel config has every option of the fragment"; else
		t_fail "kernel config has every option of the fragment"
	fi
	if step sparse "$S/check-sparse.sh"; then
		t_ok "sparse (C=2): no finding in the series' code beyond scripts/sparse-allow.txt"
	else
		t_fail "sparse (C=2): no finding in the series' code beyond scripts/sparse-allow.txt (see $LOGS/sparse.log)"
	fi
	selftests_built=0
	if step build-selftests "$S/build-selftests.sh"; then
		selftests_built=1
		if [ -f "$L/tools/testing/selftests/kvm-idle/Makefile" ]; then
			t_ok "kvm-idle kselftests and access_tracking_perf_test build"
		else
			t_skip "kvm-idle kselftests build" "not in the series yet"
			t_ok "access_tracking_perf_test builds"
		fi
	else
		t_fail "kselftests build (see $LOGS/build-selftests.log)"
	fi
	rc=0
	step build-tool "$S/build-tool.sh" || rc=$?
	case $rc in
	0) t_ok "tools/kvm/kvm_idle builds" ;;
	4) t_skip "tools/kvm/kvm_idle builds" "not in the series yet" ;;
	*) t_fail "tools/kvm/kvm_idle builds (see $LOGS/build-tool.log)" ;;
	esac
	if [ $rc -eq 0 ] && grep -qs '^check:' "$L/tools/kvm/kvm_idle/Makefile"; then
		if step tool-check make -C "$L/tools/kvm/kvm_idle" check; then t_ok "tools/kvm/kvm_idle unit tests (make check)"; else
			t_fail "tools/kvm/kvm_idle unit tests (make check)"
		fi
	elif [ $rc -eq 0 ]; then
		t_skip "tools/kvm/kvm_idle unit tests" "its Makefile has no check target"
	fi

	# 5. Boot and run the tests, TDP MMU and shadow MMU.
	[ $selftests_built -eq 1 ] || finish
	for mode in ${KVM_IDLE_MODES:-tdp shadow}; do
		[ "$mode" = none ] && continue
		boot_mode "$mode" "" "" ""
	done

	# 6. Optional: the race and oracle tests on the KCSAN kernel.
	if [ "${KVM_IDLE_KCSAN:-0}" = 1 ]; then
		if step build-kcsan "$S/build-kcsan.sh"; then
			t_ok "KCSAN kernel builds"
			for mode in tdp shadow; do
				boot_mode "$mode" kcsan "$(tail -n 1 "$LOGS/build-kcsan.log")" \
					"idle_bitmap_race_test idle_bitmap_oracle_test"
			done
		else
			t_fail "KCSAN kernel builds (see $LOGS/build-kcsan.log)"
		fi
	fi
	finish
}

main
