//! Names of the VMAC interfaces kad makes without a configured name: global `vmac_prefix`
//! (default `vrrp`) for `use_vmac`, `vmac_addr_prefix` (default `vmac_prefix`) for
//! `use_vmac_addr`. As keepalived's `create_vmac_name`: `PREFIX.VRID`, then, while the
//! name is taken, `PREFIX1.VRID`, `PREFIX2.VRID`… (IPv6: `PREFIX6.VRID` first), the prefix
//! shortened to fit the kernel's 15 characters.

/// keepalived's default `vmac_prefix`.
pub(crate) const DEFAULT_PREFIX: &str = "vrrp";

/// The first name for `vrid` that `taken` refuses not.
pub(crate) fn vmac_name(
    prefix: &str,
    vrid: u8,
    ipv6: bool,
    taken: impl Fn(&str) -> bool,
) -> String {
    let mut num: u32 = 0;
    loop {
        let suffix = if num == 0 {
            format!(".{vrid}")
        } else {
            format!("{num}.{vrid}")
        };
        let room = 15usize.saturating_sub(suffix.len());
        let head: String = prefix.chars().take(room).collect();
        let name = format!("{head}{suffix}");
        if !taken(&name) || num > 999 {
            return name;
        }
        num = match (ipv6, num) {
            (true, 0) => 6,
            (true, 6) => 1,
            (true, 5) => 7,
            (_, n) => n + 1,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::vmac_name;

    #[test]
    fn names_follow_keepalived() {
        assert_eq!(vmac_name("vrrp", 51, false, |_| false), "vrrp.51");
        assert_eq!(vmac_name("vm", 7, false, |n| n == "vm.7"), "vm1.7");
        let used = [
            "vrrp.51", "vrrp6.51", "vrrp1.51", "vrrp2.51", "vrrp3.51", "vrrp4.51",
        ];
        assert_eq!(
            vmac_name("vrrp", 51, true, |n| used[..1].contains(&n)),
            "vrrp6.51"
        );
        assert_eq!(
            vmac_name("vrrp", 51, true, |n| used.contains(&n)),
            "vrrp5.51"
        );
        let used = [&used[..], &["vrrp5.51"]].concat();
        assert_eq!(
            vmac_name("vrrp", 51, true, |n| used.contains(&n)),
            "vrrp7.51"
        );
        assert_eq!(
            vmac_name("a-very-long-prefix", 200, false, |_| false),
            "a-very-long.200"
        );
    }
}
