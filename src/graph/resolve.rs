//! Identifier resolution exactly as Alembic does it (`get_revisions`, `get_revision`,
//! `_resolve_revision_number`, `_revision_for_ident`, `_resolve_branch`, `filter_for_lineage`,
//! `_walk`): full ids, unique prefixes of ids and branch labels, `head`, `heads`, `base`,
//! `label@head`, `rev@head`, and relative `+N` / `-N` forms.

use super::walk::Links;
use super::{RevIdx, RevisionError, RevisionMap};

/// Where a relative walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkPos {
    /// Before the first revision (Alembic's `None`).
    Start,
    Rev(RevIdx),
    /// The pseudo-revision `"base"` Alembic reaches by walking down past a base.
    Base,
}

impl WalkPos {
    pub fn rev(self) -> Option<RevIdx> {
        match self {
            WalkPos::Rev(r) => Some(r),
            _ => None,
        }
    }
}

/// A relative identifier `[branch@][symbol](+|-)N`, as Alembic's `_relative_destination` matches it
/// (anchored at the start only: trailing text is ignored, as in Alembic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative {
    pub branch: Option<String>,
    pub symbol: Option<String>,
    pub steps: i64,
    /// The `(+|-)N` text as written.
    pub text: String,
}

impl Relative {
    pub fn parse(target: &str) -> Option<Relative> {
        // `(?:(.+?)@)?`: the shortest branch prefix for which the rest matches, else no branch.
        for (at, _) in target.match_indices('@') {
            if at == 0 {
                continue;
            }
            if let Some(mut rel) = Self::parse_tail(&target[at + 1..]) {
                rel.branch = Some(target[..at].to_string());
                return Some(rel);
            }
        }
        Self::parse_tail(target)
    }

    fn parse_tail(s: &str) -> Option<Relative> {
        let word_end = s
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
            .map_or(s.len(), |(i, _)| i);
        let (symbol, rest) = s.split_at(word_end);
        let sign = rest.chars().next().filter(|c| *c == '+' || *c == '-')?;
        let digits: String = rest[1..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() {
            return None;
        }
        let magnitude: i64 = digits.parse().unwrap_or(i64::MAX);
        Some(Relative {
            branch: None,
            symbol: (!symbol.is_empty()).then(|| symbol.to_string()),
            steps: if sign == '-' { -magnitude } else { magnitude },
            text: format!("{sign}{digits}"),
        })
    }
}

/// Python's `int(s)` for the strings Alembic tries it on (`branch@-2` style lookups).
fn python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

impl RevisionMap {
    /// Exact lookup of a map key: a revision id or a branch label.
    fn key(&self, key: &str) -> Option<RevIdx> {
        self.get(key).or_else(|| self.label(key))
    }

    /// Map keys in Alembic's order: revision ids in map order, then branch labels.
    fn keys(&self) -> impl Iterator<Item = &str> {
        let mut ids: Vec<(usize, &str)> = self
            .index
            .iter()
            .map(|(id, &r)| (self.order[r], id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|(_, id)| id)
            .chain(self.labels.iter().map(|(l, _)| l.as_str()))
    }

    /// `_resolve_revision_number`: split `branch@rest`, expand `head`, `heads`, `base`.
    fn resolve_number(&self, id: &str) -> Result<(Vec<String>, Option<String>), RevisionError> {
        let (branch, rest) = match id.split_once('@') {
            Some((b, r)) => (Some(b.to_string()), r),
            None => (None, id),
        };
        let b = non_empty(branch.as_deref());
        let ids = match rest {
            "heads" => match b {
                Some(b) => {
                    let heads = self.filter_for_lineage(self.heads(), b)?;
                    self.ids(&heads)
                }
                None => self.ids(self.real_heads()),
            },
            "head" => self
                .current_head(b)?
                .map(|h| vec![self.revs[h].id.clone()])
                .unwrap_or_default(),
            "base" => Vec::new(),
            other => vec![other.to_string()],
        };
        Ok((ids, branch))
    }

    /// `get_current_head`: the single versioned head (on the branch, if given).
    pub(crate) fn current_head(
        &self,
        branch: Option<&str>,
    ) -> Result<Option<RevIdx>, RevisionError> {
        let heads = match branch {
            Some(b) => self.filter_for_lineage(self.heads(), b)?,
            None => self.heads().to_vec(),
        };
        if heads.len() > 1 {
            return Err(RevisionError::MultipleHeads {
                argument: branch.map_or_else(|| "head".to_string(), |b| format!("{b}@head")),
                heads: self.ids(&heads),
                stamp: false,
                shown: None,
            });
        }
        Ok(heads.first().copied())
    }

    /// `filter_for_lineage`: the targets related (by `down_revision`) to what `check_against` names.
    pub(crate) fn filter_for_lineage(
        &self,
        targets: &[RevIdx],
        check_against: &str,
    ) -> Result<Vec<RevIdx>, RevisionError> {
        let (ids, branch) = self.resolve_number(check_against)?;
        let mut shares = Vec::new();
        for s in non_empty(branch.as_deref())
            .into_iter()
            .map(str::to_string)
            .chain(ids)
        {
            if let Some(r) = self.revision_for_ident(Some(&s), None)? {
                shares.push(r);
            }
        }
        Ok(targets
            .iter()
            .copied()
            .filter(|&t| self.shares_lineage(self.holder(t), &shares, Links::Versioned))
            .collect())
    }

    /// `_resolve_branch`: a branch label, else any revision identifier.
    fn resolve_branch(&self, branch: &str) -> Result<Option<RevIdx>, RevisionError> {
        if let Some(r) = self.key(branch) {
            return Ok(Some(r));
        }
        match self.revision_for_ident(Some(branch), None) {
            Err(
                RevisionError::Unknown { .. }
                | RevisionError::Ambiguous { .. }
                | RevisionError::NotInBranch { .. },
            ) => Err(RevisionError::Unknown {
                argument: branch.to_string(),
                detail: format!("No such branch: '{branch}'"),
            }),
            other => other,
        }
    }

    pub(crate) fn resolve_branch_pub(&self, branch: &str) -> Result<Option<RevIdx>, RevisionError> {
        self.resolve_branch(branch)
    }

    /// `_revision_for_ident`: exact key, else a unique prefix of a key longer than three characters.
    fn revision_for_ident(
        &self,
        ident: Option<&str>,
        check_branch: Option<&str>,
    ) -> Result<Option<RevIdx>, RevisionError> {
        let check_branch = non_empty(check_branch);
        let branch_rev = match check_branch {
            Some(b) => self.resolve_branch(b)?,
            None => None,
        };
        let Some(ident) = ident else {
            return Ok(None);
        };
        let revision = match self.key(ident) {
            Some(r) => r,
            None => {
                let mut candidates: Vec<&str> = self
                    .keys()
                    .filter(|k| k.chars().count() > 3 && k.starts_with(ident))
                    .collect();
                if let (Some(b), Some(_)) = (check_branch, branch_rev) {
                    let idxs: Vec<RevIdx> = candidates.iter().filter_map(|k| self.key(k)).collect();
                    let keep = self.filter_for_lineage(&idxs, b)?;
                    candidates.retain(|k| self.key(k).is_some_and(|r| keep.contains(&r)));
                }
                match candidates.as_slice() {
                    [] => {
                        let hint = if ident.chars().count() < 4 {
                            "; please ensure at least four characters are present for partial \
                             revision identifier matches"
                        } else {
                            ""
                        };
                        return Err(RevisionError::Unknown {
                            argument: ident.to_string(),
                            detail: format!("No such revision or branch '{ident}'{hint}"),
                        });
                    }
                    [one] => self.key(one).expect("candidate is a key"),
                    many => {
                        let listed: Vec<String> =
                            many.iter().take(3).map(|k| format!("'{k}'")).collect();
                        return Err(RevisionError::Ambiguous {
                            argument: ident.to_string(),
                            detail: format!(
                                "Multiple revisions start with '{ident}': {}...",
                                listed.join(", ")
                            ),
                        });
                    }
                }
            }
        };
        if let (Some(b), Some(branch_rev)) = (check_branch, branch_rev)
            && !self.shares_lineage(revision, &[branch_rev], Links::Versioned)
        {
            return Err(RevisionError::NotInBranch {
                argument: ident.to_string(),
                detail: format!(
                    "Revision {} is not a member of branch '{b}'",
                    self.revs[revision].id
                ),
            });
        }
        Ok(Some(revision))
    }

    /// `get_revisions` for one identifier: every revision it names (`heads` names several).
    pub fn resolve_all(&self, id: &str) -> Result<Vec<WalkPos>, RevisionError> {
        let (ids, branch) = self.resolve_number(id)?;
        if let [only] = ids.as_slice()
            && let Some(n) = python_int(only).filter(|n| *n < 0)
        {
            // `branch@-n`: walk down from each head carrying the branch label.
            let mut heads = self.real_heads().to_vec();
            if let Some(b) = non_empty(branch.as_deref()) {
                heads.retain(|&h| self.revs[self.holder(h)].labels.iter().any(|l| l == b));
            }
            return heads
                .into_iter()
                .map(|h| {
                    Ok(self
                        .walk(WalkPos::Rev(self.holder(h)), n, None, true)?
                        .unwrap_or(WalkPos::Start))
                })
                .collect();
        }
        ids.iter()
            .map(|i| {
                Ok(self
                    .revision_for_ident(Some(i), branch.as_deref())?
                    .map_or(WalkPos::Start, WalkPos::Rev))
            })
            .collect()
    }

    /// What `alembic show` shows for an identifier (`get_revisions`: `heads` shows every head),
    /// extended to relative forms with a symbol (`head-1`, `abc1+2`), which Alembic's `show` rejects.
    pub fn resolve_for_show(&self, id: &str) -> Result<Vec<RevIdx>, RevisionError> {
        let plain = self.resolve_all(id);
        if let (Err(RevisionError::Unknown { .. }), Some(rel)) = (&plain, Relative::parse(id))
            && let Some(symbol) = &rel.symbol
        {
            let start = match rel.branch.as_deref().filter(|b| !b.is_empty()) {
                Some(b) => self.resolve(&format!("{b}@{symbol}"))?,
                None => self.resolve(symbol)?,
            };
            let start = start.map_or(WalkPos::Start, WalkPos::Rev);
            if let Some(pos) = self.walk(start, rel.steps, None, true)? {
                return Ok(pos.rev().into_iter().collect());
            }
            return Err(RevisionError::RelativeOverwalk {
                message: format!("{id} walks past the end of the history"),
            });
        }
        Ok(plain?.into_iter().filter_map(WalkPos::rev).collect())
    }

    /// `get_revisions` over several identifiers (e.g. the rows of the version table).
    pub fn resolve_many(&self, ids: &[String]) -> Result<Vec<RevIdx>, RevisionError> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.resolve_all(id)?.into_iter().filter_map(WalkPos::rev));
        }
        Ok(out)
    }

    /// `get_revision`: exactly one revision (or none, for `base`).
    pub fn resolve(&self, id: &str) -> Result<Option<RevIdx>, RevisionError> {
        let (ids, branch) = self.resolve_number(id)?;
        if ids.len() > 1 {
            let heads = ids.clone();
            return Err(RevisionError::MultipleHeads {
                argument: id.to_string(),
                heads,
                stamp: false,
                shown: None,
            });
        }
        self.revision_for_ident(ids.first().map(String::as_str), branch.as_deref())
    }

    /// `_walk`: `steps` up (positive) or down (negative). `Ok(None)` when the walk runs off the
    /// end with `no_overwalk`.
    pub(crate) fn walk(
        &self,
        start: WalkPos,
        steps: i64,
        branch: Option<&str>,
        no_overwalk: bool,
    ) -> Result<Option<WalkPos>, RevisionError> {
        let mut at = start;
        for _ in 0..steps.unsigned_abs() {
            let next: Vec<WalkPos> = if steps > 0 {
                let ids = match at {
                    WalkPos::Base => {
                        return Err(RevisionError::Crash {
                            message: "walking up from the base pseudo-revision".into(),
                        });
                    }
                    WalkPos::Start => self.ids(self.bases()),
                    WalkPos::Rev(r) => self.ids(&self.revs[r].children),
                };
                let mut up = self.resolve_many(&ids)?;
                if let Some(b) = non_empty(branch) {
                    up = self.filter_for_lineage(&up, b)?;
                }
                up.into_iter().map(WalkPos::Rev).collect()
            } else {
                match at {
                    WalkPos::Base => Vec::new(),
                    _ => {
                        let ids = match at {
                            WalkPos::Rev(r) => self.revs[r].down.clone(),
                            _ => self.ids(self.heads()),
                        };
                        let down: Vec<WalkPos> = self
                            .resolve_many(&ids)?
                            .into_iter()
                            .map(WalkPos::Rev)
                            .collect();
                        if down.is_empty() {
                            vec![WalkPos::Base]
                        } else {
                            down
                        }
                    }
                }
            };
            match next.as_slice() {
                [] => return Ok(if no_overwalk { None } else { Some(at) }),
                [one] => at = *one,
                _ => {
                    return Err(RevisionError::AmbiguousWalk {
                        message: "Ambiguous walk".into(),
                    });
                }
            }
        }
        Ok(Some(at))
    }

    /// The revision Alembic's `_get_all_current` reports for a set of rows: rows and their
    /// ancestors, reduced to those with no `down_revision` descendant among them.
    pub fn all_current(&self, rows: &[String]) -> Result<Vec<RevIdx>, RevisionError> {
        let top = self.resolve_many(rows)?;
        let set = self.ancestors(&top, Links::WithDependencies);
        let members: Vec<RevIdx> = set.ones().collect();
        Ok(members
            .iter()
            .copied()
            .filter(|&r| {
                let mut d = self.descendants(&[r], Links::Versioned);
                d.set(r, false);
                d.intersect_with(&set);
                d.count_ones(..) == 0
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_forms_match_alembics_regex() {
        let r = Relative::parse("head-1").unwrap();
        assert_eq!(
            (r.branch, r.symbol.as_deref(), r.steps),
            (None, Some("head"), -1)
        );
        let r = Relative::parse("net@+2").unwrap();
        assert_eq!(
            (r.branch.as_deref(), r.symbol, r.steps),
            (Some("net"), None, 2)
        );
        let r = Relative::parse("a@b@ab12-3xyz").unwrap();
        assert_eq!(
            (r.branch.as_deref(), r.symbol.as_deref(), r.steps),
            (Some("a@b"), Some("ab12"), -3)
        );
        assert!(Relative::parse("abc").is_none());
        assert!(Relative::parse("abc+").is_none());
        assert_eq!(Relative::parse("+0").unwrap().steps, 0);
    }
}
