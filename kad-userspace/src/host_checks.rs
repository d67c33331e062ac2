//! The checks `keepalived -t` makes against this machine, for configuration validation
//! ([`config::Environment`]): does an interface exist, can this script run as this user
//! (keepalived.conf(5) "SCRIPTS", `enable_script_security`), and the host name the
//! `@id` conditionals default to (keepalived `-i/--config-id`).

use std::path::Path;

use crate::{
    config::{self, Environment, LoadOptions},
    exec::scripts::{self, Checked, Refusal, RunAs, UserError},
};

/// The running system: its network interfaces and `PATH`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    /// Asked of the kernel in kad's own network namespace (not `/sys/class/net`, which
    /// shows the namespace sysfs was mounted in).
    fn interface_exists(&self, name: &str) -> bool {
        crate::net::interface::exists(name)
    }

    fn program_exists(&self, program: &str) -> bool {
        if program.contains('/') {
            return Path::new(program).is_file();
        }
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
    }

    /// getaddrinfo, as keepalived resolves `smtp_server` (std's resolver, blocking: the
    /// configuration is loaded before the tasks start and on reload).
    fn host_resolves(&self, host: &str, port: u16) -> bool {
        use std::net::ToSocketAddrs as _;
        (host, port)
            .to_socket_addrs()
            .is_ok_and(|mut addrs| addrs.next().is_some())
    }

    fn script_user(&self, user: &str, group: Option<&str>) -> Result<RunAs, UserError> {
        scripts::lookup(user, group)
    }

    fn check_script(
        &self,
        program: &str,
        run_as: RunAs,
        script_security: bool,
    ) -> Result<Option<Checked>, Refusal> {
        scripts::check(program, run_as, script_security).map(Some)
    }
}

/// keepalived: the config-id defaults to the first part of the node name.
pub fn default_config_id() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into a valid buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(buf.get(..end).unwrap_or(&[])).into_owned();
    name.split('.').next().unwrap_or("").to_owned()
}

/// Load options for this machine: the default config-id (the host name up to its first dot)
/// and the default limits.
pub fn load_options() -> LoadOptions {
    LoadOptions::with_config_id(&default_config_id())
}

/// Loads and validates the configuration file `path` against this machine.
pub fn load(path: &Path, options: &LoadOptions) -> Result<config::Loaded, config::LoadError> {
    config::load(path, options, &SystemEnvironment)
}
