//! Running `tests/alembic/oracle.py` in batch mode and reading its answers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::model::{GraphModel, Query, RevModel};
use super::venv;

/// One graph to ask Alembic about.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    pub dirs: Vec<PathBuf>,
    pub recursive: bool,
    pub queries: Vec<Query>,
}

impl Case {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "dirs": self.dirs,
            "recursive": self.recursive,
            "queries": self.queries.iter().map(Query::to_json).collect::<Vec<_>>(),
        })
    }
}

/// An alembic exception, as the oracle reports it.
#[derive(Clone, Debug, Deserialize)]
pub struct AlembicError {
    #[serde(rename = "type")]
    pub kind: String,
    /// What `alembic` prints after `FAILED:` (or the exception text).
    pub message: String,
    pub cause_type: Option<String>,
    pub cause_message: Option<String>,
    /// The alembic function that raised the innermost exception.
    pub site: Option<String>,
    /// The missing key of a `KeyError`.
    pub key: Option<String>,
}

impl AlembicError {
    /// The exception that carries the detail (the wrapped cause, if any).
    pub fn inner(&self) -> (&str, &str) {
        match (&self.cause_type, &self.cause_message) {
            (Some(t), Some(m)) => (t, m),
            _ => (&self.kind, &self.message),
        }
    }

    pub fn summary(&self) -> String {
        match (&self.cause_type, &self.cause_message) {
            (Some(t), Some(m)) => format!("{}: {} (cause {t}: {m})", self.kind, self.message),
            _ => format!("{}: {}", self.kind, self.message),
        }
    }
}

/// The answer to one order-bearing question (history, a plan).
#[derive(Clone, Debug, Deserialize)]
pub struct Outcome {
    pub revisions: Option<Vec<String>>,
    pub error: Option<AlembicError>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Every distinct answer alembic can give under some str-hash order
    /// (present only when there is more than one).
    #[serde(default)]
    pub variants: Vec<Outcome>,
}

impl Outcome {
    /// The answers any of which alembic may give.
    pub fn alternatives(&self) -> Vec<&Outcome> {
        if self.variants.is_empty() {
            vec![self]
        } else {
            self.variants.iter().collect()
        }
    }

    pub fn summary(&self) -> String {
        let one = |o: &Outcome| match (&o.revisions, &o.error) {
            (Some(r), _) => format!("{r:?}"),
            (_, Some(e)) => format!("error {}", e.summary()),
            _ => "<empty outcome>".into(),
        };
        let alts = self.alternatives();
        if alts.len() == 1 {
            one(alts[0])
        } else {
            format!(
                "any of {} hash-order variants: {}",
                alts.len(),
                alts.iter().map(|o| one(o)).collect::<Vec<_>>().join(" | ")
            )
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct OracleRev {
    pub id: String,
    pub down_revision: Vec<String>,
    pub dependencies: Vec<String>,
    pub branch_labels: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Answer {
    pub id: String,
    pub alembic_version: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Building the revision map failed: every command fails with this.
    pub error: Option<AlembicError>,
    /// A bug in the oracle itself (Python traceback).
    pub oracle_failure: Option<String>,
    #[serde(default)]
    pub load_order: Vec<String>,
    #[serde(default)]
    pub heads: Vec<String>,
    #[serde(default)]
    pub real_heads: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub real_bases: Vec<String>,
    #[serde(default)]
    pub branch_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub revisions: Vec<OracleRev>,
    #[serde(default)]
    pub hash_order_sensitive: BTreeMap<String, Vec<String>>,
    pub history: Option<Outcome>,
    pub upgrade_heads_from_empty: Option<Outcome>,
    #[serde(default)]
    pub queries: Vec<Outcome>,
}

impl Answer {
    /// The graph as alembic loaded it (map order), for query generation.
    pub fn model(&self) -> GraphModel {
        GraphModel {
            revs: self
                .revisions
                .iter()
                .map(|r| RevModel {
                    id: r.id.clone(),
                    down: r.down_revision.clone(),
                    deps: r.dependencies.clone(),
                    labels: r.branch_labels.clone(),
                })
                .collect(),
        }
    }
}

/// Asks the oracle about `cases` with one Python process per chunk (`jobs`
/// chunks run in parallel). Answers come back in `cases` order.
pub fn ask(cases: &[Case], jobs: usize) -> Vec<Answer> {
    if cases.is_empty() {
        return vec![];
    }
    let python = venv::alembic_python();
    let chunk = cases.len().div_ceil(jobs.max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let python = python.clone();
                s.spawn(move || ask_one_process(&python, part))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("oracle thread panicked"))
            .collect()
    })
}

fn ask_one_process(python: &PathBuf, cases: &[Case]) -> Vec<Answer> {
    let script = venv::oracle_script();
    let input = serde_json::json!({
        "cases": cases.iter().map(Case::to_json).collect::<Vec<_>>(),
    })
    .to_string();
    let mut child = Command::new(python)
        .arg(&script)
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} {}: {e}",
                python.display(),
                script.display()
            )
        });
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (answers, err_text) = std::thread::scope(|s| {
        s.spawn(move || {
            stdin
                .write_all(input.as_bytes())
                .expect("cannot write to the oracle");
        });
        let err = s.spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let answers: Vec<Answer> = BufReader::new(stdout)
            .lines()
            .map(|line| {
                let line = line.expect("cannot read the oracle's output");
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad oracle output line ({e}): {line}"))
            })
            .collect();
        (answers, err.join().unwrap())
    });
    let status = child.wait().expect("oracle did not run");
    assert!(
        status.success() && answers.len() == cases.len(),
        "the oracle failed ({status}, {} of {} answers)\n--- stderr ---\n{err_text}",
        answers.len(),
        cases.len()
    );
    for (case, answer) in cases.iter().zip(&answers) {
        assert_eq!(case.id, answer.id, "oracle answers out of order");
        if let Some(tb) = &answer.oracle_failure {
            panic!("the oracle itself crashed on case {}:\n{tb}", case.id);
        }
    }
    answers
}
