//! `migscope upgrade` / `downgrade` through the real binary, running the real Alembic from the
//! test `.venv` (`--alembic-cmd "<venv python> -m alembic"`) on SQLite copies: streaming, the
//! state read back, a failing migration, `--sql`, and the demo repair walk-through end to end.

mod db_support;
mod support;

use std::collections::BTreeSet;
use std::path::Path;

use db_support::TestDb;
use migscope::db::{Backend, Db, DbUrl, SchemaScope, VersionTable};
use support::sandbox::{Out, Sandbox, rt, run_in, sha256_like, sqlite_url, strs};
use support::venv;

fn alembic_cmd() -> String {
    format!("{} -m alembic", venv::alembic_python().display())
}

/// The application tables of a SQLite file (the version table left out).
fn tables(db: &Path) -> BTreeSet<String> {
    tables_at(&sqlite_url(db))
}

fn tables_at(url: &DbUrl) -> BTreeSet<String> {
    rt().block_on(async {
        let mut conn = Db::connect_read_only(url).await.unwrap();
        let schema = conn
            .schema(&SchemaScope::excluding(&VersionTable::default()))
            .await
            .unwrap();
        conn.close().await;
        schema.tables.keys().map(|(_, name)| name.clone()).collect()
    })
}

fn rows_text(rows: &[String]) -> String {
    if rows.is_empty() {
        "(no rows)".to_string()
    } else {
        rows.join(" ")
    }
}

/// A revision creating `table`.
fn revision(id: &str, down: Option<&str>, table: &str) -> String {
    let down = down.map_or("None".to_string(), |d| format!("'{d}'"));
    format!(
        "revision = '{id}'\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\
         from alembic import op\nimport sqlalchemy as sa\n\n\n\
         def upgrade():\n    op.create_table('{table}', sa.Column('id', sa.Integer(), \
         primary_key=True))\n\n\n\
         def downgrade():\n    op.drop_table('{table}')\n"
    )
}

/// The demo's ini, env.py and template with three linear revisions creating `alpha`, `beta`
/// and `third`, and an empty SQLite database (an empty file is one).
fn small_project(third: &str) -> Sandbox {
    let sb = Sandbox::new();
    let versions = sb.tmp.path().join("demo/migrations/versions");
    std::fs::remove_dir_all(&versions).unwrap();
    std::fs::create_dir_all(&versions).unwrap();
    for (id, down, table) in [
        ("aa01", None, "alpha"),
        ("bb02", Some("aa01"), "beta"),
        ("cc03", Some("bb02"), third),
    ] {
        write_revision(&sb, id, down, table);
    }
    std::fs::write(sb.db(), b"").unwrap();
    sb
}

fn write_revision(sb: &Sandbox, id: &str, down: Option<&str>, table: &str) {
    let versions = sb.tmp.path().join("demo/migrations/versions");
    std::fs::write(
        versions.join(format!("{id}_x.py")),
        revision(id, down, table),
    )
    .unwrap();
}

fn run_alembic(sb: &Sandbox, args: &[&str]) -> Out {
    let cmd = alembic_cmd();
    let mut full = args.to_vec();
    full.extend(["--alembic-cmd", cmd.as_str()]);
    sb.run(&full)
}

/// `--alembic-cmd` is split like a shell splits it: a quoted program path with a space in it
/// runs (here a wrapper script for the test venv's Python).
#[test]
fn a_quoted_alembic_command_with_spaces_runs() {
    use std::os::unix::fs::PermissionsExt;
    let sb = small_project("gamma");
    let dir = sb.tmp.path().join("with space");
    std::fs::create_dir(&dir).unwrap();
    let wrapper = dir.join("py thon");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            venv::alembic_python().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cmd = format!("'{}' -m alembic", wrapper.display());
    let out = sb.run(&["upgrade", "head", "--yes", "--alembic-cmd", &cmd]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(sb.rows(), strs(&["cc03"]));
    // An unterminated quote is refused before anything runs.
    let out = sb.run(&[
        "downgrade",
        "base",
        "--yes",
        "--alembic-cmd",
        "'/no end -m alembic",
    ]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("unterminated ' quote"), "{out:?}");
    assert_eq!(sb.rows(), strs(&["cc03"]));
}

#[test]
fn upgrade_streams_alembic_and_reads_back_the_rows_then_downgrade() {
    let sb = small_project("gamma");
    let out = run_alembic(&sb, &["upgrade", "head", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("runs 3: aa01 bb02 cc03"), "{out:?}");
    assert!(
        out.stdout
            .contains("preflight: no conflict with the schema"),
        "{out:?}"
    );
    // Alembic's own log lines, streamed.
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("  | ") && l.contains("Running upgrade bb02 -> cc03")),
        "{out:?}"
    );
    assert_eq!(sb.rows(), strs(&["cc03"]));
    assert!(out.stdout.contains("Rows now:    cc03"), "{out:?}");
    assert!(
        out.stdout
            .contains("3 of the plan's 3 revisions applied: aa01 bb02 cc03"),
        "{out:?}"
    );
    assert!(out.stdout.contains("Still pending: none"), "{out:?}");
    let expected: BTreeSet<String> = ["alpha", "beta", "gamma"].map(String::from).into();
    assert_eq!(tables(&sb.db()), expected);
    let journal = sb.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["action"], "upgrade");
    assert_eq!(journal[0]["before"], serde_json::json!([]));
    assert_eq!(journal[0]["after"], serde_json::json!(["cc03"]));

    let out = run_alembic(&sb, &["downgrade", "aa01", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("runs 2: cc03 bb02"), "{out:?}");
    assert!(
        out.stdout
            .contains("2 of the plan's 2 revisions undone: cc03 bb02"),
        "{out:?}"
    );
    assert_eq!(sb.rows(), strs(&["aa01"]));
    assert!(
        out.stdout.contains("Still pending (2): bb02 cc03"),
        "{out:?}"
    );
    let expected: BTreeSet<String> = ["alpha"].map(String::from).into();
    assert_eq!(tables(&sb.db()), expected);

    // Undo does not rewrite rows over a schema Alembic changed; it names the way back.
    let out = sb.run(&["undo", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("migscope upgrade cc03"), "{out:?}");
    assert_eq!(sb.rows(), strs(&["aa01"]));
    assert_eq!(sb.journal().len(), 2);
}

#[test]
fn a_failing_migration_shows_its_output_and_the_state_it_left() {
    // The third revision creates `alpha` again.
    let sb = small_project("alpha");
    let out = run_alembic(&sb, &["upgrade", "head", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout
            .contains("predicted failure: cc03: table alpha already exists"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("Alembic FAILED (exit code 1)"),
        "{out:?}"
    );
    // The database's own error, repeated after the failure (the traceback's last line).
    let error = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_else(|| panic!("no error line: {out:?}"));
    assert!(error.contains("OperationalError"), "{out:?}");
    assert!(error.contains("table alpha already exists"), "{out:?}");
    // What is reported is what the file holds.
    let left = sb.rows();
    assert!(
        out.stdout
            .contains(&format!("Rows now:    {}", rows_text(&left))),
        "{out:?}"
    );
    assert!(out.stdout.contains("Rows before: (no rows)"), "{out:?}");
    assert!(out.stdout.contains("Still pending"), "{out:?}");
}

#[test]
fn sql_prints_alembic_offline_sql_and_touches_nothing() {
    let sb = small_project("gamma");
    let before = sha256_like(&sb.db());
    let out = run_alembic(&sb, &["upgrade", "head", "--sql"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("CREATE TABLE alpha"), "{out:?}");
    assert!(out.stdout.contains("CREATE TABLE gamma"), "{out:?}");
    assert!(
        out.stdout
            .contains("INSERT INTO alembic_version (version_num) VALUES ('aa01')"),
        "{out:?}"
    );
    // The log goes to stderr, so stdout is only SQL.
    assert!(!out.stdout.contains("INFO"), "{out:?}");
    assert!(out.stderr.contains("upgrade head --sql"), "{out:?}");
    assert_eq!(sha256_like(&sb.db()), before);
    assert!(sb.journal().is_empty());
}

#[test]
fn dry_run_and_refusals_run_nothing() {
    let sb = small_project("gamma");
    let before = sha256_like(&sb.db());
    let out = run_alembic(&sb, &["upgrade", "bb02", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("runs 2: aa01 bb02"), "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "-m alembic -c {} upgrade bb02",
            sb.ini().display()
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("Dry run: Alembic not run."), "{out:?}");

    // No terminal and no --yes.
    let out = run_alembic(&sb, &["upgrade", "head"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--yes"), "{out:?}");

    // A target Alembic cannot resolve: refused before running anything.
    let out = run_alembic(&sb, &["upgrade", "zz99", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("Alembic refuses"), "{out:?}");

    // An Alembic command that does not exist.
    let out = sb.run(&[
        "upgrade",
        "head",
        "--yes",
        "--alembic-cmd",
        "/nonexistent/bin/alembic",
    ]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("cannot start `/nonexistent/bin/alembic`"),
        "{out:?}"
    );
    assert_eq!(sha256_like(&sb.db()), before);
    assert!(sb.journal().is_empty());

    // migscope pointed elsewhere than the ini: said plainly.
    let other = sb.tmp.path().join("other.db");
    std::fs::write(&other, b"").unwrap();
    let url = format!("sqlite:///{}", other.display());
    let out = run_alembic(&sb, &["upgrade", "head", "--dry-run", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("but Alembic connects through the project's env.py"),
        "{out:?}"
    );
}

/// status -> suggested stamp -> preflight -> stamp -> upgrade -> undo, on a copy of the demo.
#[test]
fn demo_walk_through_end_to_end() {
    let sb = Sandbox::new();
    let out = sb.run(&["status"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let repair = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("repair: migscope "))
        .unwrap_or_else(|| panic!("no repair line: {out:?}"))
        .to_string();
    let stamp_args: Vec<&str> = repair.split_whitespace().collect();
    assert_eq!(stamp_args[0], "stamp");
    let before_tables = tables(&sb.db());

    // Preview the stamp, then the upgrade from the stamped rows (preflight).
    let mut preview = stamp_args.clone();
    preview.push("--dry-run");
    let out = sb.run(&preview);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(sb.rows(), strs(&["b90dd01ef204"]));
    let mut apply = stamp_args.clone();
    apply.push("--yes");
    let out = sb.run(&apply);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut stamped: Vec<String> = stamp_args[1..]
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|s| s.to_string())
        .collect();
    stamped.sort();
    assert_eq!(sb.rows(), stamped);
    assert_eq!(tables(&sb.db()), before_tables, "a stamp touches no table");

    let out = run_alembic(&sb, &["upgrade", "heads", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("preflight: no conflict with the schema"),
        "{out:?}"
    );

    let out = run_alembic(&sb, &["upgrade", "heads", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let heads_out = sb.run(&["heads"]);
    let mut heads: Vec<String> = heads_out.stdout.lines().map(str::to_string).collect();
    heads.sort();
    assert_eq!(sb.rows(), heads);
    assert!(out.stdout.contains("Still pending: none"), "{out:?}");
    let after_tables = tables(&sb.db());
    assert!(
        after_tables.is_superset(&before_tables) && after_tables.len() > before_tables.len(),
        "{after_tables:?} vs {before_tables:?}"
    );
    assert!(after_tables.contains("rich_menus"), "{after_tables:?}");

    // Undo after an upgrade: the schema moved, so the rows are left alone and the way back
    // is named (one downgrade per stamped row, in an order the preflight predicts clean).
    let out = sb.run(&["undo", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("runs cleanly"), "{out:?}");
    let downgrades: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("migscope downgrade "))
        .map(str::to_string)
        .collect();
    let mut named = downgrades.clone();
    named.sort();
    assert_eq!(named, stamped, "{out:?}");
    assert_eq!(sb.rows(), heads);
    let actions: Vec<String> = sb
        .journal()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, strs(&["stamp", "upgrade"]));

    // Following them with the real Alembic brings back the stamped rows and the tables.
    for rev in &downgrades {
        let out = run_alembic(&sb, &["downgrade", rev, "--yes"]);
        assert_eq!(out.code, Some(0), "downgrade {rev}: {out:?}");
    }
    assert_eq!(sb.rows(), stamped);
    assert_eq!(tables(&sb.db()), before_tables);
}

/// Stamping only the main line (not what status suggests): the upgrade fails where the
/// preflight said, and the state the failure left (SQLite DDL is not transactional here, so
/// earlier revisions stay applied) is what the report shows.
#[test]
fn demo_upgrade_failing_where_the_preflight_said() {
    let sb = Sandbox::new();
    let out = sb.run(&["stamp", "--purge", "cd2257cee794", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = run_alembic(&sb, &["upgrade", "heads", "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout.contains(
            "predicted failure: add_system_settings: table system_settings already exists"
        ),
        "{out:?}"
    );
    assert!(out.stdout.contains("Alembic FAILED"), "{out:?}");
    assert!(
        out.stdout.contains("table system_settings already exists"),
        "{out:?}"
    );
    let left = sb.rows();
    assert!(
        out.stdout
            .contains(&format!("Rows now:    {}", rows_text(&left))),
        "{out:?}"
    );
}

/// `--demo upgrade` works on the state dir's copy; the bundled files never change.
#[test]
fn demo_flag_runs_on_the_work_copy() {
    let state = tempfile::tempdir().unwrap();
    let asset = support::sandbox::demo_src().join("demo.db");
    let before = sha256_like(&asset);
    let cmd = alembic_cmd();
    let out = run_in(
        state.path(),
        &strs(&[
            "--demo",
            "upgrade",
            "heads",
            "--dry-run",
            "--alembic-cmd",
            &cmd,
        ]),
    );
    // The demo's table holds an unknown id: Alembic would refuse, and so does the preview.
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("Alembic refuses"), "{out:?}");
    let out = run_in(
        state.path(),
        &strs(&["--demo", "upgrade", "heads", "--sql", "--alembic-cmd", &cmd]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("CREATE TABLE"), "{out:?}");
    let copy_ini = state.path().join("demo/alembic.ini");
    assert!(copy_ini.is_file());
    assert!(
        out.stderr
            .contains(&format!("-c {} upgrade heads --sql", copy_ini.display())),
        "{out:?}"
    );
    assert_eq!(sha256_like(&asset), before, "the bundled demo.db changed");
}

/// `small_project("alpha")` on the test server `t`, through `sqlalchemy.url` (`schemes`: sqlx's
/// URL scheme and the SQLAlchemy dialect+driver that replaces it), and the `--alembic-cmd` of
/// the test venv with that driver installed (`driver`: its module and pip requirement).
fn server_project(t: &TestDb, schemes: (&str, &str), driver: (&str, &str)) -> (Sandbox, String) {
    let python = venv::alembic_python_with(driver.0, driver.1);
    let sb = small_project("alpha");
    let sa_url = t.url.expose_sqlx_url().replacen(schemes.0, schemes.1, 1);
    let ini = std::fs::read_to_string(sb.ini()).unwrap();
    let ini = ini.replace(
        "sqlalchemy.url = sqlite:///%(here)s/demo.db",
        &format!("sqlalchemy.url = {}", sa_url.replace('%', "%%")),
    );
    std::fs::write(sb.ini(), ini).unwrap();
    (sb, format!("{} -m alembic", python.display()))
}

/// After the failing run: cc03 fixed to create `gamma`, the upgrade runs on to the head.
fn fix_and_finish(sb: &Sandbox, cmd: &str, t: &TestDb) {
    write_revision(sb, "cc03", Some("bb02"), "gamma");
    let out = sb.run(&["upgrade", "head", "--yes", "--alembic-cmd", cmd]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(server_rows(t), Some(strs(&["cc03"])));
    let expected: BTreeSet<String> = ["alpha", "beta", "gamma"].map(String::from).into();
    assert_eq!(tables_at(&t.url), expected);
    assert!(out.stdout.contains("Rows now:    cc03"), "{out:?}");
}

/// The server's version rows (None: no version table).
fn server_rows(t: &TestDb) -> Option<Vec<String>> {
    rt().block_on(async {
        let mut conn = Db::connect_read_only(&t.url).await.unwrap();
        let rows = conn.version_rows(&VersionTable::default()).await.unwrap();
        conn.close().await;
        rows
    })
}

/// The same project on PostgreSQL (sqlalchemy.url in the ini, psycopg2 in the test venv):
/// there DDL is transactional, so a failing run leaves neither rows nor tables; fixed, it runs.
#[test]
fn upgrade_on_postgresql() {
    let Some(t) = TestDb::new(&rt(), Backend::Postgres) else {
        return;
    };
    let (sb, cmd) = server_project(
        &t,
        ("postgres://", "postgresql+psycopg2://"),
        ("psycopg2", "psycopg2-binary==2.9.13"),
    );
    let rows = || server_rows(&t);

    let out = sb.run(&["upgrade", "head", "--yes", "--alembic-cmd", &cmd]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout.contains("(PostgreSQL, from sqlalchemy.url"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("note: migscope read"), "{out:?}");
    assert!(out.stdout.contains("Alembic FAILED"), "{out:?}");
    assert!(out.stdout.contains("DuplicateTable"), "{out:?}");
    assert!(out.stdout.contains("Rows now:    (no rows)"), "{out:?}");
    assert!(
        out.stdout.contains("The version table is unchanged"),
        "{out:?}"
    );
    assert_eq!(rows().unwrap_or_default(), Vec::<String>::new());
    assert!(tables_at(&t.url).is_empty(), "rolled back");

    fix_and_finish(&sb, &cmd, &t);
}

/// The same project on MariaDB (PyMySQL in the test venv). MySQL's DDL commits as it runs, so a
/// failing run leaves what ran before the failure: migscope reads back and reports exactly the
/// rows and tables the server holds. Fixed, the upgrade runs on from there.
#[test]
fn upgrade_on_mariadb() {
    let Some(t) = TestDb::new(&rt(), Backend::MySql) else {
        return;
    };
    let (sb, cmd) = server_project(
        &t,
        ("mysql://", "mysql+pymysql://"),
        ("pymysql", "PyMySQL==1.1.1"),
    );
    let rows = || server_rows(&t);

    let out = sb.run(&["upgrade", "head", "--yes", "--alembic-cmd", &cmd]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout.contains("(MySQL/MariaDB, from sqlalchemy.url"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("predicted failure: cc03: table alpha already exists"),
        "{out:?}"
    );
    assert!(out.stdout.contains("Alembic FAILED"), "{out:?}");
    assert!(out.stdout.contains("already exists"), "{out:?}");
    // Whatever the server kept, the report says the same.
    let left = rows().unwrap_or_default();
    assert!(
        out.stdout
            .contains(&format!("Rows now:    {}", rows_text(&left))),
        "{out:?}"
    );
    // Each DDL statement committed what came before it: aa01 and bb02 stayed, with their row.
    assert_eq!(left, strs(&["bb02"]));
    let partial: BTreeSet<String> = ["alpha", "beta"].map(String::from).into();
    assert_eq!(tables_at(&t.url), partial);
    assert!(
        out.stdout
            .contains("2 of the plan's 3 revisions applied: aa01 bb02"),
        "{out:?}"
    );

    fix_and_finish(&sb, &cmd, &t);
}
