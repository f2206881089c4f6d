//! Two versions of a file as aligned rows: equal lines side by side, a changed block's removed and
//! added lines paired up, the rest on one side only.

use crate::compare::diff::{self, Edit};

/// How a row's two halves relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Same,
    /// Both halves present, different text.
    Changed,
    /// Only the left half.
    Removed,
    /// Only the right half.
    Added,
}

/// One display row: each half is a 1-based line number and its text (tabs expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub left: Option<(usize, String)>,
    pub right: Option<(usize, String)>,
    pub kind: RowKind,
}

/// A revision's two files, aligned.
#[derive(Debug, Clone, Default)]
pub struct SideBySide {
    pub rows: Vec<Row>,
    /// First row of each changed block (for next/previous difference).
    pub blocks: Vec<usize>,
}

fn expand(s: &str) -> String {
    s.replace('\t', "    ")
}

/// Aligns `a` (left) and `b` (right). Lines are compared without their terminators, as the
/// unified diff does; line-ending and BOM differences are reported separately.
pub fn side_by_side(a: &[u8], b: &[u8]) -> SideBySide {
    let (la, lb) = (diff::lines(a), diff::lines(b));
    let edits = diff::diff_lines(&la, &lb);
    let mut out = SideBySide::default();
    let (mut removed, mut added): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let flush = |out: &mut SideBySide, removed: &mut Vec<usize>, added: &mut Vec<usize>| {
        if removed.is_empty() && added.is_empty() {
            return;
        }
        out.blocks.push(out.rows.len());
        for k in 0..removed.len().max(added.len()) {
            let left = removed.get(k).map(|&i| (i + 1, expand(&la[i])));
            let right = added.get(k).map(|&j| (j + 1, expand(&lb[j])));
            let kind = match (&left, &right) {
                (Some(_), Some(_)) => RowKind::Changed,
                (Some(_), None) => RowKind::Removed,
                _ => RowKind::Added,
            };
            out.rows.push(Row { left, right, kind });
        }
        removed.clear();
        added.clear();
    };
    for e in edits {
        match e {
            Edit::Equal(i, j) => {
                flush(&mut out, &mut removed, &mut added);
                out.rows.push(Row {
                    left: Some((i + 1, expand(&la[i]))),
                    right: Some((j + 1, expand(&lb[j]))),
                    kind: RowKind::Same,
                });
            }
            Edit::Delete(i) => removed.push(i),
            Edit::Insert(j) => added.push(j),
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_changed_lines_and_keeps_numbers() {
        let s = side_by_side(b"a\nb\nc\nd\n", b"a\nB\nc\nd\ne\n");
        let kinds: Vec<RowKind> = s.rows.iter().map(|r| r.kind).collect();
        use RowKind::*;
        assert_eq!(kinds, [Same, Changed, Same, Same, Added]);
        assert_eq!(s.rows[1].left, Some((2, "b".into())));
        assert_eq!(s.rows[1].right, Some((2, "B".into())));
        assert_eq!(s.rows[4].right, Some((5, "e".into())));
        assert_eq!(s.blocks, [1, 4]);
    }

    #[test]
    fn crlf_only_is_all_same_and_one_side_is_all_removed() {
        let s = side_by_side(b"x\r\ny\r\n", b"x\ny\n");
        assert!(s.rows.iter().all(|r| r.kind == RowKind::Same));
        assert!(s.blocks.is_empty());
        let s = side_by_side(b"x\n\ty\n", b"");
        assert!(s.rows.iter().all(|r| r.kind == RowKind::Removed));
        assert_eq!(s.rows[1].left, Some((2, "    y".into())));
    }
}
