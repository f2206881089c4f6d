//! Lane layout for revision graphs, in the spirit of `git log --graph`.
//!
//! [`layout`] walks the rows once (newest first) and records, for every row, the node line and the
//! connector lines that follow it as plain cells: a [`Glyph`] (which directions the line leaves the
//! cell in, plus a few style flags) and a colour index. Rendering a window is then a slice lookup
//! and a character mapping, so the TUI can redraw the visible rows on every key press while the CLI
//! prints everything with the same data.
//!
//! Geometry: lane `c` lives in character column `2c`; the odd characters between lanes carry
//! horizontal runs. A lane moving from column `x` to column `y` on a connector line draws a top
//! corner at `2x`, a run, and a bottom corner at `2y`. Unicode shows the run as `╭─╯`; ASCII shows
//! the same cells the way git does, with a diagonal next to the top corner (`/` or `\`), `_` for
//! the rest of the run and blanks for the corners. Neighbouring lanes that shift the same way at
//! once cannot all turn corners on one line, so those shifts are slants in the gaps (`╲ ╲`, git's
//! `\ \`). Both glyph sets use the same lines and cell positions, which keeps colouring and
//! scrolling independent of the glyph set.
//!
//! Lines never touch unless they are the same edge: forks and merges show as tees, a run over an
//! unrelated lane is an explicit crossing (`┼`, `|_|` in ASCII), and moves that cannot be drawn
//! yet wait for a later line.

use std::collections::HashMap;

/// How a child points at a parent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// `down_revision`: drawn solid.
    #[default]
    Normal,
    /// `depends_on`: drawn dashed where the line runs straight (`┆`/`┄`, `:` in ASCII).
    Dashed,
}

/// One row of the graph, in display order (children before parents).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaneInput {
    pub id: String,
    /// Parents in declared order; the first one continues straight down when it can.
    pub parents: Vec<(String, EdgeKind)>,
}

impl LaneInput {
    /// A row whose parents are all [`EdgeKind::Normal`].
    pub fn new<S: Into<String>>(
        id: impl Into<String>,
        parents: impl IntoIterator<Item = S>,
    ) -> Self {
        LaneInput {
            id: id.into(),
            parents: parents
                .into_iter()
                .map(|p| (p.into(), EdgeKind::Normal))
                .collect(),
        }
    }

    /// Appends [`EdgeKind::Dashed`] parents (e.g. `depends_on`).
    pub fn with_dashed<S: Into<String>>(mut self, parents: impl IntoIterator<Item = S>) -> Self {
        self.parents
            .extend(parents.into_iter().map(|p| (p.into(), EdgeKind::Dashed)));
        self
    }
}

/// Character repertoire used by [`Glyph::to_char`] and [`render_text`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GlyphSet {
    /// Rounded box drawing: `● │ ─ ╭ ╮ ╯ ╰ ├ ┤ ┬ ┴ ┼ ┆ ┄ ~`.
    #[default]
    Unicode,
    /// git style: `* | / \ _ : ~`.
    Ascii,
}

const UP: u16 = 1;
const DOWN: u16 = 1 << 1;
const LEFT: u16 = 1 << 2;
const RIGHT: u16 = 1 << 3;
const NODE: u16 = 1 << 4;
const STUB: u16 = 1 << 5;
const DASHED: u16 = 1 << 6;
/// A horizontal run passing over a lane character (not a corner).
const PASS: u16 = 1 << 7;
/// A horizontal run in the gap between two lane characters.
const GAP: u16 = 1 << 8;
/// The gap next to the top corner of a leftward / rightward run: ASCII draws the diagonal there.
const DIAG_L: u16 = 1 << 9;
const DIAG_R: u16 = 1 << 10;
/// A run passing over an unrelated vertical lane.
const CROSS: u16 = 1 << 11;
/// Direction of the run through a gap or pass cell; a tee alone cannot say which way a line flows.
const FLOW_L: u16 = 1 << 12;
const FLOW_R: u16 = 1 << 13;
/// A lane shifting one column on its own, drawn diagonally in the gap (`╱ ╲`, `/ \`).
const SLANT: u16 = 1 << 14;
const DIRS: u16 = UP | DOWN | LEFT | RIGHT;

/// What one character cell of the graph shows, independent of the glyph set.
///
/// The direction accessors say where the drawn line leaves the cell; a node cell is a placeholder
/// the caller may replace with its own symbol (head, ghost, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Glyph(u16);

impl Glyph {
    pub const BLANK: Glyph = Glyph(0);

    pub fn is_blank(self) -> bool {
        self.0 == 0
    }
    /// The revision itself; see [`render_text_with_node`] to choose its symbol.
    pub fn is_node(self) -> bool {
        self.0 & NODE != 0
    }
    /// End of an edge whose parent is not among the rows (drawn `~`, like git's truncated history).
    pub fn is_dangling(self) -> bool {
        self.0 & STUB != 0
    }
    /// Every line through this cell is a `depends_on` edge.
    pub fn is_dashed(self) -> bool {
        self.0 & DASHED != 0
    }
    /// A horizontal run passing over an unrelated vertical lane (the two are not connected).
    pub fn is_crossing(self) -> bool {
        self.0 & CROSS != 0
    }
    pub fn up(self) -> bool {
        self.0 & UP != 0
    }
    pub fn down(self) -> bool {
        self.0 & DOWN != 0
    }
    pub fn left(self) -> bool {
        self.0 & LEFT != 0
    }
    pub fn right(self) -> bool {
        self.0 & RIGHT != 0
    }
    /// A lane shifting one column: from the lane character above-right of this gap cell to the
    /// one below-left (`╱`).
    pub fn slants_left(self) -> bool {
        self.0 & (SLANT | DIAG_L) == SLANT | DIAG_L
    }
    /// From above-left to below-right (`╲`).
    pub fn slants_right(self) -> bool {
        self.0 & (SLANT | DIAG_R) == SLANT | DIAG_R
    }

    /// The character for this cell, with `●` / `*` for nodes.
    pub fn to_char(self, set: GlyphSet) -> char {
        let node = match set {
            GlyphSet::Unicode => '●',
            GlyphSet::Ascii => '*',
        };
        self.to_char_with_node(set, node)
    }

    /// The character for this cell, with `node` for node cells.
    pub fn to_char_with_node(self, set: GlyphSet, node: char) -> char {
        let b = self.0;
        if b & NODE != 0 {
            return node;
        }
        if b & STUB != 0 {
            return '~';
        }
        let dashed = b & DASHED != 0;
        match set {
            GlyphSet::Ascii => {
                if b & GAP != 0 {
                    if b & DIAG_L != 0 {
                        '/'
                    } else if b & DIAG_R != 0 {
                        '\\'
                    } else {
                        '_'
                    }
                } else if b & (UP | DOWN) == UP | DOWN {
                    if dashed { ':' } else { '|' }
                } else if b & PASS != 0 {
                    '_'
                } else {
                    // Corners: git leaves the lane character blank and lets the diagonal in the gap
                    // do the turning.
                    ' '
                }
            }
            GlyphSet::Unicode if b & SLANT != 0 => {
                if b & DIAG_L != 0 {
                    '╱'
                } else {
                    '╲'
                }
            }
            GlyphSet::Unicode => match b & DIRS {
                0 => ' ',
                x if x == UP | DOWN => {
                    if dashed {
                        '┆'
                    } else {
                        '│'
                    }
                }
                x if x == LEFT | RIGHT => {
                    if dashed {
                        '┄'
                    } else {
                        '─'
                    }
                }
                x if x == UP | LEFT => '╯',
                x if x == UP | RIGHT => '╰',
                x if x == DOWN | LEFT => '╮',
                x if x == DOWN | RIGHT => '╭',
                x if x == UP | DOWN | RIGHT => '├',
                x if x == UP | DOWN | LEFT => '┤',
                x if x == LEFT | RIGHT | DOWN => '┬',
                x if x == LEFT | RIGHT | UP => '┴',
                x if x == DIRS => '┼',
                UP => '╵',
                DOWN => '╷',
                LEFT => '╴',
                _ => '╶',
            },
        }
    }
}

/// One character cell: what to draw and which lane it belongs to.
///
/// `color` identifies the lane (stable along a lane, fresh for each new lane); map it onto a palette
/// with `color % palette.len()`. Blank cells carry colour 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cell {
    pub glyph: Glyph,
    pub color: u32,
}

/// The lines drawn for one row: its node line followed by zero or more connector lines.
///
/// All lines of a row have the same length ([`RowCells::line_len`]); lines of different rows may
/// differ, pad to [`LaneLayout::char_width`] characters to align text after the graph.
#[derive(Clone, Copy, Debug)]
pub struct RowCells<'a> {
    node_column: usize,
    line_len: usize,
    cells: &'a [Cell],
}

impl<'a> RowCells<'a> {
    /// The lane the node sits in; its character column is `2 * node_column()`.
    pub fn node_column(&self) -> usize {
        self.node_column
    }
    /// Characters per line in this row.
    pub fn line_len(&self) -> usize {
        self.line_len
    }
    /// Node line plus connector lines.
    pub fn line_count(&self) -> usize {
        self.cells.len() / self.line_len
    }
    /// Line 0 is the node line.
    pub fn line(&self, i: usize) -> Option<&'a [Cell]> {
        self.cells.get(i * self.line_len..(i + 1) * self.line_len)
    }
    pub fn lines(&self) -> impl Iterator<Item = &'a [Cell]> + 'a {
        self.cells.chunks(self.line_len)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct RowMeta {
    node_column: u32,
    line_len: u32,
    first_line: u32,
    cell_start: usize,
}

/// The whole graph laid out once; any window of rows can be read back cheaply.
#[derive(Clone, Debug, Default)]
pub struct LaneLayout {
    width: usize,
    char_width: usize,
    rows: Vec<RowMeta>,
    cells: Vec<Cell>,
    total_lines: usize,
}

impl LaneLayout {
    /// Maximum number of lane columns used by any line.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Maximum characters in any line: `2 * width() - 1`, or one more when a dangling-parent
    /// marker sits right of a node in the last column. Pad to this to align text after the graph.
    pub fn char_width(&self) -> usize {
        self.char_width
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Lines over all rows (node lines plus connector lines).
    pub fn total_lines(&self) -> usize {
        self.total_lines
    }

    /// Cells of row `i`; an out-of-range row has no lines.
    pub fn row(&self, i: usize) -> RowCells<'_> {
        let Some(meta) = self.rows.get(i) else {
            return RowCells {
                node_column: 0,
                line_len: 1,
                cells: &[],
            };
        };
        let end = self
            .rows
            .get(i + 1)
            .map_or(self.cells.len(), |m| m.cell_start);
        RowCells {
            node_column: meta.node_column as usize,
            line_len: meta.line_len as usize,
            cells: self.cells.get(meta.cell_start..end).unwrap_or(&[]),
        }
    }

    /// Index of the first line of row `i` among all lines (for scrolling by lines).
    pub fn first_line(&self, i: usize) -> usize {
        self.rows
            .get(i)
            .map_or(self.total_lines, |m| m.first_line as usize)
    }

    /// The row drawn on global line `line`, and the line's index within that row.
    pub fn row_at_line(&self, line: usize) -> Option<(usize, usize)> {
        if line >= self.total_lines {
            return None;
        }
        let row = self
            .rows
            .partition_point(|m| m.first_line as usize <= line)
            .checked_sub(1)?;
        Some((row, line - self.rows[row].first_line as usize))
    }
}

/// Plain text for a row, one string per line, trailing blanks trimmed.
pub fn render_text(cells: &RowCells, glyphs: GlyphSet) -> Vec<String> {
    let node = Glyph(NODE).to_char(glyphs);
    render_text_with_node(cells, glyphs, node)
}

/// Like [`render_text`], drawing the node as `node` (e.g. `◉` for a head, `○` for a ghost).
pub fn render_text_with_node(cells: &RowCells, glyphs: GlyphSet, node: char) -> Vec<String> {
    cells
        .lines()
        .map(|line| {
            let mut s: String = line
                .iter()
                .map(|c| c.glyph.to_char_with_node(glyphs, node))
                .collect();
            s.truncate(s.trim_end().len());
            s
        })
        .collect()
}

/// Group of the tracks leaving the current node; other tracks use their lane column.
const NODE_GROUP: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Lane {
    /// Row index of the parent this lane runs to (always a later row).
    target: usize,
    dashed: bool,
    color: u32,
}

/// One line segment in flight during a transition between two rows.
#[derive(Clone, Copy, Debug)]
struct Track {
    cur: usize,
    /// Column in the next state; `None` ends the track with a dangling marker.
    dest: Option<usize>,
    /// Tracks of the same group leave the same node and may share cells while fanning out.
    group: u32,
    color: u32,
    dashed: bool,
    /// Index into the next state before duplicates are merged (resolved into `dest`).
    next: usize,
    /// Stepped aside to break a cycle: stays put until some other track has moved.
    parked: bool,
    /// Has stepped aside before: from then on it only moves straight to its destination, since
    /// stopping halfway could block the very lanes it made room for.
    detoured: bool,
}

impl Track {
    /// A track from column `cur` into entry `next` of the next state (`dest` is resolved once
    /// duplicates there are merged).
    fn new(cur: usize, next: usize, group: u32, color: u32, dashed: bool) -> Track {
        Track {
            cur,
            dest: Some(0),
            group,
            color,
            dashed,
            next,
            parked: false,
            detoured: false,
        }
    }

    /// Two tracks may touch only when they are really the same line: they come from the same node
    /// or end in the same lane. Anything else touching would read as a merge that is not there.
    fn compatible(&self, other: &Track) -> bool {
        self.group == other.group || (self.dest.is_some() && self.dest == other.dest)
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    track: u32,
    bits: u16,
    stay: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Top,
    Bottom,
    Gap,
    Pass,
}

/// Draws the connector lines that move every track from `cur` to `dest`.
///
/// Each line moves as many tracks as can move without two unrelated lines touching; a track that
/// cannot move yet stays vertical for that line. When moves wait on each other in a cycle one
/// track steps aside (bounded), and as a last resort a move is forced, so this always terminates.
#[derive(Default)]
struct Scheduler {
    grid: Vec<Vec<Entry>>,
    bottom: Vec<Option<usize>>,
    order: Vec<usize>,
    regroup: Vec<(usize, u32)>,
}

#[cfg(test)]
thread_local! {
    /// Lines where the scheduler had to force a move; the property test expects none.
    static FORCED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Tracks stepped aside to break a cycle (reported by the property test).
    static DETOURS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Scheduler {
    fn run(&mut self, tracks: &mut Vec<Track>, lines: &mut Vec<Vec<Cell>>) {
        let mut detours = 0;
        // Groups for tracks that moved; lane groups are small and NODE_GROUP is the maximum.
        let mut fresh = NODE_GROUP;
        loop {
            let stubs = tracks.iter().any(|t| t.dest.is_none());
            let unsettled = tracks.iter().any(|t| t.dest.is_some_and(|d| d != t.cur));
            if !stubs && !unsettled {
                return;
            }
            let cols = tracks
                .iter()
                .map(|t| t.cur.max(t.dest.unwrap_or(0)) + 1)
                .max()
                .unwrap_or(1);
            // One spare column on the right for detours.
            let chars = 2 * cols + 1;
            for cell in &mut self.grid {
                cell.clear();
            }
            if self.grid.len() < chars {
                self.grid.resize_with(chars, Vec::new);
            }
            self.bottom.clear();
            for (ti, t) in tracks.iter().enumerate() {
                let (bits, stay, bottom) = match t.dest {
                    None => (UP | STUB, false, None),
                    Some(_) => (UP | DOWN, true, Some(t.cur)),
                };
                self.grid[2 * t.cur].push(Entry {
                    track: ti as u32,
                    bits,
                    stay,
                });
                self.bottom.push(bottom);
            }

            // Leftward moves first, nearest the left edge first, so a lane vacates its column
            // before its right neighbour wants it; rightward moves mirror that.
            self.order.clear();
            self.order.extend(
                (0..tracks.len()).filter(|&i| tracks[i].dest.is_some_and(|d| d < tracks[i].cur)),
            );
            self.order.sort_by_key(|&i| tracks[i].cur);
            let left_movers = self.order.len();
            self.order.extend(
                (0..tracks.len()).filter(|&i| tracks[i].dest.is_some_and(|d| d > tracks[i].cur)),
            );
            self.order[left_movers..]
                .sort_by_key(|&i| std::cmp::Reverse((tracks[i].cur, tracks[i].dest)));

            let moved = self.pass(tracks, false);
            let mut progress = stubs || moved;
            let mut parked = None;
            if !progress && detours <= 4 * tracks.len() {
                detours += 1;
                parked = self.detour(tracks, cols);
                progress = parked.is_some();
                #[cfg(test)]
                DETOURS.with(|d| d.set(d.get() + usize::from(progress)));
            }
            if !progress {
                progress = self.pass(tracks, true);
            }
            if !progress {
                // Unreachable in the property tests; bounds the work whatever the input.
                #[cfg(test)]
                FORCED.with(|f| f.set(f.get() + 1));
                if let Some(&ti) = self.order.first() {
                    let (x, d) = (tracks[ti].cur, tracks[ti].dest.unwrap_or(0));
                    self.apply_run(ti, x, d);
                }
            }

            lines.push(self.emit(tracks, chars));
            // Siblings are one line only while they share a column: a track that moved joins a
            // new group with the siblings that moved along with it.
            for ti in 0..tracks.len() {
                let b = self.bottom[ti];
                if b.is_some_and(|b| b != tracks[ti].cur) {
                    let leader = (0..ti).find(|&u| {
                        self.bottom[u] == b
                            && tracks[u].group == tracks[ti].group
                            && self.bottom[u] != Some(tracks[u].cur)
                    });
                    let group = match leader {
                        Some(u) => self.regroup.iter().find(|r| r.0 == u).map_or(0, |r| r.1),
                        None => {
                            fresh -= 1;
                            fresh
                        }
                    };
                    self.regroup.push((ti, group));
                }
            }
            for (ti, g) in self.regroup.drain(..) {
                tracks[ti].group = g;
            }
            for (ti, (t, b)) in tracks.iter_mut().zip(&self.bottom).enumerate() {
                t.parked = parked == Some(ti) || (t.parked && !moved);
                t.detoured |= parked == Some(ti);
                if let Some(b) = *b {
                    t.cur = b;
                }
            }
            tracks.retain(|t| t.dest.is_some());
            // Tracks that met on their way to the same lane are one line from here on.
            let mut k = 1;
            while k < tracks.len() {
                let (cur, dest) = (tracks[k].cur, tracks[k].dest);
                if tracks[..k].iter().any(|t| t.cur == cur && t.dest == dest) {
                    tracks.remove(k);
                } else {
                    k += 1;
                }
            }
        }
    }

    /// Moves every willing track (the parked ones, or the others) as far as it can go.
    fn pass(&mut self, tracks: &[Track], parked: bool) -> bool {
        let mut moved = false;
        for k in 0..self.order.len() {
            let ti = self.order[k];
            if tracks[ti].parked != parked {
                continue;
            }
            let (x, d) = (tracks[ti].cur, tracks[ti].dest.unwrap_or(0));
            let y1 = if d < x { x - 1 } else { x + 1 };
            // Neighbours shifting the same way cannot all turn corners on one line (each corner
            // would share a lane character with the next), but slants can: `╲ ╲ ╲` like git.
            let chain = tracks.iter().enumerate().any(|(ui, u)| {
                ui != ti
                    && u.cur.abs_diff(x) == 1
                    && u.dest
                        .is_some_and(|ud| (ud < u.cur) == (d < x) && ud != u.cur)
            });
            if chain && !tracks[ti].detoured && self.can_slant(tracks, ti, x, y1) {
                self.apply_slant(ti, x, y1);
                moved = true;
                continue;
            }
            // Prefer reaching the destination in one run; fall back to shorter hops.
            let found = if tracks[ti].detoured {
                Some(d).filter(|&y| self.can_run(tracks, ti, x, y))
            } else if d < x {
                (d..x).find(|&y| self.can_run(tracks, ti, x, y))
            } else {
                (x + 1..=d).rev().find(|&y| self.can_run(tracks, ti, x, y))
            };
            if let Some(y) = found {
                self.apply_run(ti, x, y);
                moved = true;
            } else if !tracks[ti].detoured && self.can_slant(tracks, ti, x, y1) {
                self.apply_slant(ti, x, y1);
                moved = true;
            }
        }
        moved
    }

    /// A one-column shift drawn as a slant in the gap, leaving both lane characters alone. Only
    /// for a lane on its own: a slant cannot show a fork or a merge.
    fn can_slant(&self, tracks: &[Track], ti: usize, x: usize, y: usize) -> bool {
        let others = |c: usize| self.grid[c].iter().filter(move |e| e.track as usize != ti);
        // Nothing else ends in column `y` (a merge) or leaves column `x` (a fork), and nothing
        // else is drawn where the slant starts or ends except corners of lanes leaving `y`.
        self.bottom
            .iter()
            .enumerate()
            .all(|(ui, b)| ui == ti || *b != Some(y))
            && tracks
                .iter()
                .enumerate()
                .all(|(ui, u)| ui == ti || u.cur != x)
            && self.grid[x + y].is_empty()
            && others(2 * x).next().is_none()
            && others(2 * y).all(|e| e.bits & (PASS | STUB) == 0 && !e.stay)
    }

    fn apply_slant(&mut self, ti: usize, x: usize, y: usize) {
        self.grid[2 * x].retain(|e| e.track as usize != ti);
        let dir = if y < x { DIAG_L } else { DIAG_R };
        self.grid[x + y].push(Entry {
            track: ti as u32,
            bits: SLANT | GAP | dir,
            stay: false,
        });
        self.bottom[ti] = Some(y);
    }

    /// Moves that wait on each other in a cycle (a lane converging left past a node that forks
    /// right, say) are broken by stepping one track aside, possibly into the spare column.
    fn detour(&mut self, tracks: &[Track], cols: usize) -> Option<usize> {
        for k in 0..self.order.len() {
            let ti = self.order[k];
            if tracks[ti].parked {
                continue;
            }
            let (x, d) = (tracks[ti].cur, tracks[ti].dest.unwrap_or(0));
            let mut ys: Vec<usize> = (0..=cols).filter(|&y| y != x).collect();
            ys.sort_by_key(|&y| (y.abs_diff(d), y));
            if let Some(y) = ys.into_iter().find(|&y| self.can_run(tracks, ti, x, y)) {
                self.apply_run(ti, x, y);
                return Some(ti);
            }
        }
        None
    }

    fn can_run(&self, tracks: &[Track], ti: usize, x: usize, y: usize) -> bool {
        let t = &tracks[ti];
        for (ui, b) in self.bottom.iter().enumerate() {
            if ui != ti && *b == Some(y) && !t.compatible(&tracks[ui]) {
                return false;
            }
        }
        let (top, bot) = (2 * x, 2 * y);
        for c in top.min(bot)..=top.max(bot) {
            let part = if c == top {
                Part::Top
            } else if c == bot {
                Part::Bottom
            } else if c % 2 == 1 {
                Part::Gap
            } else {
                Part::Pass
            };
            let mut union = run_bits(part, x, y, c) & DIRS;
            let (mut crossing, mut fan) = (false, false);
            for e in &self.grid[c] {
                if e.track as usize == ti {
                    continue;
                }
                let u = &tracks[e.track as usize];
                let ok = match part {
                    Part::Top | Part::Bottom => {
                        t.compatible(u) && (e.bits & PASS == 0 || t.group == u.group)
                    }
                    Part::Gap => t.group == u.group && e.bits & SLANT == 0,
                    // Either a fan of siblings (┬) or a pure crossing of unrelated verticals (┼);
                    // anything mixed would hide a junction inside a crossing.
                    Part::Pass => {
                        if e.stay {
                            crossing = true;
                            !t.compatible(u)
                        } else {
                            fan = true;
                            t.group == u.group
                        }
                    }
                };
                if !ok || (crossing && fan) {
                    return false;
                }
                union |= e.bits & DIRS;
            }
            // A four-way junction between related lines is ambiguous with a crossing.
            if part != Part::Pass && union == DIRS {
                return false;
            }
        }
        true
    }

    fn apply_run(&mut self, ti: usize, x: usize, y: usize) {
        if let Some(cell) = self.grid.get_mut(2 * x) {
            cell.retain(|e| !(e.track as usize == ti && e.stay));
        }
        let (top, bot) = (2 * x, 2 * y);
        for c in top.min(bot)..=top.max(bot) {
            let part = if c == top {
                Part::Top
            } else if c == bot {
                Part::Bottom
            } else if c % 2 == 1 {
                Part::Gap
            } else {
                Part::Pass
            };
            self.grid[c].push(Entry {
                track: ti as u32,
                bits: run_bits(part, x, y, c),
                stay: false,
            });
        }
        self.bottom[ti] = Some(y);
    }

    fn emit(&self, tracks: &[Track], chars: usize) -> Vec<Cell> {
        let used = self.grid[..chars]
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |p| p + 1);
        self.grid[..used]
            .iter()
            .map(|entries| {
                let Some(first) = entries.first() else {
                    return Cell::default();
                };
                let mut bits = 0;
                let mut dashed = true;
                let mut color = tracks[first.track as usize].color;
                let mut stay = false;
                let mut pass = false;
                for e in entries {
                    bits |= e.bits;
                    let t = &tracks[e.track as usize];
                    dashed &= t.dashed;
                    if e.stay {
                        // The lane that continues owns the character; runs only touch it.
                        color = t.color;
                        stay = true;
                    }
                    pass |= e.bits & PASS != 0;
                }
                if stay && pass {
                    bits |= CROSS;
                }
                if dashed {
                    bits |= DASHED;
                }
                Cell {
                    glyph: Glyph(bits),
                    color,
                }
            })
            .collect()
    }
}

fn run_bits(part: Part, x: usize, y: usize, c: usize) -> u16 {
    let leftward = y < x;
    match part {
        Part::Top => UP | if leftward { LEFT } else { RIGHT },
        Part::Bottom => DOWN | if leftward { RIGHT } else { LEFT },
        Part::Pass => LEFT | RIGHT | PASS | if leftward { FLOW_L } else { FLOW_R },
        Part::Gap => {
            let diag = if leftward && c + 1 == 2 * x {
                DIAG_L
            } else if !leftward && c == 2 * x + 1 {
                DIAG_R
            } else {
                0
            };
            LEFT | RIGHT | GAP | diag | if leftward { FLOW_L } else { FLOW_R }
        }
    }
}

/// Lays out `rows` (children before parents). Runs in O(rows × active lanes) for ordinary
/// histories; never panics, whatever the input (unknown or out-of-order parents become dangling
/// edges, duplicate ids are tolerated).
pub fn layout(rows: &[LaneInput]) -> LaneLayout {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        index.entry(r.id.as_str()).or_insert(i);
    }
    let mut builder = Builder::default();
    let mut out = LaneLayout::default();
    let mut parents: Vec<(usize, bool)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        parents.clear();
        let mut dangling = false;
        for (p, kind) in &row.parents {
            // A parent drawn above its child (or not drawn at all) cannot be reached going down.
            let Some(target) = index.get(p.as_str()).copied().filter(|&t| t > i) else {
                dangling = true;
                continue;
            };
            let dashed = *kind == EdgeKind::Dashed;
            match parents.iter_mut().find(|(t, _)| *t == target) {
                Some(existing) => existing.1 &= dashed,
                None => parents.push((target, dashed)),
            }
        }
        builder.row(i, &parents, dangling, i + 1 == rows.len(), &mut out);
    }
    // Kept as long as the graph: up to half of the doubled room was unused (0.6 MB at 10,000
    // revisions).
    out.rows.shrink_to_fit();
    out.cells.shrink_to_fit();
    out
}

#[derive(Default)]
struct Builder {
    lanes: Vec<Lane>,
    next: Vec<Lane>,
    merged: Vec<Lane>,
    map: Vec<usize>,
    tracks: Vec<Track>,
    lines: Vec<Vec<Cell>>,
    next_color: u32,
    sched: Scheduler,
}

impl Builder {
    fn fresh_color(&mut self) -> u32 {
        let c = self.next_color;
        self.next_color = self.next_color.wrapping_add(1);
        c
    }

    fn row(
        &mut self,
        i: usize,
        parents: &[(usize, bool)],
        dangling: bool,
        last: bool,
        out: &mut LaneLayout,
    ) {
        let n = match self.lanes.iter().position(|l| l.target == i) {
            Some(n) => n,
            None => {
                let color = self.fresh_color();
                self.lanes.push(Lane {
                    target: i,
                    dashed: false,
                    color,
                });
                self.lanes.len() - 1
            }
        };
        let node_color = self.lanes[n].color;

        self.lines.clear();
        let mut node_line = self.vertical_line(Some(n));
        if dangling && !parents.is_empty() {
            // The other parents keep the node's column, so the missing one is marked beside the
            // node instead of getting a lane that would push every lane on its right aside.
            node_line.resize(node_line.len().max(2 * n + 2), Cell::default());
            node_line[2 * n + 1] = Cell {
                glyph: Glyph(STUB),
                color: node_color,
            };
        }
        self.lines.push(node_line);

        self.transition(i, n, node_color, parents, dangling);
        let next_is_new_head = !self.lanes.iter().any(|l| l.target == i + 1);
        if !last && self.lines.len() == 1 && next_is_new_head && self.lanes.len() == n {
            // The next row would start right under this root and read as its parent.
            let spacer = self.vertical_line(None);
            self.lines.push(spacer);
        }

        let line_len = self.lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
        out.rows.push(RowMeta {
            node_column: n as u32,
            line_len: line_len as u32,
            first_line: out.total_lines as u32,
            cell_start: out.cells.len(),
        });
        out.total_lines += self.lines.len();
        out.width = out.width.max(line_len.div_ceil(2));
        out.char_width = out.char_width.max(line_len);
        for line in &self.lines {
            out.cells.extend_from_slice(line);
            out.cells
                .resize(out.cells.len() + line_len - line.len(), Cell::default());
        }
    }

    /// Verticals for every lane, with the node placeholder in column `node`.
    fn vertical_line(&self, node: Option<usize>) -> Vec<Cell> {
        let mut line = Vec::with_capacity(2 * self.lanes.len());
        for (j, l) in self.lanes.iter().enumerate() {
            if j > 0 {
                line.push(Cell::default());
            }
            let bits = if Some(j) == node {
                NODE
            } else if l.dashed {
                UP | DOWN | DASHED
            } else {
                UP | DOWN
            };
            line.push(Cell {
                glyph: Glyph(bits),
                color: l.color,
            });
        }
        line
    }

    /// Computes the lanes awaited below row `i` and draws how the current ones get there.
    fn transition(
        &mut self,
        i: usize,
        n: usize,
        node_color: u32,
        parents: &[(usize, bool)],
        dangling: bool,
    ) {
        self.tracks.clear();
        self.next.clear();
        if dangling && parents.is_empty() {
            self.tracks.push(Track {
                dest: None,
                ..Track::new(n, 0, NODE_GROUP, node_color, false)
            });
        }
        // Parents already awaited by the lane right of the node join it once that lane is placed.
        let mut join_right: Vec<(bool, u32)> = Vec::new();
        let mut node_color = Some(node_color);
        for j in 0..self.lanes.len() {
            let lane = self.lanes[j];
            if j != n {
                let at = self.next.len();
                self.next.push(lane);
                self.tracks
                    .push(Track::new(j, at, j as u32, lane.color, lane.dashed));
                if j == n + 1 {
                    for &(dashed, color) in &join_right {
                        self.next[at].dashed &= dashed;
                        self.tracks
                            .push(Track::new(n, at, NODE_GROUP, color, dashed));
                    }
                }
                continue;
            }
            let block_start = self.next.len();
            for &(target, dashed) in parents {
                let color = self.lanes[n].color;
                // Joining an adjacent lane is a plain merge; joining a distant one would cross the
                // lanes in between, so that parent gets its own lane and converges later, when
                // the lanes between may have gone.
                if j > 0 && self.lanes[j - 1].target == target {
                    let at = block_start - 1;
                    self.next[at].dashed &= dashed;
                    self.tracks
                        .push(Track::new(n, at, NODE_GROUP, color, dashed));
                    continue;
                }
                if self.lanes.get(j + 1).is_some_and(|l| l.target == target) {
                    join_right.push((dashed, color));
                    continue;
                }
                let color = match node_color.take() {
                    Some(c) => c,
                    None => self.fresh_color(),
                };
                let at = self.next.len();
                self.next.push(Lane {
                    target,
                    dashed,
                    color,
                });
                self.tracks
                    .push(Track::new(n, at, NODE_GROUP, color, dashed));
            }
        }

        // Merge lanes awaiting the same parent: all of those awaiting the next row (its node must
        // have a single lane above it), and neighbours anywhere (free narrowing).
        self.merged.clear();
        self.map.clear();
        let mut next_row_lane: Option<usize> = None;
        for lane in &self.next {
            let mut into = if lane.target == i + 1 {
                next_row_lane
            } else {
                None
            };
            if into.is_none() && self.merged.last().is_some_and(|l| l.target == lane.target) {
                into = Some(self.merged.len() - 1);
            }
            match into {
                Some(k) => {
                    self.merged[k].dashed &= lane.dashed;
                    self.map.push(k);
                }
                None => {
                    if lane.target == i + 1 {
                        next_row_lane = Some(self.merged.len());
                    }
                    self.map.push(self.merged.len());
                    self.merged.push(*lane);
                }
            }
        }
        for t in &mut self.tracks {
            if t.dest.is_some() {
                t.dest = self.map.get(t.next).copied();
            }
        }
        std::mem::swap(&mut self.lanes, &mut self.merged);
        self.sched.run(&mut self.tracks, &mut self.lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, parents: &[&str]) -> LaneInput {
        LaneInput::new(id, parents.iter().copied())
    }

    /// The whole graph as text, each node line followed by its id.
    fn draw(rows: &[LaneInput], set: GlyphSet) -> String {
        let l = layout(rows);
        let mut out = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            for (k, line) in render_text(&l.row(i), set).into_iter().enumerate() {
                if k == 0 {
                    out.push(format!("{:w$} {}", line, r.id, w = l.char_width()));
                } else {
                    out.push(line);
                }
            }
        }
        out.iter()
            .map(|s| s.trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn expect(rows: &[LaneInput], unicode: &[&str], ascii: &[&str]) {
        assert_eq!(draw(rows, GlyphSet::Unicode), unicode.join("\n"), "unicode");
        assert_eq!(draw(rows, GlyphSet::Ascii), ascii.join("\n"), "ascii");
    }

    #[test]
    fn linear() {
        let rows = vec![row("c", &["b"]), row("b", &["a"]), row("a", &[])];
        #[rustfmt::skip]
        expect(&rows, &[
            "● c",
            "● b",
            "● a",
        ], &[
            "* c",
            "* b",
            "* a",
        ]);
    }

    #[test]
    fn fork() {
        let rows = vec![row("x", &["a"]), row("y", &["a"]), row("a", &[])];
        #[rustfmt::skip]
        expect(&rows, &[
            "●   x",
            "│ ● y",
            "├─╯",
            "●   a",
        ], &[
            "*   x",
            "| * y",
            "|/",
            "*   a",
        ]);
    }

    #[test]
    fn merge() {
        let rows = vec![
            row("m", &["a", "b"]),
            row("b", &["r"]),
            row("a", &["r"]),
            row("r", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●   m",
            "├─╮",
            "│ ● b",
            "● │ a",
            "├─╯",
            "●   r",
        ], &[
            "*   m",
            "|\\",
            "| * b",
            "* | a",
            "|/",
            "*   r",
        ]);
    }

    #[test]
    fn merge3() {
        let rows = vec![
            row("m", &["a", "b", "c"]),
            row("c", &["r"]),
            row("b", &["r"]),
            row("a", &["r"]),
            row("r", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●     m",
            "├─┬─╮",
            "│ │ ● c",
            "│ ● │ b",
            "│ ├─╯",
            "● │   a",
            "├─╯",
            "●     r",
        ], &[
            "*     m",
            "|\\__",
            "| | * c",
            "| * | b",
            "| |/",
            "* |   a",
            "|/",
            "*     r",
        ]);
    }

    #[test]
    fn branch3() {
        let rows = vec![
            row("x", &["r"]),
            row("y", &["r"]),
            row("z", &["r"]),
            row("r", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●   x",
            "│ ● y",
            "├─╯",
            "│ ● z",
            "├─╯",
            "●   r",
        ], &[
            "*   x",
            "| * y",
            "|/",
            "| * z",
            "|/",
            "*   r",
        ]);
    }

    #[test]
    fn two_roots() {
        let rows = vec![
            row("a2", &["a1"]),
            row("b2", &["b1"]),
            row("a1", &[]),
            row("b1", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●   a2",
            "│ ● b2",
            "● │ a1",
            "╭─╯",
            "●   b1",
        ], &[
            "*   a2",
            "| * b2",
            "* | a1",
            " /",
            "*   b1",
        ]);
    }

    #[test]
    fn criss_cross() {
        let rows = vec![
            row("m1", &["a", "b"]),
            row("m2", &["b", "a"]),
            row("a", &["r"]),
            row("b", &["r"]),
            row("r", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●     m1",
            "├─╮",
            "│ │ ● m2",
            "│ ├─┤",
            "├─┼─╯",
            "● │   a",
            "│ ●   b",
            "├─╯",
            "●     r",
        ], &[
            "*     m1",
            "|\\",
            "| | * m2",
            "| |/|",
            "|_|/",
            "* |   a",
            "| *   b",
            "|/",
            "*     r",
        ]);
    }

    #[test]
    fn dangling() {
        let rows = vec![
            row("b", &["a"]),
            row("a", &["gone"]),
            row("x", &["a", "missing"]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "● b",
            "● a",
            "~",
            "● x",
            "~",
        ], &[
            "* b",
            "* a",
            "~",
            "* x",
            "~",
        ]);
    }

    #[test]
    fn mixed_dangling() {
        let rows = vec![row("x", &["a", "missing"]), row("y", &["a"]), row("a", &[])];
        #[rustfmt::skip]
        expect(&rows, &[
            "●~  x",
            "│ ● y",
            "├─╯",
            "●   a",
        ], &[
            "*~  x",
            "| * y",
            "|/",
            "*   a",
        ]);
    }

    #[test]
    fn depends_on() {
        let rows = vec![
            row("c", &["b"]).with_dashed(["a"]),
            row("b", &["a"]),
            row("a", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●   c",
            "├┄╮",
            "● ┆ b",
            "├┄╯",
            "●   a",
        ], &[
            "*   c",
            "|\\",
            "* : b",
            "|/",
            "*   a",
        ]);
    }

    #[test]
    fn collapse() {
        let rows = vec![
            row("m", &["a", "b"]),
            row("z", &["y"]),
            row("b", &["r"]),
            row("y", &["r"]),
            row("a", &["r"]),
            row("r", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●     m",
            "├─╮",
            "│ │ ● z",
            "│ ● │ b",
            "│ │ ● y",
            "│ ├─╯",
            "● │   a",
            "├─╯",
            "●     r",
        ], &[
            "*     m",
            "|\\",
            "| | * z",
            "| * | b",
            "| | * y",
            "| |/",
            "* |   a",
            "|/",
            "*     r",
        ]);
    }

    #[test]
    fn staircase() {
        let rows = vec![
            row("h1", &["p"]),
            row("h2", &["q"]),
            row("h3", &["s"]),
            row("p", &[]),
            row("q", &[]),
            row("s", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●     h1",
            "│ ●   h2",
            "│ │ ● h3",
            "● │ │ p",
            " ╱ ╱",
            "● │   q",
            "╭─╯",
            "●     s",
        ], &[
            "*     h1",
            "| *   h2",
            "| | * h3",
            "* | | p",
            " / /",
            "* |   q",
            " /",
            "*     s",
        ]);
    }

    #[test]
    fn lone_roots() {
        let rows = vec![row("a", &[]), row("b", &[])];
        #[rustfmt::skip]
        expect(&rows, &[
            "● a",
            "",
            "● b",
        ], &[
            "* a",
            "",
            "* b",
        ]);
    }

    #[test]
    fn node_glyph_is_the_callers() {
        let rows = [row("head", &["base"]), row("base", &[])];
        let l = layout(&rows);
        assert_eq!(
            render_text_with_node(&l.row(0), GlyphSet::Unicode, '◉'),
            ["◉"]
        );
        assert_eq!(
            render_text_with_node(&l.row(1), GlyphSet::Ascii, 'o'),
            ["o"]
        );
        let node = l.row(0).line(0).unwrap()[0];
        assert!(node.glyph.is_node());
        assert_eq!(node.glyph.to_char(GlyphSet::Ascii), '*');
    }

    #[test]
    fn lanes_keep_their_colour() {
        let rows = [
            row("m", &["a", "b"]),
            row("b", &["r"]),
            row("a", &["r"]),
            row("r", &[]),
        ];
        let l = layout(&rows);
        let colour = |r: usize, line: usize, c: usize| l.row(r).line(line).unwrap()[c].color;
        // The first parent continues the merge's lane; the second gets a lane of its own.
        assert_eq!(colour(0, 0, 0), colour(2, 0, 0));
        assert_ne!(colour(0, 0, 0), colour(1, 0, 2));
        assert_eq!(colour(0, 1, 2), colour(1, 0, 2));
        // The branch keeps its colour along the run back into the main lane.
        assert_eq!(colour(2, 1, 1), colour(1, 0, 2));
        assert_eq!(colour(2, 1, 0), colour(0, 0, 0));
    }

    #[test]
    fn lines_and_rows_map_both_ways() {
        let rows = [row("m", &["a", "b"]), row("b", &["a"]), row("a", &[])];
        let l = layout(&rows);
        assert_eq!(
            (l.len(), l.width(), l.char_width(), l.total_lines()),
            (3, 2, 3, 5)
        );
        assert_eq!(
            [l.first_line(0), l.first_line(1), l.first_line(2)],
            [0, 2, 4]
        );
        assert_eq!(l.row_at_line(3), Some((1, 1)));
        assert_eq!(l.row_at_line(5), None);
        assert_eq!(l.row(7).line_count(), 0);
        assert_eq!(l.row(1).node_column(), 1);
        assert!(render_text(&l.row(99), GlyphSet::Ascii).is_empty());
    }

    #[test]
    fn odd_input_does_not_panic() {
        let l = layout(&[]);
        assert_eq!((l.len(), l.width(), l.total_lines()), (0, 0, 0));
        let rows = [
            row("a", &["a", "b", "b", "", "z"]),
            row("", &["a"]),
            row("b", &["b", "a"]),
            row("a", &["b"]),
            row("c", &["a", "c", "nope"]),
        ];
        let l = layout(&rows);
        for i in 0..rows.len() {
            assert!(l.row(i).line_count() >= 1);
        }
    }

    #[test]
    fn converging_past_a_fork_steps_aside() {
        // Below `x`, the lane awaiting `p` (column 2) must reach column 0 while `x` forks right and
        // pushes `a` right: each move waits on the next. The `p` lane steps into a spare column,
        // `a` shifts while `x` forks, and `p` comes back crossing them.
        let rows = [
            row("h1", &["x"]),
            row("h2", &["a"]),
            row("h3", &["p"]),
            row("x", &["p", "q"]),
            row("p", &[]),
            row("a", &[]),
            row("q", &[]),
        ];
        #[rustfmt::skip]
        expect(&rows, &[
            "●       h1",
            "│ ●     h2",
            "│ │ ●   h3",
            "● │ │   x",
            "│ │ ╰─╮",
            "├─╮╲  │",
            "├─┼─┼─╯",
            "● │ │   p",
            " ╱ ╱",
            "│ ●     a",
            "●       q",
        ], &[
            "*       h1",
            "| *     h2",
            "| | *   h3",
            "* | |   x",
            "| |  \\",
            "|\\ \\  |",
            "|_|_|/",
            "* | |   p",
            " / /",
            "| *     a",
            "*       q",
        ]);
    }
}

#[cfg(test)]
mod property {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::{HashMap, HashSet};

    fn random_rows(rng: &mut StdRng) -> Vec<LaneInput> {
        let n = rng.random_range(1..50);
        let span = rng.random_range(1..12);
        (0..n)
            .map(|i| {
                let count = match rng.random_range(0..20) {
                    0..=1 => 0,
                    2..=13 => 1,
                    14..=17 => 2,
                    18 => 3,
                    _ => 4,
                };
                let mut parents = Vec::new();
                for _ in 0..count {
                    let id = match rng.random_range(0..30) {
                        0 => format!("ghost{}", rng.random_range(0..3)),
                        1 if i > 0 => format!("r{}", rng.random_range(0..i)),
                        _ if i + 1 < n => {
                            format!("r{}", rng.random_range(i + 1..n.min(i + 1 + span)))
                        }
                        _ => "ghost".to_string(),
                    };
                    let kind = if rng.random_range(0..6) == 0 {
                        EdgeKind::Dashed
                    } else {
                        EdgeKind::Normal
                    };
                    parents.push((id, kind));
                }
                LaneInput {
                    id: format!("r{i}"),
                    parents,
                }
            })
            .collect()
    }

    /// Follows every drawn line from each node and checks it arrives exactly at that row's parents.
    fn check(rows: &[LaneInput]) -> Result<(), String> {
        FORCED.with(|f| f.set(0));
        let l = layout(rows);
        if FORCED.with(|f| f.get()) != 0 {
            return Err("scheduler had to force a move".into());
        }
        let index: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .rev()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let target = |i: usize, p: &str| index.get(p).copied().filter(|&t| t > i);

        let chars = l.char_width();
        let mut grid: Vec<Vec<Glyph>> = Vec::new();
        for i in 0..rows.len() {
            let r = l.row(i);
            if l.first_line(i) != grid.len() || r.line_count() == 0 {
                return Err(format!("row {i}: bad line bookkeeping"));
            }
            if l.row_at_line(grid.len()) != Some((i, 0)) {
                return Err(format!("row {i}: row_at_line disagrees"));
            }
            for (k, line) in r.lines().enumerate() {
                if line.len() > chars {
                    return Err(format!("row {i}: line wider than width()"));
                }
                let nodes: Vec<usize> = (0..line.len())
                    .filter(|&c| line[c].glyph.is_node())
                    .collect();
                let expect = if k == 0 {
                    vec![2 * r.node_column()]
                } else {
                    vec![]
                };
                if nodes != expect {
                    return Err(format!(
                        "row {i} line {k}: nodes at {nodes:?}, expected {expect:?}"
                    ));
                }
                let mut g: Vec<Glyph> = line.iter().map(|c| c.glyph).collect();
                g.resize(chars, Glyph::BLANK);
                grid.push(g);
            }
        }
        if grid.len() != l.total_lines() {
            return Err("total_lines mismatch".into());
        }
        let at = |line: usize, c: usize| {
            grid.get(line)
                .and_then(|g| g.get(c))
                .copied()
                .unwrap_or_default()
        };

        // Every drawn half-edge must meet its neighbour.
        for (line, g) in grid.iter().enumerate() {
            for (c, &cell) in g.iter().enumerate() {
                if cell.is_node() || cell.is_dangling() && !cell.up() {
                    continue;
                }
                let (l1, c1) = (line.wrapping_sub(1), c.wrapping_sub(1));
                // A lane end may also meet a slant that carries on diagonally.
                let meets_below = |l: usize, c: usize| {
                    let g = at(l, c);
                    g.up()
                        || g.is_node()
                        || at(l, c.wrapping_sub(1)).slants_left()
                        || at(l, c + 1).slants_right()
                };
                let meets_above = |l: usize, c: usize| {
                    let g = at(l, c);
                    g.down()
                        || g.is_node()
                        || at(l, c + 1).slants_left()
                        || at(l, c.wrapping_sub(1)).slants_right()
                };
                let ok = if cell.slants_left() {
                    meets_above(l1, c + 1) && meets_below(line + 1, c1)
                } else if cell.slants_right() {
                    meets_above(l1, c1) && meets_below(line + 1, c + 1)
                } else {
                    (!cell.down() || meets_below(line + 1, c))
                        && (!cell.up() || meets_above(l1, c))
                        && (!cell.right() || at(line, c + 1).left())
                        && (!cell.left() || at(line, c1).right())
                };
                if !ok {
                    return Err(format!("line {line} char {c}: loose end {cell:?}"));
                }
            }
        }

        for (i, r) in rows.iter().enumerate() {
            let want: HashSet<usize> = r.parents.iter().filter_map(|(p, _)| target(i, p)).collect();
            let dangling = r.parents.iter().any(|(p, _)| target(i, p).is_none());
            let start = (l.first_line(i), 2 * l.row(i).node_column());
            let (mut reached, mut stub) = (HashSet::new(), at(start.0, start.1 + 1).is_dangling());
            let mut seen = HashSet::new();
            let mut todo = vec![(start.0 + 1, start.1, DOWN)];
            let below = at(start.0 + 1, start.1);
            let slant = at(start.0 + 1, start.1 + 1).slants_right()
                || start.1 > 0 && at(start.0 + 1, start.1 - 1).slants_left();
            if !(below.up() || below.is_node() || slant || want.is_empty()) {
                return Err(format!("row {i}: nothing leaves the node"));
            }
            while let Some((line, c, moving)) = todo.pop() {
                if !seen.insert((line, c, moving)) {
                    continue;
                }
                let g = at(line, c);
                if moving == DOWN && !g.up() && !g.is_node() {
                    // A slant starting under this lane carries it two characters aside.
                    if c > 0 && at(line, c - 1).slants_left() {
                        todo.push((line + 1, c - 2, DOWN));
                    }
                    if at(line, c + 1).slants_right() {
                        todo.push((line + 1, c + 2, DOWN));
                    }
                    continue;
                }
                // Horizontal runs may only be followed the way they flow.
                let entered = match moving {
                    DOWN => g.up() || g.is_node(),
                    LEFT => g.right() && (g.0 & (GAP | PASS) == 0 || g.0 & FLOW_L != 0),
                    _ => g.left() && (g.0 & (GAP | PASS) == 0 || g.0 & FLOW_R != 0),
                };
                if !entered {
                    continue;
                }
                if g.is_node() {
                    reached.insert(l.row_at_line(line).map(|x| x.0).unwrap_or(usize::MAX));
                    continue;
                }
                if g.is_dangling() {
                    stub = true;
                    continue;
                }
                let back = match moving {
                    LEFT => RIGHT,
                    RIGHT => LEFT,
                    _ => UP,
                };
                for dir in [DOWN, LEFT, RIGHT] {
                    let has = g.0 & dir != 0;
                    if !has || dir == back || (g.is_crossing() && dir != moving) {
                        continue;
                    }
                    match dir {
                        DOWN => todo.push((line + 1, c, DOWN)),
                        LEFT if c > 0 => todo.push((line, c - 1, LEFT)),
                        RIGHT => todo.push((line, c + 1, RIGHT)),
                        _ => {}
                    }
                }
            }
            if reached != want {
                return Err(format!("row {i}: reaches {reached:?}, parents {want:?}"));
            }
            if stub != dangling {
                return Err(format!(
                    "row {i}: dangling marker reached={stub}, expected {dangling}"
                ));
            }
        }

        // Lanes never outnumber the edges in flight (each lane carries at least one), plus the
        // column of a brand-new head.
        let mut bound = 1;
        for cut in 0..rows.len() {
            let mut flying = 0;
            for (c, r) in rows.iter().enumerate().take(cut + 1) {
                for (p, _) in &r.parents {
                    if target(c, p).is_some_and(|t| t > cut) {
                        flying += 1;
                    }
                }
            }
            bound = bound.max(flying + 1);
        }
        if l.width() > bound {
            return Err(format!(
                "width {} exceeds concurrency bound {bound}",
                l.width()
            ));
        }
        Ok(())
    }

    #[test]
    fn random_dags_draw_every_edge() {
        DETOURS.with(|d| d.set(0));
        let mut smallest: Option<(usize, u64)> = None;
        for seed in 0..3000u64 {
            let before = DETOURS.with(|d| d.get());
            let mut rng = StdRng::seed_from_u64(seed);
            let rows = random_rows(&mut rng);
            if let Err(e) = check(&rows) {
                let l = layout(&rows);
                let mut text = Vec::new();
                for (i, r) in rows.iter().enumerate() {
                    for (k, line) in render_text(&l.row(i), GlyphSet::Unicode)
                        .into_iter()
                        .enumerate()
                    {
                        text.push(if k == 0 {
                            format!("{line:w$} {} {:?}", r.id, r.parents, w = l.char_width() + 1)
                        } else {
                            line
                        });
                    }
                }
                panic!("seed {seed}: {e}\n{}", text.join("\n"));
            }
            if DETOURS.with(|d| d.get()) > before && smallest.is_none_or(|(n, _)| rows.len() < n) {
                smallest = Some((rows.len(), seed));
            }
        }
        println!(
            "detours: {}, smallest example {smallest:?}",
            DETOURS.with(|d| d.get())
        );
    }
}
