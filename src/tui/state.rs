//! Everything the explorer shows, and every change a key makes to it. Drawing reads this and
//! nothing else (see [`super::view`]).
//!
//! Costs: the rows, the lane layout, the search haystacks and the parent/child links are built
//! once per graph ([`State::new`]); folding rebuilds the list of visible items (linear in the
//! rows, no layout); a key press otherwise touches only what it changes.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diagnose::{Diagnostic, Severity};
use crate::graph::RevisionMap;
use crate::project::Project;
use crate::render::lanes::{GlyphSet, LaneLayout};
use crate::render::rows::{self, GraphRow, Mark};

use super::fixes::Fixes;
use super::keys::{self, Action, Key, View};
use super::repair::Repair;
use super::search::{TableNames, Texts};

/// Linear runs at least this long can be folded; the first and last rows stay visible.
pub const MIN_FOLD_RUN: usize = 5;

/// One entry of the graph list: a row, or the hidden middle of a folded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Row(usize),
    /// Rows `first..=last` are hidden.
    Folded {
        first: usize,
        last: usize,
    },
}

impl Item {
    pub fn first_row(self) -> usize {
        match self {
            Item::Row(r) => r,
            Item::Folded { first, .. } => first,
        }
    }
}

/// A search being typed, or kept for n/N.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub query: String,
    /// Still typing (the bottom line is an input).
    pub editing: bool,
    /// Matching rows, in row order.
    pub matches: Vec<usize>,
    /// Selection before typing started (restored on Esc).
    origin: usize,
}

/// The selected revision's file, read when the file view opens.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub lines: Vec<String>,
    pub error: Option<String>,
    /// 1-based line of `revision = ...`.
    pub highlight: Option<u32>,
}

/// The rows of a map's graph and their lane layout.
pub struct Graph {
    pub rows: Vec<GraphRow>,
    pub layout: LaneLayout,
}

impl Graph {
    pub fn of(map: &RevisionMap) -> Graph {
        let rows = rows::graph_rows(map);
        let layout = rows::layout(&rows);
        Graph { rows, layout }
    }
}

/// What the loop should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Quit,
}

pub struct State<'a> {
    pub map: &'a RevisionMap,
    /// Where the project lives (header).
    pub project: String,
    /// File paths are shown relative to this.
    pub root: PathBuf,
    pub rows: Vec<GraphRow>,
    pub layout: LaneLayout,
    pub glyphs: GlyphSet,
    pub diagnostics: Vec<Diagnostic>,
    /// Diagnostics per row (indices into `diagnostics`).
    pub row_diagnostics: Vec<Vec<usize>>,
    pub heads: usize,
    pub view: View,
    /// Row index → parent rows / child rows (through `down_revision` and `depends_on`).
    pub parent_rows: Vec<Vec<usize>>,
    pub child_rows: Vec<Vec<usize>>,
    /// Rows in the selected revision's ancestry (itself included).
    pub ancestry: Vec<bool>,
    /// What the graph pane lists, and the first display line of each item.
    pub items: Vec<Item>,
    item_lines: Vec<usize>,
    /// Row → item index (a folded row maps to its fold).
    row_item: Vec<usize>,
    /// Folded runs (first hidden row → last hidden row).
    pub folds: Vec<(usize, usize)>,
    /// Selected item in `items`.
    pub selected: usize,
    /// First display line shown in the graph pane.
    pub scroll: usize,
    pub search: Search,
    /// Per row, what `/` searches besides the tables ([`super::search`]).
    haystacks: Texts,
    /// Per revision, the tables its `upgrade()` touches, once a background job has read them.
    tables: TableNames,
    pub problem_selected: usize,
    pub problem_scroll: usize,
    pub source: Option<Source>,
    pub source_scroll: usize,
    pub help_scroll: usize,
    /// First line of the details pane shown (reset when the selection changes).
    pub details_scroll: usize,
    /// The selected revision's upgrade operations (read when the selection changes).
    pub operations: Option<super::operations::Operations>,
    /// Terminal size, as last reported.
    pub width: u16,
    pub height: u16,
    /// A one-line note for the bottom bar (e.g. "no parent").
    pub status: Option<String>,
    /// The database side: connection, marks, doctor, dialogs ([`super::repair`]).
    pub repair: Repair,
    /// The whole project (its configuration), for graph fixes; None: fixes are unavailable.
    pub project_ref: Option<&'a Project>,
    /// Graph fixes: the merge prompt, the parent picker, the plan on screen ([`super::fixes`]).
    pub fixes: Fixes,
}

impl<'a> State<'a> {
    pub fn new(
        map: &'a RevisionMap,
        root: PathBuf,
        diagnostics: Vec<Diagnostic>,
        glyphs: GlyphSet,
        (width, height): (u16, u16),
    ) -> State<'a> {
        let graph = Graph::of(map);
        Self::with_graph(map, graph, root, diagnostics, glyphs, (width, height))
    }

    /// [`State::new`] with the rows and lanes already computed (a reload builds them off the UI
    /// thread: they are most of the cost).
    pub fn with_graph(
        map: &'a RevisionMap,
        graph: Graph,
        root: PathBuf,
        diagnostics: Vec<Diagnostic>,
        glyphs: GlyphSet,
        (width, height): (u16, u16),
    ) -> State<'a> {
        let mut s = State {
            map,
            project: root.display().to_string(),
            root,
            rows: Vec::new(),
            layout: rows::layout(&[]),
            glyphs,
            diagnostics,
            row_diagnostics: Vec::new(),
            heads: map.heads().iter().filter(|&&h| !map.rev(h).phantom).count(),
            view: View::Graph,
            parent_rows: Vec::new(),
            child_rows: Vec::new(),
            ancestry: Vec::new(),
            items: Vec::new(),
            item_lines: Vec::new(),
            row_item: Vec::new(),
            folds: Vec::new(),
            selected: 0,
            scroll: 0,
            search: Search::default(),
            haystacks: Texts::default(),
            tables: TableNames::default(),
            problem_selected: 0,
            problem_scroll: 0,
            source: None,
            source_scroll: 0,
            help_scroll: 0,
            details_scroll: 0,
            operations: None,
            width,
            height,
            status: None,
            repair: Repair::default(),
            project_ref: None,
            fixes: Fixes::default(),
        };
        s.set_graph(graph);
        s.selected = 0;
        s.selection_changed();
        s
    }

    /// Replaces the graph's rows (and everything derived from them), keeping the selected
    /// revision selected. Folds are dropped; a search is run again.
    pub fn set_rows(&mut self, rows: Vec<GraphRow>) {
        let layout = rows::layout(&rows);
        self.set_graph(Graph { rows, layout });
    }

    /// [`State::set_rows`] with the lanes already computed.
    pub fn set_graph(&mut self, Graph { rows, layout }: Graph) {
        let keep = self.selected_row().map(|r| self.rows[r].id.clone());
        self.layout = layout;
        let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            by_id.entry(r.id.as_str()).or_insert(i);
        }
        let mut parent_rows = vec![Vec::new(); rows.len()];
        let mut child_rows = vec![Vec::new(); rows.len()];
        for (i, r) in rows.iter().enumerate() {
            for (p, _) in &r.parents {
                if let Some(&j) = by_id.get(p.as_str())
                    && j != i
                {
                    parent_rows[i].push(j);
                    child_rows[j].push(i);
                }
            }
        }
        let mut row_diagnostics = vec![Vec::new(); rows.len()];
        for (d, diag) in self.diagnostics.iter().enumerate() {
            if let Some(id) = &diag.revision
                && let Some(&i) = by_id.get(id.as_str())
            {
                row_diagnostics[i].push(d);
            }
        }
        let new_index = keep.and_then(|id| by_id.get(id.as_str()).copied());
        self.parent_rows = parent_rows;
        self.child_rows = child_rows;
        self.row_diagnostics = row_diagnostics;
        self.ancestry = vec![false; rows.len()];
        self.rows = rows;
        self.build_haystacks();
        self.folds.clear();
        self.items.clear();
        self.rebuild_items();
        if !self.search.query.is_empty() {
            let origin = self.search.origin;
            self.update_matches();
            self.search.origin = origin.min(self.rows.len().saturating_sub(1));
        }
        self.selected = new_index.map_or(0, |r| self.row_item[r]);
        self.selection_changed();
    }

    pub fn problems(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .count()
    }

    /// The selected row (the first hidden row when a fold is selected).
    pub fn selected_row(&self) -> Option<usize> {
        self.items.get(self.selected).map(|i| i.first_row())
    }

    pub fn selected_item(&self) -> Option<Item> {
        self.items.get(self.selected).copied()
    }

    /// Display lines of item `i`.
    pub fn item_line_count(&self, i: usize) -> usize {
        match self.items[i] {
            Item::Row(r) => self.layout.row(r).line_count().max(1),
            Item::Folded { .. } => 1,
        }
    }

    pub fn item_first_line(&self, i: usize) -> usize {
        self.item_lines
            .get(i)
            .copied()
            .unwrap_or(self.total_lines())
    }

    pub fn total_lines(&self) -> usize {
        match self.items.len() {
            0 => 0,
            n => self.item_lines[n - 1] + self.item_line_count(n - 1),
        }
    }

    /// The item drawn on display line `line`, and the line's index within it.
    pub fn item_at_line(&self, line: usize) -> Option<(usize, usize)> {
        if line >= self.total_lines() {
            return None;
        }
        let i = self.item_lines.partition_point(|&l| l <= line) - 1;
        Some((i, line - self.item_lines[i]))
    }

    /// Item showing row `r` (its fold when hidden).
    pub fn item_of_row(&self, r: usize) -> Option<usize> {
        self.row_item.get(r).copied()
    }

    /// Rows `first..=last` of the longest linear run through row `r`: each row's only parent is
    /// the next row, which has no other child.
    pub fn linear_run(&self, r: usize) -> (usize, usize) {
        let linked = |i: usize| {
            // Row i continues into row i + 1 and nothing else joins or leaves in between.
            i + 1 < self.rows.len()
                && self.parent_rows[i] == [i + 1]
                && self.child_rows[i + 1] == [i]
                && self.rows[i].parents.len() == 1
        };
        let mut first = r;
        while first > 0 && linked(first - 1) {
            first -= 1;
        }
        let mut last = r;
        while linked(last) {
            last += 1;
        }
        (first, last)
    }

    pub(crate) fn rebuild_items(&mut self) {
        self.folds.sort_unstable();
        let keep = self.selected_row();
        let n = self.rows.len();
        self.items.clear();
        self.item_lines.clear();
        self.row_item = vec![0; n];
        let mut folds = self.folds.iter().peekable();
        let mut line = 0;
        let mut r = 0;
        while r < n {
            let item = match folds.peek() {
                Some(&&(first, last)) if first == r => {
                    folds.next();
                    Item::Folded { first, last }
                }
                _ => Item::Row(r),
            };
            let idx = self.items.len();
            self.items.push(item);
            self.item_lines.push(line);
            line += self.item_line_count(idx);
            match item {
                Item::Row(_) => {
                    self.row_item[r] = idx;
                    r += 1;
                }
                Item::Folded { first, last } => {
                    for x in first..=last {
                        self.row_item[x] = idx;
                    }
                    r = last + 1;
                }
            }
        }
        if let Some(k) = keep {
            self.selected = self.row_item.get(k).copied().unwrap_or(0);
        }
    }

    /// Height of the graph pane for the current terminal size.
    pub fn graph_height(&self) -> usize {
        super::view::graph_pane_height(self.width, self.height)
    }

    fn selection_changed(&mut self) {
        self.details_scroll = 0;
        let rev = match self.selected_item() {
            Some(Item::Row(r)) => self.rows[r].rev,
            _ => None,
        };
        if self.operations.as_ref().map(|o| o.rev) != rev {
            self.operations = rev.map(|x| super::operations::Operations::read(self.map, x));
        }
        self.ancestry.fill(false);
        if let Some(Item::Row(r)) = self.selected_item() {
            let mut todo = vec![r];
            self.ancestry[r] = true;
            while let Some(x) = todo.pop() {
                for &p in &self.parent_rows[x] {
                    if !self.ancestry[p] {
                        self.ancestry[p] = true;
                        todo.push(p);
                    }
                }
            }
        }
        self.ensure_visible();
    }

    /// Scrolls so the selected item is on screen, with a little context when possible.
    pub fn ensure_visible(&mut self) {
        if self.items.is_empty() {
            self.scroll = 0;
            return;
        }
        let h = self.graph_height().max(1);
        let top = self.item_first_line(self.selected);
        let bottom = top + self.item_line_count(self.selected);
        let context = if h > 8 { 2 } else { 0 };
        if top < self.scroll + context {
            self.scroll = top.saturating_sub(context);
        } else if bottom + context > self.scroll + h {
            self.scroll = (bottom + context).saturating_sub(h);
        }
        let max = self.total_lines().saturating_sub(h);
        self.scroll = self.scroll.min(max.max(top.min(self.total_lines())));
    }

    /// Selects row `r`, unfolding it when hidden.
    pub fn select_row(&mut self, r: usize) {
        if r >= self.rows.len() {
            return;
        }
        if let Some(pos) = self.folds.iter().position(|&(f, l)| f <= r && r <= l) {
            self.folds.remove(pos);
            self.rebuild_items();
        }
        self.selected = self.row_item[r];
        self.selection_changed();
    }

    fn select_item(&mut self, i: usize) {
        if self.items.is_empty() {
            return;
        }
        self.selected = i.min(self.items.len() - 1);
        self.selection_changed();
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.width = width;
        self.height = height;
        self.ensure_visible();
    }

    /// Applies one key; never blocks.
    pub fn handle_key(&mut self, key: Key) -> Outcome {
        self.status = None;
        if self.repair.dialog.is_some() {
            return self.dialog_key(key);
        }
        if self.search.editing {
            self.search_key(key);
            return Outcome::Continue;
        }
        if let Some(outcome) = self.fixes_key(key) {
            return outcome;
        }
        // Esc first clears a kept search; q always quits.
        if key == Key::Esc && self.view == View::Graph && !self.search.query.is_empty() {
            self.search = Search::default();
            return Outcome::Continue;
        }
        let outcome = match keys::action_for(self.view, key) {
            Some(a) => self.apply(a),
            None => Outcome::Continue,
        };
        self.guard_quit(outcome, key)
    }

    pub fn apply(&mut self, action: Action) -> Outcome {
        if self.fix_action(action) {
            return Outcome::Continue;
        }
        if action.needs_database() {
            self.database_action(action);
            return Outcome::Continue;
        }
        match self.view {
            View::Graph => return self.graph_action(action),
            View::Problems => self.problems_action(action),
            View::Source => self.source_action(action),
            View::Help => self.help_action(action),
            // Compare mode has its own state (`super::compare`).
            View::Compare | View::Diff => {}
            View::Doctor | View::Log => self.panel_action(action),
        }
        if action == Action::Quit {
            return Outcome::Quit;
        }
        Outcome::Continue
    }

    fn page(&self) -> usize {
        self.graph_height().saturating_sub(1).max(1)
    }

    fn graph_action(&mut self, action: Action) -> Outcome {
        let n = self.items.len();
        match action {
            Action::Up => self.select_item(self.selected.saturating_sub(1)),
            Action::Down => self.select_item(self.selected + 1),
            Action::Top => self.select_item(0),
            Action::Bottom => self.select_item(n.saturating_sub(1)),
            Action::PageUp => {
                let line = self.item_first_line(self.selected);
                let to = self
                    .item_at_line(line.saturating_sub(self.page()))
                    .map_or(0, |x| x.0);
                self.select_item(to.min(self.selected.saturating_sub(1)));
            }
            Action::PageDown => {
                let line = self.item_first_line(self.selected) + self.page();
                let to = self.item_at_line(line).map_or(n.saturating_sub(1), |x| x.0);
                self.select_item(to.max(self.selected + 1));
            }
            Action::Search => {
                self.search = Search {
                    editing: true,
                    origin: self.selected_row().unwrap_or(0),
                    ..Search::default()
                };
            }
            Action::NextMatch => self.next_match(true),
            Action::PrevMatch => self.next_match(false),
            Action::NextHead => {
                let start = self.selected_row().unwrap_or(0);
                let n = self.rows.len();
                let found = (1..=n).map(|k| (start + k) % n).find(|&r| {
                    self.rows[r]
                        .marks
                        .iter()
                        .any(|m| matches!(m, Mark::Head | Mark::EffectiveHead))
                });
                match found {
                    Some(r) => self.select_row(r),
                    None => self.status = Some("no head".into()),
                }
            }
            Action::Parent | Action::Child => {
                let Some(Item::Row(r)) = self.selected_item() else {
                    return Outcome::Continue;
                };
                let (list, what) = if action == Action::Parent {
                    (&self.parent_rows[r], "parent")
                } else {
                    (&self.child_rows[r], "child")
                };
                match list.first() {
                    Some(&to) => {
                        if list.len() > 1 {
                            self.status = Some(format!("1 of {} {what}s", list.len()));
                        }
                        self.select_row(to);
                    }
                    None => self.status = Some(format!("no {what}")),
                }
            }
            Action::ToggleSource => self.open_source(),
            Action::JumpToProblem => {}
            Action::Problems => self.view = View::Problems,
            Action::Help => {
                self.help_scroll = 0;
                self.view = View::Help;
            }
            Action::Fold => self.toggle_fold(),
            Action::FoldAll => self.toggle_fold_all(),
            Action::DetailsUp => self.details_scroll = self.details_scroll.saturating_sub(3),
            Action::DetailsDown => {
                let max = super::view::details_overflow(self);
                self.details_scroll = (self.details_scroll + 3).min(max);
            }
            // Asking for the other side is the session's job (`super::app`).
            Action::CompareWith => {}
            Action::Back | Action::Quit => return Outcome::Quit,
            _ => {}
        }
        Outcome::Continue
    }

    fn problems_action(&mut self, action: Action) {
        let n = self.diagnostics.len();
        let last = n.saturating_sub(1);
        let page = self.height.saturating_sub(4).max(1) as usize;
        let sel = &mut self.problem_selected;
        match action {
            Action::Up => *sel = sel.saturating_sub(1),
            Action::Down => *sel = (*sel + 1).min(last),
            Action::Top => *sel = 0,
            Action::Bottom => *sel = last,
            Action::PageUp => *sel = sel.saturating_sub(page),
            Action::PageDown => *sel = (*sel + page).min(last),
            Action::JumpToProblem => {
                let target = self
                    .diagnostics
                    .get(self.problem_selected)
                    .and_then(|d| d.revision.as_deref())
                    .and_then(|id| self.rows.iter().position(|r| r.id == id));
                match target {
                    Some(r) => {
                        self.view = View::Graph;
                        self.select_row(r);
                    }
                    None => self.status = Some("this problem is not about one revision".into()),
                }
            }
            Action::Help => {
                self.help_scroll = 0;
                self.view = View::Help;
            }
            Action::Back => self.view = View::Graph,
            _ => {}
        }
    }

    fn source_action(&mut self, action: Action) {
        let len = self.source.as_ref().map_or(0, |s| s.lines.len());
        let page = self.height.saturating_sub(6).max(1) as usize;
        let s = &mut self.source_scroll;
        match action {
            Action::Up => *s = s.saturating_sub(1),
            Action::Down => *s = (*s + 1).min(len.saturating_sub(1)),
            Action::Top => *s = 0,
            Action::Bottom => *s = len.saturating_sub(page),
            Action::PageUp => *s = s.saturating_sub(page),
            Action::PageDown => *s = (*s + page).min(len.saturating_sub(1)),
            Action::ToggleSource | Action::Back => self.view = View::Graph,
            Action::Problems => self.view = View::Problems,
            Action::Help => {
                self.help_scroll = 0;
                self.view = View::Help;
            }
            _ => {}
        }
    }

    fn help_action(&mut self, action: Action) {
        match action {
            Action::Problems => self.view = View::Problems,
            Action::Back => self.view = View::Graph,
            _ => scroll_help(&mut self.help_scroll, action),
        }
    }

    fn open_source(&mut self) {
        let Some(Item::Row(r)) = self.selected_item() else {
            self.status = Some("select a revision first (z unfolds)".into());
            return;
        };
        let Some(rev) = self.rows[r].rev else {
            self.status = Some("no file defines this revision".into());
            return;
        };
        let rec = self.map.record_of(rev);
        let (lines, error) = match std::fs::read(&rec.path) {
            Ok(bytes) => (
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(|l| l.replace('\t', "    "))
                    .collect(),
                None,
            ),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let highlight = rec.revision.as_ref().map(|a| a.span.line);
        self.source_scroll = highlight.map_or(0, |l| (l as usize).saturating_sub(4));
        self.source = Some(Source {
            path: rec.path.clone(),
            lines,
            error,
            highlight,
        });
        self.view = View::Source;
    }

    fn search_key(&mut self, key: Key) {
        match key {
            Key::Enter => {
                self.search.editing = false;
                if self.search.query.is_empty() {
                    self.search = Search::default();
                } else if self.search.matches.is_empty() {
                    self.status = Some(format!("no match for “{}”", self.search.query));
                }
            }
            Key::Esc | Key::Interrupt => {
                let origin = self.search.origin;
                self.search = Search::default();
                self.select_row(origin);
            }
            Key::Backspace => {
                self.search.query.pop();
                self.update_matches();
            }
            Key::Char(c) => {
                self.search.query.push(c);
                self.update_matches();
            }
            _ => {}
        }
    }

    /// Recomputes the matches and moves to the first one at or after where the search started.
    fn update_matches(&mut self) {
        self.refresh_matches();
        let origin = self.search.origin;
        let to = self
            .search
            .matches
            .iter()
            .find(|&&r| r >= origin)
            .or(self.search.matches.first())
            .copied()
            .unwrap_or(origin);
        self.select_row(to);
    }

    /// The tables each revision touches, read in the background: searchable from now on.
    pub fn set_table_names(&mut self, tables: TableNames) {
        if !tables.fits(self.map) {
            return;
        }
        self.tables = tables;
        self.refresh_matches();
    }

    fn build_haystacks(&mut self) {
        let map = self.map;
        self.haystacks = Texts::of(self.rows.iter().map(|r| {
            let file = r
                .rev
                .and_then(|x| map.record_of(x).path.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let labels = r.labels.join("\n");
            format!("{}\n{labels}\n{}\n{file}", r.id, r.message).to_lowercase()
        }));
    }

    /// Row `r` matches the lower-cased query `q`.
    fn matches(&self, r: usize, q: &str) -> bool {
        self.haystacks.get(r).contains(q)
            || self.rows[r]
                .rev
                .is_some_and(|x| self.tables.texts.get(x).contains(q))
    }

    /// Recomputes the matches of the kept query (the graph changed), selection untouched.
    pub(crate) fn refresh_matches(&mut self) {
        let q = self.search.query.to_lowercase();
        self.search.matches = if q.is_empty() {
            Vec::new()
        } else {
            (0..self.rows.len())
                .filter(|&r| self.matches(r, &q))
                .collect()
        };
    }

    fn next_match(&mut self, forward: bool) {
        if self.search.matches.is_empty() {
            self.status = Some(if self.search.query.is_empty() {
                "no search (press /)".into()
            } else {
                format!("no match for “{}”", self.search.query)
            });
            return;
        }
        let cur = self.selected_row().unwrap_or(0);
        let m = &self.search.matches;
        let to = if forward {
            m.iter().find(|&&r| r > cur).or(m.first())
        } else {
            m.iter().rev().find(|&&r| r < cur).or(m.last())
        };
        if let Some(&r) = to {
            self.select_row(r);
        }
    }

    /// Whether row `r` matches the current search.
    pub fn is_match(&self, r: usize) -> bool {
        self.search.matches.binary_search(&r).is_ok()
    }

    /// 1-based position of the selection among the matches.
    pub fn match_position(&self) -> Option<usize> {
        let r = self.selected_row()?;
        self.search.matches.binary_search(&r).ok().map(|i| i + 1)
    }

    fn toggle_fold(&mut self) {
        if let Some(Item::Folded { first, .. }) = self.selected_item() {
            self.folds.retain(|&(f, _)| f != first);
            self.rebuild_items();
            self.select_row(first);
            return;
        }
        let Some(r) = self.selected_row() else { return };
        let (first, last) = self.linear_run(r);
        if last + 1 - first < MIN_FOLD_RUN {
            self.status = Some(format!(
                "no linear run of {MIN_FOLD_RUN} or more revisions here"
            ));
            return;
        }
        // Keep both ends of the run in view; fold the middle.
        self.folds.push((first + 1, last - 1));
        self.rebuild_items();
        self.selection_changed();
    }

    fn toggle_fold_all(&mut self) {
        if !self.folds.is_empty() {
            self.folds.clear();
        } else {
            let mut r = 0;
            while r < self.rows.len() {
                let (first, last) = self.linear_run(r);
                if last + 1 - first >= MIN_FOLD_RUN {
                    self.folds.push((first + 1, last - 1));
                }
                r = last + 1;
            }
            if self.folds.is_empty() {
                self.status = Some(format!("no linear run of {MIN_FOLD_RUN} or more revisions"));
            }
        }
        self.rebuild_items();
        self.selection_changed();
    }

    /// Selects the item on screen line `y` of the graph pane (a mouse click).
    pub fn click_graph_line(&mut self, y: usize) {
        if let Some((i, _)) = self.item_at_line(self.scroll + y) {
            self.select_item(i);
        }
    }

    /// Mouse wheel: moves the selection by `delta` items.
    pub fn wheel(&mut self, delta: isize) {
        match self.view {
            View::Graph => {
                let to = self.selected.saturating_add_signed(delta);
                self.select_item(to);
            }
            View::Problems => {
                let last = self.diagnostics.len().saturating_sub(1);
                self.problem_selected =
                    self.problem_selected.saturating_add_signed(delta).min(last);
            }
            View::Source => {
                let len = self.source.as_ref().map_or(0, |s| s.lines.len());
                self.source_scroll = self
                    .source_scroll
                    .saturating_add_signed(delta)
                    .min(len.saturating_sub(1));
            }
            View::Help => self.help_scroll = self.help_scroll.saturating_add_signed(delta),
            View::Compare | View::Diff => {}
            View::Doctor | View::Log => self.panel_scroll(delta),
        }
    }
}

/// Moves a help screen's first line (the explorer's and compare mode's).
pub(crate) fn scroll_help(s: &mut usize, action: Action) {
    match action {
        Action::Up => *s = s.saturating_sub(1),
        Action::Down => *s += 1,
        Action::Top => *s = 0,
        Action::PageUp => *s = s.saturating_sub(10),
        Action::PageDown => *s += 10,
        _ => {}
    }
}
