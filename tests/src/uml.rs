//! A User-Mode Linux guest for tests that need real IPVS (this machine's kernel has none):
//! Debian's `linux.uml` (package `user-mode-linux`, installed by `cargo xtask setup`) boots
//! with a hostfs root that holds busybox, ipvsadm, the release `kad` with its shared
//! libraries and the kernel's IPVS modules, runs the init script the test writes, and
//! powers off. The test reads what the guest wrote under its root, and the console.
//!
//! The module set (every `ip_vs*` module of the UML kernel and what they depend on, in
//! load order) is prepared once per kernel version under `<target>/uml/<version>/`; each
//! guest root links to it, so a boot costs a few seconds.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

/// The UML kernel from the `user-mode-linux` package.
pub const LINUX_UML: &str = "/usr/bin/linux.uml";
/// Where that package keeps its modules (one folder per kernel version).
pub const UML_MODULES: &str = "/usr/lib/uml/modules";

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// What a UML 6.1 kernel prints when it cannot run on the host's CPU: its ptrace of the
/// guest's floating-point state fails where the host's XSAVE area holds more (AMX tile data
/// on recent Xeons) than that kernel knows. Later UML kernels size the buffer from the host.
const FP_REGS_FAILURE: &str = "ptrace set fp regs failed";

/// Why no UML guest can boot on this machine, when that is so: one minimal guest is booted
/// per test binary, and only the known host-CPU failure ([`FP_REGS_FAILURE`]) counts. Any
/// other boot failure is left to the tests, which then fail with its console.
pub fn cannot_boot_here() -> Option<String> {
    static VERDICT: OnceLock<Option<String>> = OnceLock::new();
    VERDICT
        .get_or_init(|| {
            let booted = crate::kad_bin()
                .and_then(|kad| UmlGuest::new("probe", &kad))
                .and_then(|guest| guest.boot("true", Duration::from_secs(60)));
            match booted {
                Err(err) if format!("{err:#}").contains(FP_REGS_FAILURE) => Some(format!(
                    "{LINUX_UML} ({}) cannot boot on this host's CPU: \"{FP_REGS_FAILURE}\" \
                     (its XSAVE state, e.g. AMX, is larger than this UML kernel supports)",
                    kernel_version().unwrap_or_else(|_| "?".to_owned())
                )),
                _ => None,
            }
        })
        .clone()
}

/// The cargo target folder (`$CARGO_TARGET_DIR` or the repository's `target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target"))
}

/// The UML kernel version whose modules are installed.
pub fn kernel_version() -> Result<String> {
    let mut versions: Vec<String> = fs::read_dir(UML_MODULES)
        .with_context(|| format!("{UML_MODULES} (run `cargo xtask setup`: user-mode-linux)"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    versions
        .pop()
        .with_context(|| format!("no kernel version under {UML_MODULES}"))
}

/// The IPVS modules to load: the core and every scheduler the kernel ships, plus the SIP
/// persistence engine.
fn wanted_module(path: &str) -> bool {
    path.contains("/ipvs/ip_vs") && !path.ends_with("ip_vs_ftp.ko")
}

/// Prepares (once) `<target>/uml/<version>/modules/` with the IPVS modules and their
/// dependencies, and `modules.order` listing them in load order; returns that folder.
pub fn module_cache() -> Result<PathBuf> {
    let version = kernel_version()?;
    let cache = target_dir().join("uml").join(&version);
    let order_file = cache.join("modules.order");
    if order_file.exists() {
        return Ok(cache);
    }
    let base = Path::new(UML_MODULES).join(&version);
    let dep_text = fs::read_to_string(base.join("modules.dep"))
        .with_context(|| format!("reading {}/modules.dep", base.display()))?;
    let deps: Vec<(&str, Vec<&str>)> = dep_text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(module, deps)| (module.trim(), deps.split_whitespace().collect()))
        .collect();
    // modules.dep lists a module's dependencies with the deepest last: load them in
    // reverse, then the module itself.
    let mut order: Vec<&str> = Vec::new();
    for (module, module_deps) in deps.iter().filter(|(m, _)| wanted_module(m)) {
        for dep in module_deps.iter().rev().chain(std::iter::once(module)) {
            if !order.contains(dep) {
                order.push(dep);
            }
        }
    }
    if !order.iter().any(|m| m.ends_with("/ip_vs.ko")) {
        bail!("no ip_vs.ko in {}", base.display());
    }
    let staging = cache.with_extension(format!("tmp{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(staging.join("modules"))?;
    let mut names = String::new();
    for module in &order {
        let name = Path::new(module)
            .file_name()
            .with_context(|| format!("module path {module}"))?;
        fs::copy(base.join(module), staging.join("modules").join(name))
            .with_context(|| format!("copying {module}"))?;
        names.push_str(&name.to_string_lossy());
        names.push('\n');
    }
    fs::write(staging.join("modules.order"), names)?;
    // Another test process may have won the race; either copy is complete.
    if fs::rename(&staging, &cache).is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    Ok(cache)
}

/// Copies `from` to `to` (hard link when on the same file system), creating folders.
fn place(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if to.exists() {
        return Ok(());
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// The shared libraries a dynamic executable needs (`ldd`), with the loader.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .context("running ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect())
}

/// Puts an executable and its libraries into the guest root at `dest`.
fn install_program(root: &Path, program: &Path, dest: &str) -> Result<()> {
    place(program, &root.join(dest.trim_start_matches('/')))?;
    for lib in shared_libraries(program)? {
        let inside = root.join(lib.strip_prefix("/").unwrap_or(&lib));
        let real = fs::canonicalize(&lib).unwrap_or(lib.clone());
        place(&real, &inside)?;
    }
    Ok(())
}

/// A system program's path (`/usr/sbin`, `/usr/bin`, `/sbin`, `/bin`).
pub fn which(program: &str) -> Result<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = Path::new(dir).join(program);
        if path.exists() {
            return Ok(path);
        }
    }
    bail!("{program} not found (run `cargo xtask setup`)")
}

/// One guest: its hostfs root (removed on drop) and what the last boot printed.
pub struct UmlGuest {
    root: PathBuf,
    memory: String,
}

impl UmlGuest {
    /// Builds a root with busybox, ipvsadm, `kad` (the binary given) and the IPVS modules.
    pub fn new(tag: &str, kad: &Path) -> Result<Self> {
        if !Path::new(LINUX_UML).exists() {
            bail!("{LINUX_UML} missing (run `cargo xtask setup`: user-mode-linux)");
        }
        let modules = module_cache()?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let root = target_dir()
            .join("uml")
            .join(format!("root-{}-{id}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let guest = Self {
            root,
            memory: "256M".to_owned(),
        };
        let root = &guest.root;
        for dir in [
            "bin",
            "sbin",
            "proc",
            "sys",
            "dev",
            "tmp",
            "out",
            "etc",
            "lib/modules",
        ] {
            fs::create_dir_all(root.join(dir))?;
        }
        place(&which("busybox")?, &root.join("bin/busybox"))?;
        install_program(root, &which("ipvsadm")?, "/sbin/ipvsadm")?;
        install_program(root, kad, "/sbin/kad")?;
        for entry in fs::read_dir(modules.join("modules"))? {
            let entry = entry?;
            place(
                &entry.path(),
                &root.join("lib/modules").join(entry.file_name()),
            )?;
        }
        place(&modules.join("modules.order"), &root.join("modules.order"))?;
        Ok(guest)
    }

    /// The guest's memory (UML `mem=`, e.g. `"1G"`; 256M unless set).
    pub fn with_memory(mut self, memory: &str) -> Self {
        memory.clone_into(&mut self.memory);
        self
    }

    /// Puts one more host program (and the shared libraries it links) into the guest, at
    /// `dest` as the guest sees it (e.g. `/sbin/keepalived`).
    pub fn install(&self, program: &Path, dest: &str) -> Result<()> {
        install_program(&self.root, program, dest)
    }

    /// The guest's root folder on the host.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes a file into the guest (`path` as the guest sees it).
    pub fn write(&self, path: &str, contents: &str) -> Result<()> {
        let file = self.root.join(path.trim_start_matches('/'));
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&file, contents).with_context(|| format!("writing {}", file.display()))
    }

    /// Reads a file the guest wrote.
    pub fn read(&self, path: &str) -> Result<String> {
        let file = self.root.join(path.trim_start_matches('/'));
        fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))
    }

    /// Boots the guest with `script` as the body of its init (after busybox is installed,
    /// /proc, /sys and a tmpfs /run mounted, the IPVS modules loaded and lo up); it powers off after the
    /// script. Returns the console output; fails if the guest did not finish in `timeout`.
    pub fn boot(&self, script: &str, timeout: Duration) -> Result<String> {
        self.start(script, &[], None)?.wait(timeout)
    }

    /// Like [`UmlGuest::boot`] but returns at once: `extra` are more kernel arguments (e.g.
    /// `vec0:transport=tap,ifname=TAP`), `netns` the namespace to run `linux.uml` in (where
    /// its tap is).
    pub fn start(&self, script: &str, extra: &[String], netns: Option<&str>) -> Result<Running> {
        let init = format!(
            "#!/bin/busybox sh\n\
             /bin/busybox --install -s /bin\n\
             export PATH=/sbin:/bin\n\
             mount -t proc proc /proc\n\
             mount -t sysfs sys /sys\n\
             mkdir -p /run\n\
             mount -t tmpfs tmpfs /run\n\
             for m in $(cat /modules.order); do insmod /lib/modules/$m || echo \"UML: insmod $m failed\"; done\n\
             ip link set lo up\n\
             echo \"UML: ready\"\n\
             {script}\n\
             echo \"UML: done\"\n\
             poweroff -f\n"
        );
        self.write("/init", &init)?;
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(self.root.join("init"), fs::Permissions::from_mode(0o755))?;
        let console_path = self.root.join("console.log");
        let console = fs::File::create(&console_path)?;
        let mut command = match netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns, LINUX_UML]);
                command
            }
            None => Command::new(LINUX_UML),
        };
        let child = command
            .arg(format!("mem={}", self.memory))
            .args([
                "root=/dev/root",
                "rootfstype=hostfs",
                &format!("hostfs={}", self.root.display()),
                "rw",
                "init=/init",
                "con=null",
                "con0=null,fd:1",
                "quiet",
            ])
            .args(extra)
            .env("TMPDIR", "/tmp")
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console)
            .spawn()
            .context("starting linux.uml")?;
        Ok(Running {
            child: Some(child),
            console: console_path,
        })
    }
}

/// A booted guest; killed on drop if it is still running.
pub struct Running {
    child: Option<std::process::Child>,
    console: PathBuf,
}

impl Running {
    /// What the guest printed so far.
    pub fn console(&self) -> String {
        fs::read_to_string(&self.console)
            .unwrap_or_default()
            .replace('\r', "")
    }

    /// Waits for the guest to power off; returns its console output, or fails if it did
    /// not finish its script within `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Result<String> {
        let Some(mut child) = self.child.take() else {
            bail!("guest already waited for");
        };
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let text = self.console();
        match status {
            None => bail!("UML guest did not power off within {timeout:?}; console:\n{text}"),
            Some(_) if !text.contains("UML: done") => {
                bail!("UML guest ended before its script finished; console:\n{text}")
            }
            Some(_) => Ok(text),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for UmlGuest {
    fn drop(&mut self) {
        if std::env::var_os("KAD_KEEP_UML").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}
