//! Command-line arguments. The names and outputs are a contract (README, "Commands").

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "migscope",
    version,
    about = "Explore, check and repair Alembic migration graphs",
    long_about = "Explore, check and repair Alembic migration graphs.\n\n\
        migscope reads an Alembic project statically (it never imports or runs migration code), \
        draws the revision graph, finds structural problems, and answers exactly what Alembic 1.20 \
        would: heads, bases, history order, upgrade/downgrade plans, identifier resolution.\n\n\
        The project is found like Alembic finds it: alembic.ini (or ALEMBIC_CONFIG) and \
        pyproject.toml's [tool.alembic] in the working directory, or --config. Bare versions \
        directories can be read with --dir.",
    after_help = "Exit status: 0 success (check: no errors), 1 errors found or a revision error, \
        2 usage or I/O error.\n\nTry: migscope --demo graph"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Explorer (no command): pure ASCII instead of Unicode box drawing
    #[arg(long = "ascii")]
    pub ascii: bool,
    /// Explorer (no command): never write to the database (stamp, undo and upgrade disabled)
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// The database to show and repair (also the default for a subcommand's own --db)
    #[command(flatten)]
    pub db: super::db::DbArgs,
    /// Explorer (no command): how to run Alembic for u/d, split into words like a shell (quote
    /// paths with spaces; no shell is run); default: $MIGSCOPE_ALEMBIC, then `alembic` on PATH
    #[arg(long, value_name = "CMD")]
    pub alembic_cmd: Option<String>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Alembic ini file and/or pyproject.toml (like `alembic -c`; may be given twice)
    #[arg(short = 'c', long = "config", value_name = "PATH", global = true)]
    pub config: Vec<PathBuf>,
    /// Section of the ini file to read (like `alembic -n`)
    #[arg(short = 'n', long = "name", value_name = "SECTION", global = true)]
    pub name: Option<String>,
    /// Read a bare versions directory (no alembic.ini needed); repeatable, in load order
    #[arg(long = "dir", value_name = "PATH", global = true)]
    pub dirs: Vec<PathBuf>,
    /// Walk --dir directories recursively (as `recursive_version_locations = true`)
    #[arg(long, global = true)]
    pub recursive: bool,
    /// Use the bundled demo project (a copy of a real broken history)
    #[arg(long, global = true)]
    pub demo: bool,
    /// Branch labels whose heads are expected to coexist (adds to [tool.migscope] branches)
    #[arg(
        long,
        value_name = "LABEL[,LABEL...]",
        value_delimiter = ',',
        global = true
    )]
    pub branches: Vec<String>,
    /// Never colour the output (also: NO_COLOR set, or output not a terminal)
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    /// GitHub Actions workflow commands (::error file=...::message)
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Upgrade if that runs anything, else downgrade
    Auto,
    Upgrade,
    Downgrade,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw the revision graph, newest first, with lanes like `git log --graph`
    Graph {
        /// Pure ASCII instead of Unicode box drawing
        #[arg(long)]
        ascii: bool,
    },
    /// Head revisions, one per line (as `alembic heads`)
    Heads {
        /// Only heads nothing depends on (as `alembic heads --resolve-dependencies`)
        #[arg(long)]
        resolve_dependencies: bool,
        #[arg(long, value_enum, default_value_t = DataFormat::Text)]
        format: DataFormat,
    },
    /// Base revisions (down_revision = None), one per line
    Bases {
        #[arg(long, value_enum, default_value_t = DataFormat::Text)]
        format: DataFormat,
    },
    /// Every revision in `alembic history` order (newest first)
    History {
        #[arg(long, value_enum, default_value_t = DataFormat::Text)]
        format: DataFormat,
    },
    /// One revision in full; REV is any identifier Alembic accepts (id, prefix, head, label@head, ...)
    Show {
        #[arg(value_name = "REV")]
        rev: String,
        #[arg(long, value_enum, default_value_t = DataFormat::Text)]
        format: DataFormat,
    },
    /// The revisions `alembic upgrade/downgrade TARGET` would run, in execution order
    Plan {
        /// Target: heads, head, base, an id or prefix, label@head, +N, -N, head-1, ...
        #[arg(long, value_name = "TARGET", allow_hyphen_values = true)]
        to: String,
        /// Current revision rows (as in alembic_version); omitted means an empty database;
        /// `current` reads them from the database (--db)
        #[arg(long, value_name = "REV[,REV...]", value_delimiter = ',')]
        from: Vec<String>,
        #[arg(long, value_enum, default_value_t = DirectionArg::Auto)]
        direction: DirectionArg,
        #[arg(long, value_enum, default_value_t = DataFormat::Text)]
        format: DataFormat,
        /// The database, for `--from current`
        #[command(flatten)]
        db: super::db::DbArgs,
    },
    /// Every structural problem; exit 1 if any is an error
    Check {
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Check what merging with another checkout would give (for CI on pull requests): a
        /// directory or git:REF; exit 1 if the union has several heads or any error
        #[arg(long, value_name = "LEFT")]
        against: Option<String>,
        /// Also check a database (with --db URL): unknown or overlapping rows, revisions not
        /// applied yet, ids longer than the version column
        #[command(flatten)]
        db: super::db::DbArgs,
    },
    /// Compare two checkouts (directories or git:REF): missing, differing and renamed revisions,
    /// the union's heads, and a plan (or --apply) to sync them
    Compare(super::compare::CompareArgs),
    /// The database's revision rows: applied, pending, the upgrade plan and its predicted
    /// conflicts, and the stamp the schema suggests
    Status(super::db::StatusArgs),
    /// Rewrite the version table's rows as `alembic stamp TARGET...` would (previewed,
    /// confirmed, compare-and-swap, journaled)
    Stamp(super::db::StampArgs),
    /// Restore the version table's rows from before the last journaled change to this database
    Undo(super::db::UndoArgs),
    /// Preview the plan and its preflight, then run the project's real `alembic upgrade
    /// TARGET`, stream its output and show the rows it left (`--sql`: offline SQL only)
    Upgrade(super::run::RunArgs),
    /// As `upgrade`, for `alembic downgrade TARGET`
    Downgrade(super::run::RunArgs),
    /// Repair the graph itself: merge heads, reparent a revision, restore a lost file
    /// (previewed as a diff, confirmed, verified, journaled for `migscope undo`)
    Fix(super::fix::FixArgs),
    /// The whole graph as JSON, Graphviz dot or Mermaid
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
    },
}
