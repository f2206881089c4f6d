//! Comparing one `migscope` invocation with what Alembic answered.
//!
//! Error codes follow the README ("Errors"); the code expected for an
//! Alembic exception is derived from the exception the oracle reported.

use serde_json::Value;

use super::cli::{Check, CliOutput};
use super::oracle::{AlembicError, Answer, Outcome};

/// Exit status of a revision error (README, "Errors").
pub const REVISION_ERROR_EXIT: i32 = 1;

/// One answer Alembic may give: revision ids in order, or an error.
pub type Expected<'a> = Result<&'a [String], &'a AlembicError>;

/// The answers Alembic may give for `check` (more than one only when the
/// order depends on str hashing, ALEMBIC.md §5.5).
pub fn expected<'a>(check: Check, answer: &'a Answer) -> Vec<Expected<'a>> {
    if let Some(err) = &answer.error {
        return vec![Err(err)];
    }
    let outcome = |o: &'a Option<Outcome>| -> Vec<Expected<'a>> {
        match o {
            Some(o) => from_outcome(o),
            None => panic!("oracle answer {} lacks {check:?}", answer.id),
        }
    };
    match check {
        Check::Heads => vec![Ok(&answer.heads)],
        Check::RealHeads => vec![Ok(&answer.real_heads)],
        Check::Bases => vec![Ok(&answer.bases)],
        Check::History => outcome(&answer.history),
        Check::UpgradeHeadsFromEmpty => outcome(&answer.upgrade_heads_from_empty),
        Check::Query(i) => from_outcome(&answer.queries[i]),
    }
}

fn from_outcome(o: &Outcome) -> Vec<Expected<'_>> {
    o.alternatives()
        .into_iter()
        .map(|alt| match (&alt.revisions, &alt.error) {
            (Some(revs), _) => Ok(revs.as_slice()),
            (None, Some(err)) => Err(err),
            (None, None) => panic!("oracle outcome with neither revisions nor error"),
        })
        .collect()
}

/// The migscope error code (README, "Errors") for an Alembic exception, or
/// `None` for crashes the contract does not classify.
pub fn error_code(err: &AlembicError) -> Option<&'static str> {
    let (kind, msg) = err.inner();
    let code = match kind {
        "CycleDetected" => "cycle",
        "DependencyCycleDetected" => "dependency_cycle",
        "LoopDetected" => "self_loop",
        "DependencyLoopDetected" => "dependency_self_loop",
        "KeyError" => "missing_revision",
        "MultipleHeads" => "multiple_heads",
        "RangeNotAncestorError" => "not_a_target",
        "OracleError" | "AttributeError" => "unreadable",
        "ResolutionError" if msg.starts_with("Multiple revisions start with") => {
            "ambiguous_revision"
        }
        "ResolutionError" if msg.contains("is not a member of branch") => "not_in_branch",
        "ResolutionError" => "unknown_revision",
        // alembic never finishes (see oracle.py): any error will do
        "Timeout" => return None,
        // alembic crashes (`head+1`, `<base>-1`, `label@-1` without a unique
        // current head on the branch, ...)
        "AssertionError" => "alembic_crash",
        "RevisionError" | "CommandError" => {
            if msg.starts_with("Branch name ") && msg.contains("already used by") {
                "duplicate_label"
            } else if msg.starts_with("Character(s) ")
                || msg.starts_with("Could not determine revision id")
            {
                "bad_revision_id"
            } else if msg.starts_with("Requested revision ") && msg.contains(" overlaps with ") {
                "overlap"
            } else if msg.starts_with("Not a valid downgrade target") {
                "not_a_target"
            } else if msg.starts_with("Relative revision ") || msg == "Walked too far" {
                "relative_overwalk"
            } else if msg == "Ambiguous walk"
                || msg == "Ambiguous upgrade from multiple current revisions"
            {
                "ambiguous_walk"
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(code)
}

/// Whether migscope's error message reproduces Alembic's wording: either the
/// CLI's `FAILED:` text or the wrapped exception's own text. Where Alembic
/// has no wording of its own (a bare `KeyError`, an `AssertionError`, a
/// `Timeout` where alembic never finishes) the message only has to name the
/// missing revision, resp. anything goes.
pub fn message_matches(err: &AlembicError, got: &str) -> bool {
    let got = got.trim();
    let (kind, _) = err.inner();
    match kind {
        "KeyError" => return err.key.as_deref().is_none_or(|k| got.contains(k)),
        "AssertionError" | "Timeout" => return true,
        _ => {}
    }
    let mut candidates = vec![err.message.as_str()];
    if let Some(m) = &err.cause_message {
        candidates.push(m);
    }
    candidates.iter().any(|c| {
        *c == got
            || match error_code(err) {
                Some("overlap") => normalize_overlap(c) == normalize_overlap(got),
                Some("duplicate_label") => swap_label_owners(c).is_some_and(|s| s == got),
                _ => false,
            }
    })
}

/// "Branch name 'L' in revision A already used by revision B" with A and B
/// swapped: alembic registers labels iterating a Python `set` of revision
/// objects, so which of the two clashing revisions comes first is arbitrary.
fn swap_label_owners(msg: &str) -> Option<String> {
    const IN: &str = " in revision ";
    const USED: &str = " already used by revision ";
    let (head, rest) = msg.split_once(IN)?;
    let (a, b) = rest.split_once(USED)?;
    Some(format!("{head}{IN}{b}{USED}{a}"))
}

/// "Requested revision X overlaps with other requested revisions A, B": the
/// order of A, B follows a Python set of objects, so compare it as a set.
fn normalize_overlap(msg: &str) -> String {
    const MARK: &str = "other requested revisions ";
    match msg.find(MARK) {
        Some(i) => {
            let (head, tail) = msg.split_at(i + MARK.len());
            let mut items: Vec<&str> = tail.split(", ").collect();
            items.sort_unstable();
            format!("{head}{}", items.join(", "))
        }
        None => msg.to_string(),
    }
}

/// Why an invocation disagrees with Alembic.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// Short category for the summary.
    pub kind: String,
    pub ours: String,
    pub alembic: String,
}

fn list_field(check: Check, v: &Value) -> Option<Vec<String>> {
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    match check {
        Check::Heads | Check::RealHeads => strings(v.get("heads")?),
        Check::Bases => strings(v.get("bases")?),
        Check::History => v
            .get("revisions")?
            .as_array()?
            .iter()
            .map(|r| r.get("id")?.as_str().map(str::to_string))
            .collect(),
        Check::UpgradeHeadsFromEmpty | Check::Query(_) => strings(v.get("revisions")?),
    }
}

fn describe_expected(alts: &[Expected<'_>]) -> String {
    let one = |e: &Expected<'_>| match e {
        Ok(revs) => format!("{revs:?}"),
        Err(err) => format!(
            "error [{}] {}",
            error_code(err).unwrap_or("<unmapped>"),
            err.summary()
        ),
    };
    if alts.len() == 1 {
        one(&alts[0])
    } else {
        format!(
            "any of {} hash-order variants: {}",
            alts.len(),
            alts.iter().map(one).collect::<Vec<_>>().join(" | ")
        )
    }
}

fn describe_ours(out: &CliOutput) -> String {
    let status = out
        .status
        .map_or_else(|| "killed by a signal".to_string(), |s| format!("exit {s}"));
    let mut text = format!("{status}, stdout: {}", out.stdout.trim());
    if !out.stderr.trim().is_empty() {
        text.push_str(&format!(", stderr: {}", out.stderr.trim()));
    }
    text
}

/// Compares one invocation's output with the answers Alembic may give.
pub fn compare(check: Check, alts: &[Expected<'_>], out: &CliOutput) -> Result<(), Mismatch> {
    let json: Option<Value> = serde_json::from_str(out.stdout.trim()).ok();
    let mismatch = |kind: &str| Mismatch {
        kind: format!("{}: {kind}", check.name()),
        ours: describe_ours(out),
        alembic: describe_expected(alts),
    };
    let oks: Vec<&[String]> = alts.iter().filter_map(|a| a.ok()).collect();
    let errs: Vec<&AlembicError> = alts.iter().filter_map(|a| a.err()).collect();

    match out.status {
        Some(0) => {
            if oks.is_empty() {
                return Err(if errs.iter().all(|e| e.kind == "Timeout") {
                    mismatch("succeeds where Alembic never finishes (undetected cycle)")
                } else {
                    mismatch("succeeds where Alembic fails")
                });
            }
            let Some(got) = json.as_ref().and_then(|v| list_field(check, v)) else {
                return Err(mismatch("output is not the documented JSON"));
            };
            if oks.contains(&got.as_slice()) {
                Ok(())
            } else if oks.iter().any(|ok| sorted(ok) == sorted(&got)) {
                Err(mismatch("same revisions, different order"))
            } else {
                Err(mismatch("different revisions"))
            }
        }
        Some(REVISION_ERROR_EXIT) => {
            if errs.is_empty() {
                return Err(mismatch("fails where Alembic succeeds"));
            }
            let err_obj = json.as_ref().and_then(|v| v.get("error"));
            let code = err_obj.and_then(|e| e.get("code")).and_then(Value::as_str);
            let message = err_obj
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str);
            let (Some(code), Some(message)) = (code, message) else {
                return Err(mismatch("no JSON error object on stdout"));
            };
            let code_ok: Vec<&&AlembicError> = errs
                .iter()
                .filter(|e| error_code(e).is_none_or(|c| c == code))
                .collect();
            if code_ok.is_empty() {
                return Err(mismatch("wrong error code"));
            }
            if code_ok.iter().any(|e| message_matches(e, message)) {
                Ok(())
            } else {
                Err(mismatch("error message differs from Alembic's"))
            }
        }
        Some(s) => Err(mismatch(&format!("unexpected exit status {s}"))),
        None => Err(mismatch("killed by a signal")),
    }
}

fn sorted(v: &[String]) -> Vec<&String> {
    let mut s: Vec<&String> = v.iter().collect();
    s.sort();
    s
}
