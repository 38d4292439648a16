#!/usr/bin/env python3
"""Generate crates/tracee-core/src/events/generated/syscalls.rs: every syscall of x86_64 and
arm64 with its numbers, argument names, C types and wire types.

Inputs (all offline on a Debian machine; run as root so tracefs can be mounted):
  * numbers, x86_64: /usr/include/x86_64-linux-gnu/asm/unistd_64.h   (package linux-libc-dev)
  * numbers, arm64:  /usr/aarch64-linux-gnu/include/asm/unistd.h      (linux-libc-dev-arm64-cross),
                     expanded with `clang -E -dM` because it is the asm-generic table behind
                     #ifdef __ARCH_WANT_* and __NR3264_* indirections.
  * signatures:      the running kernel's tracefs, events/syscalls/sys_enter_*/format: the
                     argument count, order, kernel names and C types of the raw syscall ABI.
  * argument names:  man-pages (package manpages-dev), sections 2 and 3 SYNOPSIS: the names users know
                     (`dirfd`, `pathname`), which are also the names Tracee uses. A man page name
                     is used only when its prototype has the kernel's arity and pointer-ness at
                     every position; otherwise the kernel name stays.

The few facts none of these inputs carry are in the clearly marked OVERRIDE tables below.

Usage:
  scripts/gen-syscalls.py            write the generated file
  scripts/gen-syscalls.py --check    exit 1 if the committed file differs from a fresh run,
                                     exit 3 if this machine's inputs differ from the ones the
                                     committed file was generated from (nothing to compare)
Exit 2: an input is missing on this machine.
"""

import gzip
import hashlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates/tracee-core/src/events/generated/syscalls.rs")
X86_HDR = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
ARM64_INC = "/usr/aarch64-linux-gnu/include"
ARM64_HDR = ARM64_INC + "/asm/unistd.h"
MAN2 = "/usr/share/man/man2"
MAN3 = "/usr/share/man/man3"
TRACEFS_CANDIDATES = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]

# ---------------------------------------------------------------------------------------------
# OVERRIDE 1: syscalls newer than the linux-libc-dev 6.1 headers installed here. Since Linux
# 5.1 (nr 424) new syscalls take the same number on every architecture, except the x86-only
# ones marked arm64=None.  name: (x86_64, arm64)
# ---------------------------------------------------------------------------------------------
NEWER_NUMBERS = {
    "cachestat": (451, 451),
    "fchmodat2": (452, 452),
    "map_shadow_stack": (453, 453),
    "futex_wake": (454, 454),
    "futex_wait": (455, 455),
    "futex_requeue": (456, 456),
    "statmount": (457, 457),
    "listmount": (458, 458),
    "lsm_get_self_attr": (459, 459),
    "lsm_set_self_attr": (460, 460),
    "lsm_list_modules": (461, 461),
    "mseal": (462, 462),
    "setxattrat": (463, 463),
    "getxattrat": (464, 464),
    "listxattrat": (465, 465),
    "removexattrat": (466, 466),
    "open_tree_attr": (467, 467),
    "file_getattr": (468, 468),
    "file_setattr": (469, 469),
    "uretprobe": (335, None),
    "uprobe": (336, None),
}

# ---------------------------------------------------------------------------------------------
# OVERRIDE 2: tracefs names events after the kernel's SYSCALL_DEFINE name, which differs from
# the uapi name for these.  uapi name -> tracefs name
# ---------------------------------------------------------------------------------------------
TRACEFS_ALIASES = {
    "stat": "newstat",
    "lstat": "newlstat",
    "fstat": "newfstat",
    "uname": "newuname",
    "sendfile": "sendfile64",
    "umount2": "umount",
}

# ---------------------------------------------------------------------------------------------
# OVERRIDE 2b: the man page documenting a syscall under its library name.
# syscall name -> man page function name
# ---------------------------------------------------------------------------------------------
MAN_ALIASES = {
    "exit": "_exit",
    "eventfd2": "eventfd",
    "fadvise64": "posix_fadvise",
    "fchmodat2": "fchmodat",
    "newfstatat": "fstatat",
    "pread64": "pread",
    "pwrite64": "pwrite",
    "prlimit64": "prlimit",
    "pselect6": "pselect",
    "rt_sigaction": "sigaction",
    "rt_sigpending": "sigpending",
    "rt_sigprocmask": "sigprocmask",
    "rt_sigsuspend": "sigsuspend",
    "rt_sigtimedwait": "sigtimedwait",
    "rt_sigqueueinfo": "sigqueue",
    "signalfd4": "signalfd",
}

# ---------------------------------------------------------------------------------------------
# OVERRIDE 3: signatures of syscalls this kernel's tracefs lacks (compiled out here: modules,
# kexec, shadow stacks; x86 TLS entry points are not traced; removed or never-implemented
# syscalls take no arguments). Written from the kernels' SYSCALL_DEFINE lines.
# name: [(kernel C type, name), ...]
# ---------------------------------------------------------------------------------------------
MISSING_SIGNATURES = {
    "init_module": [("void *", "umod"), ("unsigned long", "len"), ("const char *", "uargs")],
    "delete_module": [("const char *", "name_user"), ("unsigned int", "flags")],
    "finit_module": [("int", "fd"), ("const char *", "uargs"), ("int", "flags")],
    "kexec_load": [("unsigned long", "entry"), ("unsigned long", "nr_segments"),
                   ("struct kexec_segment *", "segments"), ("unsigned long", "flags")],
    "kexec_file_load": [("int", "kernel_fd"), ("int", "initrd_fd"), ("unsigned long", "cmdline_len"),
                        ("const char *", "cmdline_ptr"), ("unsigned long", "flags")],
    "get_thread_area": [("struct user_desc *", "u_info")],
    "set_thread_area": [("struct user_desc *", "u_info")],
    "map_shadow_stack": [("unsigned long", "addr"), ("unsigned long", "size"), ("unsigned int", "flags")],
    "lookup_dcookie": [("u64", "cookie64"), ("char *", "buf"), ("size_t", "len")],
    "uselib": [("const char *", "library")],
    "_sysctl": [("struct __sysctl_args *", "args")],
    # Never implemented in mainline (sys_ni_syscall): no arguments.
    "afs_syscall": [], "create_module": [], "epoll_ctl_old": [], "epoll_wait_old": [],
    "get_kernel_syms": [], "getpmsg": [], "nfsservctl": [], "putpmsg": [], "query_module": [],
    "security": [], "tuxcall": [], "vserver": [],
}

# ---------------------------------------------------------------------------------------------
# OVERRIDE 4: arguments that are `int[2]` out-parameters (read at exit as two ints).
# ---------------------------------------------------------------------------------------------
INT_ARRAY_ARGS = {("pipe", 0), ("pipe2", 0), ("socketpair", 3)}

# ---------------------------------------------------------------------------------------------
# Event sets, with Tracee's names. Every syscall is in `syscalls`; these add a group and one of
# its subsets (group_subset). Classification is editorial, not derived from any input.
# ---------------------------------------------------------------------------------------------
SUBSETS = {
    "fs_file_ops": "open openat openat2 creat close close_range truncate ftruncate fallocate "
                   "rename renameat renameat2 name_to_handle_at open_by_handle_at memfd_create "
                   "memfd_secret mknod mknodat open_tree open_tree_attr",
    "fs": "fsopen fsconfig fsmount fspick move_mount mount umount2 mount_setattr pivot_root "
          "swapon swapoff readahead fadvise64 quotactl_fd",
    "fs_file_attr": "stat fstat lstat newfstatat statx access faccessat faccessat2 chmod fchmod "
                    "fchmodat fchmodat2 chown fchown lchown fchownat utime utimes utimensat "
                    "futimesat umask setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr "
                    "listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr "
                    "setxattrat getxattrat listxattrat removexattrat file_getattr file_setattr",
    "fs_read_write": "read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 "
                     "lseek sendfile copy_file_range",
    "fs_dir_ops": "getdents getdents64 mkdir mkdirat rmdir chdir fchdir getcwd chroot",
    "fs_link_ops": "link linkat unlink unlinkat symlink symlinkat readlink readlinkat",
    "fs_sync": "sync syncfs fsync fdatasync sync_file_range msync",
    "fs_monitor": "inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_init "
                  "fanotify_mark",
    "fs_fd_ops": "dup dup2 dup3 fcntl flock ioctl",
    "fs_async_io": "io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents "
                   "io_uring_setup io_uring_enter io_uring_register",
    "fs_mux_io": "select pselect6 poll ppoll epoll_create epoll_create1 epoll_ctl epoll_wait "
                 "epoll_pwait epoll_pwait2 epoll_ctl_old epoll_wait_old eventfd eventfd2",
    "fs_info": "statfs fstatfs ustat sysfs statmount listmount",
    "proc_life": "execve execveat clone clone3 fork vfork exit exit_group wait4 waitid "
                 "pidfd_open pidfd_getfd",
    "proc_mem": "brk mmap munmap mremap mprotect madvise process_madvise mincore mlock mlock2 "
                "munlock mlockall munlockall remap_file_pages pkey_mprotect pkey_alloc pkey_free "
                "process_vm_readv process_vm_writev membarrier userfaultfd mseal "
                "map_shadow_stack cachestat modify_ldt",
    "proc_sched": "sched_yield sched_setparam sched_getparam sched_setscheduler "
                  "sched_getscheduler sched_get_priority_max sched_get_priority_min "
                  "sched_rr_get_interval sched_setaffinity sched_getaffinity sched_setattr "
                  "sched_getattr getpriority setpriority ioprio_set ioprio_get rseq",
    "proc_ids": "getpid getppid gettid getuid geteuid getgid getegid setuid setgid setreuid "
                "setregid setresuid setresgid getresuid getresgid setfsuid setfsgid getgroups "
                "setgroups setpgid getpgid getpgrp setsid getsid",
    "proc": "ptrace prctl arch_prctl set_tid_address unshare setns kcmp getrlimit setrlimit "
            "prlimit64 getrusage times seccomp capget capset set_thread_area get_thread_area "
            "uselib uretprobe uprobe lsm_get_self_attr lsm_set_self_attr lsm_list_modules "
            "landlock_create_ruleset landlock_add_rule landlock_restrict_self",
    "net_sock": "socket socketpair bind listen accept accept4 connect getsockname getpeername "
                "setsockopt getsockopt shutdown",
    "net_snd_rcv": "sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg",
    "ipc_pipe": "pipe pipe2 splice tee vmsplice",
    "ipc_shm": "shmget shmat shmctl shmdt",
    "ipc_sem": "semget semop semctl semtimedop",
    "ipc_msgq": "msgget msgsnd msgrcv msgctl mq_open mq_unlink mq_timedsend mq_timedreceive "
                "mq_notify mq_getsetattr",
    "ipc_futex": "futex futex_waitv futex_wake futex_wait futex_requeue set_robust_list "
                 "get_robust_list",
    "signals": "rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait "
               "rt_sigqueueinfo rt_tgsigqueueinfo rt_sigsuspend sigaltstack pause signalfd "
               "signalfd4 pidfd_send_signal kill tkill tgkill restart_syscall",
    "time_timer": "nanosleep getitimer setitimer alarm timer_create timer_settime timer_gettime "
                  "timer_getoverrun timer_delete timerfd_create timerfd_settime timerfd_gettime",
    "time_clock": "clock_settime clock_gettime clock_getres clock_adjtime adjtimex "
                  "clock_nanosleep",
    "time_tod": "gettimeofday settimeofday time",
    "system_module": "init_module finit_module delete_module create_module query_module "
                     "get_kernel_syms",
    "system_numa": "mbind set_mempolicy get_mempolicy migrate_pages move_pages "
                   "set_mempolicy_home_node getcpu",
    "system_keys": "add_key request_key keyctl",
    "system": "reboot kexec_load kexec_file_load syslog acct sysinfo uname sethostname "
              "setdomainname bpf perf_event_open vhangup getrandom _sysctl lookup_dcookie "
              "nfsservctl personality iopl ioperm",
}
# Tracee's `default` set: security-relevant events traced when no event is selected.
DEFAULT_SET = set("creat chmod fchmod chown fchown lchown ptrace setuid setgid setpgid setreuid "
                  "setregid setresuid setresgid setfsuid setfsgid init_module fchownat fchmodat "
                  "setns process_vm_readv process_vm_writev finit_module memfd_create "
                  "move_mount".split())


def group_of(subset):
    """`fs_file_ops` is in group `fs`; a key without `_` is a group itself."""
    return subset.split("_")[0]


def sets_of(name):
    out = []
    if name in DEFAULT_SET:
        out.append("default")
    out.append("syscalls")
    for subset, names in SUBSETS.items():
        if name in names.split():
            group = group_of(subset)
            for s in (group, subset):
                if s not in out:
                    out.append(s)
    return out


# ----------------------------------------------------------------------------- numbers
def missing(msg):
    """An input is absent on this machine: exit 2, which the staleness test treats as a skip."""
    print("gen-syscalls: " + msg, file=sys.stderr)
    sys.exit(2)


def parse_numbers_clang(include_dir, header, target):
    src = "#include <%s>\n" % header
    cmd = ["clang-16", "-E", "-dM", "--target=" + target, "-nostdinc", "-I", include_dir, "-"]
    try:
        out = subprocess.run(cmd, input=src, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        missing("cannot expand %s with clang-16: %s" % (header, e))
    defs = {}
    for line in out.splitlines():
        m = re.match(r"#define (__NR3?2?6?4?_\w+) (.+)$", line)
        if m:
            defs[m.group(1)] = m.group(2).strip()

    def resolve(v, depth=0):
        if depth > 8:
            raise ValueError("macro loop at " + v)
        v = v.strip("() ")
        if re.fullmatch(r"\d+", v):
            return int(v)
        if v in defs:
            return resolve(defs[v], depth + 1)
        raise ValueError("cannot evaluate " + v)

    nums = {}
    for k, v in defs.items():
        if not k.startswith("__NR_") or k in ("__NR_syscalls", "__NR_arch_specific_syscall"):
            continue
        nums[k[len("__NR_"):]] = resolve(v)
    return nums


def x86_numbers():
    nums = parse_numbers_clang("/usr/include/x86_64-linux-gnu", "asm/unistd_64.h", "x86_64-linux-gnu")
    for name, (x, _) in NEWER_NUMBERS.items():
        if x is not None and name not in nums:
            nums[name] = x
    return nums


def arm64_numbers():
    nums = parse_numbers_clang(ARM64_INC, "asm/unistd.h", "aarch64-linux-gnu")
    for name, (_, a) in NEWER_NUMBERS.items():
        if a is not None and name not in nums:
            nums[name] = a
    return nums


# ----------------------------------------------------------------------------- tracefs
def tracefs_root():
    for d in TRACEFS_CANDIDATES:
        if os.path.isdir(os.path.join(d, "events/syscalls")):
            return d
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"], check=False)
        if os.path.isdir("/sys/kernel/tracing/events/syscalls"):
            return "/sys/kernel/tracing"
    missing("no tracefs with events/syscalls; run as root or "
            "`mount -t tracefs tracefs /sys/kernel/tracing`")


def tracefs_signatures(root):
    sigs = {}
    base = os.path.join(root, "events/syscalls")
    for d in sorted(os.listdir(base)):
        if not d.startswith("sys_enter_"):
            continue
        with open(os.path.join(base, d, "format")) as f:
            text = f.read()
        args = []
        for m in re.finditer(r"field:([^;]+);\s*offset:(\d+);", text):
            decl = m.group(1).strip()
            mm = re.match(r"(.*?)\s*\b(\w+)$", decl)
            ctype, name = mm.group(1).strip(), mm.group(2)
            if name.startswith("common_") or name == "__syscall_nr":
                continue
            args.append((ctype, name))
        sigs[d[len("sys_enter_"):]] = args
    return sigs


# ----------------------------------------------------------------------------- man pages
ROFF_FONT = re.compile(r"\\f[BIRP]|\\f\(..|\\f\[\w*\]")


def roff_line_text(line):
    """Text of one SYNOPSIS roff line (.B/.BI/.BR/.I/.IR or plain)."""
    line = line.rstrip("\n")
    m = re.match(r"\.(B|I|BI|BR|IB|IR|RB|RI)\s+(.*)$", line)
    if m:
        args = re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', m.group(2))
        parts = [a or b for a, b in args]
        text = "".join(parts) if len(m.group(1)) == 2 else " ".join(parts)
    elif line.startswith("."):
        return ""
    else:
        text = line
    text = ROFF_FONT.sub("", text)
    return text.replace("\\-", "-").replace("\\ ", " ").replace("\\~", " ").replace('\\"', '"')


def synopsis_prototypes(path):
    """(function, [(C type, name)]) for each prototype in one man page's SYNOPSIS."""
    with gzip.open(path, "rt", errors="replace") as f:
        lines = f.readlines()
    joined, pending = [], ""
    for line in lines:
        line = line.rstrip("\n")
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        joined.append(pending + line)
        pending = ""
    text, on = [], False
    for line in joined:
        if line.startswith(".SH"):
            on = "SYNOPSIS" in line
            continue
        if on:
            text.append(roff_line_text(line) + "\n")
    body = "".join(text)
    # `... /* mode_t mode */` documents an optional argument: keep it as a parameter.
    body = re.sub(r"\.\.\.\s*/\*\s*([^*]*?)\s*\*/", r"\1", body)
    body = re.sub(r"/\*.*?\*/", " ", body, flags=re.S)
    body = re.sub(r"\[\[[^\]]*\]\]", " ", body)
    out = []
    for m in re.finditer(r"\b(\w+)\s*\(([^()]*)\)\s*;", body):
        func, params = m.group(1), [p.strip() for p in m.group(2).split(",")]
        if func == "syscall" and params and params[0].startswith("SYS_"):
            func, params = params[0][4:], params[1:]
        if params == ["void"]:
            params = []
        if params and params[-1] == "...":
            params = params[:-1]  # undocumented optional arguments: name what is documented
        parsed = []
        for p in params:
            p = re.sub(r"\b(_Nullable|_Nonnull|restrict|_Noreturn)\b", " ", p)
            p = " ".join(p.split())
            mm = re.match(r"(.*?)\s*\b(\w+)\s*((?:\[[^\]]*\])*)$", p)
            if not mm or not mm.group(1):
                parsed = None
                break
            ctype = mm.group(1) + ("*" * mm.group(3).count("["))
            parsed.append((ctype.strip(), mm.group(2)))
        if parsed is not None:
            out.append((func, parsed))
    return out


def man_prototypes():
    """Prototypes by function name: section 2 first, then section 3 (glibc wrappers such as
    getcwd and posix_fadvise document the syscall's arguments there)."""
    protos = {}
    if not os.path.isdir(MAN2):
        missing("no %s (apt-get install manpages-dev)" % MAN2)
    for section, d in (("2", MAN2), ("3", MAN3)):
        if not os.path.isdir(d):
            continue
        found = {}
        for fn in sorted(os.listdir(d)):
            path = os.path.join(d, fn)
            if not fn.endswith("." + section + ".gz") or os.path.islink(path):
                continue
            for func, parsed in synopsis_prototypes(path):
                found.setdefault(func, []).append(parsed)
        for func, ps in found.items():
            protos.setdefault(func, ps)
    return protos


def man_names(name, args, protos):
    """The man page prototype naming the kernel's `args`, or None. Exact arity first; then a
    man prototype with more parameters whose prefix fits (the kernel drops a trailing flags);
    then one with fewer when the kernel only adds a trailing `sigsetsize`."""
    cands = protos.get(name, []) + protos.get(MAN_ALIASES.get(name, ""), [])

    def fits(proto):
        names = [p[1] for p in proto]
        return len(set(names)) == len(names) and \
            all(compatible(a[0], b[0]) for a, b in zip(args, proto))

    for proto in cands:
        if len(proto) == len(args) and fits(proto):
            return proto
    for proto in cands:
        if len(proto) > len(args) and fits(proto):
            return proto[:len(args)]
    for proto in cands:
        extra = [a[1] for a in args[len(proto):]]
        if len(proto) < len(args) and extra == ["sigsetsize"] and fits(proto):
            return proto + [args[-1]]
    return None


# ----------------------------------------------------------------------------- types
def is_ptr(ctype):
    return "*" in ctype or "[" in ctype


def compatible(kernel_type, man_type):
    """Whether a man page parameter can name a kernel argument: same pointer-ness, except that
    the kernel often passes addresses as `unsigned long`."""
    if is_ptr(kernel_type) == is_ptr(man_type):
        return True
    return kernel_type.strip() == "unsigned long"


def display_type(ctype):
    t = " ".join(ctype.replace("__user", "").split())
    t = re.sub(r"\s*\*\s*", "*", t)
    t = t.replace("*const*", "*const*")
    t = re.sub(r"\bumode_t\b", "mode_t", t)
    t = re.sub(r"^unsigned$", "unsigned int", t)
    return t


S32 = {"int", "pid_t", "key_serial_t", "clockid_t", "timer_t", "mqd_t", "rwf_t", "__s32", "s32"}
U32 = {"unsigned int", "unsigned", "uid_t", "gid_t", "u32", "__u32", "umode_t", "mode_t", "dev_t",
       "qid_t", "old_uid_t", "old_gid_t"}
S64 = {"long", "off_t", "loff_t", "ssize_t", "__kernel_old_time_t", "s64", "__s64", "time_t"}
U64 = {"unsigned long", "size_t", "u64", "__u64", "aio_context_t", "cap_user_header_t",
       "cap_user_data_t", "key_t", "unsigned long long", "__aligned_u64", "u64 *"}
LEN_NAMES = re.compile(r"^(count|len|size|length|nbytes|n|buflen|bufsize|.*_len|.*len)$")


def wire_type(sc, i, args, man_types):
    """Rust expression of the ArgType of argument i of syscall sc."""
    ctype = display_type(args[i][0])
    if (sc, i) in INT_ARRAY_ARGS:
        return "ArgType::IntArray2"
    man_ct = display_type(man_types[i]) if man_types else ""
    if ctype == "const char*" or (ctype == "char*" and man_ct == "const char*"):
        nxt = args[i + 1] if i + 1 < len(args) else None
        if nxt and not is_ptr(nxt[0]) and LEN_NAMES.match(nxt[1]):
            return "ArgType::Bytes { len_arg: %d }" % (i + 1)
        return "ArgType::Str"
    if ctype in ("const char*const*", "char*const*"):
        return "ArgType::StrArray"
    if ctype == "struct sockaddr*":
        return "ArgType::Sockaddr"
    if is_ptr(ctype) or ctype.endswith("_user_header_t") or ctype.endswith("_user_data_t"):
        return "ArgType::Pointer"
    ctype = re.sub(r"^const ", "", ctype)
    if ctype in S32 or ctype.startswith("enum "):
        return "ArgType::S32"
    if ctype in U32:
        return "ArgType::U32"
    if ctype in S64:
        return "ArgType::S64"
    if ctype in U64:
        return "ArgType::U64"
    raise SystemExit("gen-syscalls: no wire type for C type %r (%s arg %d)" % (ctype, sc, i))


# ----------------------------------------------------------------------------- main
def fingerprint(tracefs):
    h = hashlib.sha256()
    for p in (X86_HDR, ARM64_HDR, ARM64_INC + "/asm-generic/unistd.h"):
        with open(p, "rb") as f:
            h.update(f.read())
    base = os.path.join(tracefs, "events/syscalls")
    for d in sorted(os.listdir(base)):
        if d.startswith("sys_enter_"):
            with open(os.path.join(base, d, "format"), "rb") as f:
                h.update(f.read())
    for d in (MAN2, MAN3):
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            p = os.path.join(d, f)
            if f.endswith(".gz") and not os.path.islink(p):
                with open(p, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()[:16]


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate():
    for p in (X86_HDR, ARM64_HDR):
        if not os.path.exists(p):
            missing("missing %s (apt-get install linux-libc-dev linux-libc-dev-arm64-cross)" % p)
    tfs = tracefs_root()
    x86, arm = x86_numbers(), arm64_numbers()
    sigs = tracefs_signatures(tfs)
    protos = man_prototypes()
    names = sorted(set(x86) | set(arm), key=lambda n: (x86.get(n, 500 + arm.get(n, 0)), n))
    rows, stats = [], {"man": 0, "kernel": 0, "override": 0}
    for name in names:
        tname = TRACEFS_ALIASES.get(name, name)
        if tname in sigs:
            args = sigs[tname]
        elif name in MISSING_SIGNATURES:
            args = MISSING_SIGNATURES[name]
            stats["override"] += 1
        else:
            sys.exit("gen-syscalls: no signature for %s: not in tracefs, not in "
                     "MISSING_SIGNATURES" % name)
        man = man_names(name, args, protos)
        stats["man" if man else "kernel"] += 1
        arg_names = [p[1] for p in man] if man else [a[1] for a in args]
        man_types = [p[0] for p in man] if man else None
        arg_rows = []
        for i, (ctype, _) in enumerate(args):
            ty = wire_type(name, i, args, man_types)
            shown = display_type(ctype)
            if shown == "char*" and ty in ("ArgType::Str",) :
                shown = "const char*"  # the kernel omits const; the man page has it
            arg_rows.append((arg_names[i], ty, shown))
        eid = x86[name] if name in x86 else 500 + arm[name]
        rows.append((eid, name, x86.get(name), arm.get(name), sets_of(name), arg_rows))
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate event ids"
    unknown = ["%s in %s" % (n, subset) for subset, members in SUBSETS.items()
               for n in members.split() if n not in x86 and n not in arm]
    if unknown:
        sys.exit("gen-syscalls: SUBSETS names unknown syscalls: " + ", ".join(unknown))

    out = []
    out.append("// @generated by scripts/gen-syscalls.py; do not edit. Re-run the script instead.")
    out.append("// inputs-fingerprint: %s" % fingerprint(tfs))
    out.append("// kernel (tracefs signatures): %s" % os.uname().release)
    out.append("// names: man-pages %d, kernel %d; signatures from the override table: %d"
               % (stats["man"], stats["kernel"], stats["override"]))
    out.append("")
    out.append("use super::{sys, RawEvent};")
    out.append("use crate::events::ArgType;")
    out.append("")
    out.append("/// Every syscall of x86_64 and arm64, ordered by event id:")
    out.append("/// `sys(id, name, sets, [(arg name, type, C type)], x86_64 nr, arm64 nr)`.")
    out.append("pub(crate) static SYSCALLS: &[RawEvent] = &[")
    for eid, name, xn, an, sets, args in rows:
        out.append("    sys(")
        out.append("        %d," % eid)
        out.append("        %s," % rust_str(name))
        out.append("        &[%s]," % ", ".join(rust_str(s) for s in sets))
        if args:
            out.append("        &[")
            for an_, ty, ct in args:
                out.append("            (%s, %s, %s)," % (rust_str(an_), ty, rust_str(ct)))
            out.append("        ],")
        else:
            out.append("        &[],")
        out.append("        %s," % ("Some(%d)" % xn if xn is not None else "None"))
        out.append("        %s," % ("Some(%d)" % an if an is not None else "None"))
        out.append("    ),")
    out.append("];")
    return "\n".join(out) + "\n"


def check_inputs():
    """Exit 3 when this machine's inputs are not the ones the committed table came from."""
    for p in (X86_HDR, ARM64_HDR):
        if not os.path.exists(p):
            missing("missing %s (apt-get install linux-libc-dev linux-libc-dev-arm64-cross)" % p)
    try:
        with open(OUT) as f:
            old = f.read()
    except FileNotFoundError:
        print("gen-syscalls: %s missing" % OUT)
        sys.exit(1)
    fp_old = re.search(r"inputs-fingerprint: (\w+)", old)
    fp_new = fingerprint(tracefs_root())
    if fp_old and fp_old.group(1) != fp_new:
        # Another kernel, headers or man-pages: the committed table is not this machine's
        # output, so there is nothing to compare. (The script itself is not fingerprinted:
        # editing it without regenerating shows up as a stale table.)
        print("gen-syscalls: inputs differ from the committed table's (fingerprint %s vs %s)"
              % (fp_old.group(1), fp_new))
        sys.exit(3)
    return old


def main():
    try:
        run()
    except PermissionError as e:
        missing("cannot read an input: %s (run as root)" % e)


def run():
    check = "--check" in sys.argv[1:]
    old = check_inputs() if check else None
    text = generate()
    if check:
        if old != text:
            print("gen-syscalls: %s is stale; run scripts/gen-syscalls.py" % OUT)
            sys.exit(1)
        print("gen-syscalls: %s is up to date" % OUT)
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print("gen-syscalls: wrote %d lines to %s" % (text.count("\n"), OUT))


if __name__ == "__main__":
    main()
