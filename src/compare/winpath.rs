//! Windows paths typed (or pasted) into a WSL shell: `D:\genAI\app\backend` means
//! `/mnt/d/genAI/app/backend` there. People comparing the Windows checkout with the WSL one copy
//! paths from Explorer, so both spellings must work.

use std::path::{Path, PathBuf};

/// WSL's default `[automount] root`.
pub const DEFAULT_MOUNT_ROOT: &str = "/mnt";

/// The Linux path a Windows path names under WSL, or `None` when `s` is not a Windows path.
///
/// `X:\a\b`, `X:/a/b` and `X:` become `<mount_root>/x/a/b`; `\\wsl$\Distro\a` and
/// `\\wsl.localhost\Distro\a` (the Linux side seen from Windows) become `/a`. A drive-relative
/// `X:a` is refused: it depends on a per-drive current directory WSL cannot know.
pub fn translate(s: &str, mount_root: &Path) -> Option<PathBuf> {
    let is_sep = |c: char| c == '\\' || c == '/';
    let bytes = s.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        let rest = &s[2..];
        if !rest.is_empty() && !rest.starts_with(is_sep) {
            return None;
        }
        let drive = (bytes[0] as char).to_ascii_lowercase().to_string();
        let mut out = mount_root.join(drive);
        out.extend(rest.split(is_sep).filter(|c| !c.is_empty() && *c != "."));
        return Some(out);
    }
    for host in ["wsl$", "wsl.localhost"] {
        for lead in ["\\\\", "//"] {
            let Some(after) = s.strip_prefix(lead) else {
                continue;
            };
            let mut parts = after.split(is_sep).filter(|c| !c.is_empty());
            if !parts.next().is_some_and(|h| h.eq_ignore_ascii_case(host)) {
                continue;
            }
            parts.next()?; // the distribution's name
            let mut out = PathBuf::from("/");
            out.extend(parts.filter(|c| *c != "."));
            return Some(out);
        }
    }
    None
}

/// `[automount] root` from the text of `/etc/wsl.conf`, if it sets one.
pub fn automount_root(conf: &str) -> Option<PathBuf> {
    let mut in_automount = false;
    for line in conf.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            in_automount = line.trim_matches(['[', ']']).trim() == "automount";
            continue;
        }
        if !in_automount {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "root" {
            let value = value.trim().trim_matches('"');
            let trimmed = value.trim_end_matches('/');
            return Some(PathBuf::from(if trimmed.is_empty() {
                "/"
            } else {
                trimmed
            }));
        }
    }
    None
}

/// Where Windows drives are mounted on this machine (WSL's setting, else `/mnt`).
pub fn mount_root() -> PathBuf {
    std::fs::read_to_string("/etc/wsl.conf")
        .ok()
        .and_then(|t| automount_root(&t))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MOUNT_ROOT))
}

/// The path a user argument means: itself when it exists (or on Windows), else its WSL
/// translation when it looks like a Windows path. The second value says whether it was
/// translated, so messages can show both spellings.
pub fn resolve(arg: &str, mount_root: &Path) -> (PathBuf, bool) {
    let given = PathBuf::from(arg);
    if cfg!(windows) || given.exists() {
        return (given, false);
    }
    match translate(arg, mount_root) {
        Some(p) => (p, true),
        None => (given, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<String> {
        translate(s, Path::new("/mnt")).map(|p| p.display().to_string())
    }

    #[test]
    fn drive_paths() {
        assert_eq!(
            t(r"D:\genAI\app\backend").as_deref(),
            Some("/mnt/d/genAI/app/backend")
        );
        assert_eq!(t("D:/x").as_deref(), Some("/mnt/d/x"));
        assert_eq!(t("c:").as_deref(), Some("/mnt/c"));
        assert_eq!(t(r"C:\").as_deref(), Some("/mnt/c"));
        assert_eq!(
            t(r"E:\a\\b\.\c\").as_deref(),
            Some("/mnt/e/a/b/c"),
            "repeated separators and `.` dropped"
        );
        assert_eq!(
            t(r"D:\My Projects\app").as_deref(),
            Some("/mnt/d/My Projects/app")
        );
        assert_eq!(t("D:relative"), None, "drive-relative paths are ambiguous");
        assert_eq!(t("/home/me/app"), None);
        assert_eq!(t("versions"), None);
        assert_eq!(t("git:main"), None);
        assert_eq!(
            translate(r"D:\app", Path::new("/")).map(|p| p.display().to_string()),
            Some("/d/app".to_string())
        );
    }

    #[test]
    fn wsl_unc_paths() {
        assert_eq!(
            t(r"\\wsl$\Ubuntu\home\me\app").as_deref(),
            Some("/home/me/app")
        );
        assert_eq!(
            t(r"\\wsl.localhost\Ubuntu-22.04\srv").as_deref(),
            Some("/srv")
        );
        assert_eq!(t("//wsl$/Ubuntu/tmp").as_deref(), Some("/tmp"));
        assert_eq!(t(r"\\server\share\x"), None);
    }

    #[test]
    fn wsl_conf_root() {
        assert_eq!(automount_root(""), None);
        assert_eq!(
            automount_root("[automount]\nenabled = true\nroot = /win/\n"),
            Some(PathBuf::from("/win"))
        );
        assert_eq!(
            automount_root("[network]\nroot = /x\n[automount]\n# root = /no\n"),
            None
        );
        assert_eq!(
            automount_root("[automount]\nroot = /\n"),
            Some(PathBuf::from("/"))
        );
    }

    /// A WSL-like layout in a temporary directory: `<tmp>/mnt/d/genAI/app/backend` exists and
    /// the Windows spelling resolves to it; an existing path is never translated.
    #[test]
    #[cfg(not(windows))]
    fn resolves_on_a_wsl_like_layout() {
        let tmp = std::env::temp_dir().join(format!("migscope-winpath-{}", std::process::id()));
        let mnt = tmp.join("mnt");
        let backend = mnt.join("d").join("genAI").join("app").join("backend");
        std::fs::create_dir_all(&backend).unwrap();
        let (p, translated) = resolve(r"D:\genAI\app\backend", &mnt);
        assert!(translated);
        assert_eq!(p, backend);
        assert!(p.is_dir());
        let (p, translated) = resolve(backend.to_str().unwrap(), &mnt);
        assert!(!translated);
        assert_eq!(p, backend);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
