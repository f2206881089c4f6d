//! Evidence and suggestions on small projects written inline.

use super::*;
use crate::revision::read::read_source;
use crate::schema::{ColumnInfo, IndexInfo, TableInfo};

/// (id, parents, upgrade body statements)
type Spec<'a> = (&'a str, &'a [&'a str], &'a [&'a str]);

fn source(id: &str, down: &[&str], body: &[&str]) -> String {
    let down = match down {
        [] => "None".to_string(),
        [one] => format!("'{one}'"),
        many => format!(
            "({})",
            many.iter().map(|d| format!("'{d}', ")).collect::<String>()
        ),
    };
    let body = if body.is_empty() {
        "    pass\n".to_string()
    } else {
        body.iter().map(|l| format!("    {l}\n")).collect()
    };
    format!(
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = '{id}'\ndown_revision = {down}\n\n\ndef upgrade():\n{body}"
    )
}

fn project(specs: &[Spec]) -> (RevisionMap, OpsStore) {
    let sources: Vec<String> = specs.iter().map(|(i, d, b)| source(i, d, b)).collect();
    let records = sources
        .iter()
        .enumerate()
        .map(|(n, s)| read_source(std::path::Path::new(&format!("v/{n}.py")), s.as_bytes()))
        .collect();
    let map = RevisionMap::build(records);
    let reports: Vec<OpsReport> = (0..map.len())
        .map(|r| ops::ops(&sources[map.rev(r).record]))
        .collect();
    (map, OpsStore::from_reports(reports.iter().map(Some)))
}

/// Tables as `name(col, col, ...)`, `[ix_name]` after a column list adding an index.
fn schema(tables: &[(&str, &[&str], &[&str])]) -> SchemaSnapshot {
    let mut s = SchemaSnapshot::default();
    for (name, cols, indexes) in tables {
        s.insert(TableInfo {
            schema: None,
            name: (*name).into(),
            columns: cols
                .iter()
                .map(|c| ColumnInfo {
                    name: (*c).into(),
                    nullable: true,
                    ..ColumnInfo::default()
                })
                .collect(),
            indexes: indexes
                .iter()
                .map(|i| IndexInfo {
                    name: (*i).into(),
                    ..IndexInfo::default()
                })
                .collect(),
        });
    }
    s
}

/// One revision's evidence, with the ops that word its facts.
struct Local {
    evidence: Evidence,
    ops: Vec<Op>,
}

impl std::ops::Deref for Local {
    type Target = Evidence;
    fn deref(&self) -> &Evidence {
        &self.evidence
    }
}

fn local(body: &[&str], s: &SchemaSnapshot) -> Local {
    let src = source("a", &[], body);
    let ops = ops::upgrade_ops(&src).ops;
    let evidence = revision_evidence(&ops, s);
    Local { evidence, ops }
}

fn texts(e: &Local) -> Vec<String> {
    e.facts.iter().map(|f| f.text(&e.ops)).collect()
}

fn verdicts(map: &RevisionMap, ev: &[Evidence]) -> Vec<(String, Verdict)> {
    (0..map.len())
        .map(|r| (map.rev(r).id.clone(), ev[r].verdict))
        .collect()
}

#[test]
fn an_existing_created_table_means_applied_and_a_missing_one_not() {
    let body = ["op.create_table('users', sa.Column('id', sa.Integer()))"];
    let e = local(&body, &schema(&[("Users", &["id"], &[])]));
    assert_eq!(e.verdict, Verdict::Applied);
    assert_eq!(texts(&e), ["create_table users: table exists"]);
    let e = local(&body, &schema(&[]));
    assert_eq!(e.verdict, Verdict::NotApplied);
    assert_eq!(texts(&e), ["create_table users: table missing"]);
}

#[test]
fn a_missing_added_column_means_not_applied() {
    let body = ["op.add_column('chat_sessions', sa.Column('operator_name', sa.String(100)))"];
    let e = local(&body, &schema(&[("chat_sessions", &["id"], &[])]));
    assert_eq!(e.verdict, Verdict::NotApplied);
    assert_eq!(
        texts(&e),
        ["add_column chat_sessions.operator_name: column missing"]
    );
    let e = local(
        &body,
        &schema(&[("chat_sessions", &["id", "operator_name"], &[])]),
    );
    assert_eq!(e.verdict, Verdict::Applied);
}

#[test]
fn strong_facts_outweigh_weak_ones_and_disagreement_is_mixed() {
    // The absent dropped table is weak; the existing created one strong.
    let e = local(
        &["op.create_table('a')", "op.drop_table('gone')"],
        &schema(&[("a", &[], &[])]),
    );
    assert_eq!(e.verdict, Verdict::Applied);
    assert_eq!(e.facts[1].strength, Strength::Weak);
    // A missing index alone decides, weakly.
    let e = local(
        &["op.create_index('ix_a_x', 'a', ['x'])"],
        &schema(&[("a", &["x"], &[])]),
    );
    assert_eq!(e.verdict, Verdict::NotApplied);
    // Half done.
    let e = local(
        &["op.create_table('a')", "op.create_table('b')"],
        &schema(&[("a", &[], &[])]),
    );
    assert_eq!(e.verdict, Verdict::Mixed);
}

#[test]
fn renames_are_judged_by_which_name_exists() {
    let body = [
        "op.rename_table('old', 'new')",
        "op.alter_column('new', 'nm', new_column_name='name')",
    ];
    let e = local(&body, &schema(&[("new", &["name"], &[])]));
    assert_eq!(e.verdict, Verdict::Applied);
    let e = local(&body[..1], &schema(&[("old", &["nm"], &[])]));
    assert_eq!(e.verdict, Verdict::NotApplied);
    let e = local(&body[1..], &schema(&[("new", &["nm"], &[])]));
    assert_eq!(e.verdict, Verdict::NotApplied);
}

#[test]
fn conditional_opaque_and_dynamic_ops_are_not_counted() {
    let e = local(
        &[
            "if not exists('a'):",
            "    op.create_table('a')",
            "op.execute('UPDATE t SET x = 1')",
            "op.drop_table(name)",
        ],
        &schema(&[("a", &[], &[])]),
    );
    assert_eq!(e.verdict, Verdict::Unknown);
    assert_eq!(
        texts(&e),
        [
            "create_table a: table exists (conditional: not counted)",
            "execute \"UPDATE t SET x = 1\": SQL not checked",
            "drop_table <name>: non-literal table name",
        ]
    );
    assert!(e.facts[1].opaque);
}

#[test]
fn ddl_recognised_in_sql_is_weak_evidence() {
    let e = local(
        &[
            "op.execute('CREATE TABLE a (id int)')",
            "op.create_index('ix', 'b', ['x'])",
        ],
        &schema(&[("a", &["id"], &[]), ("b", &["x"], &["ix"])]),
    );
    assert_eq!(e.verdict, Verdict::Applied);
    assert_eq!(e.facts[1].strength, Strength::Weak);
    assert_eq!(texts(&e)[1], "create_table a: table exists (from SQL)");
}

#[test]
fn an_object_changed_again_in_the_same_revision_only_counts_once() {
    let e = local(
        &["op.create_table('tmp')", "op.drop_table('tmp')"],
        &schema(&[]),
    );
    assert_eq!(e.facts[0].support, Support::Neutral);
    assert_eq!(e.verdict, Verdict::Applied);
}

#[test]
fn a_later_drop_supersedes_the_creation() {
    let specs: &[Spec] = &[
        (
            "a",
            &[],
            &["op.create_table('x')", "op.create_table('keep')"],
        ),
        ("b", &["a"], &["op.drop_table('x')"]),
    ];
    let (map, ops) = project(specs);
    // x is gone: a's "x missing" is not held against it, since b dropped it.
    let ev = graph_evidence(&map, &ops, &schema(&[("keep", &[], &[])]));
    assert_eq!(
        verdicts(&map, &ev),
        [
            ("a".into(), Verdict::Applied),
            ("b".into(), Verdict::Applied)
        ]
    );
    assert_eq!(*ev[0].facts[0].superseded_by, [1]);
    // x still exists: b did not run, so a's fact about x stands.
    let ev = graph_evidence(&map, &ops, &schema(&[("keep", &[], &[]), ("x", &[], &[])]));
    assert_eq!(
        verdicts(&map, &ev),
        [
            ("a".into(), Verdict::Applied),
            ("b".into(), Verdict::NotApplied)
        ]
    );
    assert!(ev[0].facts[0].superseded_by.is_empty());
}

#[test]
fn a_dropped_table_takes_its_columns_facts_along() {
    let specs: &[Spec] = &[
        ("a", &[], &["op.create_table('t')"]),
        (
            "b",
            &["a"],
            &["op.add_column('t', sa.Column('c', sa.Integer()))"],
        ),
        ("c", &["b"], &["op.rename_table('t', 'u')"]),
    ];
    let (map, ops) = project(specs);
    let ev = graph_evidence(&map, &ops, &schema(&[("u", &["c"], &[])]));
    assert_eq!(
        verdicts(&map, &ev),
        [
            ("a".into(), Verdict::Unknown),
            ("b".into(), Verdict::Unknown),
            ("c".into(), Verdict::Applied)
        ]
    );
    let s = suggest_stamp(&map, &ops, &ev).unwrap();
    assert_eq!(map.ids(&s.targets), ["c"]);
}

#[test]
fn the_stamp_is_the_newest_applied_revision_with_its_empty_merges() {
    let specs: &[Spec] = &[
        ("base", &[], &["op.create_table('a')"]),
        ("left", &["base"], &["op.create_table('l')"]),
        ("right", &["base"], &["op.create_table('r')"]),
        ("merge", &["left", "right"], &[]),
        ("data", &["merge"], &["op.execute('UPDATE a SET x = 1')"]),
        ("next", &["data"], &["op.create_table('n')"]),
    ];
    let (map, ops) = project(specs);
    let all = schema(&[("a", &[], &[]), ("l", &[], &[]), ("r", &[], &[])]);
    let ev = graph_evidence(&map, &ops, &all);
    let s = suggest_stamp(&map, &ops, &ev).unwrap();
    assert_eq!(map.ids(&s.targets), ["merge"]);
    assert!(
        s.reasoning[0].starts_with("stamp merge:"),
        "{:?}",
        s.reasoning
    );
    assert!(
        s.reasoning
            .iter()
            .any(|r| r.starts_with("next: not applied")),
        "{:?}",
        s.reasoning
    );
    assert!(
        s.reasoning
            .iter()
            .any(|r| r.starts_with("left for `alembic upgrade`") && r.contains("data")),
        "{:?}",
        s.reasoning
    );
    // Unknown revisions under an applied one are included.
    let mut with_next = all.clone();
    with_next.insert(TableInfo {
        name: "n".into(),
        ..TableInfo::default()
    });
    let ev = graph_evidence(&map, &ops, &with_next);
    let s = suggest_stamp(&map, &ops, &ev).unwrap();
    assert_eq!(map.ids(&s.targets), ["next"]);
    assert!(
        s.reasoning
            .iter()
            .any(|r| r.contains("1 revision without schema evidence is included")),
        "{:?}",
        s.reasoning
    );
}

#[test]
fn objects_above_a_missing_revision_are_reported_as_inconsistent() {
    let specs: &[Spec] = &[
        ("a", &[], &["op.create_table('a')"]),
        ("b", &["a"], &["op.create_table('b')"]),
        ("c", &["b"], &["op.create_table('c')"]),
    ];
    let (map, ops) = project(specs);
    let ev = graph_evidence(&map, &ops, &schema(&[("a", &[], &[]), ("c", &[], &[])]));
    let s = suggest_stamp(&map, &ops, &ev).unwrap();
    assert_eq!(map.ids(&s.targets), ["a"]);
    assert_eq!(map.ids(&s.inconsistent), ["c"]);
    assert!(
        s.reasoning
            .iter()
            .any(|r| r.starts_with("c looks applied") && r.contains("ancestor b")),
        "{:?}",
        s.reasoning
    );
}

#[test]
fn a_partly_applied_revision_blocks_the_stamp() {
    let specs: &[Spec] = &[
        ("a", &[], &["op.create_table('a')"]),
        (
            "b",
            &["a"],
            &["op.create_table('b1')", "op.create_table('b2')"],
        ),
    ];
    let (map, ops) = project(specs);
    let ev = graph_evidence(&map, &ops, &schema(&[("a", &[], &[]), ("b1", &[], &[])]));
    let s = suggest_stamp(&map, &ops, &ev).unwrap();
    assert_eq!(map.ids(&s.targets), ["a"]);
    assert!(
        s.reasoning.iter().any(|r| r.contains("partly applied")),
        "{:?}",
        s.reasoning
    );
}

#[test]
fn no_evidence_means_no_suggestion_and_nothing_applied_means_base() {
    let specs: &[Spec] = &[("a", &[], &[]), ("b", &["a"], &["op.create_table('b')"])];
    let (map, ops) = project(specs);
    let none = OpsStore::from_reports([None, None]);
    assert_eq!(
        suggest_stamp(&map, &none, &graph_evidence(&map, &none, &schema(&[]))),
        None
    );
    let s = suggest_stamp(&map, &ops, &graph_evidence(&map, &ops, &schema(&[]))).unwrap();
    assert!(s.targets.is_empty());
    assert!(s.reasoning[0].starts_with("stamp base"));
}

#[test]
fn broken_graphs_and_short_inputs_do_not_panic() {
    // A cycle, a missing parent, fewer ops than revisions.
    let specs: &[Spec] = &[
        ("a", &["b"], &["op.create_table('a')"]),
        ("b", &["a"], &["op.drop_table('a')"]),
        ("c", &["zzz"], &["op.create_table('c')"]),
    ];
    let (map, ops) = project(specs);
    let s = schema(&[("c", &[], &[])]);
    let first = OpsStore::from_reports([ops.get(0).as_ref()]);
    let ev = graph_evidence(&map, &first, &s);
    let _ = suggest_stamp(&map, &ops, &ev);
    let ev = graph_evidence(&map, &ops, &s);
    let _ = suggest_stamp(&map, &ops, &ev[..1]);
    assert_eq!(map.run_order().0.len(), 3);
}

/// `cargo test --release --lib evidence::tests::timing -- --ignored --nocapture`
#[test]
#[ignore = "timing, run by hand in release mode"]
fn timing() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/demo/migrations/versions/f1a2b3c4d5e6_add_chat_sessions_and_credentials.py");
    let text = std::fs::read_to_string(demo).unwrap();
    let mut records = Vec::new();
    for i in 0..500 {
        let src = text
            .replace("'f1a2b3c4d5e6'", &format!("'r{i}'"))
            .replace(
                "'e3f4g5h6i7j8'",
                &if i == 0 {
                    "None".into()
                } else {
                    format!("'r{}'", i - 1)
                },
            )
            .replace("'chat_sessions'", &format!("'chat_sessions_{i}'"));
        let path = dir.path().join(format!("r{i}.py"));
        std::fs::write(&path, &src).unwrap();
        records.push(read_source(&path, src.as_bytes()));
    }
    let map = RevisionMap::build(records);
    let s = schema(&[("credentials", &[], &[])]);
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let ops = load_ops(&map);
        let t_ops = t.elapsed();
        let ev = graph_evidence(&map, &ops, &s);
        let t_ev = t.elapsed();
        let _ = suggest_stamp(&map, &ops, &ev);
        println!(
            "500 revisions: ops {t_ops:?}, +evidence {t_ev:?}, +suggest {:?}",
            t.elapsed()
        );
    }
}

/// Opaque statements below the stamp are named (the first five, worded from their ops, with
/// their lines) and the rest counted: the stamp assumes they ran.
#[test]
fn the_unchecked_statements_the_stamp_assumes_are_listed_then_counted() {
    let sql: Vec<String> = (0..4)
        .map(|i| format!("op.execute('UPDATE a SET x = {i}')"))
        .collect();
    let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
    let mut first = vec!["op.create_table('a')"];
    first.extend(&sql);
    let specs: &[Spec] = &[
        ("one", &[], &first),
        ("two", &["one"], &sql[..3]),
        ("three", &["two"], &["op.create_table('t')"]),
    ];
    let (map, ops) = project(specs);
    let ev = graph_evidence(&map, &ops, &schema(&[("a", &[], &[]), ("t", &[], &[])]));
    let s = suggest_stamp(&map, &ops, &ev).unwrap();
    assert_eq!(map.ids(&s.targets), ["three"]);
    let line = s
        .reasoning
        .iter()
        .find(|l| l.starts_with("the stamp assumes these unchecked statements ran: "))
        .unwrap_or_else(|| panic!("{:?}", s.reasoning));
    assert_eq!(line.matches("one line ").count(), 4, "{line}");
    assert_eq!(line.matches("two line ").count(), 1, "{line}");
    assert!(
        line.contains("one line 10: execute \"UPDATE a SET x = 0\": SQL not checked"),
        "{line}"
    );
    assert!(line.ends_with("; and 2 more"), "{line}");
}
