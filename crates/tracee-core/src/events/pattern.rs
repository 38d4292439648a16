//! Event name patterns (`open*`) and selectors (`openat`, `open*`, `tag=fs`), as in
//! `tracee list` and Tracee's `--events`.

/// Whether `name` matches the glob `pattern`: `*` matches any run of characters, `?` one
/// character, everything else itself. Linear in the input: no backtracking blow-up on
/// hostile patterns.
///
/// ```
/// use tracee_core::events::glob_match;
/// assert!(glob_match("open*", "openat2"));
/// assert!(glob_match("*stat*", "newfstatat"));
/// assert!(!glob_match("open", "openat"));
/// ```
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Position after the last `*` and the name position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == n[ni])) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi + 1, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `s` contains glob metacharacters.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// What one selector string asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector<'a> {
    /// An exact event name.
    Name(&'a str),
    /// A glob over event names.
    Glob(&'a str),
    /// Every event of a set: `tag=fs` or `set=fs`.
    Set(&'a str),
}

impl<'a> Selector<'a> {
    /// Classifies `s`: `tag=T`/`set=T` is a set, a string with `*` or `?` a glob, anything else
    /// a name.
    pub fn parse(s: &'a str) -> Selector<'a> {
        let s = s.trim();
        if let Some(set) = s.strip_prefix("tag=").or_else(|| s.strip_prefix("set=")) {
            Selector::Set(set)
        } else if is_glob(s) {
            Selector::Glob(s)
        } else {
            Selector::Name(s)
        }
    }
}

/// Levenshtein distance, bounded: returns `None` once it exceeds `max`.
fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            row_min = row_min.min(cur[j]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[b.len()] <= max).then_some(prev[b.len()])
}

/// The candidate nearest to `wanted` by edit distance, if one is close enough to be a likely
/// typo (at most a third of its length, at least 1, at most 3 edits). Ties go to the first.
///
/// ```
/// use tracee_core::events::nearest;
/// assert_eq!(nearest("opnat", ["open", "openat", "close"]), Some("openat"));
/// assert_eq!(nearest("zzzzzz", ["open", "openat"]), None);
/// ```
pub fn nearest<'c>(wanted: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let max = (wanted.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if let Some(d) = distance(wanted, c, max) {
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, c));
            }
        }
    }
    best.map(|(_, c)| c)
}
