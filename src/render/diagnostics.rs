//! Diagnostics as text and as GitHub Actions workflow commands, for every command that reports
//! them (`check`, `check --against`).

use crate::diagnose::{Diagnostic, Severity};

/// `file:line: severity[code]: message` and an indented `fix:` line.
pub fn text(d: &Diagnostic) -> String {
    let at = match (&d.file, d.line) {
        (Some(f), Some(l)) => format!("{}:{l}: ", f.display()),
        (Some(f), None) => format!("{}: ", f.display()),
        _ => String::new(),
    };
    format!(
        "{at}{}[{}]: {}\n    fix: {}",
        d.severity.as_str(),
        d.code,
        d.message,
        d.fix
    )
}

/// Where an annotation points; GitHub needs a file for a line to mean anything.
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// `::error file=...,line=...,title=...::message Fix: ...`
pub fn github(d: &Diagnostic, location: Option<Location>, title: &str) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut props = Vec::new();
    if let Some(loc) = location {
        props.push(format!("file={}", github_property(&loc.file)));
        if let Some(l) = loc.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = loc.column {
            props.push(format!("col={c}"));
        }
    }
    props.push(format!("title={}", github_property(title)));
    let message = format!("{} Fix: {}", d.message, d.fix);
    format!("::{level} {}::{}", props.join(","), github_data(&message))
}

/// Workflow commands escape `%`, CR and LF in data; `:` and `,` too in properties.
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_annotations_escape_properties_and_data() {
        let d = Diagnostic {
            code: "missing-parent",
            severity: Severity::Error,
            message: "50% done\nnext".into(),
            revision: None,
            file: None,
            line: None,
            column: None,
            fix: "fix it".into(),
        };
        let loc = Location {
            file: "a,b:c.py".into(),
            line: Some(3),
            column: None,
        };
        assert_eq!(
            github(&d, Some(loc), "migscope missing-parent"),
            "::error file=a%2Cb%3Ac.py,line=3,title=migscope missing-parent::50%25 done%0Anext Fix: fix it"
        );
    }
}
