//! Running an upgrade back: with several rows to return to, one `alembic downgrade TARGET` per
//! row, and the order can decide whether they succeed (a branch that alters another branch's
//! table must be downgraded before the table is dropped). Each candidate order is planned as
//! Alembic plans it and simulated on the schema the previous downgrades leave.

use fixedbitset::FixedBitSet;

use crate::graph::{RevIdx, RevisionMap};
use crate::plan;
use crate::preflight;
use crate::revision::ops::OpsStore;
use crate::schema::SchemaSnapshot;
use crate::stamp;

/// Orders tried exhaustively up to this many targets; beyond, only the given order.
const MAX_PERMUTED: usize = 4;

/// The first order of `targets` in which `alembic downgrade T` for each, starting from the rows
/// `from`, plans without refusal and predicts no certain failure; `None` when none does.
/// `ops_by_rev` must hold the revisions' `downgrade()` operations.
pub fn downgrade_order(
    map: &RevisionMap,
    from: &[String],
    targets: &[String],
    ops_by_rev: &OpsStore,
    schema: &SchemaSnapshot,
) -> Option<Vec<String>> {
    let orders = if targets.len() <= MAX_PERMUTED {
        permutations(targets)
    } else {
        vec![targets.to_vec()]
    };
    orders
        .into_iter()
        .find(|order| runs_cleanly(map, from, order, ops_by_rev, schema))
}

fn runs_cleanly(
    map: &RevisionMap,
    from: &[String],
    order: &[String],
    ops_by_rev: &OpsStore,
    schema: &SchemaSnapshot,
) -> bool {
    let mut rows = from.to_vec();
    let mut schema = schema.clone();
    for target in order {
        let Ok(p) = plan::downgrade(map, &rows, target) else {
            return false;
        };
        for &rev in &p.revisions {
            let ops = ops_by_rev
                .get(rev)
                .map(|r| r.downgrade.ops)
                .unwrap_or_default();
            let (conflicts, _) = preflight::simulate(&mut schema, &ops);
            if conflicts.iter().any(|c| c.certain) {
                return false;
            }
        }
        rows = rows_after(map, &rows, &p.revisions);
    }
    true
}

/// The rows once `dropped` are downgraded: the applied revisions left that no other applied
/// revision builds on.
fn rows_after(map: &RevisionMap, rows: &[String], dropped: &[RevIdx]) -> Vec<String> {
    let mut applied = FixedBitSet::with_capacity(map.len());
    for r in stamp::rows_report(map, rows).applied {
        applied.insert(r);
    }
    for &r in dropped {
        applied.set(r, false);
    }
    applied
        .ones()
        .filter(|&r| !map.rev(r).children().iter().any(|&c| applied.contains(c)))
        .map(|r| map.rev(r).id.clone())
        .collect()
}

fn permutations(items: &[String]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_keep_the_given_order_first() {
        let items: Vec<String> = ["a", "b", "c"].map(String::from).into();
        let perms = permutations(&items);
        assert_eq!(perms.len(), 6);
        assert_eq!(perms[0], items);
        let mut sorted = perms.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
    }
}
