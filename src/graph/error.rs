//! The errors Alembic raises about a revision map or an identifier, with Alembic's own wording.

use serde::Serialize;

/// An answer Alembic would refuse to give. `message()` is the text the Alembic CLI prints after
/// `FAILED:`; `detail()` is the underlying exception's text (Alembic chains it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionError {
    #[error("{}", self.message())]
    Unknown { argument: String, detail: String },
    #[error("{}", self.message())]
    Ambiguous { argument: String, detail: String },
    #[error("{}", self.message())]
    NotInBranch { argument: String, detail: String },
    /// `argument` is what the CLI names (the destination as typed, e.g. `head`).
    #[error("{}", self.message())]
    MultipleHeads {
        argument: String,
        heads: Vec<String>,
        stamp: bool,
        /// The command's own argument when it names the destination differently.
        shown: Option<String>,
    },
    #[error("{}", self.message())]
    Cycle { revisions: Vec<String> },
    #[error("{}", self.message())]
    DependencyCycle { revisions: Vec<String> },
    /// A cycle Alembic's own check misses, on which its planning never finishes.
    #[error("{}", self.message())]
    UndetectedCycle { revisions: Vec<String> },
    #[error("{}", self.message())]
    SelfLoop { revision: String },
    #[error("{}", self.message())]
    DependencySelfLoop { revision: String },
    /// A `down_revision` or `depends_on` names a revision that is not present. Alembic crashes with a
    /// bare `KeyError` here; `referenced_from` says where it came from.
    #[error("{}", self.message())]
    Missing {
        missing: String,
        referenced_from: String,
    },
    #[error("{}", self.message())]
    DuplicateLabel {
        label: String,
        revision: String,
        other: String,
    },
    #[error("{}", self.message())]
    BadRevisionId { message: String },
    #[error("{}", self.message())]
    Unreadable { file: String, message: String },
    #[error("{}", self.message())]
    Overlap { target: String, others: Vec<String> },
    /// `RangeNotAncestorError` or "Not a valid downgrade target"; `message` is the CLI text.
    #[error("{}", self.message())]
    NotATarget { message: String, detail: String },
    #[error("{}", self.message())]
    RelativeOverwalk { message: String },
    #[error("{}", self.message())]
    AmbiguousWalk { message: String },
    /// Alembic itself crashes with an `AssertionError` on this request (e.g. `upgrade head+1`).
    #[error("{}", self.message())]
    Crash { message: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    pub code: &'static str,
    pub message: String,
    pub detail: String,
}

impl RevisionError {
    /// The stable error code (listed in the README, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown { .. } => "unknown_revision",
            Self::Ambiguous { .. } => "ambiguous_revision",
            Self::NotInBranch { .. } => "not_in_branch",
            Self::MultipleHeads { .. } => "multiple_heads",
            Self::Cycle { .. } | Self::UndetectedCycle { .. } => "cycle",
            Self::DependencyCycle { .. } => "dependency_cycle",
            Self::SelfLoop { .. } => "self_loop",
            Self::DependencySelfLoop { .. } => "dependency_self_loop",
            Self::Missing { .. } => "missing_revision",
            Self::DuplicateLabel { .. } => "duplicate_label",
            Self::BadRevisionId { .. } => "bad_revision_id",
            Self::Unreadable { .. } => "unreadable",
            Self::Overlap { .. } => "overlap",
            Self::NotATarget { .. } => "not_a_target",
            Self::RelativeOverwalk { .. } => "relative_overwalk",
            Self::AmbiguousWalk { .. } => "ambiguous_walk",
            Self::Crash { .. } => "alembic_crash",
        }
    }

    /// What the Alembic CLI prints (after `FAILED: `) for this error.
    pub fn message(&self) -> String {
        match self {
            Self::Unknown { argument, .. }
            | Self::Ambiguous { argument, .. }
            | Self::NotInBranch { argument, .. } => {
                format!("Can't locate revision identified by '{argument}'")
            }
            Self::MultipleHeads { stamp: true, .. } => {
                "Multiple heads are present; please specify a single target revision".to_string()
            }
            Self::MultipleHeads {
                argument, shown, ..
            } => {
                let argument = shown.as_deref().unwrap_or(argument);
                format!(
                    "Multiple head revisions are present for given argument '{argument}'; please specify \
                 a specific target revision, '<branchname>@{argument}' to narrow to a specific head, \
                 or 'heads' for all heads"
                )
            }
            Self::Missing {
                missing,
                referenced_from,
            } => format!("Revision {missing} referenced from {referenced_from} is not present"),
            Self::NotATarget { message, .. } => message.clone(),
            _ => self.detail(),
        }
    }

    /// The underlying exception's text (what Alembic chains behind the CLI message).
    pub fn detail(&self) -> String {
        match self {
            Self::Unknown { detail, .. }
            | Self::Ambiguous { detail, .. }
            | Self::NotInBranch { detail, .. }
            | Self::NotATarget { detail, .. } => detail.clone(),
            Self::MultipleHeads {
                argument, heads, ..
            } => format!(
                "Multiple heads are present for given argument '{argument}'; {}",
                heads.join(", ")
            ),
            Self::Cycle { revisions } => {
                format!("Cycle is detected in revisions ({})", revisions.join(", "))
            }
            Self::UndetectedCycle { revisions } => format!(
                "Cycle is detected in revisions ({}); Alembic itself does not detect this cycle \
                 and never finishes",
                revisions.join(", ")
            ),
            Self::DependencyCycle { revisions } => format!(
                "Dependency cycle is detected in revisions ({})",
                revisions.join(", ")
            ),
            Self::SelfLoop { revision } => {
                format!("Self-loop is detected in revisions ({revision})")
            }
            Self::DependencySelfLoop { revision } => {
                format!("Dependency self-loop is detected in revisions ({revision})")
            }
            Self::Missing { missing, .. } => format!("KeyError: '{missing}'"),
            Self::DuplicateLabel {
                label,
                revision,
                other,
            } => format!(
                "Branch name '{label}' in revision {revision} already used by revision {other}"
            ),
            Self::BadRevisionId { message } => message.clone(),
            Self::Unreadable { file, message } => format!("{file}: {message}"),
            Self::Overlap { target, others } => format!(
                "Requested revision {target} overlaps with other requested revisions {}",
                others.join(", ")
            ),
            Self::RelativeOverwalk { message } | Self::AmbiguousWalk { message } => message.clone(),
            Self::Crash { message } => {
                format!("Alembic cannot answer this (it fails with an AssertionError): {message}")
            }
        }
    }

    pub fn report(&self) -> ErrorReport {
        ErrorReport {
            code: self.code(),
            message: self.message(),
            detail: self.detail(),
        }
    }

    /// Alembic wraps `MultipleHeads` with the argument the command was given, not the one resolved.
    pub(crate) fn with_head_argument(self, argument: &str) -> Self {
        match self {
            Self::MultipleHeads {
                argument: own,
                heads,
                stamp,
                ..
            } => Self::MultipleHeads {
                argument: own,
                heads,
                stamp,
                shown: Some(argument.to_string()),
            },
            other => other,
        }
    }
}
