//! Unified diffs of the files a fix writes (what `diff -u` prints), for the preview.
//!
//! Revision files are small, so a plain longest-common-subsequence table is fast enough and
//! gives the minimal diff; past a size where the table would be large, the unchanged prefix and
//! suffix are trimmed first (a fix touches a few lines, so what remains is small).

use std::fmt::Write;

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Above this many table cells, only the trimmed middle is compared.
const MAX_CELLS: usize = 4_000_000;

/// `before` is `None` for a new file, `after` is `None` for a removed one. Line endings are not
/// shown (a CRLF file diffs like an LF one); the content itself is compared exactly.
pub fn unified(label: &str, before: Option<&[u8]>, after: Option<&[u8]>) -> String {
    let old_text = before.map(String::from_utf8_lossy).unwrap_or_default();
    let new_text = after.map(String::from_utf8_lossy).unwrap_or_default();
    let old = split_lines(&old_text);
    let new = split_lines(&new_text);
    let mut out = String::new();
    let side = |present: bool, prefix: &str| {
        if present {
            format!("{prefix}/{label}")
        } else {
            "/dev/null".to_string()
        }
    };
    let _ = writeln!(out, "--- {}", side(before.is_some(), "a"));
    let _ = writeln!(out, "+++ {}", side(after.is_some(), "b"));
    let ops = edit_script(&old, &new);
    for hunk in hunks(&ops) {
        write_hunk(&mut out, &ops[hunk.0..hunk.1], &old, &new);
    }
    out
}

fn split_lines(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Same line: (old index, new index).
    Keep(usize, usize),
    Del(usize),
    Add(usize),
}

fn edit_script(old: &[&str], new: &[&str]) -> Vec<Op> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Keep(i, i)).collect();
    if a.len().saturating_mul(b.len()) <= MAX_CELLS {
        ops.extend(lcs_script(a, b, prefix));
    } else {
        ops.extend((0..a.len()).map(|i| Op::Del(prefix + i)));
        ops.extend((0..b.len()).map(|j| Op::Add(prefix + j)));
    }
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    ops.extend((0..suffix).map(|k| Op::Keep(old_end + k, new_end + k)));
    ops
}

/// The LCS edit script of `a` and `b`, indices offset by `base`; deletions before additions.
fn lcs_script(a: &[&str], b: &[&str], base: usize) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    // table[i][j]: LCS length of a[i..] and b[j..].
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[at(i, j)] = if a[i] == b[j] {
                table[at(i + 1, j + 1)] + 1
            } else {
                table[at(i + 1, j)].max(table[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Keep(base + i, base + j));
            i += 1;
            j += 1;
        } else if j == m || (i < n && table[at(i + 1, j)] >= table[at(i, j + 1)]) {
            ops.push(Op::Del(base + i));
            i += 1;
        } else {
            ops.push(Op::Add(base + j));
            j += 1;
        }
    }
    ops
}

/// Ranges of `ops` to print: each change with its context, overlapping ones joined.
fn hunks(ops: &[Op]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (k, op) in ops.iter().enumerate() {
        if matches!(op, Op::Keep(..)) {
            continue;
        }
        let start = k.saturating_sub(CONTEXT);
        let end = (k + 1 + CONTEXT).min(ops.len());
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

fn write_hunk(out: &mut String, ops: &[Op], old: &[&str], new: &[&str]) {
    let old_start = ops.iter().find_map(|op| match op {
        Op::Keep(i, _) | Op::Del(i) => Some(*i),
        Op::Add(_) => None,
    });
    let new_start = ops.iter().find_map(|op| match op {
        Op::Keep(_, j) | Op::Add(j) => Some(*j),
        Op::Del(_) => None,
    });
    let old_len = ops.iter().filter(|op| !matches!(op, Op::Add(_))).count();
    let new_len = ops.iter().filter(|op| !matches!(op, Op::Del(_))).count();
    // `diff -u` numbers an empty side by the line before it.
    let pos = |start: Option<usize>, len: usize| match (start, len) {
        (_, 0) => format!("{},0", start.unwrap_or(0)),
        (Some(s), 1) => format!("{}", s + 1),
        (Some(s), l) => format!("{},{l}", s + 1),
        (None, l) => format!("0,{l}"),
    };
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        pos(old_start, old_len),
        pos(new_start, new_len)
    );
    for op in ops {
        let _ = match op {
            Op::Keep(i, _) => writeln!(out, " {}", old[*i]),
            Op::Del(i) => writeln!(out, "-{}", old[*i]),
            Op::Add(j) => writeln!(out, "+{}", new[*j]),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_line_with_context() {
        let before = b"a\nb\nc\nd\ne\nf\ng\nh\n";
        let after = b"a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified("x.py", Some(before), Some(after)),
            "--- a/x.py\n+++ b/x.py\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn new_file_and_far_apart_changes() {
        assert_eq!(
            unified("n.py", None, Some(b"x\ny\n")),
            "--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+x\n+y\n"
        );
        let before: String = (0..20).map(|i| format!("{i}\n")).collect();
        let after: String = (0..20)
            .map(|i| match i {
                2 => "two\n".to_string(),
                17 => "seventeen\n".to_string(),
                _ => format!("{i}\n"),
            })
            .collect();
        let d = unified("f", Some(before.as_bytes()), Some(after.as_bytes()));
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
        assert!(
            d.contains("-2\n+two\n") && d.contains("-17\n+seventeen\n"),
            "{d}"
        );
    }

    #[test]
    fn crlf_lines_compare_by_content() {
        let d = unified("c", Some(b"a\r\nb\r\n"), Some(b"a\r\nc\r\n"));
        assert!(d.ends_with("@@ -1,2 +1,2 @@\n a\n-b\n+c\n"), "{d}");
    }
}
