//! The script users keepalived settles while it parses (keepalived.conf(5) "SCRIPTS",
//! `script_user`, `user`): a global `script_user` that does not exist is an error, and a
//! `vrrp_script` or `MISC_CHECK` that cannot be given a user is removed where its block ends,
//! so that the blocks read after it (an instance's `track_script`) no longer find it.
//! Notify scripts, which keepalived only logs, are left to the script checks in [`crate::validate`].

use crate::{
    error::{Diagnostic, Severity},
    model::{Checker, Config, VrrpScript},
    scripts::{self, ResolveError},
    validate::Environment,
};

/// What [`drop_scripts_without_user`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// A script was refused for want of the default user (`keepalived_script` under
    /// `enable_script_security`): keepalived says that once as an error.
    pub default_user_reported: bool,
}

/// keepalived's parse-time user checks: `Error setting global script uid/gid` at
/// `script_user`, then every `vrrp_script` and `MISC_CHECK` without a usable user is
/// removed with keepalived's message (at its `user` line when that user does not exist,
/// else where its block ends).
pub fn drop_scripts_without_user(
    config: &mut Config,
    env: &dyn Environment,
    diags: &mut Vec<Diagnostic>,
) -> Dropped {
    let global = config.global.clone();
    if let Some((user, group)) = &global.script_user
        && let Err(err) = env.script_user(user, group.as_deref())
    {
        let message = format!("Error setting global script uid/gid - {err}");
        diags.push(match global.places.get("script_user") {
            Some(place) => Diagnostic::at(Severity::Error, place, message),
            None => Diagnostic::global(Severity::Error, message),
        });
    }
    let global_user = global
        .script_user
        .as_ref()
        .map(|(user, group)| (user.as_str(), group.as_deref()));
    let resolve = |own: Option<(&str, Option<&str>)>| {
        scripts::resolve(
            own,
            global_user,
            global.enable_script_security,
            |user, group| env.script_user(user, group),
        )
    };
    let mut dropped = Dropped::default();
    config.vrrp_scripts.retain(|s| {
        let Err(err) = vrrp_script_command(s).map_or(Ok(()), |_| {
            let own = s.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
            resolve(own).map(|_| ())
        }) else {
            return true;
        };
        dropped.default_user_reported |= matches!(err, ResolveError::NoDefault);
        diags.push(match &err {
            ResolveError::Own(_) => Diagnostic::at(
                Severity::Error,
                s.places.get("user").unwrap_or(&s.place),
                format!(
                    "Unable to set uid/gid for script '{}' - {err}",
                    vrrp_script_command(s).unwrap_or_default()
                ),
            ),
            _ => Diagnostic::at(
                Severity::Error,
                &s.end,
                format!(
                    "Unable to set default user for vrrp script {} - removing ({err})",
                    s.name
                ),
            ),
        });
        false
    });
    for vs in &mut config.virtual_servers {
        for rs in &mut vs.real_servers {
            rs.checkers.retain(|ck| {
                let Some(command) = misc_command(ck) else {
                    return true;
                };
                let Err(err) = resolve(misc_user(ck)) else {
                    return true;
                };
                dropped.default_user_reported |= matches!(err, ResolveError::NoDefault);
                let shown = quoted(command);
                diags.push(match &err {
                    ResolveError::Own(_) => Diagnostic::at(
                        Severity::Error,
                        ck.places.get("user").unwrap_or(&ck.end),
                        format!("Failed to set uid/gid for misc checker script {shown} - removing ({err})"),
                    ),
                    _ => Diagnostic::at(
                        Severity::Error,
                        &ck.end,
                        format!("Unable to set default user for misc script {shown} - removing ({err})"),
                    ),
                });
                false
            });
        }
    }
    dropped
}

/// keepalived.conf MISC_CHECK `user USER [GROUP]`, else the user written after `misc_path`'s
/// script: who runs the checker's script (as the daemon's checker plan reads it).
pub fn misc_user(ck: &Checker) -> Option<(&str, Option<&str>)> {
    match ck.other.get("user").map(Vec::as_slice) {
        Some([user, rest @ ..]) => Some((user.as_str(), rest.first().map(String::as_str))),
        _ => ck
            .misc_path
            .as_ref()
            .and_then(|s| s.user.as_deref().map(|u| (u, s.group.as_deref()))),
    }
}

/// A vrrp_script's command when it names a program to run (not a `<file` test).
fn vrrp_script_command(s: &VrrpScript) -> Option<&str> {
    s.script
        .as_ref()
        .map(|script| script.command.as_str())
        .filter(|c| runs_a_program(c))
}

/// A MISC_CHECK's `misc_path` command when it names a program to run.
fn misc_command(ck: &Checker) -> Option<&str> {
    ck.misc_path
        .as_ref()
        .map(|s| s.command.as_str())
        .filter(|c| runs_a_program(c))
}

/// Whether a script's first word is a program (`</path` only tests that a file opens).
fn runs_a_program(command: &str) -> bool {
    scripts::split_words(command)
        .first()
        .is_some_and(|program| !program.starts_with('<'))
}

/// A command as keepalived shows it: each word quoted (`'/bin/check' 'arg'`).
fn quoted(command: &str) -> String {
    scripts::split_words(command)
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ")
}
