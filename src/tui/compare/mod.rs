//! Compare mode: the union graph of two checkouts, each revision marked by how its two copies
//! relate, and a revision's two files side by side.
//!
//! [`CompareState`] owns the comparison (both sides, their union, the per-revision verdicts) and
//! applies keys from the shared key table ([`super::keys`], views `Compare` and `Diff`); [`view`]
//! draws it. Rows and lanes are those of the explorer (`crate::render`), computed once.

pub mod sidebyside;
pub mod view;

use std::collections::HashMap;

use crate::compare::{self, Comparison, Pair, RevisionDiff, Status, diff};
use crate::render::lanes::{GlyphSet, LaneLayout};
use crate::render::rows::{self, GraphRow};

use super::keys::{self, Action, Key, View};
use super::state::Outcome;
use sidebyside::SideBySide;

/// How a row's two copies relate, as shown in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Same,
    OnlyLeft,
    OnlyRight,
    /// down_revision, branch_labels or depends_on differ.
    Graph,
    Content,
    /// Line endings, BOM or trailing whitespace only (harmless).
    Whitespace,
    /// Same content under another file name.
    Renamed,
}

impl Mark {
    pub fn of(d: &RevisionDiff) -> Mark {
        match d.status {
            Status::Identical if d.renamed => Mark::Renamed,
            Status::Identical => Mark::Same,
            Status::EolOnly => Mark::Whitespace,
            Status::ContentDiffers => Mark::Content,
            Status::GraphDiffers => Mark::Graph,
            Status::OnlyLeft => Mark::OnlyLeft,
            Status::OnlyRight => Mark::OnlyRight,
        }
    }

    /// The one-letter column in the graph.
    pub fn code(self) -> char {
        match self {
            Mark::Same => ' ',
            Mark::OnlyLeft => 'L',
            Mark::OnlyRight => 'R',
            Mark::Graph => 'G',
            Mark::Content => 'C',
            Mark::Whitespace => 'W',
            Mark::Renamed => 'N',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mark::Same => "same",
            Mark::OnlyLeft => "left only",
            Mark::OnlyRight => "right only",
            Mark::Graph => "graph differs",
            Mark::Content => "content differs",
            Mark::Whitespace => "whitespace only",
            Mark::Renamed => "renamed",
        }
    }

    /// Every mark, in the legend's order.
    pub const ALL: [Mark; 6] = [
        Mark::OnlyLeft,
        Mark::OnlyRight,
        Mark::Graph,
        Mark::Content,
        Mark::Whitespace,
        Mark::Renamed,
    ];
}

/// The side-by-side view of one revision.
#[derive(Debug, Clone)]
pub struct DiffView {
    pub revision: String,
    pub left_title: String,
    pub right_title: String,
    pub rows: SideBySide,
    /// Differences the aligned lines do not show (line endings, BOM, trailing whitespace).
    pub notes: Vec<String>,
    pub scroll: usize,
}

pub struct CompareState {
    pub pair: Pair,
    pub cmp: Comparison,
    pub rows: Vec<GraphRow>,
    pub layout: LaneLayout,
    pub glyphs: GlyphSet,
    /// Per row: its entry in `cmp.revisions` (None: identical under the same name, or a ghost).
    pub row_diff: Vec<Option<usize>>,
    /// Entries of `cmp.revisions` no row shows (files without a readable revision id).
    pub unplaced: Vec<usize>,
    pub view: View,
    /// Where `q` goes back to from help.
    back: View,
    pub selected: usize,
    /// First display line of the graph pane.
    pub scroll: usize,
    pub details_scroll: usize,
    pub help_scroll: usize,
    pub diff: Option<DiffView>,
    pub width: u16,
    pub height: u16,
    pub status: Option<String>,
}

impl CompareState {
    /// Compares the two sides and lays out their union's graph, selecting the first difference.
    pub fn new(pair: Pair, glyphs: GlyphSet, (width, height): (u16, u16)) -> CompareState {
        let cmp = compare::compare(&pair);
        let rows = rows::graph_rows(pair.union());
        let layout = rows::layout(&rows);
        let row_diff: Vec<Option<usize>> = {
            let by_id: HashMap<&str, usize> = cmp
                .revisions
                .iter()
                .enumerate()
                .map(|(i, d)| (d.revision.as_str(), i))
                .collect();
            rows.iter()
                .map(|r| r.rev.and(by_id.get(r.id.as_str()).copied()))
                .collect()
        };
        let mut placed = vec![false; cmp.revisions.len()];
        for &d in row_diff.iter().flatten() {
            placed[d] = true;
        }
        let unplaced = (0..placed.len()).filter(|&i| !placed[i]).collect();
        let mut s = CompareState {
            pair,
            cmp,
            rows,
            layout,
            glyphs,
            row_diff,
            unplaced,
            view: View::Compare,
            back: View::Compare,
            selected: 0,
            scroll: 0,
            details_scroll: 0,
            help_scroll: 0,
            diff: None,
            width,
            height,
            status: None,
        };
        if let Some(first) = s.next_difference(0, true, true) {
            s.select(first);
        }
        s
    }

    /// The mark of row `r`.
    pub fn mark(&self, r: usize) -> Mark {
        self.row_diff[r].map_or(Mark::Same, |d| Mark::of(&self.cmp.revisions[d]))
    }

    pub fn selected_diff(&self) -> Option<&RevisionDiff> {
        self.row_diff
            .get(self.selected)
            .copied()
            .flatten()
            .map(|d| &self.cmp.revisions[d])
    }

    fn graph_height(&self) -> usize {
        view::graph_pane_height(self.width, self.height)
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.width = width;
        self.height = height;
        self.ensure_visible();
    }

    fn ensure_visible(&mut self) {
        let h = self.graph_height().max(1);
        let top = self.layout.first_line(self.selected);
        let bottom = top + self.layout.row(self.selected).line_count().max(1);
        if top < self.scroll {
            self.scroll = top;
        } else if bottom > self.scroll + h {
            self.scroll = bottom - h;
        }
    }

    pub fn select(&mut self, r: usize) {
        if self.rows.is_empty() {
            return;
        }
        self.selected = r.min(self.rows.len() - 1);
        self.details_scroll = 0;
        self.ensure_visible();
    }

    /// The next (or previous) row that differs, from `from` (included when `inclusive`), wrapping.
    fn next_difference(&self, from: usize, forward: bool, inclusive: bool) -> Option<usize> {
        let n = self.rows.len();
        let start = if inclusive { 0 } else { 1 };
        (start..=n)
            .map(|k| {
                if forward {
                    (from + k) % n.max(1)
                } else {
                    (from + n * 2 - k) % n.max(1)
                }
            })
            .find(|&r| r < n && self.mark(r) != Mark::Same)
    }

    /// Applies one key; `Quit` means leave compare mode.
    pub fn handle_key(&mut self, key: Key) -> Outcome {
        self.status = None;
        if key == Key::Interrupt {
            return Outcome::Quit;
        }
        match keys::action_for(self.view, key) {
            Some(a) => self.apply(a),
            None => Outcome::Continue,
        }
    }

    pub fn apply(&mut self, action: Action) -> Outcome {
        if action == Action::Quit {
            return Outcome::Quit;
        }
        match self.view {
            View::Diff => self.diff_action(action),
            View::Help => self.help_action(action),
            _ => return self.graph_action(action),
        }
        Outcome::Continue
    }

    fn graph_action(&mut self, action: Action) -> Outcome {
        let last = self.rows.len().saturating_sub(1);
        let page = self.graph_height().saturating_sub(1).max(1);
        match action {
            Action::Up => self.select(self.selected.saturating_sub(1)),
            Action::Down => self.select((self.selected + 1).min(last)),
            Action::Top => self.select(0),
            Action::Bottom => self.select(last),
            Action::PageUp => self.select(self.selected.saturating_sub(page)),
            Action::PageDown => self.select((self.selected + page).min(last)),
            Action::NextMatch | Action::PrevMatch => {
                match self.next_difference(self.selected, action == Action::NextMatch, false) {
                    Some(r) => self.select(r),
                    None => self.status = Some("the two sides hold the same revisions".into()),
                }
            }
            Action::ToggleSource => self.open_diff(),
            Action::DetailsUp => self.details_scroll = self.details_scroll.saturating_sub(3),
            Action::DetailsDown => {
                let max = view::details_overflow(self);
                self.details_scroll = (self.details_scroll + 3).min(max);
            }
            Action::Help => self.show_help(),
            Action::Back => return Outcome::Quit,
            _ => {}
        }
        Outcome::Continue
    }

    fn show_help(&mut self) {
        self.back = self.view;
        self.help_scroll = 0;
        self.view = View::Help;
    }

    fn help_action(&mut self, action: Action) {
        match action {
            Action::Back => self.view = self.back,
            _ => super::state::scroll_help(&mut self.help_scroll, action),
        }
    }

    fn diff_action(&mut self, action: Action) {
        let page = view::diff_page(self.height).max(1);
        if matches!(action, Action::ToggleSource | Action::Back) {
            self.view = View::Compare;
            return;
        }
        if action == Action::Help {
            self.show_help();
            return;
        }
        let Some(d) = &mut self.diff else { return };
        let max = d.rows.rows.len().saturating_sub(page);
        let s = &mut d.scroll;
        match action {
            Action::Up => *s = s.saturating_sub(1),
            Action::Down => *s = (*s + 1).min(max),
            Action::Top => *s = 0,
            Action::Bottom => *s = max,
            Action::PageUp => *s = s.saturating_sub(page),
            Action::PageDown => *s = (*s + page).min(max),
            Action::NextMatch | Action::PrevMatch => {
                // Blocks are shown with two lines of context above them.
                let at = |b: usize| b.saturating_sub(2);
                let blocks = &d.rows.blocks;
                let to = if action == Action::NextMatch {
                    blocks.iter().map(|&b| at(b)).find(|&b| b > *s)
                } else {
                    blocks.iter().rev().map(|&b| at(b)).find(|&b| b < *s)
                };
                match to {
                    Some(b) => *s = b.min(max),
                    None => self.status = Some("no more changes in this file".into()),
                }
            }
            _ => {}
        }
    }

    /// Opens the selected revision's two files side by side.
    pub fn open_diff(&mut self) {
        let Some(d) = self.selected_diff() else {
            let what = match self.rows.get(self.selected) {
                Some(r) if r.rev.is_none() => "no file on either side defines this revision",
                _ => "identical on both sides",
            };
            self.status = Some(what.into());
            return;
        };
        let (left, right) = (&self.pair.left, &self.pair.right);
        let read = |side: &compare::Side, f: &Option<compare::FileRef>| match f {
            Some(f) => side
                .bytes(f.index)
                .map(|b| (b, format!("{} {}", side.which.name(), f.name.display())))
                .map_err(|e| format!("{}: {e}", f.path.display())),
            None => Ok((Vec::new(), format!("(not on {})", side.which.name()))),
        };
        let (a, b) = match (read(left, &d.left), read(right, &d.right)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                self.status = Some(format!("cannot read {e}"));
                return;
            }
        };
        let mut notes: Vec<String> = d.cosmetic.iter().map(|c| c.describe().into()).collect();
        if d.left.is_some() && d.right.is_some() {
            for c in diff::encoding_differences(&a.0, &b.0) {
                if !notes.iter().any(|n| n == c.describe()) {
                    notes.push(c.describe().into());
                }
            }
        }
        for g in &d.graph {
            notes.push(format!(
                "{}: {} → {}",
                g.field,
                super::view::list(&g.left),
                super::view::list(&g.right)
            ));
        }
        let rows = sidebyside::side_by_side(&a.0, &b.0);
        let scroll = rows.blocks.first().map_or(0, |&b| b.saturating_sub(2));
        self.diff = Some(DiffView {
            revision: d.revision.clone(),
            left_title: a.1,
            right_title: b.1,
            rows,
            notes,
            scroll,
        });
        self.view = View::Diff;
    }

    /// Mouse wheel.
    pub fn wheel(&mut self, delta: isize) {
        match self.view {
            View::Diff => {
                let action = if delta > 0 { Action::Down } else { Action::Up };
                for _ in 0..delta.unsigned_abs() {
                    self.diff_action(action);
                }
            }
            View::Help => self.help_scroll = self.help_scroll.saturating_add_signed(delta),
            _ => {
                let last = self.rows.len().saturating_sub(1);
                self.select(self.selected.saturating_add_signed(delta).min(last));
            }
        }
    }
}
