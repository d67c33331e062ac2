//! What the test process may do in this kernel. Tests that need root or a kernel feature
//! start with [`skip_unless!`](crate::skip_unless) and, when it is missing, print why they
//! skip and return early: never silently. The test's name comes from the function the macro
//! stands in ([`test_name!`](crate::test_name)), so no test retypes its own name.

/// The name of the test function this expands in, as libtest shows it (`module::test` for a
/// test in a module), for skip messages. Closures and async blocks (`#[tokio::test]`) inside
/// it are looked through.
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        $crate::privilege::enclosing_function(::std::any::type_name_of_val(&here))
    }};
}

/// Returns from the calling test (`Ok(())` or `()`) unless the process has `need` (a
/// [`Need`] variant), recording the skip under the test's own name. `skip_unless!(Root)`.
#[macro_export]
macro_rules! skip_unless {
    ($need:ident) => {
        if !$crate::privilege::require($crate::test_name!(), $crate::privilege::Need::$need) {
            return $crate::privilege::Skipped::skipped();
        }
    };
}

/// Records that the calling test skips for `reason` (a `format!` string) and returns from it.
#[macro_export]
macro_rules! skip {
    ($($reason:tt)+) => {{
        $crate::privilege::record_skip($crate::test_name!(), &format!($($reason)+));
        return $crate::privilege::Skipped::skipped();
    }};
}

/// The test's name as libtest shows it (the path below the test crate) from `type_name` of
/// an item `here` defined in its function: `tests_x::module::function::{{closure}}::here` →
/// `module::function`.
pub fn enclosing_function(here: &'static str) -> &'static str {
    let mut path = here.strip_suffix("::here").unwrap_or(here);
    while let Some(outer) = path
        .strip_suffix("::{{closure}}")
        .or_else(|| path.strip_suffix("::{closure}"))
    {
        path = outer;
    }
    path.split_once("::").map_or(path, |(_crate, rest)| rest)
}

/// What a skipped test returns: `()` or `Ok(())`.
pub trait Skipped {
    /// The value a test returns when it skips.
    fn skipped() -> Self;
}

impl Skipped for () {
    fn skipped() -> Self {}
}

impl<E> Skipped for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// Whether the process runs as root (CI does).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Returns true when `needs` is available; otherwise prints `SKIPPED <test>: <reason>` to
/// stderr (shown by `cargo test`) and returns false.
pub fn require(test: &str, needs: Need) -> bool {
    let missing = match needs {
        Need::Root if !is_root() => Some("needs root (CAP_BPF, CAP_NET_ADMIN)".to_owned()),
        Need::Root => None,
        Need::Uml if !is_root() => Some("needs root (CAP_BPF, CAP_NET_ADMIN)".to_owned()),
        Need::Uml => crate::uml::cannot_boot_here(),
    };
    match missing {
        Some(reason) => {
            record_skip(test, &reason);
            false
        }
        None => true,
    }
}

/// Prints `SKIPPED test: reason` and, under `cargo xtask test`, appends it to `$KAD_SKIP_LOG`
/// so the run's summary lists every skip (libtest hides a passing test's output).
pub fn record_skip(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(path) = std::env::var_os("KAD_SKIP_LOG") {
        use std::io::Write as _;
        let line = format!("{test}: {reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            eprintln!(
                "cannot record skip in {}: {err}",
                std::path::Path::new(&path).display()
            );
        }
    }
}

/// Something a test needs from its environment.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// Root: load BPF programs, create network namespaces.
    Root,
    /// Root and a User-Mode Linux guest that boots on this host (real IPVS).
    Uml,
}
