/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel types the tracee program reads beyond the shared minimal vmlinux.h, declared as
 * CO-RE "flavors" (the ___tr suffix is stripped by libbpf when matching kernel BTF), so this
 * program can name more members of task_struct & co without touching the shared header.
 * Only member names matter: offsets are relocated against the running kernel's BTF.
 */
#ifndef __TRACEE_TYPES_H__
#define __TRACEE_TYPES_H__

#include "vmlinux.h"

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

struct ns_common___tr {
	unsigned int inum;
};

struct pid_namespace___tr {
	struct ns_common___tr ns;
};

struct mnt_namespace___tr {
	struct ns_common___tr ns;
};

struct new_utsname___tr {
	char nodename[65];
};

struct uts_namespace___tr {
	struct new_utsname___tr name;
};

struct nsproxy___tr {
	struct uts_namespace___tr *uts_ns;
	struct mnt_namespace___tr *mnt_ns;
	struct pid_namespace___tr *pid_ns_for_children;
};

struct upid___tr {
	int nr;
	struct pid_namespace___tr *ns;
};

struct pid___tr {
	unsigned int level;
	struct upid___tr numbers[1];
};

struct mm_struct___tr {
	/* (type, value) pairs of the auxiliary vector the exec gave the program, AT_NULL-ended */
	unsigned long saved_auxv[2];
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long env_end;
};

struct super_block___tr {
	u32 s_dev;
};

struct inode___tr {
	unsigned short i_mode;
	unsigned long i_ino;
	struct super_block___tr *i_sb;
};

/* The inode's change time, as three kernel generations spell it (see tr_inode_ctime). */
struct timespec64___tr {
	s64 tv_sec;
	long tv_nsec;
};

struct inode___tr_v611 { /* 6.11+ */
	s64 i_ctime_sec;
	u32 i_ctime_nsec;
};

struct inode___tr_v66 { /* 6.6 - 6.10 */
	struct timespec64___tr __i_ctime;
};

struct inode___tr_old { /* before 6.6 */
	struct timespec64___tr i_ctime;
};

/* The path walk (tr_put_path): dentries up to their mount's root, then across mounts. */
struct qstr___tr {
	union {
		struct {
			u32 hash;
			u32 len;
		};
		u64 hash_len;
	};
	const unsigned char *name;
};

struct dentry___tr {
	struct dentry___tr *d_parent;
	struct qstr___tr d_name;
};

struct vfsmount___tr {
	struct dentry___tr *mnt_root;
};

/* The vfsmount is embedded in a struct mount (fs/mount.h): container_of by CO-RE offset. */
struct mount___tr {
	struct mount___tr *mnt_parent;
	struct dentry___tr *mnt_mountpoint;
	struct vfsmount___tr mnt;
};

struct path___tr {
	struct vfsmount___tr *mnt;
	struct dentry___tr *dentry;
};

struct fs_struct___tr {
	struct path___tr pwd;
};

struct file___tr {
	struct path___tr f_path;
	struct inode___tr *f_inode;
};

struct vm_area_struct___tr {
	struct file___tr *vm_file;
};

struct fdtable___tr {
	struct file___tr **fd;
};

struct files_struct___tr {
	struct fdtable___tr *fdt;
};

struct atomic_t___tr {
	int counter;
};

struct signal_struct___tr {
	struct atomic_t___tr live;
};

/* The task's cgroup on the default hierarchy, as bpf_get_current_cgroup_id() finds it. */
struct kernfs_node___tr {
	u64 id;
};

struct cgroup___tr {
	struct kernfs_node___tr *kn;
};

struct css_set___tr {
	struct cgroup___tr *dfl_cgrp;
};

/* kuid_t / kgid_t: one-member structs (matched by member name, whatever the typedef) */
struct cred___tr {
	struct {
		u32 val;
	} uid;
	struct {
		u32 val;
	} gid;
};

/* x86 only: arm64's thread_info has no status */
struct thread_info___tr {
	u32 status;
};

struct task_struct___tr {
	struct thread_info___tr thread_info;
	unsigned int flags;
	char comm[16];
	pid_t pid;
	pid_t tgid;
	int exit_code;
	u64 start_time;
	struct task_struct___tr *real_parent;
	struct task_struct___tr *group_leader;
	struct pid___tr *thread_pid;
	struct nsproxy___tr *nsproxy;
	struct mm_struct___tr *mm;
	struct signal_struct___tr *signal;
	struct files_struct___tr *files;
	struct fs_struct___tr *fs;
	struct css_set___tr *cgroups;
	const struct cred___tr *cred;
	u64 self_exec_id;
};

struct linux_binprm___tr {
	struct file___tr *file;
	const char *filename;
	const char *interp;
};

#pragma clang attribute pop

#endif /* __TRACEE_TYPES_H__ */
