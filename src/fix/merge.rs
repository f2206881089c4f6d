//! A merge revision over several heads, written as `alembic merge` writes it: a fresh id, the
//! project's `script.py.mako` (or Alembic's default layout when there is none), and the file
//! name from `file_template` and `truncate_slug_length`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::naming::{self, DateTime};
use super::template::{self, PyValue};
use super::{FileWrite, FixContext, FixError, FixPlan, finish, io_error, plain_id};

/// `migscope fix merge [HEADS...] [-m MESSAGE]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeRequest {
    /// Identifiers of the heads to merge (Alembic's forms: ids, prefixes, `heads`,
    /// `label@head`); empty means `heads`.
    pub heads: Vec<String>,
    /// `-m`; Alembic writes `empty message` without one.
    pub message: Option<String>,
    /// `--branch-label`.
    pub branch_label: Option<String>,
    /// `--rev-id`: a chosen id instead of a random one.
    pub rev_id: Option<String>,
    /// The create date; `None`: now, in the local zone or the configured `timezone`.
    pub date: Option<DateTime>,
}

/// The layout `alembic init` gives `script.py.mako` (generic template), used when the project
/// has none.
const DEFAULT_TEMPLATE: &str = r#""""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
"#;

pub fn plan_merge(ctx: &FixContext, req: &MergeRequest) -> Result<FixPlan, FixError> {
    let project = ctx.project;
    let map = &project.map;
    map.check_loadable()?;
    let args = if req.heads.is_empty() {
        vec!["heads".to_string()]
    } else {
        req.heads.clone()
    };
    let heads = map.resolve_many(&args)?;
    let mut seen = Vec::new();
    for &h in &heads {
        if seen.contains(&h) {
            return Err(FixError::Request(
                "Duplicate head revisions specified".to_string(),
            ));
        }
        seen.push(h);
        if !map.rev(h).children().is_empty() {
            return Err(FixError::Request(format!(
                "Revision {} is not a head revision; merge heads only (alembic merge --splice \
                 would create a new branch point instead)",
                map.rev(h).id
            )));
        }
    }
    if heads.len() < 2 {
        return Err(FixError::Request(format!(
            "nothing to merge: {} names {}",
            args.join(" "),
            match map.ids(&heads).as_slice() {
                [] => "no revision".to_string(),
                [one] => format!("a single head, {one}"),
                _ => unreachable!("checked above"),
            }
        )));
    }
    let head_ids = map.ids(&heads);
    let taken = |c: &str| map.get(c).is_some() || map.label(c).is_some();
    let rev_id = match &req.rev_id {
        Some(id) if taken(id) => {
            return Err(FixError::Request(format!(
                "revision id {id} is already used in this project"
            )));
        }
        Some(id) if !plain_id(id) || id.contains(['@', '-', '+', ',', ' ']) => {
            return Err(FixError::Request(format!(
                "`{id}` is not usable as a revision id"
            )));
        }
        Some(id) => id.clone(),
        None => naming::new_rev_id(taken),
    };
    let date = match req.date {
        Some(d) => d,
        None => DateTime::now(project.config.timezone.as_deref())?,
    };
    let message = req
        .message
        .clone()
        .unwrap_or_else(|| "empty message".to_string());

    let config = &project.config;
    // Alembic: the only version location, else the directory of the first head's file.
    let dir: PathBuf = match config.version_locations.as_slice() {
        [only] => only.clone(),
        [] => {
            return Err(FixError::Config {
                message: "the project has no version location to write to".to_string(),
            });
        }
        _ => map
            .record_of(heads[0])
            .path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let slug = naming::slug(&message, config.truncate_slug_length);
    let path = dir.join(naming::file_name(
        &config.file_template,
        &rev_id,
        &slug,
        &date,
    )?);
    if path.exists() {
        return Err(FixError::Request(format!(
            "{} already exists",
            path.display()
        )));
    }

    let template_path = config
        .script_location
        .as_ref()
        .map(|s| s.join("script.py.mako"))
        .filter(|p| p.is_file());
    let mut notes = Vec::new();
    let (template_text, template_name) = match &template_path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(io_error(p))?,
            p.display().to_string(),
        ),
        None => {
            notes.push(
                "the project has no script.py.mako: the merge revision uses Alembic's default \
                 layout"
                    .to_string(),
            );
            (DEFAULT_TEMPLATE.to_string(), "default template".to_string())
        }
    };
    let down = match head_ids.as_slice() {
        [one] => PyValue::Str(one.clone()),
        many => PyValue::Tuple(many.to_vec()),
    };
    let vars: HashMap<&str, PyValue> = HashMap::from([
        ("up_revision", PyValue::Str(rev_id.clone())),
        ("down_revision", down),
        (
            "branch_labels",
            req.branch_label
                .clone()
                .map_or(PyValue::None, |l| PyValue::Tuple(vec![l])),
        ),
        ("depends_on", PyValue::None),
        ("create_date", PyValue::Str(date.python_str())),
        ("message", PyValue::Str(message.clone())),
    ]);
    let content = template::render(&template_text, &template_name, &vars)?;
    let summary = format!("merge {} into {rev_id}", head_ids.join(", "));
    let writes = vec![FileWrite {
        path,
        before: None,
        after: Some(content.into_bytes()),
    }];
    Ok(finish(ctx, "merge", summary, writes, notes))
}
