//! Keys as data: one table drives the input handler, the help screen and the bottom bar, so they
//! cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key, independent of the terminal library (tests build these directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Backspace,
    /// Ctrl-C: always quits.
    Interrupt,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.modifiers.contains(KeyModifiers::CONTROL) {
            return match ev.code {
                KeyCode::Char('c') => Some(Key::Interrupt),
                _ => None,
            };
        }
        Some(match ev.code {
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Backspace => Key::Backspace,
            _ => return None,
        })
    }

    pub fn name(self) -> String {
        match self {
            Key::Char(' ') => "Space".into(),
            Key::Char(c) => c.to_string(),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Backspace => "Backspace".into(),
            Key::Interrupt => "Ctrl-C".into(),
        }
    }
}

/// What the user sees: the graph, a revision's file, every problem, or the key list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Graph,
    Source,
    Problems,
    Help,
    /// Compare mode: the union graph of two checkouts.
    Compare,
    /// Compare mode: a revision's two files side by side.
    Diff,
    /// The database: what is wrong and how to repair it.
    Doctor,
    /// Alembic's output.
    Log,
}

impl View {
    pub fn title(self) -> &'static str {
        match self {
            View::Graph => "graph",
            View::Source => "file",
            View::Problems => "problems",
            View::Help => "help",
            View::Compare => "compare",
            View::Diff => "diff",
            View::Doctor => "doctor",
            View::Log => "log",
        }
    }
    fn bit(self) -> u8 {
        match self {
            View::Graph => GRAPH,
            View::Source => SOURCE,
            View::Problems => PROBLEMS,
            View::Help => HELP,
            View::Compare => COMPARE,
            View::Diff => DIFF,
            View::Doctor => DOCTOR,
            View::Log => LOG,
        }
    }
}

const GRAPH: u8 = 1;
const SOURCE: u8 = 2;
const PROBLEMS: u8 = 4;
const HELP: u8 = 8;
const COMPARE: u8 = 16;
const DIFF: u8 = 32;
const DOCTOR: u8 = 64;
const LOG: u8 = 128;
const LISTS: u8 = GRAPH | SOURCE | PROBLEMS | HELP | COMPARE | DIFF | DOCTOR | LOG;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Search,
    NextMatch,
    PrevMatch,
    NextHead,
    Parent,
    Child,
    /// Graph: open the selected revision's file; file view: back to the graph.
    ToggleSource,
    /// Problems view: go to the problem's revision.
    JumpToProblem,
    Problems,
    Help,
    Fold,
    FoldAll,
    /// Graph: ask for another checkout and open compare mode on it.
    CompareWith,
    /// Scroll the details pane.
    DetailsUp,
    DetailsDown,
    /// Back to the graph, or quit from the graph.
    Back,
    Quit,
    /// The database's side (see [`Action::needs_database`]).
    JumpToDatabase,
    Doctor,
    Log,
    Refresh,
    Stamp,
    /// Doctor: stamp what the schema suggests.
    StampSuggested,
    Undo,
    Upgrade,
    Downgrade,
    /// Graph fixes ([`super::fixes`]): a merge revision over every head.
    MergeHeads,
    /// Point the selected revision at other parents, picked in the graph.
    Reparent,
}

impl Action {
    /// Only works with a database (the bottom bar hides it otherwise).
    pub fn needs_database(self) -> bool {
        matches!(
            self,
            Action::JumpToDatabase
                | Action::Doctor
                | Action::Log
                | Action::Refresh
                | Action::Stamp
                | Action::StampSuggested
                | Action::Undo
                | Action::Upgrade
                | Action::Downgrade
        )
    }

    /// Writes to the database (refused with `--read-only`).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Stamp
                | Action::StampSuggested
                | Action::Undo
                | Action::Upgrade
                | Action::Downgrade
        )
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    views: u8,
    pub help: &'static str,
    /// Shown in the bottom bar (the rest only in help).
    pub bar: Option<&'static str>,
}

impl Binding {
    pub fn applies_to(&self, view: View) -> bool {
        self.views & view.bit() != 0
    }
    /// `j/↓`
    pub fn key_names(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join("/")
    }
}

const fn b(
    keys: &'static [Key],
    action: Action,
    views: u8,
    help: &'static str,
    bar: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        action,
        views,
        help,
        bar,
    }
}

/// Every key of every view; the first matching row wins.
pub static BINDINGS: &[Binding] = &[
    b(
        &[Key::Char('k'), Key::Up],
        Action::Up,
        LISTS,
        "previous row",
        Some("up"),
    ),
    b(
        &[Key::Char('j'), Key::Down],
        Action::Down,
        LISTS,
        "next row",
        Some("down"),
    ),
    b(
        &[Key::Char('g'), Key::Home],
        Action::Top,
        LISTS,
        "first row",
        None,
    ),
    b(
        &[Key::Char('G'), Key::End],
        Action::Bottom,
        LISTS,
        "last row",
        None,
    ),
    b(&[Key::PageUp], Action::PageUp, LISTS, "page up", None),
    b(&[Key::PageDown], Action::PageDown, LISTS, "page down", None),
    b(
        &[Key::Char('/')],
        Action::Search,
        GRAPH,
        "search ids, messages, labels, file names and table names",
        Some("search"),
    ),
    b(
        &[Key::Char('n')],
        Action::NextMatch,
        GRAPH,
        "next match",
        Some("next"),
    ),
    b(
        &[Key::Char('N')],
        Action::PrevMatch,
        GRAPH,
        "previous match",
        None,
    ),
    b(
        &[Key::Char('h')],
        Action::NextHead,
        GRAPH,
        "next head",
        Some("head"),
    ),
    b(
        &[Key::Char('p')],
        Action::Parent,
        GRAPH,
        "first parent",
        Some("parent"),
    ),
    b(
        &[Key::Char('c')],
        Action::Child,
        GRAPH,
        "first child",
        Some("child"),
    ),
    b(
        &[Key::Enter],
        Action::ToggleSource,
        GRAPH | SOURCE,
        "the revision's file (and back); on a ghost row: restore it",
        Some("file"),
    ),
    b(
        &[Key::Enter],
        Action::JumpToProblem,
        PROBLEMS,
        "go to the problem's revision",
        Some("go to"),
    ),
    b(
        &[Key::Char('z')],
        Action::Fold,
        GRAPH,
        "fold / unfold the linear run at the cursor",
        Some("fold"),
    ),
    b(
        &[Key::Char('Z')],
        Action::FoldAll,
        GRAPH,
        "fold every long linear run / unfold all",
        None,
    ),
    b(
        &[Key::Char('K')],
        Action::DetailsUp,
        GRAPH | COMPARE,
        "scroll the details pane up",
        None,
    ),
    b(
        &[Key::Char('J')],
        Action::DetailsDown,
        GRAPH | COMPARE,
        "scroll the details pane down",
        None,
    ),
    b(
        &[Key::Char('C')],
        Action::CompareWith,
        GRAPH,
        "compare with another checkout (a path or git:REF)",
        None,
    ),
    b(
        &[Key::Char('n')],
        Action::NextMatch,
        COMPARE | DIFF,
        "next difference (revision; in the diff, changed lines)",
        Some("next diff"),
    ),
    b(
        &[Key::Char('N')],
        Action::PrevMatch,
        COMPARE | DIFF,
        "previous difference",
        None,
    ),
    b(
        &[Key::Enter],
        Action::ToggleSource,
        COMPARE | DIFF,
        "the two files side by side (and back)",
        Some("diff"),
    ),
    b(
        &[Key::Char('P')],
        Action::Problems,
        GRAPH | SOURCE | HELP,
        "every problem",
        Some("problems"),
    ),
    b(
        &[Key::Char('@')],
        Action::JumpToDatabase,
        GRAPH,
        "jump to the database's revision (its version table row)",
        Some("db rev"),
    ),
    b(
        &[Key::Char('s')],
        Action::Stamp,
        GRAPH,
        "stamp the database at this revision: preview, then confirm",
        Some("stamp"),
    ),
    b(
        &[Key::Char('s'), Key::Enter],
        Action::StampSuggested,
        DOCTOR,
        "stamp what the schema suggests: preview, then confirm",
        Some("stamp it"),
    ),
    b(
        &[Key::Char('U')],
        Action::Undo,
        GRAPH | DOCTOR,
        "undo the last journaled stamp or graph fix",
        None,
    ),
    b(
        &[Key::Char('u')],
        Action::Upgrade,
        GRAPH,
        "upgrade the database to this revision with Alembic: plan, then confirm",
        Some("upgrade"),
    ),
    b(
        &[Key::Char('d')],
        Action::Downgrade,
        GRAPH,
        "downgrade the database to this revision with Alembic: plan, then confirm",
        None,
    ),
    b(
        &[Key::Char('m')],
        Action::MergeHeads,
        GRAPH,
        "merge every head into a new revision: preview, then confirm",
        None,
    ),
    b(
        &[Key::Char('r')],
        Action::Reparent,
        GRAPH,
        "reparent this revision onto parents picked in the graph",
        None,
    ),
    b(
        &[Key::Char('D')],
        Action::Doctor,
        GRAPH | SOURCE | PROBLEMS | HELP | LOG,
        "the doctor: what is wrong with the database, the evidence, the repair",
        Some("doctor"),
    ),
    b(
        &[Key::Char('L')],
        Action::Log,
        GRAPH | DOCTOR,
        "Alembic's output (the last run)",
        None,
    ),
    b(
        &[Key::Char('R')],
        Action::Refresh,
        GRAPH | DOCTOR,
        "read the database again; on a ghost row: restore it from git",
        None,
    ),
    b(
        &[Key::Char('?')],
        Action::Help,
        GRAPH | SOURCE | PROBLEMS | COMPARE | DIFF | DOCTOR | LOG,
        "this help",
        Some("help"),
    ),
    b(
        &[Key::Char('q'), Key::Esc],
        Action::Back,
        LISTS,
        "back one screen; quit from the first (Esc first clears a search)",
        Some("back/quit"),
    ),
    b(&[Key::Interrupt], Action::Quit, LISTS, "quit", None),
];

/// Keys while a stamp, undo or fix dialog is open.
pub static DIALOG_KEYS: &[(&str, &str)] = &[
    (
        "Enter",
        "go on: from the preview to the confirmation, then write",
    ),
    ("text", "the confirmation: type the characters it asks for"),
    ("↑/↓ PgUp/PgDn", "scroll the preview"),
    ("Esc", "cancel: nothing is written"),
];

/// Keys while picking a revision's new parents (`r`).
pub static PICKER_KEYS: &[(&str, &str)] = &[
    ("↑/↓ p c h / n", "move in the graph as usual"),
    (
        "Enter",
        "reparent onto the marked revisions (none marked: the selected one)",
    ),
    (
        "Space",
        "mark / unmark the selected revision as another parent",
    ),
    ("l", "drop / keep the revision's branch label"),
    ("Esc", "cancel"),
];

/// Keys while typing a search query.
pub static SEARCH_KEYS: &[(&str, &str)] = &[
    ("text", "type the query (matches as you type)"),
    ("Enter", "keep the query; n/N move between matches"),
    ("Esc", "cancel the search"),
];

/// The action a key triggers in a view.
pub fn action_for(view: View, key: Key) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| b.applies_to(view) && b.keys.contains(&key))
        .map(|b| b.action)
}

/// `(keys, what)` pairs for the bottom bar of a view (`database`: one is configured).
pub fn bar(view: View, database: bool) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.applies_to(view) && (database || !b.action.needs_database()))
        .filter_map(|b| b.bar.map(|label| (b.key_names(), label)))
        .collect()
}
