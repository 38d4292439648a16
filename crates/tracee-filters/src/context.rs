//! The facts about one event that filters judge.

/// One argument value, as decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgValue<'a> {
    /// Any integer (signed or unsigned, widened).
    Int(i128),
    /// A string.
    Str(&'a str),
    /// A string array.
    Strs(Vec<&'a str>),
}

/// An event as filters see it: the context header's fields, what is known of the process,
/// the return value and the arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventContext<'a> {
    /// Event id.
    pub event: u32,
    /// Host process id (tgid).
    pub pid: u32,
    /// Real uid.
    pub uid: u32,
    /// Mount namespace id.
    pub mnt_ns: u32,
    /// Pid namespace id.
    pub pid_ns: u32,
    /// comm (at most 15 bytes, as the kernel keeps it).
    pub comm: &'a str,
    /// UTS nodename as captured (at most 15 bytes).
    pub uts: &'a str,
    /// The task's start time (ns since boot).
    pub task_start_time: u64,
    /// The process's executable path, when known.
    pub exe: Option<&'a str>,
    /// The process and its ancestors' pids (the process first).
    pub ancestors: &'a [u32],
    /// Policies (bits) whose scope matched an ancestor of this process while tracing: with
    /// `follow`, they match this process too.
    pub followed: u64,
    /// Return value (syscalls).
    pub retval: Option<i64>,
    /// Arguments present in the event, by index.
    pub args: Vec<(usize, ArgValue<'a>)>,
}

impl<'a> EventContext<'a> {
    /// The argument at `index`, if the event carries it.
    pub fn arg(&self, index: usize) -> Option<&ArgValue<'a>> {
        self.args.iter().find(|(i, _)| *i == index).map(|(_, v)| v)
    }
}
