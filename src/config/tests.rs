//! Behaviour tests for [`super::load`]. Projects are built in temporary directories; the two
//! realistic projects under `tests/fixtures/config/` are used read-only.

use super::*;
use std::fs::{create_dir_all, write};

/// A temporary project directory; `cwd` is where "alembic" would run.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Project {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The canonical path, so expectations do not depend on a symlinked temp dir.
    fn root(&self) -> PathBuf {
        fs::canonicalize(self.dir.path()).expect("canonicalize")
    }

    fn file(&self, rel: &str, text: &str) -> &Self {
        let p = self.root().join(rel);
        if let Some(parent) = p.parent() {
            create_dir_all(parent).expect("mkdir");
        }
        write(p, text).expect("write");
        self
    }

    fn dir(&self, rel: &str) -> &Self {
        create_dir_all(self.root().join(rel)).expect("mkdir");
        self
    }

    fn opts(&self) -> ConfigOptions {
        ConfigOptions::new(self.root())
    }

    fn load(&self) -> Result<ProjectConfig, ConfigError> {
        load(&self.opts())
    }

    fn ok(&self) -> ProjectConfig {
        match self.load() {
            Ok(cfg) => cfg,
            Err(err) => panic!("load failed: {err}"),
        }
    }

    fn err(&self) -> ConfigError {
        match self.load() {
            Ok(cfg) => panic!("expected an error, got {cfg:?}"),
            Err(err) => err,
        }
    }
}

fn ini_project(alembic_section_body: &str) -> Project {
    let p = Project::new();
    p.dir("migrations/versions");
    p.file(
        "alembic.ini",
        &format!("[alembic]\nscript_location = migrations\n{alembic_section_body}"),
    );
    p
}

fn kinds(cfg: &ProjectConfig) -> Vec<WarningKind> {
    cfg.warnings.iter().map(|w| w.kind).collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

// ---- finding the config files -------------------------------------------------------------

#[test]
fn default_ini_in_cwd_with_default_versions_location() {
    let p = ini_project("");
    let cfg = p.ok();
    assert_eq!(cfg.ini_path, Some(p.root().join("alembic.ini")));
    assert_eq!(cfg.toml_path, None);
    assert_eq!(cfg.section, "alembic");
    assert_eq!(cfg.script_location, Some(p.root().join("migrations")));
    assert_eq!(
        cfg.version_locations,
        [p.root().join("migrations/versions")]
    );
    assert!(!cfg.recursive && !cfg.sourceless);
    assert_eq!(cfg.file_template, "%(rev)s_%(slug)s");
    assert_eq!(cfg.truncate_slug_length, 40);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn nothing_found_is_not_found_with_advice() {
    let p = Project::new();
    let err = p.err();
    assert!(matches!(err, ConfigError::NotFound { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("alembic.ini") && msg.contains("pyproject.toml"),
        "{msg}"
    );
    assert!(msg.contains("--config") && msg.contains("--dir"), "{msg}");
}

#[test]
fn pyproject_without_tool_alembic_is_not_found() {
    let p = Project::new();
    p.file("pyproject.toml", "[project]\nname = 'x'\n");
    let msg = p.err().to_string();
    assert!(msg.contains("has no [tool.alembic] table"), "{msg}");
}

#[test]
fn ini_without_script_location_is_alembics_error() {
    let p = Project::new();
    p.file("alembic.ini", "[alembic]\nsqlalchemy.url = sqlite://\n");
    let err = p.err();
    assert!(matches!(err, ConfigError::NoScriptLocation { .. }));
    assert!(
        err.to_string()
            .starts_with("No 'script_location' key found in configuration")
    );
}

#[test]
fn name_selects_the_ini_section_and_a_missing_section_is_reported() {
    let p = Project::new();
    p.dir("a/versions").dir("b/versions");
    p.file(
        "alembic.ini",
        "[alembic]\nscript_location = a\n[other]\nscript_location = b\n",
    );
    let mut o = p.opts();
    o.name = Some("other".into());
    let cfg = load(&o).expect("load");
    assert_eq!(cfg.section, "other");
    assert_eq!(cfg.script_location, Some(p.root().join("b")));

    o.name = Some("nope".into());
    let err = load(&o).expect_err("no section, no toml");
    let msg = err.to_string();
    assert!(msg.contains("has no [nope] section"), "{msg}");
}

#[test]
fn config_flag_classifies_by_basename() {
    let p = Project::new();
    p.dir("m/versions").dir("t/versions");
    p.file("conf/my.ini", "[alembic]\nscript_location = m\n");
    p.file(
        "conf/pyproject.toml",
        "[tool.alembic]\nscript_location = \"t\"\nfile_template = \"x\"\n",
    );
    let mut o = p.opts();
    o.config = vec!["conf/pyproject.toml".into(), "conf/my.ini".into()];
    let cfg = load(&o).expect("load");
    assert_eq!(cfg.ini_path, Some(p.root().join("conf/my.ini")));
    assert_eq!(cfg.toml_path, Some(p.root().join("conf/pyproject.toml")));
    // INI wins for script_location; TOML still provides file_template.
    assert_eq!(cfg.script_location, Some(p.root().join("m")));
    assert_eq!(cfg.file_template, "x");
}

#[test]
fn config_flag_twice_of_one_kind_is_an_error() {
    let p = ini_project("");
    let mut o = p.opts();
    o.config = vec!["a.ini".into(), "b.ini".into()];
    let msg = load(&o).expect_err("two inis").to_string();
    assert!(
        msg.starts_with("ini file indicated more than once"),
        "{msg}"
    );
    o.config = vec!["x/pyproject.toml".into(), "pyproject.toml".into()];
    let msg = load(&o).expect_err("two tomls").to_string();
    assert!(
        msg.starts_with("pyproject.toml indicated more than once"),
        "{msg}"
    );
}

#[test]
fn explicit_missing_ini_is_ignored_with_a_warning() {
    let p = Project::new();
    p.dir("m/versions");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nscript_location = \"m\"\n",
    );
    let mut o = p.opts();
    o.config = vec!["typo.ini".into()];
    let cfg = load(&o).expect("pyproject still works, as in alembic");
    assert_eq!(cfg.ini_path, None);
    assert_eq!(kinds(&cfg), [WarningKind::MissingConfigFile]);
}

#[test]
fn alembic_config_env_replaces_the_default_of_its_kind() {
    let p = Project::new();
    p.dir("m/versions").dir("n/versions");
    p.file("alembic.ini", "[alembic]\nscript_location = m\n");
    p.file("env.ini", "[alembic]\nscript_location = n\n");
    let mut o = p.opts();
    o.alembic_config_env = Some("env.ini".into());
    assert_eq!(
        load(&o).expect("load").script_location,
        Some(p.root().join("n"))
    );
    // -c wins over the environment.
    o.config = vec!["alembic.ini".into()];
    assert_eq!(
        load(&o).expect("load").script_location,
        Some(p.root().join("m"))
    );
    // An empty variable is unset.
    let mut o = p.opts();
    o.alembic_config_env = Some("".into());
    assert_eq!(
        load(&o).expect("load").script_location,
        Some(p.root().join("m"))
    );
    // A pyproject.toml in the variable replaces the TOML default and keeps alembic.ini.
    p.file(
        "sub/pyproject.toml",
        "[tool.alembic]\nfile_template = \"t\"\n",
    );
    let mut o = p.opts();
    o.alembic_config_env = Some("sub/pyproject.toml".into());
    let cfg = load(&o).expect("load");
    assert_eq!(cfg.toml_path, Some(p.root().join("sub/pyproject.toml")));
    assert_eq!(cfg.ini_path, Some(p.root().join("alembic.ini")));
    assert_eq!(cfg.file_template, "t");
}

// ---- INI values ---------------------------------------------------------------------------

#[test]
fn relative_script_location_is_relative_to_cwd_not_to_the_ini() {
    let p = Project::new();
    p.dir("migrations/versions");
    p.file(
        "conf/alembic.ini",
        "[alembic]\nscript_location = migrations\n",
    );
    let mut o = p.opts();
    o.config = vec!["conf/alembic.ini".into()];
    assert_eq!(
        load(&o).expect("load").script_location,
        Some(p.root().join("migrations"))
    );
}

#[test]
fn here_is_the_absolute_unresolved_ini_directory() {
    let p = Project::new();
    p.dir("proj/migrations/versions").dir("work");
    p.file(
        "proj/alembic.ini",
        "[alembic]\nscript_location = %(here)s/migrations\n",
    );
    let mut o = ConfigOptions::new(p.root().join("work"));
    o.config = vec!["../proj/./alembic.ini".into()];
    let cfg = load(&o).expect("load");
    // `..` is kept (Path.absolute() does not normalise it); `.` is dropped.
    assert_eq!(
        cfg.script_location,
        Some(p.root().join("work/../proj/migrations"))
    );
}

#[test]
fn missing_script_directory_is_alembics_error_with_location() {
    let p = Project::new();
    p.file("alembic.ini", "[alembic]\n\nscript_location = nowhere\n");
    let err = p.err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "Path doesn't exist: nowhere.  Please use the 'init' command to create a new scripts folder."
        ),
        "{msg}"
    );
    assert!(msg.contains("alembic.ini:3"), "{msg}");
}

#[test]
fn malformed_ini_error_names_file_and_line() {
    let p = Project::new();
    p.file("alembic.ini", "[alembic]\nscript_location = m\noops\n");
    let msg = p.err().to_string();
    assert!(
        msg.contains("alembic.ini") && msg.contains("line 3"),
        "{msg}"
    );
}

#[test]
fn bad_interpolation_in_a_read_key_is_an_error_with_line() {
    let p = ini_project("version_locations = %(nothere)s/v\n");
    let err = p.err();
    assert!(matches!(err, ConfigError::Interpolation { .. }), "{err}");
    assert!(err.to_string().contains("alembic.ini:3"), "{err}");
}

#[test]
fn recursive_flag_in_ini_is_true_only_for_exact_true() {
    for (value, expected) in [
        ("true", true),
        ("True", false),
        ("yes", false),
        ("1", false),
    ] {
        let p = ini_project(&format!("recursive_version_locations = {value}\n"));
        assert_eq!(p.ok().recursive, expected, "{value}");
    }
    // The command-line flag is ORed in.
    let p = ini_project("recursive_version_locations = no\n");
    let mut o = p.opts();
    o.recursive = true;
    assert!(load(&o).expect("load").recursive);
}

#[test]
fn file_template_and_truncate_slug_length() {
    let p = ini_project("file_template = %%(rev)s_%%(slug)s_x\ntruncate_slug_length = 12\n");
    let cfg = p.ok();
    assert_eq!(cfg.file_template, "%(rev)s_%(slug)s_x");
    assert_eq!(cfg.truncate_slug_length, 12);
    assert_eq!(
        ini_project("truncate_slug_length = 0\n")
            .ok()
            .truncate_slug_length,
        40
    );
    assert_eq!(
        ini_project("truncate_slug_length = 1_0\n")
            .ok()
            .truncate_slug_length,
        10
    );
    let err = ini_project("truncate_slug_length = ten\n").err();
    assert!(matches!(err, ConfigError::InvalidInteger { .. }), "{err}");
    let err = ini_project("truncate_slug_length = -1\n").err();
    assert!(matches!(err, ConfigError::InvalidInteger { .. }), "{err}");
}

#[test]
fn sourceless_true_is_refused_other_spellings_are_false() {
    let err = ini_project("sourceless = true\n").err();
    assert!(matches!(err, ConfigError::Sourceless { .. }));
    assert!(err.to_string().contains("alembic.ini:3"), "{err}");
    assert!(!ini_project("sourceless = True\n").ok().sourceless);
}

#[test]
fn default_section_values_are_read_from_the_main_section() {
    let p = Project::new();
    p.dir("m/versions");
    p.file(
        "alembic.ini",
        "[DEFAULT]\nscript_location = %(here)s/m\n[alembic]\n",
    );
    assert_eq!(p.ok().script_location, Some(p.root().join("m")));
}

#[test]
fn inline_comment_in_script_location_is_kept_and_warned() {
    let p = Project::new();
    p.dir("m  # the scripts/versions");
    p.file(
        "alembic.ini",
        "[alembic]\nscript_location = m  # the scripts\n",
    );
    let cfg = p.ok();
    assert_eq!(cfg.script_location, Some(p.root().join("m  # the scripts")));
    assert_eq!(kinds(&cfg), [WarningKind::InlineComment]);
}

// ---- version_locations and separators -----------------------------------------------------

fn locations(p: &Project, body: &str) -> Result<(Vec<PathBuf>, Vec<WarningKind>), ConfigError> {
    p.file(
        "alembic.ini",
        &format!("[alembic]\nscript_location = migrations\n{body}"),
    );
    let cfg = p.load()?;
    let root = p.root();
    let rel = cfg
        .version_locations
        .iter()
        .map(|l| l.strip_prefix(&root).unwrap_or(l).to_path_buf())
        .collect();
    Ok((rel, kinds(&cfg)))
}

fn paths(v: &[&str]) -> Vec<PathBuf> {
    v.iter().map(PathBuf::from).collect()
}

#[test]
fn path_separator_values() {
    let p = ini_project("");
    let os = if cfg!(windows) { ";" } else { ":" };
    let cases = [
        ("os", format!("a{os}b")),
        ("space", "a b".to_string()),
        ("newline", "\n  a\n  b".to_string()),
        (":", "a:b".to_string()),
        (";", "a;b".to_string()),
    ];
    for (sep, value) in cases {
        let (locs, warns) = locations(
            &p,
            &format!("path_separator = {sep}\nversion_locations = {value}\n"),
        )
        .expect("load");
        assert_eq!(locs, paths(&["a", "b"]), "{sep}");
        assert!(warns.is_empty(), "{sep}: {warns:?}");
    }
}

#[test]
fn invalid_separator_names_the_allowed_values() {
    let p = ini_project("");
    let err = locations(&p, "path_separator = comma\nversion_locations = a,b\n").expect_err("bad");
    let msg = err.to_string();
    assert!(
        msg.contains(
            "'comma' is not a valid value for path_separator; expected 'space', 'newline', 'os', ':', ';'"
        ),
        "{msg}"
    );
    assert!(msg.contains("alembic.ini:3"), "{msg}");
}

#[test]
fn separator_is_only_read_when_version_locations_is_set() {
    let p = ini_project("");
    let (locs, _) = locations(&p, "path_separator = bogus\n").expect("not read");
    assert_eq!(locs, paths(&["migrations/versions"]));
}

#[test]
fn version_path_separator_is_deprecated_and_path_separator_wins() {
    let p = ini_project("");
    let (locs, warns) =
        locations(&p, "version_path_separator = ;\nversion_locations = a;b\n").expect("load");
    assert_eq!(locs, paths(&["a", "b"]));
    assert_eq!(warns, [WarningKind::DeprecatedSeparator]);
    let (locs, warns) = locations(
        &p,
        "path_separator = space\nversion_path_separator = bogus\nversion_locations = a;b c\n",
    )
    .expect("load");
    assert_eq!(locs, paths(&["a;b", "c"]));
    assert!(warns.is_empty());
}

#[test]
fn separator_split_drops_empty_pieces_before_stripping() {
    let p = ini_project("");
    // "a: :b:" -> ["a", " ", "b"] -> stripped ["a", "", "b"]: the blank piece is the CWD.
    let (locs, warns) =
        locations(&p, "path_separator = :\nversion_locations = a: :b:\n").expect("load");
    assert_eq!(locs, paths(&["a", "", "b"]));
    assert_eq!(warns, [WarningKind::SurprisingLocation]);
}

#[test]
fn legacy_split_on_commas_and_space_runs_without_stripping() {
    let p = ini_project("");
    let (locs, warns) = locations(&p, "version_locations = a, b  c,d\n").expect("load");
    assert_eq!(locs, paths(&["a", "b", "c", "d"]));
    assert_eq!(warns, [WarningKind::LegacySplit]);
    // " , " gives an empty piece (the CWD) between the two matches.
    let (locs, warns) = locations(&p, "version_locations = a , b\n").expect("load");
    assert_eq!(locs, paths(&["a", "", "b"]));
    assert_eq!(
        warns,
        [WarningKind::LegacySplit, WarningKind::SurprisingLocation]
    );
}

#[test]
fn legacy_split_turns_an_inline_comment_into_locations() {
    let p = ini_project("");
    let (locs, warns) = locations(&p, "version_locations = a, b # c\n").expect("load");
    assert_eq!(locs, paths(&["a", "b", "#", "c"]));
    assert_eq!(
        warns,
        [WarningKind::InlineComment, WarningKind::LegacySplit]
    );
}

#[test]
fn legacy_split_keeps_line_breaks_inside_paths() {
    let p = ini_project("");
    let (locs, _) = locations(&p, "version_locations =\n  a\n  b\n").expect("load");
    // The value starts with the empty first line, and nothing is stripped.
    assert_eq!(locs, paths(&["\na\nb"]));
}

#[test]
fn empty_ini_version_locations_falls_back_to_toml() {
    let p = ini_project("version_locations =\n");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nversion_locations = [\"t1\", \"t2\"]\n",
    );
    let cfg = p.ok();
    assert_eq!(
        cfg.version_locations,
        [p.root().join("t1"), p.root().join("t2")]
    );
}

#[test]
fn version_locations_may_be_package_resources() {
    // (With `path_separator = os` the ':' of the resource would split it on POSIX.)
    let p = ini_project("path_separator = space\nversion_locations = app.db:versions\n");
    p.dir("app/db");
    let cfg = p.ok();
    assert_eq!(cfg.version_locations, [p.root().join("app/db/versions")]);
}

// ---- package resources --------------------------------------------------------------------

#[test]
fn package_script_location_is_found_in_cwd_src_or_prepend_sys_path() {
    let p = Project::new();
    p.dir("src/myapp/migrations/versions");
    p.file(
        "alembic.ini",
        "[alembic]\nscript_location = myapp:migrations\n",
    );
    assert_eq!(
        p.ok().script_location,
        Some(p.root().join("src/myapp/migrations"))
    );
    // prepend_sys_path comes first, like sys.path, and its legacy split includes ':'.
    p.dir("lib/myapp/migrations/versions");
    p.file(
        "alembic.ini",
        "[alembic]\nscript_location = myapp:migrations\nprepend_sys_path = .:lib\n",
    );
    let cfg = p.ok();
    assert_eq!(cfg.prepend_sys_path, [p.root(), p.root().join("lib")]);
    assert_eq!(
        cfg.script_location,
        Some(p.root().join("lib/myapp/migrations"))
    );
}

#[test]
fn dotted_package_and_several_resource_tokens() {
    let p = Project::new();
    p.dir("a/b/x/y");
    p.file("alembic.ini", "[alembic]\nscript_location = a.b:x:y\n");
    assert_eq!(p.ok().script_location, Some(p.root().join("a/b/x/y")));
}

#[test]
fn unknown_package_lists_where_it_looked() {
    let p = Project::new();
    p.file(
        "alembic.ini",
        "[alembic]\nscript_location = ghost:migrations\n",
    );
    let err = p.err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::PackageNotFound { .. }));
    assert!(msg.contains("alembic.ini:2"), "{msg}");
    assert!(
        msg.contains(&p.root().join("src/ghost").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("prepend_sys_path"), "{msg}");
}

#[test]
fn absolute_path_with_colon_is_not_a_package() {
    let p = Project::new();
    p.dir("we:ird/versions");
    let abs = p.root().join("we:ird");
    p.file(
        "alembic.ini",
        &format!("[alembic]\nscript_location = {}\n", abs.display()),
    );
    assert_eq!(p.ok().script_location, Some(abs));
}

// ---- pyproject.toml -----------------------------------------------------------------------

#[test]
fn pyproject_only_project_with_here_and_lists() {
    let p = Project::new();
    p.dir("m/versions");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nscript_location = \"%(here)s/m\"\nversion_locations = [\"%(here)s/v1\", \"v2\"]\nrecursive_version_locations = true\nprepend_sys_path = [\".\"]\ntruncate_slug_length = 7\n",
    );
    let cfg = p.ok();
    assert_eq!(cfg.ini_path, None);
    assert_eq!(cfg.toml_path, Some(p.root().join("pyproject.toml")));
    assert_eq!(cfg.script_location, Some(p.root().join("m")));
    assert_eq!(
        cfg.version_locations,
        [p.root().join("v1"), p.root().join("v2")]
    );
    assert!(cfg.recursive);
    assert_eq!(cfg.prepend_sys_path, [p.root()]);
    assert_eq!(cfg.truncate_slug_length, 7);
}

#[test]
fn ini_wins_over_toml_key_by_key() {
    let p = ini_project("recursive_version_locations = false\n");
    p.dir("t/versions");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nscript_location = \"t\"\nrecursive_version_locations = true\nfile_template = \"%%(rev)s\"\n",
    );
    let cfg = p.ok();
    assert_eq!(cfg.script_location, Some(p.root().join("migrations")));
    assert!(!cfg.recursive);
    assert_eq!(cfg.file_template, "%(rev)s");
}

#[test]
fn toml_non_bool_recursive_flag_is_an_error() {
    let p = Project::new();
    p.dir("m/versions");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nscript_location = \"m\"\nrecursive_version_locations = \"true\"\n",
    );
    let msg = p.err().to_string();
    assert!(
        msg.contains("pyproject.toml:3: boolean value expected for TOML parameter 'recursive_version_locations'"),
        "{msg}"
    );
}

#[test]
fn toml_non_bool_is_fine_when_the_ini_has_the_key() {
    let p = ini_project("recursive_version_locations = true\n");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nrecursive_version_locations = \"yes\"\n",
    );
    assert!(p.ok().recursive);
}

#[test]
fn toml_literal_percent_must_be_doubled() {
    let p = Project::new();
    p.dir("m/versions");
    p.file(
        "pyproject.toml",
        "[tool.alembic]\nscript_location = \"m\"\nfile_template = \"%(rev)s\"\n",
    );
    let msg = p.err().to_string();
    assert!(
        msg.contains("pyproject.toml:3") && msg.contains("%%"),
        "{msg}"
    );
}

#[test]
fn toml_syntax_error_has_a_line() {
    let p = Project::new();
    p.file("pyproject.toml", "[tool.alembic]\nscript_location = \"m\n");
    let err = p.err();
    assert!(
        matches!(err, ConfigError::TomlSyntax { ref at, .. } if at.line == Some(2)),
        "{err}"
    );
}

#[test]
fn tool_migscope_branches_and_unknown_keys() {
    let p = ini_project("");
    p.file(
        "pyproject.toml",
        "[tool.migscope]\nbranches = [\"expand\", \"contract\"]\ncolour = \"auto\"\n",
    );
    let cfg = p.ok();
    assert_eq!(cfg.migscope.branches, ["expand", "contract"]);
    assert_eq!(kinds(&cfg), [WarningKind::UnknownKey]);
    assert_eq!(
        cfg.warnings[0].origin.as_ref().and_then(|o| o.line),
        Some(3)
    );

    p.file("pyproject.toml", "[tool.migscope]\nbranches = \"expand\"\n");
    let msg = p.err().to_string();
    assert!(
        msg.contains("pyproject.toml:2") && msg.contains("branches"),
        "{msg}"
    );
}

// ---- --dir --------------------------------------------------------------------------------

#[test]
fn dir_mode_needs_no_config() {
    let p = Project::new();
    p.dir("v");
    let mut o = p.opts();
    o.dirs = vec!["v".into(), "missing".into()];
    o.recursive = true;
    let cfg = load(&o).expect("load");
    assert_eq!(cfg.script_location, None);
    assert_eq!(
        cfg.version_locations,
        [p.root().join("v"), p.root().join("missing")]
    );
    assert!(cfg.recursive);
    assert_eq!(cfg.ini_path, None);
}

#[test]
fn dir_mode_replaces_the_ini_locations() {
    let p = ini_project("path_separator = os\nversion_locations = x:y\nfile_template = t\n");
    let mut o = p.opts();
    o.dirs = vec!["d".into()];
    let cfg = load(&o).expect("load");
    assert_eq!(cfg.version_locations, [p.root().join("d")]);
    assert_eq!(cfg.script_location, Some(p.root().join("migrations")));
    assert_eq!(cfg.file_template, "t");
}

#[test]
fn dir_mode_turns_a_broken_script_location_into_a_warning() {
    let p = Project::new();
    p.file("alembic.ini", "[alembic]\nscript_location = gone\n");
    let mut o = p.opts();
    o.dirs = vec!["d".into()];
    let cfg = load(&o).expect("load");
    assert_eq!(cfg.script_location, None);
    assert_eq!(kinds(&cfg), [WarningKind::Suspicious]);
    assert!(
        cfg.warnings[0]
            .message
            .contains("Path doesn't exist: gone.")
    );
}

// ---- sqlalchemy.url -----------------------------------------------------------------------

#[test]
fn sqlalchemy_url_is_interpolated_and_masked_in_debug() {
    let p = ini_project("sqlalchemy.url = postgresql://u:p%%40ss@h/db\n");
    let cfg = p.ok();
    assert_eq!(
        cfg.sqlalchemy_url.as_deref(),
        Some("postgresql://u:p%40ss@h/db")
    );
    let dbg = format!("{cfg:?}");
    assert!(
        !dbg.contains("p%40ss") && dbg.contains("postgresql://u:***@h/db"),
        "{dbg}"
    );
}

#[test]
fn bad_sqlalchemy_url_is_a_warning_that_hides_the_value() {
    let p = ini_project("sqlalchemy.url = postgresql://u:se%cret@h/db\n");
    let cfg = p.ok();
    assert_eq!(cfg.sqlalchemy_url, None);
    assert_eq!(kinds(&cfg), [WarningKind::DatabaseUrl]);
    let text = cfg.warnings[0].to_string();
    assert!(!text.contains("cret"), "{text}");
    assert!(text.contains("alembic.ini:3"), "{text}");
}

#[test]
fn mask_url_hides_only_the_password() {
    assert_eq!(
        mask_url("postgresql://u:pw@h:5432/db"),
        "postgresql://u:***@h:5432/db"
    );
    assert_eq!(mask_url("mysql://u:p@w@h/db?x=1"), "mysql://u:***@h/db?x=1");
    assert_eq!(mask_url("sqlite:///x.db"), "sqlite:///x.db");
    assert_eq!(mask_url("postgresql://u@h/db"), "postgresql://u@h/db");
}

// ---- the checked-in fixture projects ------------------------------------------------------

#[test]
fn fixture_classic_ini_project() {
    let root = fixture("classic");
    let cfg = load(&ConfigOptions::new(&root)).expect("load");
    assert_eq!(cfg.script_location, Some(root.join("migrations")));
    assert_eq!(
        cfg.version_locations,
        [
            root.join("migrations/versions"),
            root.join("extra_versions")
        ]
    );
    // "True" is not "true".
    assert!(!cfg.recursive);
    assert_eq!(cfg.file_template, "%(year)d_%(month).2d_%(rev)s_%(slug)s");
    assert_eq!(cfg.truncate_slug_length, 40);
    assert_eq!(
        cfg.sqlalchemy_url.as_deref(),
        Some("postgresql://app:p%40ss@localhost/app")
    );
    assert_eq!(kinds(&cfg), [WarningKind::DeprecatedSeparator]);

    let found = crate::discover::revision_files(&cfg.version_locations, cfg.recursive);
    let names: Vec<_> = found
        .files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["_helpers.py", "aaaa0001_first.py", "bbbb0002_second.py"]
    );
    assert_eq!(found.missing_locations, [root.join("extra_versions")]);
}

#[test]
fn fixture_pyproject_src_layout_project() {
    let root = fixture("pyproject_only");
    let cfg = load(&ConfigOptions::new(&root)).expect("load");
    let scripts = root.join("src/myapp/db/migrations");
    assert_eq!(cfg.script_location, Some(scripts.clone()));
    assert_eq!(
        cfg.version_locations,
        [scripts.join("versions"), scripts.join("more_versions")]
    );
    assert!(cfg.recursive);
    assert_eq!(cfg.file_template, "%(rev)s_%(slug)s");
    assert_eq!(cfg.migscope.branches, ["expand", "contract"]);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}
