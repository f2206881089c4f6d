//! Compare mode of the explorer: the union graph with each revision marked, and the side-by-side
//! diff, rendered into ratatui's `TestBackend` (insta snapshots), on two checkouts built here: a
//! CRLF copy, a file missing on one side, an edited down_revision, a renamed file, an edited body,
//! and a revision only the right side has.

use std::fs;
use std::path::Path;

use migscope::compare::{self, SideSpec};
use migscope::config::ConfigOptions;
use migscope::render::lanes::GlyphSet;
use migscope::tui::compare::{CompareState, Mark, view};
use migscope::tui::{Key, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn body(id: &str, down: &str, op: &str) -> String {
    format!(
        "\"\"\"change {id}\n\nRevision ID: {id}\nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\n\
         from alembic import op\n\nrevision = '{id}'\ndown_revision = {down}\n\n\n\
         def upgrade():\n    {op}\n\n\ndef downgrade():\n    pass\n"
    )
}

fn write(dir: &Path, file: &str, text: &str) {
    fs::write(dir.join(file), text).unwrap();
}

/// Two bare versions directories that differ in every way compare mode marks.
fn fixture(tmp: &Path) -> CompareState {
    let (l, r) = (tmp.join("left"), tmp.join("right"));
    fs::create_dir_all(&l).unwrap();
    fs::create_dir_all(&r).unwrap();
    let both = |file: &str, text: &str| {
        write(&l, file, text);
        write(&r, file, text);
    };
    both("base_rev.py", &body("base", "None", "pass"));
    // The Windows copy: CRLF line endings only.
    let a = body("a", "'base'", "op.create_table('users')");
    write(&l, "a_rev.py", &a);
    write(&r, "a_rev.py", &a.replace('\n', "\r\n"));
    // Missing on the right.
    write(&l, "b_rev.py", &body("b", "'a'", "op.drop_table('old')"));
    // The right copy re-parents c.
    write(&l, "c_rev.py", &body("c", "'a'", "pass"));
    write(&r, "c_rev.py", &body("c", "'base'", "pass"));
    // Same content, another file name.
    let d = body("d", "'c'", "pass");
    write(&l, "d_rev.py", &d);
    write(&r, "d_renamed.py", &d);
    // A different body.
    write(
        &l,
        "e_rev.py",
        &body("e", "'d'", "op.add_column('users', sa.Column('name'))"),
    );
    write(
        &r,
        "e_rev.py",
        &body(
            "e",
            "'d'",
            "op.add_column('users', sa.Column('full_name'))\n    op.create_index('ix_name', 'users', ['full_name'])",
        ),
    );
    // Only on the right.
    write(&r, "f_rev.py", &body("f", "'e'", "pass"));
    let spec = |p: &Path| SideSpec::Path {
        path: p.to_path_buf(),
        typed: None,
    };
    let mut pair = compare::load_pair(&spec(&l), &spec(&r), &ConfigOptions::new(tmp), &[])
        .expect("both sides load");
    // Stable headers whatever the temporary directory.
    pair.left.label = "left".into();
    pair.right.label = "right".into();
    CompareState::new(pair, GlyphSet::Unicode, (120, 30))
}

fn render(s: &CompareState) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| view::draw(f, s)).unwrap();
    t.backend().to_string()
}

fn mark_of(s: &CompareState, id: &str) -> Mark {
    let r = s.rows.iter().position(|r| r.id == id).unwrap();
    s.mark(r)
}

fn selected_id(s: &CompareState) -> &str {
    &s.rows[s.selected].id
}

fn select(s: &mut CompareState, id: &str) {
    let r = s.rows.iter().position(|r| r.id == id).unwrap();
    s.select(r);
}

#[test]
fn union_graph_marks_every_kind_of_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let s = fixture(tmp.path());
    assert_eq!(mark_of(&s, "base"), Mark::Same);
    assert_eq!(mark_of(&s, "a"), Mark::Whitespace);
    assert_eq!(mark_of(&s, "b"), Mark::OnlyLeft);
    assert_eq!(mark_of(&s, "c"), Mark::Graph);
    assert_eq!(mark_of(&s, "d"), Mark::Renamed);
    assert_eq!(mark_of(&s, "e"), Mark::Content);
    assert_eq!(mark_of(&s, "f"), Mark::OnlyRight);
    // The union keeps LEFT's b and gains RIGHT's f: two heads.
    let mut heads = s.cmp.union.heads.clone();
    heads.sort();
    assert_eq!(heads, ["b", "f"]);
    let text = render(&s);
    assert!(text.contains("2 heads"), "{text}");
    insta::assert_snapshot!("compare_union", text);
}

#[test]
fn n_walks_the_differences_and_skips_identical_revisions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = fixture(tmp.path());
    // Opens on the first difference, newest first.
    assert_ne!(s.mark(s.selected), Mark::Same);
    assert!((0..s.selected).all(|r| s.mark(r) == Mark::Same));
    let mut seen = vec![selected_id(&s).to_string()];
    for _ in 0..6 {
        s.handle_key(Key::Char('n'));
        seen.push(selected_id(&s).to_string());
    }
    assert!(!seen.contains(&"base".to_string()), "{seen:?}");
    assert_eq!(seen[0], seen[6], "wraps around: {seen:?}");
    let mut distinct = seen[..6].to_vec();
    distinct.sort();
    assert_eq!(distinct, ["a", "b", "c", "d", "e", "f"]);
    s.handle_key(Key::Char('N'));
    assert_eq!(selected_id(&s), seen[5]);
    // Enter on an identical revision says so and stays.
    select(&mut s, "base");
    s.handle_key(Key::Enter);
    assert_eq!(s.view, View::Compare);
    assert_eq!(s.status.as_deref(), Some("identical on both sides"));
}

#[test]
fn side_by_side_diff_of_a_changed_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = fixture(tmp.path());
    select(&mut s, "e");
    s.handle_key(Key::Enter);
    assert_eq!(s.view, View::Diff);
    let text = render(&s);
    assert!(text.contains("full_name"), "{text}");
    assert!(text.contains("LEFT e_rev.py"), "{text}");
    insta::assert_snapshot!("compare_diff_content", text);
    // On a short terminal the rows scroll; Enter goes back to the graph.
    s.resize(120, 16);
    let scroll = |s: &CompareState| s.diff.as_ref().unwrap().scroll;
    s.handle_key(Key::Char('g'));
    assert_eq!(scroll(&s), 0);
    s.handle_key(Key::Char('j'));
    assert_eq!(scroll(&s), 1);
    s.handle_key(Key::Char('G'));
    let rows = s.diff.as_ref().unwrap().rows.rows.len();
    assert_eq!(scroll(&s), rows - view::diff_page(16));
    assert!(render(&s).contains("def downgrade"));
    s.handle_key(Key::Enter);
    assert_eq!(s.view, View::Compare);
    assert_eq!(selected_id(&s), "e");
}

#[test]
fn side_by_side_of_graph_and_line_ending_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = fixture(tmp.path());
    select(&mut s, "c");
    s.handle_key(Key::Enter);
    let text = render(&s);
    assert!(text.contains("down_revision: a → base"), "{text}");
    insta::assert_snapshot!("compare_diff_graph", text);
    s.handle_key(Key::Char('q'));
    // The CRLF copy: every line the same, the note says what differs.
    select(&mut s, "a");
    s.handle_key(Key::Enter);
    let d = s.diff.as_ref().unwrap();
    assert!(d.rows.blocks.is_empty());
    assert!(render(&s).contains("line endings (CRLF/LF)"));
    s.handle_key(Key::Esc);
    // A file one side lacks is shown against nothing.
    select(&mut s, "b");
    s.handle_key(Key::Enter);
    let text = render(&s);
    assert!(text.contains("(not on RIGHT)"), "{text}");
    insta::assert_snapshot!("compare_diff_only_left", text);
}

#[test]
fn narrow_terminal_and_help_from_the_key_table() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = fixture(tmp.path());
    s.resize(80, 24);
    select(&mut s, "c");
    insta::assert_snapshot!("compare_narrow", render(&s));
    s.handle_key(Key::Char('?'));
    assert_eq!(s.view, View::Help);
    let text = render(&s);
    assert!(text.contains("next difference"), "{text}");
    s.handle_key(Key::Char('q'));
    assert_eq!(s.view, View::Compare);
    // q from the graph leaves compare mode.
    assert_eq!(s.handle_key(Key::Char('q')), migscope::tui::Outcome::Quit);
}
