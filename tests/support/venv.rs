//! The project-local Python environment that runs the Alembic oracle.
//!
//! `alembic_python()` makes sure `<repo>/.venv` exists and holds exactly the
//! alembic version pinned in `tests/alembic/requirements.txt`, creating it
//! with `python3 -m venv` + `pip install -r` when needed. Concurrent test
//! binaries are serialised with an atomic `mkdir` lock under cargo's
//! target tmp directory. A missing interpreter, a missing `venv`/`pip`
//! module or an unreachable package index is a loud panic: these tests are
//! never skipped.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// Environment variable naming the interpreter used to *create* the venv
/// (default: `python3`, then `python`).
pub const PYTHON_ENV: &str = "MIGSCOPE_PYTHON";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn requirements_file() -> PathBuf {
    repo_root().join("tests/alembic/requirements.txt")
}

pub fn oracle_script() -> PathBuf {
    repo_root().join("tests/alembic/oracle.py")
}

pub fn venv_dir() -> PathBuf {
    repo_root().join(".venv")
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The alembic version pinned in `tests/alembic/requirements.txt`.
pub fn pinned_alembic_version() -> String {
    let path = requirements_file();
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find_map(|l| {
            let (name, version) = l.split_once("==")?;
            name.trim()
                .eq_ignore_ascii_case("alembic")
                .then(|| version.trim().to_string())
        })
        .unwrap_or_else(|| panic!("{} does not pin alembic==<version>", path.display()))
}

/// Path of the venv interpreter that has the pinned alembic installed.
/// Creates or repairs `<repo>/.venv` on first use (once per process).
pub fn alembic_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(ensure_venv).clone()
}

fn ensure_venv() -> PathBuf {
    let venv = venv_dir();
    let python = venv_python(&venv);
    let pin = pinned_alembic_version();
    if installed_alembic(&python).as_deref() == Some(pin.as_str()) {
        return python;
    }
    let lock_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migscope-venv.lock");
    let _lock = DirLock::acquire(&lock_path);
    // Another test binary may have finished the job while we waited.
    if installed_alembic(&python).as_deref() == Some(pin.as_str()) {
        return python;
    }
    eprintln!(
        "differential tests: preparing {} with alembic=={pin} (one-time set-up)",
        venv.display()
    );
    if !python_runs(&python) {
        if venv.exists() {
            fs::remove_dir_all(&venv)
                .unwrap_or_else(|e| panic!("cannot remove broken venv {}: {e}", venv.display()));
        }
        create_venv(&venv);
    }
    pip_install(&python);
    match installed_alembic(&python) {
        Some(v) if v == pin => python,
        other => panic!(
            "after `pip install -r {}`, {} reports alembic {:?}, expected {pin}",
            requirements_file().display(),
            python.display(),
            other
        ),
    }
}

/// `alembic.__version__` as seen by `python`, if it imports alembic and
/// SQLAlchemy at all.
fn installed_alembic(python: &Path) -> Option<String> {
    if !python.exists() {
        return None;
    }
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, alembic, sqlalchemy; sys.stdout.write(alembic.__version__)",
        ])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn python_runs(python: &Path) -> bool {
    python.exists()
        && Command::new(python)
            .args(["-c", "import sys"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
}

fn base_python() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os(PYTHON_ENV) {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![PathBuf::from("python3"), PathBuf::from("python")],
    };
    for candidate in &candidates {
        let ok = Command::new(candidate)
            .args(["-c", "import sys; assert sys.version_info >= (3, 9)"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return candidate.clone();
        }
    }
    panic!(
        "the differential tests need a Python >= 3.9 interpreter to build {venv} \
         (tried {candidates:?}; set {PYTHON_ENV} to choose one). Install python3 \
         with its venv and pip modules (e.g. `apt-get install python3 python3-venv`).",
        venv = venv_dir().display()
    );
}

fn create_venv(venv: &Path) {
    let python = base_python();
    let out = run_logged(Command::new(&python).arg("-m").arg("venv").arg(venv));
    if !out.status.success() {
        panic!(
            "`{} -m venv {}` failed ({}). The Python `venv`/`ensurepip` modules are \
             required (e.g. `apt-get install python3-venv`).\n--- stderr ---\n{}",
            python.display(),
            venv.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn pip_install(python: &Path) {
    let requirements = requirements_file();
    let out = run_logged(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--retries",
                "3",
                "-r",
            ])
            .arg(&requirements),
    );
    if !out.status.success() {
        panic!(
            "`{} -m pip install -r {}` failed ({}). The differential tests install \
             the pinned alembic from PyPI: check that pip is available in the venv and \
             that PyPI (or PIP_INDEX_URL) is reachable.\n--- stdout ---\n{}\n--- stderr ---\n{}",
            python.display(),
            requirements.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn run_logged(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// A cross-process lock: an atomically created directory, removed on drop.
/// A lock older than `STALE_AFTER` is assumed to belong to a killed process.
struct DirLock {
    path: PathBuf,
}

const STALE_AFTER: Duration = Duration::from_secs(15 * 60);
const WAIT_AT_MOST: Duration = Duration::from_secs(20 * 60);

impl DirLock {
    fn acquire(path: &Path) -> DirLock {
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        let started = Instant::now();
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    let _ = fs::write(path.join("pid"), std::process::id().to_string());
                    return DirLock {
                        path: path.to_path_buf(),
                    };
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let age = fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a > STALE_AFTER) {
                        let _ = fs::remove_dir_all(path);
                        continue;
                    }
                    if started.elapsed() > WAIT_AT_MOST {
                        panic!(
                            "timed out waiting for the venv lock {} (remove it if no \
                             other test run is active)",
                            path.display()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => panic!("cannot create lock directory {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Makes sure the venv can `import module`, installing `requirement` with pip when it cannot
/// (a database driver that only some tests need, e.g. psycopg2 for PostgreSQL). Returns the
/// venv interpreter.
pub fn alembic_python_with(module: &str, requirement: &str) -> PathBuf {
    let python = alembic_python();
    let imports = |p: &Path| {
        Command::new(p)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if imports(&python) {
        return python;
    }
    let lock_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("migscope-venv.lock");
    let _lock = DirLock::acquire(&lock_path);
    if !imports(&python) {
        let out = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", requirement])
            .output()
            .unwrap_or_else(|e| panic!("cannot run pip: {e}"));
        assert!(
            out.status.success(),
            "pip install {requirement} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    python
}
