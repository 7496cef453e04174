#!/usr/bin/env bash
# vmt_recorder_test: the address-space recorder. strace2vmt.py turns a crafted strace
# log (calls split by other threads' lines, a thread, a fork child remapping an
# inherited range, a vfork child that execs, failed calls, exits) into exactly the
# expected .vmt, which va_replay reads. Then, where strace can trace here,
# record_vmt.sh records workloads/recorder/demo/rec_vm.c (known mmap, mprotect,
# madvise, mremap, munmap, brk, a thread, a fork child, a vfork + exec): the events
# are there, va_replay replays the file, and two recordings keep two files.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}
[ -x "$bin/va_replay" ] || { echo "FAIL: $bin/va_replay not built" >&2; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
conv=workloads/recorder/strace2vmt.py

# ---- the converter on a known log ------------------------------------------------------
cat >"$t/st.txt" <<'EOF'
100 execve("/bin/prog", ["prog"], 0x7ffc /* 3 vars */) = 0
100 brk(NULL)                         = 0x555000
100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000010000
100 mmap(NULL, 100, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f0000020000
100 mmap(0x7f0000020000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0) = 0x7f0000020000
100 mmap(NULL, 1099511627776, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)
100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f00, parent_tid=0x7f00, exit_signal=0, stack=0x7f00, stack_size=0x7fff00, tls=0x7f00} => {parent_tid=[101]}, 88) = 101
101 mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0 <unfinished ...>
100 munmap(0x7f0000010000, 8192 <unfinished ...>
101 <... mmap resumed>)                = 0x7e0000000000
100 <... munmap resumed>)              = 0
101 mprotect(0x7e0000000000, 135168, PROT_READ|PROT_WRITE) = 0
101 madvise(0x7e0000000000, 4096, MADV_DONTNEED) = 0
101 +++ exited with 0 +++
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
102 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000030000
102 mremap(0x7f0000020000, 4096, 16384, MREMAP_MAYMOVE) = 0x7f0000040000
102 exit_group(0)                     = ?
102 +++ exited with 0 +++
100 <... clone resumed>, child_tidptr=0x7f00) = 102
100 vfork( <unfinished ...>
103 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000050000
103 execve("/bin/nope", ["nope"], 0x7ffc /* 3 vars */) = -1 ENOENT (No such file or directory)
103 execve("/usr/bin/true", ["true"], 0x7ffc /* 3 vars */ <unfinished ...>
100 <... vfork resumed>)              = 103
103 <... execve resumed>)             = 0
103 brk(NULL)                         = 0x666000
103 +++ exited with 0 +++
100 mremap(0x7f0000020000, 4096, 8192, MREMAP_MAYMOVE) = 0x7f0000060000
100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=103, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---
100 brk(0x577000)                     = 0x577000
100 exit_group(0)                     = ?
100 +++ exited with 0 +++
EOF
cat >"$t/want.vmt" <<'EOF'
# vmt from strace: ST
1 100 exec /bin/prog
1 100 brk 555000
1 100 map 7f0000010000 8192 rw- a
1 100 map 7f0000020000 100 r-- f
1 100 map 7f0000020000 4096 r-x f fixed
1 101 map 7e0000000000 134217728 --- a
1 100 unmap 7f0000010000 8192
1 101 prot 7e0000000000 135168 rw-
1 101 advise 7e0000000000 4096 dontneed
2 102 map 7f0000030000 4096 rw- a
2 102 unmap 7f0000020000 4096
2 102 map 7f0000040000 16384 rw- a fixed
1 100 map 7f0000050000 4096 rw- a
3 103 exec /usr/bin/true
3 103 brk 666000
1 100 remap 7f0000020000 4096 7f0000060000 8192
1 100 brk 577000
EOF
python3 "$conv" "$t/st.txt" "$t/got.vmt" 2>/dev/null || fail "strace2vmt.py failed"
sed -i "1s|.*|# vmt from strace: ST|" "$t/got.vmt"
diff -u "$t/want.vmt" "$t/got.vmt" >&2 || fail "strace2vmt.py: unexpected .vmt (diff above)"
"$bin/va_replay" --virt freelist --trace "$t/got.vmt" --out "$t/got.jsonl" 2>"$t/err" ||
	fail "va_replay cannot read the converted trace: $(tail -2 "$t/err")"
grep -q '"failed":0,' "$t/got.jsonl" || fail "va_replay: $(cat "$t/got.jsonl")"
python3 "$conv" "$t/missing.txt" 2>/dev/null && fail "strace2vmt.py: missing input accepted"

# ---- a real recording ---------------------------------------------------------------
if ! command -v strace >/dev/null; then
	echo "SKIP: strace not installed (scripts/deps.sh installs it); converter checked"
	exit 77
fi
if ! strace -f -q -o /dev/null -e trace=memory true 2>/dev/null; then
	echo "SKIP: strace cannot trace here (ptrace not permitted); converter checked"
	exit 77
fi
gcc -O1 -o "$t/rec_vm" workloads/recorder/demo/rec_vm.c -lpthread
rv=$PWD/workloads/recorder/record_vmt.sh
(cd "$t" && "$rv" -- ./rec_vm >/dev/null 2>&1 && "$rv" -- ./rec_vm >/dev/null 2>&1) ||
	fail "record_vmt.sh failed"
vmts=("$t"/rec_vm.*.vmt)
[ ${#vmts[@]} -eq 2 ] || fail "two recordings of rec_vm: ${vmts[*]}"
v=${vmts[0]}
has() { grep -Eq "$1" "$v" || fail "$v lacks /$1/"; }
has '^1 [0-9]+ exec \./rec_vm$'
has '^1 [0-9]+ map [0-9a-f]+ 12288 rw- a$'
has '^1 [0-9]+ prot [0-9a-f]+ 12288 r--$'
has '^1 [0-9]+ advise [0-9a-f]+ 12288 dontneed$'
has '^1 [0-9]+ remap [0-9a-f]+ 12288 [0-9a-f]+ 32768$'
has '^1 [0-9]+ unmap [0-9a-f]+ 32768$'
has '^1 [0-9]+ brk [0-9a-f]+$'
main=$(awk '$3 == "exec" {print $2; exit}' "$v")
# the thread: same proc, its own tid
grep -Eq "^1 [0-9]+ map [0-9a-f]+ 1052672 rw- a$" "$v" || fail "thread's map missing"
grep -E "^1 [0-9]+ map [0-9a-f]+ 1052672 rw- a$" "$v" | grep -vq "^1 $main " || fail "thread's map under main's tid"
# the fork child: a proc of its own; the vfork child's exec: another one
grep -Eq '^2 [0-9]+ map [0-9a-f]+ 8192 --- a$' "$v" || fail "fork child's map (proc 2)"
grep -Eq '^3 [0-9]+ exec /bin/true$' "$v" || fail "vfork child's exec (proc 3)"
for f in "${vmts[@]}"; do
	"$bin/va_replay" --trace "$f" --out "$f.jsonl" 2>"$t/err" || fail "va_replay $f: $(tail -2 "$t/err")"
	! grep -v '"failed":0,' "$f.jsonl" | grep -q . || fail "va_replay $f: failed ops"
done
"$rv" -o "$v" -- true 2>/dev/null && fail "record_vmt.sh overwrote $v"
echo "vmt_recorder_test: ok"
