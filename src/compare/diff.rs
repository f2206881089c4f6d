//! A small line diff (Myers' O(ND) algorithm) and the unified format, for showing how two copies
//! of a revision file differ.
//!
//! Written here rather than pulled in as a crate: revision files are small (a few hundred lines),
//! the only output needed is a plain unified diff, and this keeps the dependency tree (and the
//! shared `Cargo.toml`) unchanged. Lines are compared without their terminators, so a file that
//! also changed CRLF to LF shows only its real edits; [`cosmetic_difference`] reports line
//! endings separately.

use serde::Serialize;

/// One edit of a line diff: indices into the old (`a`) and new (`b`) line lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// Beyond this many differences the quadratic trace is not worth keeping: the files are simply
/// shown as replaced.
const MAX_D: usize = 4000;

/// The shortest edit script turning `a` into `b`.
pub fn diff_lines<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Edit> {
    // Common prefix and suffix cost nothing to peel off and usually leave a tiny middle.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<Edit> = (0..prefix).map(|i| Edit::Equal(i, i)).collect();
    let middle = myers(ma, mb).unwrap_or_else(|| {
        (0..ma.len())
            .map(Edit::Delete)
            .chain((0..mb.len()).map(Edit::Insert))
            .collect()
    });
    out.extend(middle.into_iter().map(|e| match e {
        Edit::Equal(i, j) => Edit::Equal(i + prefix, j + prefix),
        Edit::Delete(i) => Edit::Delete(i + prefix),
        Edit::Insert(j) => Edit::Insert(j + prefix),
    }));
    let (ea, eb) = (a.len() - suffix, b.len() - suffix);
    out.extend((0..suffix).map(|k| Edit::Equal(ea + k, eb + k)));
    out
}

/// Myers' greedy algorithm with a per-round trace for the backtrack. `None` past [`MAX_D`].
fn myers<T: PartialEq>(a: &[T], b: &[T]) -> Option<Vec<Edit>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    if n == 0 || m == 0 {
        return Some(
            (0..a.len())
                .map(Edit::Delete)
                .chain((0..b.len()).map(Edit::Insert))
                .collect(),
        );
    }
    let max = (n + m) as usize;
    let off = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    // trace[d] holds v[k] for k in -d..=d after round d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let mut found = None;
    'rounds: for d in 0..=(max.min(MAX_D) as isize) {
        for k in (-d..=d).step_by(2) {
            let down = k == -d || (k != d && v[(off + k - 1) as usize] < v[(off + k + 1) as usize]);
            let mut x = if down {
                v[(off + k + 1) as usize]
            } else {
                v[(off + k - 1) as usize] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[(off + k) as usize] = x;
            if x >= n && y >= m {
                trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
                found = Some(d);
                break 'rounds;
            }
        }
        trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
    }
    let dmax = found?;
    // Walk back from (n, m): each round ends in a snake preceded by one insert or delete.
    let mut edits = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..=dmax).rev() {
        // v after round d - 1, for k in -(d-1)..=(d-1).
        let prev = &trace[(d - 1) as usize];
        let get = |k: isize| prev[(k + d - 1) as usize];
        let k = x - y;
        let down = k == -d || (k != d && get(k - 1) < get(k + 1));
        let pk = if down { k + 1 } else { k - 1 };
        let (px, py) = (get(pk), get(pk) - pk);
        let (mx, my) = if down { (px, py + 1) } else { (px + 1, py) };
        while x > mx && y > my {
            x -= 1;
            y -= 1;
            edits.push(Edit::Equal(x as usize, y as usize));
        }
        edits.push(if down {
            Edit::Insert(py as usize)
        } else {
            Edit::Delete(px as usize)
        });
        (x, y) = (px, py);
    }
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        edits.push(Edit::Equal(x as usize, y as usize));
    }
    edits.reverse();
    Some(edits)
}

/// Splits decoded text into lines without terminators (`\r\n`, `\n` or `\r`), BOM removed.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let mut out: Vec<String> = Vec::new();
    let mut rest: &str = &text;
    while !rest.is_empty() {
        match rest.find(['\r', '\n']) {
            Some(i) => {
                out.push(rest[..i].to_string());
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                out.push(rest.to_string());
                rest = "";
            }
        }
    }
    out
}

/// A unified diff (`diff -u` style, `context` lines around each change). Empty when the files have
/// the same lines (they may still differ in line endings: see [`cosmetic_difference`]).
pub fn unified(a: &[u8], b: &[u8], a_name: &str, b_name: &str, context: usize) -> String {
    let (la, lb) = (lines(a), lines(b));
    let edits = diff_lines(&la, &lb);
    if edits.iter().all(|e| matches!(e, Edit::Equal(..))) {
        return String::new();
    }
    let mut out = format!("--- {a_name}\n+++ {b_name}\n");
    // Hunks: maximal runs of edits whose changes are at most 2*context equal lines apart.
    let changed: Vec<usize> = edits
        .iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, Edit::Equal(..)))
        .map(|(i, _)| i)
        .collect();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &c in &changed {
        match groups.last_mut() {
            Some((_, end)) if c <= *end + 2 * context + 1 => *end = c,
            _ => groups.push((c, c)),
        }
    }
    for (first, last) in groups {
        let start = first.saturating_sub(context);
        let end = (last + context + 1).min(edits.len());
        let hunk = &edits[start..end];
        // Positions before the hunk's first line in each file.
        let (mut a0, mut b0) = (0, 0);
        for e in &edits[..start] {
            match e {
                Edit::Equal(..) => {
                    a0 += 1;
                    b0 += 1;
                }
                Edit::Delete(_) => a0 += 1,
                Edit::Insert(_) => b0 += 1,
            }
        }
        let na = hunk
            .iter()
            .filter(|e| !matches!(e, Edit::Insert(_)))
            .count();
        let nb = hunk
            .iter()
            .filter(|e| !matches!(e, Edit::Delete(_)))
            .count();
        // `diff -u` numbers an empty range by the line before it.
        let from = |start: usize, n: usize| if n == 0 { start } else { start + 1 };
        out.push_str(&format!(
            "@@ -{},{na} +{},{nb} @@\n",
            from(a0, na),
            from(b0, nb)
        ));
        for e in hunk {
            match *e {
                Edit::Equal(i, _) => out.push_str(&format!(" {}\n", la[i])),
                Edit::Delete(i) => out.push_str(&format!("-{}\n", la[i])),
                Edit::Insert(j) => out.push_str(&format!("+{}\n", lb[j])),
            }
        }
    }
    out
}

/// A difference that does not change what Python (or Alembic) reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cosmetic {
    /// A UTF-8 byte order mark on one side only (Windows editors add one).
    Bom,
    /// CRLF on one side, LF on the other (or mixed).
    LineEndings,
    /// Spaces or tabs at the end of lines.
    TrailingWhitespace,
    /// A final newline, or blank lines at the end, on one side only.
    FinalNewline,
}

impl Cosmetic {
    pub fn describe(self) -> &'static str {
        match self {
            Cosmetic::Bom => "byte order mark",
            Cosmetic::LineEndings => "line endings (CRLF/LF)",
            Cosmetic::TrailingWhitespace => "trailing whitespace",
            Cosmetic::FinalNewline => "blank lines / newline at the end",
        }
    }
}

/// `Some(kinds)` when `a` and `b` differ only by a BOM, line endings, trailing whitespace or
/// trailing blank lines (the WSL/Windows case); `None` when the text itself differs. Equal bytes
/// give `Some([])`.
pub fn cosmetic_difference(a: &[u8], b: &[u8]) -> Option<Vec<Cosmetic>> {
    if a == b {
        return Some(Vec::new());
    }
    let (ra, rb) = (lines(a), lines(b));
    let trimmed = |ls: &[String]| -> Vec<String> {
        let mut t: Vec<String> = ls
            .iter()
            .map(|l| l.trim_end_matches([' ', '\t', '\x0c']).to_string())
            .collect();
        while t.last().is_some_and(String::is_empty) {
            t.pop();
        }
        t
    };
    let (ta, tb) = (trimmed(&ra), trimmed(&rb));
    if ta != tb {
        return None;
    }
    let mut kinds = Vec::new();
    let bom = |x: &[u8]| x.starts_with(b"\xef\xbb\xbf");
    if bom(a) != bom(b) {
        kinds.push(Cosmetic::Bom);
    }
    if eol_style(a) != eol_style(b) {
        kinds.push(Cosmetic::LineEndings);
    }
    let n = ta.len();
    if ra.iter().take(n).ne(rb.iter().take(n)) {
        kinds.push(Cosmetic::TrailingWhitespace);
    }
    let ends_nl = |x: &[u8]| x.ends_with(b"\n") || x.ends_with(b"\r");
    if ra.get(n..) != rb.get(n..) || ends_nl(a) != ends_nl(b) {
        kinds.push(Cosmetic::FinalNewline);
    }
    if kinds.is_empty() {
        // Same lines, same styles, different bytes: a mix of terminators in other places.
        kinds.push(Cosmetic::LineEndings);
    }
    Some(kinds)
}

/// The BOM and line-ending differences between two files, whatever else differs (for a note
/// under a diff, which compares lines without their terminators).
pub fn encoding_differences(a: &[u8], b: &[u8]) -> Vec<Cosmetic> {
    let bom = |x: &[u8]| x.starts_with(b"\xef\xbb\xbf");
    let mut out = Vec::new();
    if bom(a) != bom(b) {
        out.push(Cosmetic::Bom);
    }
    if eol_style(a) != eol_style(b) {
        out.push(Cosmetic::LineEndings);
    }
    out
}

/// Which terminators a file uses: (CRLF, lone LF, lone CR).
fn eol_style(x: &[u8]) -> (bool, bool, bool) {
    let (mut crlf, mut lf, mut cr) = (false, false, false);
    let mut i = 0;
    while i < x.len() {
        match x[i] {
            b'\r' if x.get(i + 1) == Some(&b'\n') => {
                crlf = true;
                i += 1;
            }
            b'\r' => cr = true,
            b'\n' => lf = true,
            _ => {}
        }
        i += 1;
    }
    (crlf, lf, cr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(a: &[&str], b: &[&str], edits: &[Edit]) -> Vec<String> {
        let mut out = Vec::new();
        let (mut ia, mut ib) = (0, 0);
        for e in edits {
            match *e {
                Edit::Equal(i, j) => {
                    assert_eq!((i, j), (ia, ib), "edits out of order");
                    assert_eq!(a[i], b[j]);
                    out.push(a[i].to_string());
                    ia += 1;
                    ib += 1;
                }
                Edit::Delete(i) => {
                    assert_eq!(i, ia);
                    ia += 1;
                }
                Edit::Insert(j) => {
                    assert_eq!(j, ib);
                    out.push(b[j].to_string());
                    ib += 1;
                }
            }
        }
        assert_eq!((ia, ib), (a.len(), b.len()));
        out
    }

    fn edit_count(edits: &[Edit]) -> usize {
        edits
            .iter()
            .filter(|e| !matches!(e, Edit::Equal(..)))
            .count()
    }

    /// Length of the longest common subsequence, by dynamic programming: the minimal edit count
    /// is `n + m - 2 * lcs`.
    fn lcs(a: &[&str], b: &[&str]) -> usize {
        let mut dp = vec![vec![0; b.len() + 1]; a.len() + 1];
        for i in 0..a.len() {
            for j in 0..b.len() {
                dp[i + 1][j + 1] = if a[i] == b[j] {
                    dp[i][j] + 1
                } else {
                    dp[i][j + 1].max(dp[i + 1][j])
                };
            }
        }
        dp[a.len()][b.len()]
    }

    #[test]
    fn myers_is_minimal_and_valid_on_random_inputs() {
        // A small deterministic generator: no dependency on `rand` in library tests.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let alphabet = ["a", "b", "c", "d"];
        for _ in 0..400 {
            let la = next(12) as usize;
            let lb = next(12) as usize;
            let a: Vec<&str> = (0..la).map(|_| alphabet[next(4) as usize]).collect();
            let b: Vec<&str> = (0..lb).map(|_| alphabet[next(4) as usize]).collect();
            let edits = diff_lines(&a, &b);
            assert_eq!(apply(&a, &b, &edits), b, "{a:?} -> {b:?}");
            assert_eq!(
                edit_count(&edits),
                a.len() + b.len() - 2 * lcs(&a, &b),
                "{a:?} -> {b:?}"
            );
        }
    }

    #[test]
    fn unified_diff_format() {
        // Checked against GNU `diff -u`: changes 7 equal lines apart make two hunks...
        let a = b"one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\nx\n";
        let b = b"one\ntwo\nthree\nFOUR\nfive\nsix\nseven\neight\nnine\nten\nx\neleven\n";
        let d = unified(a, b, "left/x.py", "right/x.py", 3);
        assert_eq!(
            d,
            "--- left/x.py\n+++ right/x.py\n@@ -1,7 +1,7 @@\n one\n two\n three\n-four\n+FOUR\n five\n six\n seven\n@@ -9,3 +9,4 @@\n nine\n ten\n x\n+eleven\n"
        );
        // ...6 apart, one.
        let a2 = b"one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";
        let b2 = b"one\ntwo\nthree\nFOUR\nfive\nsix\nseven\neight\nnine\nten\neleven\n";
        let d = unified(a2, b2, "l", "r", 3);
        assert!(d.starts_with("--- l\n+++ r\n@@ -1,10 +1,11 @@\n"), "{d}");
        assert_eq!(d.matches("@@ -").count(), 1);
        assert_eq!(unified(a, a, "a", "b", 3), "");
        // Line endings alone produce no hunk.
        let crlf = String::from_utf8_lossy(a).replace('\n', "\r\n");
        assert_eq!(unified(a, crlf.as_bytes(), "a", "b", 3), "");
        // Empty old file.
        assert_eq!(
            unified(b"", b"x\n", "a", "b", 3),
            "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n"
        );
    }

    #[test]
    fn cosmetic_kinds() {
        let lf = b"revision = 'a'\ndown_revision = None\n";
        assert_eq!(cosmetic_difference(lf, lf), Some(vec![]));
        let crlf = b"revision = 'a'\r\ndown_revision = None\r\n";
        assert_eq!(
            cosmetic_difference(lf, crlf),
            Some(vec![Cosmetic::LineEndings])
        );
        let bom_crlf = b"\xef\xbb\xbfrevision = 'a'\r\ndown_revision = None\r\n";
        assert_eq!(
            cosmetic_difference(lf, bom_crlf),
            Some(vec![Cosmetic::Bom, Cosmetic::LineEndings])
        );
        let ws = b"revision = 'a'  \ndown_revision = None\t\n";
        assert_eq!(
            cosmetic_difference(lf, ws),
            Some(vec![Cosmetic::TrailingWhitespace])
        );
        let no_final = b"revision = 'a'\ndown_revision = None";
        assert_eq!(
            cosmetic_difference(lf, no_final),
            Some(vec![Cosmetic::FinalNewline])
        );
        let extra_blank = b"revision = 'a'\ndown_revision = None\n\n\n";
        assert_eq!(
            cosmetic_difference(lf, extra_blank),
            Some(vec![Cosmetic::FinalNewline])
        );
        let edited = b"revision = 'a'\ndown_revision = 'b'\n";
        assert_eq!(cosmetic_difference(lf, edited), None);
        // Leading whitespace is Python syntax, never cosmetic.
        let indented = b"revision = 'a'\n down_revision = None\n";
        assert_eq!(cosmetic_difference(lf, indented), None);
    }

    #[test]
    fn lines_split_every_terminator() {
        assert_eq!(lines(b"a\r\nb\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(lines(b"\xef\xbb\xbfa\n"), ["a"]);
        assert!(lines(b"").is_empty());
    }
}
