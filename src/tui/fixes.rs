//! Graph fixes from the explorer: `m` merges every head, `r` reparents the selected revision onto
//! parents picked in the graph, Enter/`R` on a missing revision restores it from git history, and
//! `U` reverts the newest journaled fix. Every plan comes from [`crate::fix`] (the same planner as
//! `migscope fix`) and goes through the stamp dialog's preview and typed confirmation
//! ([`super::dialog`], purpose [`Purpose::Fix`]); a plan the library refuses cannot be confirmed
//! here (the CLI's `--force` is the deliberate override).
//!
//! Writing is quick and local, so it happens on the UI thread; the file watcher then reloads the
//! project, and the explorer keeps the selection across the reload.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::diagnose::Expectations;
use crate::fix::{
    self, ApplyOptions, DbCheck, FixContext, FixError, FixPlan, GraphSummary, MergeRequest,
    ReparentRequest, Suggestion,
};
use crate::journal;
use crate::render::rows::Mark;

use super::dialog::{Dialog, Purpose, field};
use super::keys::{self, Action, Key, PICKER_KEYS, View};
use super::state::{Item, Outcome, State};

/// The fixes' part of the explorer's state (kept across reloads).
#[derive(Debug, Default)]
pub struct Fixes {
    /// The merge message being typed (`m`).
    pub prompt: Option<String>,
    /// New parents being picked (`r`).
    pub picker: Option<Picker>,
    /// `--branches` (declared parallel branches are not problems in the before/after counts).
    pub extra_branches: Vec<String>,
    /// Where fixes are journaled; copies go next to it. None: no state directory.
    pub journal: Option<PathBuf>,
    /// The plan behind the open fix dialog.
    plan: Option<FixPlan>,
    /// What was written, shown again once the watcher has reloaded the project.
    pending: Option<String>,
}

impl Fixes {
    pub fn new(extra_branches: Vec<String>) -> Fixes {
        Fixes {
            extra_branches,
            journal: journal::journal_path(|k| std::env::var(k).ok()),
            ..Fixes::default()
        }
    }

    /// The merge prompt or the parent picker has the keys.
    pub fn active(&self) -> bool {
        self.prompt.is_some() || self.picker.is_some()
    }

    /// The note of the last write, once (the project was reloaded after it).
    pub fn take_pending(&mut self) -> Option<String> {
        self.pending.take()
    }

    pub fn plan(&self) -> Option<&FixPlan> {
        self.plan.as_ref()
    }
}

/// A reparent in progress: the revision, and the parents marked so far.
#[derive(Debug, Clone)]
pub struct Picker {
    pub rev: String,
    /// Its own branch labels (what `l` would drop).
    pub labels: Vec<String>,
    pub marked: Vec<String>,
    pub drop_label: bool,
    pub suggestion: Option<Suggestion>,
}

const READ_ONLY: &str = "read-only (--read-only): graph fixes (m, r, restore, undo) are disabled";

fn first_chars(id: &str) -> String {
    id.chars().take(4).collect()
}

/// Python-ish quoting for the journaled command line.
fn quoted(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl<'a> State<'a> {
    /// A key for an open merge prompt or parent picker (None: neither is open).
    pub(super) fn fixes_key(&mut self, key: Key) -> Option<Outcome> {
        if key == Key::Interrupt && (self.fixes.prompt.is_some() || self.fixes.picker.is_some()) {
            return Some(Outcome::Quit);
        }
        if let Some(text) = self.fixes.prompt.as_mut() {
            match key {
                Key::Char(c) => text.push(c),
                Key::Backspace => {
                    text.pop();
                }
                Key::Esc => {
                    self.fixes.prompt = None;
                    self.status = Some("cancelled: nothing written".into());
                }
                Key::Enter => {
                    let message = text.trim().to_string();
                    self.fixes.prompt = None;
                    self.open_merge(message, None);
                }
                _ => {}
            }
            return Some(Outcome::Continue);
        }
        self.fixes.picker.as_ref()?;
        match key {
            Key::Esc => {
                self.fixes.picker = None;
                self.status = Some("cancelled: nothing written".into());
            }
            Key::Enter => self.picked(),
            Key::Char(' ') => self.toggle_mark(),
            Key::Char('l') => {
                if let Some(p) = self.fixes.picker.as_mut() {
                    if p.labels.is_empty() {
                        self.status = Some(format!("{} has no branch label", p.rev));
                    } else {
                        p.drop_label = !p.drop_label;
                    }
                }
            }
            _ => {
                // Only moving around: the picker stays the one thing going on.
                let nav = keys::action_for(View::Graph, key).filter(|a| {
                    matches!(
                        a,
                        Action::Up
                            | Action::Down
                            | Action::Top
                            | Action::Bottom
                            | Action::PageUp
                            | Action::PageDown
                            | Action::Search
                            | Action::NextMatch
                            | Action::PrevMatch
                            | Action::NextHead
                            | Action::Parent
                            | Action::Child
                            | Action::Fold
                            | Action::FoldAll
                            | Action::DetailsUp
                            | Action::DetailsDown
                    )
                });
                if let Some(a) = nav {
                    self.apply(a);
                }
            }
        }
        Some(Outcome::Continue)
    }

    /// The fix side of an action: true when it was handled here.
    pub(super) fn fix_action(&mut self, action: Action) -> bool {
        let ghost = self.view == View::Graph
            && matches!(self.selected_item(), Some(Item::Row(r)) if self.rows[r].rev.is_none());
        let handled = match action {
            Action::MergeHeads | Action::Reparent => true,
            Action::ToggleSource | Action::Refresh => ghost,
            Action::Undo => self.undoable_fix().is_some(),
            _ => false,
        };
        if !handled {
            return false;
        }
        if self.repair.read_only {
            self.status = Some(READ_ONLY.into());
            return true;
        }
        match action {
            Action::MergeHeads if self.heads < 2 => {
                self.status = Some("nothing to merge: the graph has one head".into())
            }
            Action::MergeHeads => self.fixes.prompt = Some("merge heads".into()),
            Action::Reparent => self.open_picker(),
            Action::Undo => self.open_fix_undo(),
            _ => self.open_restore(),
        }
        true
    }

    fn expectations(&self) -> Expectations {
        match self.project_ref {
            Some(p) => p.expectations(&self.fixes.extra_branches),
            None => Expectations {
                branches: self.fixes.extra_branches.clone(),
            },
        }
    }

    /// What the plan's applied-history check is given: the rows as the explorer last read them.
    fn db_check(&self) -> Result<DbCheck, String> {
        let r = &self.repair;
        match (&r.target, &r.db) {
            (None, _) => Ok(DbCheck::Skipped {
                reason: r
                    .setup_error
                    .clone()
                    .unwrap_or_else(|| "no database configured".into()),
            }),
            (Some(t), Some(l)) => Ok(DbCheck::Rows {
                database: t.url.masked(),
                rows: l.assessment.rows.clone(),
            }),
            (Some(_), None) if r.busy.is_some() => {
                Err("the database is still being read: try again in a moment".into())
            }
            (Some(_), None) => Ok(DbCheck::Skipped {
                reason: r
                    .error
                    .clone()
                    .unwrap_or_else(|| "the database could not be read".into()),
            }),
        }
    }

    /// The planner's context, or None (the reason is in the status line).
    fn fix_context(&mut self) -> Option<FixContext<'a>> {
        let Some(project) = self.project_ref else {
            self.status = Some("graph fixes need the project's configuration".into());
            return None;
        };
        match self.db_check() {
            Ok(db) => Some(FixContext {
                project,
                expect: self.expectations(),
                db,
            }),
            Err(e) => {
                self.status = Some(e);
                None
            }
        }
    }

    /// Plans a merge over every head with `message`; `rev_id` instead of a fresh id.
    pub fn open_merge(&mut self, message: String, rev_id: Option<String>) {
        let Some(ctx) = self.fix_context() else {
            return;
        };
        let message = (!message.is_empty()).then_some(message);
        let command = format!(
            "migscope fix merge{}",
            message
                .as_deref()
                .map(|m| format!(" -m {}", quoted(m)))
                .unwrap_or_default()
        );
        let req = MergeRequest {
            message,
            rev_id,
            ..MergeRequest::default()
        };
        let result = fix::plan_merge(&ctx, &req);
        self.show_plan(result, " merge heads ".into(), "merge".into(), command);
    }

    fn open_picker(&mut self) {
        let map = self.map;
        let Some(Item::Row(r)) = self.selected_item() else {
            self.status = Some("select a revision first (z unfolds)".into());
            return;
        };
        let Some(rev) = self.rows[r].rev else {
            self.status = Some("no file defines this revision: restore it first (Enter)".into());
            return;
        };
        let orphan = self.rows[r].marks.contains(&Mark::Orphan);
        let suggestion = orphan.then(|| fix::suggest_parent(map, rev)).flatten();
        let start = match &suggestion {
            Some(s) => Some(s.parent.clone()),
            None => map.rev(rev).down.first().cloned(),
        };
        self.fixes.picker = Some(Picker {
            rev: self.rows[r].id.clone(),
            labels: map.rev(rev).own_labels.clone(),
            marked: Vec::new(),
            drop_label: false,
            suggestion,
        });
        if let Some(to) = start.and_then(|id| self.rows.iter().position(|row| row.id == id)) {
            self.select_row(to);
        }
    }

    fn toggle_mark(&mut self) {
        let Some(Item::Row(r)) = self.selected_item() else {
            self.status = Some("select a revision first (z unfolds)".into());
            return;
        };
        let id = self.rows[r].id.clone();
        if let Some(p) = self.fixes.picker.as_mut() {
            match p.marked.iter().position(|m| *m == id) {
                Some(i) => {
                    p.marked.remove(i);
                }
                None => p.marked.push(id),
            }
        }
    }

    /// Enter in the picker: plan the reparent (the picker stays open when it cannot be planned).
    fn picked(&mut self) {
        let Some(p) = self.fixes.picker.clone() else {
            return;
        };
        let onto = if p.marked.is_empty() {
            match self.selected_item() {
                Some(Item::Row(r)) => vec![self.rows[r].id.clone()],
                _ => {
                    self.status = Some("select a revision first (z unfolds)".into());
                    return;
                }
            }
        } else {
            p.marked.clone()
        };
        let Some(ctx) = self.fix_context() else {
            return;
        };
        let req = ReparentRequest {
            rev: p.rev.clone(),
            onto: Some(onto.clone()),
            drop_label: p.drop_label,
        };
        let command = format!(
            "migscope fix reparent {} --onto {}{}",
            p.rev,
            onto.join(","),
            if p.drop_label { " --drop-label" } else { "" }
        );
        match fix::plan_reparent(&ctx, &req) {
            Err(e) => self.status = Some(format!("cannot reparent {}: {e}", p.rev)),
            ok => {
                self.fixes.picker = None;
                if let Some(r) = self.rows.iter().position(|row| row.id == p.rev) {
                    self.select_row(r);
                }
                let title = format!(" reparent {} ", p.rev);
                self.show_plan(ok, title, first_chars(&p.rev), command);
            }
        }
    }

    fn open_restore(&mut self) {
        let Some(r) = self.selected_row() else { return };
        let id = self.rows[r].id.clone();
        let Some(ctx) = self.fix_context() else {
            return;
        };
        let result = fix::plan_restore(&ctx, &id);
        let command = format!("migscope fix restore {id}");
        self.show_plan(result, format!(" restore {id} "), first_chars(&id), command);
    }

    /// The newest journaled fix of this project, when it is the change `U` should revert.
    fn undoable_fix(&self) -> Option<journal::FixEntry> {
        let project = self.project_ref?;
        let lines = journal::read_lines(self.fixes.journal.as_ref()?).ok()?;
        let url = self.repair.target.as_ref().map(|t| t.url.masked());
        fix::undoable_fix(&lines, &fix::project_key(&project.config), url.as_deref())
    }

    fn open_fix_undo(&mut self) {
        let Some(entry) = self.undoable_fix() else {
            return;
        };
        let Some(ctx) = self.fix_context() else {
            return;
        };
        let result = fix::plan_undo(&ctx, &entry);
        let title = format!(" undo the {} of {} ", entry.action, entry.time);
        self.show_plan(result, title, "undo".into(), "migscope undo".into());
    }

    /// Opens the dialog on a plan, or says why there is none.
    fn show_plan(
        &mut self,
        result: Result<FixPlan, FixError>,
        title: String,
        expected: String,
        command: String,
    ) {
        let plan = match result {
            Ok(p) => p,
            Err(e) => {
                self.status = Some(format!("cannot plan `{command}`: {e}"));
                return;
            }
        };
        let mut d = Dialog::new(
            Purpose::Fix {
                command: command.clone(),
            },
            title,
            Vec::new(),
            expected,
        );
        if !plan.refusals.is_empty() {
            let why: Vec<&str> = plan.refusals.iter().map(|r| r.message.as_str()).collect();
            let hint = if plan.action == "undo" {
                "put the files back by hand from the backups the journal names".to_string()
            } else {
                format!("`{command} --force` writes it anyway")
            };
            d.refusal = Some(format!(
                "refused: {}; the explorer does not override this ({hint})",
                why.join("; ")
            ));
        }
        self.fixes.plan = Some(plan);
        self.repair.dialog = Some(d);
    }

    /// The typed confirmation matched: write the plan.
    pub(super) fn apply_fix(&mut self, command: &str) {
        let Some(plan) = self.fixes.plan.take() else {
            return;
        };
        let Some(journal) = self.fixes.journal.clone() else {
            self.status = Some(
                "nothing written: no state directory for backups and the journal; set \
                 MIGSCOPE_STATE_DIR (or XDG_STATE_HOME, or HOME)"
                    .into(),
            );
            return;
        };
        let opts = ApplyOptions {
            force: false,
            state_dir: journal.parent().map(PathBuf::from).unwrap_or_default(),
            journal,
            command: format!("{command} (explorer)"),
        };
        match fix::apply(&plan, &opts, &self.expectations()) {
            Ok(applied) => {
                let files: Vec<String> = applied
                    .files
                    .iter()
                    .map(|f| {
                        super::view::relative(&f.path, &self.root)
                            .display()
                            .to_string()
                    })
                    .collect();
                let undo = if plan.action == "undo" {
                    "U redoes it"
                } else {
                    "U undoes it"
                };
                let note = format!(
                    "{}: wrote {}; now {} head(s); journaled ({undo})",
                    plan.action,
                    files.join(", "),
                    applied.after.heads.len()
                );
                // The status line gives way to the database's re-read; the doctor keeps it.
                self.repair.log.push(note.clone());
                self.repair.notice = Some(note.clone());
                self.status = Some(format!("{note}; reloading"));
                self.fixes.pending = Some(note);
            }
            Err(e) => self.status = Some(format!("nothing written: {e}")),
        }
    }
}

fn summary_text(s: &GraphSummary) -> String {
    let mut t = format!(
        "heads {} · bases {} · {}, {}",
        s.heads.join(" "),
        s.bases.join(" "),
        super::view::plural(s.errors, "error"),
        super::view::plural(s.warnings, "warning")
    );
    if let Some(e) = &s.load_error {
        t.push_str(&format!(" · Alembic cannot load it: {e}"));
    }
    t
}

/// The fix dialog's body: what it does, the graph before and after, refusals, then the diff.
pub fn dialog_lines(state: &State, d: &Dialog) -> Vec<Line<'static>> {
    let Some(plan) = state.fixes.plan.as_ref() else {
        return vec![Line::raw("no plan")];
    };
    let mut lines = vec![field("fix", plan.summary.clone(), Style::new())];
    if let Purpose::Fix { command } = &d.purpose {
        lines.push(field("as", command.clone(), Style::new().fg(Color::Cyan)));
    }
    lines.push(field(
        "before",
        summary_text(&plan.before),
        Style::new().fg(Color::Red),
    ));
    lines.push(field(
        "after",
        summary_text(&plan.after),
        Style::new().fg(Color::Green),
    ));
    for n in &plan.notes {
        lines.push(Line::styled(n.clone(), Style::new().fg(Color::Yellow)));
    }
    for r in &plan.refusals {
        lines.push(Line::styled(
            format!("refused ({}): {}", r.code, r.message),
            Style::new().fg(Color::Red),
        ));
    }
    if let Some(r) = &d.refusal {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("cannot apply: {r}"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "The files, as they will be written (unified diff)",
        Style::new().add_modifier(Modifier::BOLD),
    ));
    for l in plan.diff.lines() {
        let style = if l.starts_with("+++") || l.starts_with("---") {
            Style::new().add_modifier(Modifier::BOLD)
        } else if l.starts_with('+') {
            Style::new().fg(Color::Green)
        } else if l.starts_with('-') {
            Style::new().fg(Color::Red)
        } else if l.starts_with("@@") {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        };
        lines.push(Line::styled(l.to_string(), style));
    }
    lines
}

/// Marks on graph rows while picking: the revision being reparented and the marked parents.
pub fn row_marks(state: &State, r: usize) -> Vec<Span<'static>> {
    let Some(p) = &state.fixes.picker else {
        return Vec::new();
    };
    let id = &state.rows[r].id;
    let style = Style::new().fg(Color::Black).bg(Color::Magenta);
    if *id == p.rev {
        vec![Span::raw(" "), Span::styled("[reparenting]", style)]
    } else if p.marked.contains(id) {
        vec![Span::raw(" "), Span::styled("[new parent]", style)]
    } else {
        Vec::new()
    }
}

/// The bottom line while the merge message or the new parents are being chosen; false when
/// neither is (the ordinary bar is drawn).
pub fn draw_bar(frame: &mut Frame, state: &State, area: Rect) -> bool {
    let key = Style::new().fg(Color::Black).bg(Color::Gray);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    if let Some(text) = &state.fixes.prompt {
        spans.push(Span::styled(
            format!("merge all {} heads; message: ", state.heads),
            bold,
        ));
        spans.push(Span::raw(text.clone()));
        spans.push(Span::styled("▏", Style::new().fg(Color::Yellow)));
        for (k, what) in [("Enter", "preview"), ("Esc", "cancel")] {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(format!(" {k} "), key));
            spans.push(Span::raw(format!(" {what}")));
        }
    } else if let Some(p) = &state.fixes.picker {
        let onto = if p.marked.is_empty() {
            state
                .selected_row()
                .map(|r| state.rows[r].id.clone())
                .unwrap_or_default()
        } else {
            p.marked.join(",")
        };
        spans.push(Span::styled(
            format!("reparent {} onto {onto}", p.rev),
            bold,
        ));
        if !p.labels.is_empty() {
            spans.push(Span::raw(if p.drop_label {
                format!(", dropping label {}", p.labels.join(","))
            } else {
                format!(", keeping label {}", p.labels.join(","))
            }));
        }
        if let Some(s) = &state.status {
            spans.push(Span::styled(
                format!("  {s}"),
                Style::new().fg(Color::Yellow),
            ));
        }
        for (k, what) in PICKER_KEYS.iter().skip(1) {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(format!(" {k} "), key));
            let short = what.split([' ', '/']).next().unwrap_or(what);
            spans.push(Span::raw(format!(" {short}")));
        }
    } else {
        return false;
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    true
}

/// The picker's explanation (the suggested parent and why), for the details pane.
pub fn picker_lines(state: &State) -> Vec<Line<'static>> {
    let Some(p) = &state.fixes.picker else {
        return Vec::new();
    };
    let mut lines = vec![Line::styled(
        format!("Picking the new parent of {}", p.rev),
        Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
    )];
    if let Some(s) = &p.suggestion {
        lines.push(Line::raw(format!("suggested: {} ({})", s.parent, s.reason)));
    }
    lines.push(Line::raw(""));
    lines
}
