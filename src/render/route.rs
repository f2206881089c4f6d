//! A [`Route`] in words (what `alembic upgrade` would run, and where it would fail), shared by
//! `status` and the explorer's doctor and dialogs.
//!
//! Lists are capped: at 10,000 revisions a route runs thousands of revisions and meets tens of
//! thousands of conflicts, which buried the report (and took the doctor a frame each time).

use crate::assess::Route;
use crate::graph::RevisionMap;

/// How many ids or conflicts are listed before the rest are counted.
pub const SHOWN: usize = 40;

/// Where `status`'s routes can be seen whole.
pub const STATUS_JSON: &str = "`migscope status --format json`";

/// What a line says, for front ends that colour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Alembic refuses, or the run fails.
    Bad,
    /// No conflict.
    Good,
    /// A conflict after the first failure.
    Warn,
    /// How many more were left out.
    Muted,
}

/// `ids` space-separated, the first [`SHOWN`] of them, then how many more and where to see all.
pub fn capped(ids: &[String], all_in: &str) -> String {
    if ids.len() <= SHOWN {
        return ids.join(" ");
    }
    format!(
        "{} ... and {} more (all of them: {all_in})",
        ids[..SHOWN].join(" "),
        ids.len() - SHOWN
    )
}

/// The route's lines, each prefixed with `indent`. `all_in`: where the conflicts left out can
/// be seen, if anywhere.
pub fn route_lines(
    map: &RevisionMap,
    route: &Route,
    indent: &str,
    all_in: Option<&str>,
) -> Vec<(Tone, String)> {
    let p = match &route.plan {
        Err(e) => return vec![(Tone::Bad, format!("{indent}Alembic refuses: {e}"))],
        Ok(p) if p.is_empty() => return vec![(Tone::Plain, format!("{indent}nothing to run"))],
        Ok(p) => p,
    };
    let mut lines = vec![(
        Tone::Plain,
        format!(
            "{indent}runs {}: {}",
            p.len(),
            capped(&map.ids(p), "`migscope plan`")
        ),
    )];
    lines.push(match &route.failure {
        Some(c) => (
            Tone::Bad,
            format!(
                "{indent}predicted failure: {}: {}",
                map.rev(c.rev).id,
                c.message
            ),
        ),
        None => (
            Tone::Good,
            format!("{indent}preflight: no conflict with the schema"),
        ),
    });
    let mut others = route
        .conflicts
        .iter()
        .filter(|c| route.failure.as_ref() != Some(*c));
    for c in others.by_ref().take(SHOWN) {
        let may = if c.certain { "" } else { " (may not run)" };
        lines.push((
            Tone::Warn,
            format!("{indent}  also: {}: {}{may}", map.rev(c.rev).id, c.message),
        ));
    }
    let more = others.count();
    if more > 0 {
        let text = match all_in {
            Some(all_in) => format!("{indent}  ... and {more} more (all of them: {all_in})"),
            None => format!("{indent}  ... and {more} more"),
        };
        lines.push((Tone::Muted, text));
    }
    lines
}
