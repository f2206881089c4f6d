//! The database read against the project: which version rows a file defines, what
//! `alembic upgrade heads` would run from them and where it would fail, and which stamp the live
//! schema suggests. Pure: the caller reads the rows and the schema (`migscope status` and the
//! explorer both do, and both show this).

use crate::db::VersionState;
use crate::evidence::{self, Evidence, Suggestion};
use crate::graph::{RevIdx, RevisionMap};
use crate::plan;
use crate::preflight;
use crate::revision::ops::OpsStore;
use crate::schema::SchemaSnapshot;
use crate::stamp::{self, RowsReport};

/// One conflict of a route's preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConflict {
    pub rev: RevIdx,
    /// Boxed: a route from base at 10,000 revisions holds tens of thousands of conflicts.
    pub message: Box<str>,
    /// An unconditional operation: the migration fails there.
    pub certain: bool,
}

/// `alembic upgrade heads` from some rows, with its preflight against the schema.
#[derive(Debug, Clone)]
pub struct Route {
    /// The rows the upgrade starts from.
    pub from: Vec<String>,
    /// Err: Alembic refuses to plan (its message).
    pub plan: Result<Vec<RevIdx>, String>,
    /// Every conflict, in execution order.
    pub conflicts: Vec<RouteConflict>,
    /// Where the real run would stop: the first certain conflict.
    pub failure: Option<RouteConflict>,
}

/// `alembic upgrade|downgrade target` from `from`, simulated on `schema`.
pub fn route_to(
    map: &RevisionMap,
    from: &[String],
    direction: plan::Direction,
    target: &str,
    ops: &OpsStore,
    schema: &SchemaSnapshot,
) -> Route {
    let planned = match direction {
        plan::Direction::Upgrade => plan::upgrade(map, from, target),
        plan::Direction::Downgrade => plan::downgrade(map, from, target),
    };
    match planned {
        Err(e) => Route {
            from: from.to_vec(),
            plan: Err(e.message()),
            conflicts: Vec::new(),
            failure: None,
        },
        Ok(p) => {
            let mut conflicts = Vec::new();
            // The first certain conflict, where the real run would stop.
            let mut failure = None;
            for step in preflight::steps(map, &p.revisions, p.direction, ops, schema) {
                for c in step.conflicts {
                    let c = RouteConflict {
                        rev: step.rev,
                        message: c.message.into_boxed_str(),
                        certain: c.certain,
                    };
                    if c.certain && failure.is_none() {
                        failure = Some(c.clone());
                    }
                    conflicts.push(c);
                }
            }
            conflicts.shrink_to_fit();
            Route {
                from: from.to_vec(),
                plan: Ok(p.revisions),
                conflicts,
                failure,
            }
        }
    }
}

/// `alembic upgrade heads` from `from`.
pub fn route(map: &RevisionMap, from: &[String], ops: &OpsStore, schema: &SchemaSnapshot) -> Route {
    route_to(map, from, plan::Direction::Upgrade, "heads", ops, schema)
}

/// The stamp the schema suggests, and what would follow it.
#[derive(Debug, Clone)]
pub struct SuggestedStamp {
    pub suggestion: Suggestion,
    /// The targets' ids.
    pub ids: Vec<String>,
    /// A plain `stamp` would not leave exactly these rows: `--purge` is needed.
    pub purge: bool,
    /// `alembic upgrade heads` after the stamp.
    pub after: Route,
    /// With several targets: the upgrade after stamping only the first, to show why the others
    /// are needed.
    pub first_only: Option<Route>,
}

/// Everything `migscope status` says about a database.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The version table exists.
    pub table_exists: bool,
    /// Its rows (none when it does not exist).
    pub rows: Vec<String>,
    pub report: RowsReport,
    /// Rows no revision file defines.
    pub unknown: Vec<String>,
    /// Revision ids longer than the version column.
    pub too_long: Vec<String>,
    pub column_length: Option<u32>,
    /// `alembic upgrade heads` from the rows.
    pub upgrade: Route,
    /// Per revision ([`RevIdx`]): what the schema says about it.
    pub evidence: Vec<Evidence>,
    pub suggested: Option<SuggestedStamp>,
}

impl Assessment {
    /// Alembic cannot work from these rows: a row no file defines, overlapping rows, or an
    /// upgrade Alembic refuses to plan.
    pub fn broken(&self) -> bool {
        !self.unknown.is_empty()
            || !self.report.overlapping.is_empty()
            || self.upgrade.plan.is_err()
    }

    /// The suggested stamp leaves exactly the rows the table holds.
    pub fn suggestion_holds(&self) -> bool {
        self.suggested
            .as_ref()
            .is_some_and(|s| sorted(&s.ids) == sorted(&self.rows))
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Reads `version` and `schema` against the project (`ops`: [`evidence::load_ops`]).
pub fn assess(
    map: &RevisionMap,
    version: &VersionState,
    schema: &SchemaSnapshot,
    ops: &OpsStore,
) -> Assessment {
    let rows = version.rows.clone().unwrap_or_default();
    let report = stamp::rows_report(map, &rows);
    let unknown = report
        .rows
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let too_long = match version.column_length {
        Some(max) => map
            .revisions()
            .iter()
            .filter(|r| !r.phantom && r.id.chars().count() > max as usize)
            .map(|r| r.id.clone())
            .collect(),
        None => Vec::new(),
    };
    let evidence = evidence::graph_evidence(map, ops, schema);
    let suggested = evidence::suggest_stamp(map, ops, &evidence).map(|suggestion| {
        let ids = map.ids(&suggestion.targets);
        // Does a plain `stamp` give exactly these rows, or is --purge needed?
        let purge = !matches!(
            stamp::stamp(map, &rows, &ids, false),
            Ok(r) if sorted(&r.rows) == sorted(&ids)
        );
        let after = route(map, &ids, ops, schema);
        let first_only = (ids.len() > 1).then(|| route(map, &ids[..1], ops, schema));
        SuggestedStamp {
            suggestion,
            ids,
            purge,
            after,
            first_only,
        }
    });
    Assessment {
        table_exists: version.rows.is_some(),
        upgrade: route(map, &rows, ops, schema),
        rows,
        report,
        unknown,
        too_long,
        column_length: version.column_length,
        evidence,
        suggested,
    }
}

/// The targets to pass to `stamp` for these rows: the ids, or `base` for none.
pub fn stamp_targets(ids: &[String]) -> Vec<String> {
    if ids.is_empty() {
        vec!["base".to_string()]
    } else {
        ids.to_vec()
    }
}

/// `migscope stamp [--purge] IDS...`, the command that makes these rows (`base`: none).
pub fn stamp_command(ids: &[String], purge: bool) -> String {
    format!(
        "migscope stamp {}{}",
        if purge { "--purge " } else { "" },
        stamp_targets(ids).join(" ")
    )
}
