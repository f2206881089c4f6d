//! Alembic's coercion of the module attributes into a revision's identifiers
//! (`Script._from_path`, `Revision.__init__`, `util.to_tuple`, `tuple_rev_as_scalar`).

use super::{Assignment, Literal, NormalizeError, Normalized, RevisionRecord, Value};

/// Characters Alembic refuses in a revision id (`_revision_illegal_chars`).
const ILLEGAL_ID_CHARS: [char; 4] = ['+', '-', ':', '@'];

impl RevisionRecord {
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The identifiers Alembic would build a `Revision` from, or why it could not.
    pub fn normalized(&self) -> Result<Normalized, NormalizeError> {
        let id = match &self.revision {
            Some(a) => match literal_of("revision", a)? {
                Literal::Str(s) => s.clone(),
                other => return Err(wrong_type("revision", other, a)),
            },
            None => legacy_id(&self.file_name()).ok_or_else(|| NormalizeError::NoRevisionId {
                file_name: self.file_name(),
            })?,
        };
        let down = match &self.down_revision {
            Some(a) => id_tuple("down_revision", a)?,
            None => return Err(NormalizeError::NoDownRevision),
        };
        let depends_on = match &self.depends_on {
            Some(a) => id_tuple("depends_on", a)?,
            None => Vec::new(),
        };
        let branch_labels = match &self.branch_labels {
            Some(a) => id_tuple("branch_labels", a)?,
            None => Vec::new(),
        };
        Ok(Normalized {
            id,
            down,
            depends_on,
            branch_labels,
        })
    }
}

/// The characters of `id` that Alembic refuses, as its error message lists them (`"+, -"`).
/// Alembic checks this after the self-loop checks, so the graph build calls it, not `normalized`.
pub fn illegal_id_chars(id: &str) -> Option<String> {
    let mut bad: Vec<char> = ILLEGAL_ID_CHARS
        .iter()
        .copied()
        .filter(|c| id.contains(*c))
        .collect();
    bad.sort_unstable();
    (!bad.is_empty()).then(|| {
        bad.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// `_legacy_rev`: a file named `<hex>.py` carries its id in its name.
fn legacy_id(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".py")?;
    let hex_len = stem
        .bytes()
        .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        .count();
    // `re.match(r"([a-f0-9]+)\.py$")`: the hex run must reach the `.py`.
    (hex_len > 0 && hex_len == stem.len()).then(|| stem.to_string())
}

fn literal_of<'a>(name: &str, a: &'a Assignment) -> Result<&'a Literal, NormalizeError> {
    match &a.value {
        Value::Literal { value } => Ok(value),
        Value::NonLiteral { expr } => Err(NormalizeError::NonLiteral {
            name: name.to_string(),
            expr: expr.clone(),
            span: a.span,
        }),
    }
}

fn wrong_type(name: &str, found: &Literal, a: &Assignment) -> NormalizeError {
    let found = match found {
        Literal::None => "None".to_string(),
        Literal::Str(_) => "a string".to_string(),
        Literal::Tuple(_) => "a tuple".to_string(),
        Literal::List(_) => "a list".to_string(),
        Literal::Other(src) => src.clone(),
    };
    NormalizeError::WrongType {
        name: name.to_string(),
        found,
        span: a.span,
    }
}

/// `to_tuple(x, default=())`: None is empty, a string is one element, a sequence is its elements.
/// Elements must be strings: anything else would break Alembic later in ways not worth imitating.
fn id_tuple(name: &str, a: &Assignment) -> Result<Vec<String>, NormalizeError> {
    match literal_of(name, a)? {
        Literal::None => Ok(Vec::new()),
        Literal::Str(s) => Ok(vec![s.clone()]),
        Literal::Tuple(items) | Literal::List(items) => items
            .iter()
            .map(|item| match item {
                Literal::Str(s) => Ok(s.clone()),
                other => Err(wrong_type(name, other, a)),
            })
            .collect(),
        other => Err(wrong_type(name, other, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_need_an_all_hex_stem() {
        assert_eq!(legacy_id("ab12.py").as_deref(), Some("ab12"));
        assert_eq!(legacy_id("ab12_x.py"), None);
        assert_eq!(legacy_id("AB12.py"), None);
        assert_eq!(legacy_id(".py"), None);
    }
}
