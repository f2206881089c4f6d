//! What the selected revision's `upgrade()` does, for the details pane. Read from its file when the
//! selection changes (one small file per key press), so drawing stays a pure function of state.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::graph::{RevIdx, RevisionMap};
use crate::revision::ops::{self, Body};

/// The operations of one revision's upgrade, as lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    pub rev: RevIdx,
    /// Each operation with its line in the file.
    pub upgrade: Vec<(u32, String)>,
    /// Why there is no list (empty body, missing function, unreadable file).
    pub note: Option<String>,
}

impl Operations {
    pub fn read(map: &RevisionMap, rev: RevIdx) -> Operations {
        let report = ops::read_ops_file(&map.record_of(rev).path);
        let up = report.upgrade;
        let note = match (up.body, &report.parse_error) {
            (_, Some(e)) if up.ops.is_empty() => Some(format!("cannot read: {}", e.message)),
            (Body::Missing, _) => Some("no upgrade() function".into()),
            (Body::Unparsable, _) => Some("upgrade() could not be parsed".into()),
            (Body::Empty, _) => Some("upgrade() does nothing".into()),
            (Body::Code, _) if up.ops.is_empty() => Some("no operations recognised".into()),
            _ => None,
        };
        Operations {
            rev,
            upgrade: up.ops.iter().map(|o| (o.line, o.to_string())).collect(),
            note,
        }
    }

    /// The details pane's section.
    pub fn lines(&self) -> Vec<Line<'static>> {
        let mut lines = vec![
            Line::raw(""),
            Line::styled(
                format!("upgrade() operations ({})", self.upgrade.len()),
                Style::new().add_modifier(Modifier::BOLD),
            ),
        ];
        if let Some(n) = &self.note {
            lines.push(Line::styled(n.clone(), Style::new().fg(Color::DarkGray)));
        }
        for (line, text) in &self.upgrade {
            lines.push(Line::from(vec![
                Span::styled(format!("{line:>4} "), Style::new().fg(Color::DarkGray)),
                Span::raw(text.clone()),
            ]));
        }
        lines
    }
}
