//! From the wanted table and the kernel's, the fewest IPVS operations that make the
//! kernel's match: services are added or edited in place (a live service is never
//! deleted and re-created, so its connections survive a reload), destinations are added,
//! edited (weight, forwarding, thresholds) or removed one by one.

use std::{collections::BTreeSet, fmt, net::SocketAddr};

use super::ipvs::{Dest, IpvsError, IpvsSocket, IpvsTable, Service, ServiceKey};

/// One IPVS operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `ipvsadm -A`.
    AddService(Service),
    /// `ipvsadm -E`.
    EditService(Service),
    /// `ipvsadm -D`.
    DelService(ServiceKey),
    /// `ipvsadm -a`.
    AddDest(ServiceKey, Dest),
    /// `ipvsadm -e`.
    EditDest(ServiceKey, Dest),
    /// `ipvsadm -d`.
    DelDest(ServiceKey, SocketAddr),
}

impl Op {
    /// Sends the operation to the kernel.
    pub fn apply(&self, socket: &mut IpvsSocket) -> Result<(), IpvsError> {
        match self {
            Self::AddService(s) => socket.add_service(s),
            Self::EditService(s) => socket.edit_service(s),
            Self::DelService(k) => socket.del_service(k),
            Self::AddDest(k, d) => socket.add_dest(k, d),
            Self::EditDest(k, d) => socket.edit_dest(k, d),
            Self::DelDest(k, a) => socket.del_dest(k, *a),
        }
    }
}

fn service_text(s: &Service) -> String {
    let mut text = format!("{} {}", s.key, s.scheduler);
    if s.timeout != 0 || s.flags & super::ipvs::uapi::svc_flags::PERSISTENT != 0 {
        text.push_str(&format!(" persistent {}", s.timeout));
    }
    text
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddService(s) => write!(f, "add service {}", service_text(s)),
            Self::EditService(s) => write!(f, "edit service {}", service_text(s)),
            Self::DelService(k) => write!(f, "del service {k}"),
            Self::AddDest(k, d) => write!(
                f,
                "add dest {} to {k} weight {} ({})",
                d.addr, d.weight, d.forwarding
            ),
            Self::EditDest(k, d) => write!(
                f,
                "edit dest {} in {k} weight {} ({})",
                d.addr, d.weight, d.forwarding
            ),
            Self::DelDest(k, a) => write!(f, "del dest {a} from {k}"),
        }
    }
}

/// The operations that turn `actual` into `wanted`. Services in `actual` but not in
/// `wanted` are deleted only when kad put them there (`owned`: the services of the
/// previous wanted table), so services an operator added by hand are left alone.
pub fn diff(wanted: &IpvsTable, actual: &IpvsTable, owned: &BTreeSet<ServiceKey>) -> Vec<Op> {
    let mut ops = Vec::new();
    for key in actual.keys() {
        if !wanted.contains_key(key) && owned.contains(key) {
            ops.push(Op::DelService(*key));
        }
    }
    for (key, want) in wanted {
        let Some(have) = actual.get(key) else {
            ops.push(Op::AddService(want.service.clone()));
            for dest in want.dests.values() {
                ops.push(Op::AddDest(*key, dest.clone()));
            }
            continue;
        };
        if have.service != want.service {
            ops.push(Op::EditService(want.service.clone()));
        }
        for addr in have.dests.keys() {
            if !want.dests.contains_key(addr) {
                ops.push(Op::DelDest(*key, *addr));
            }
        }
        for (addr, dest) in &want.dests {
            match have.dests.get(addr) {
                None => ops.push(Op::AddDest(*key, dest.clone())),
                Some(current) if current != dest => ops.push(Op::EditDest(*key, dest.clone())),
                Some(_) => {}
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::lvs::ipvs::{Family, Forwarding, Protocol, ServiceEntry};

    fn key(addr: &str) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: addr.parse().unwrap(),
        }
    }

    fn service(key: ServiceKey, scheduler: &str) -> Service {
        Service {
            key,
            scheduler: scheduler.into(),
            flags: 0,
            timeout: 0,
            netmask: Service::default_netmask(Family::Inet),
            pe_name: None,
        }
    }

    fn dest(addr: &str, weight: i32) -> Dest {
        Dest {
            addr: addr.parse().unwrap(),
            forwarding: Forwarding::Masq,
            weight,
            u_threshold: 0,
            l_threshold: 0,
        }
    }

    fn table(entries: &[(ServiceKey, &str, &[Dest])]) -> IpvsTable {
        entries
            .iter()
            .map(|(k, sched, dests)| {
                (
                    *k,
                    ServiceEntry {
                        service: service(*k, sched),
                        dests: dests.iter().map(|d| (d.addr, d.clone())).collect(),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>()
    }

    #[test]
    fn an_empty_kernel_gets_every_service_and_dest() {
        let k = key("10.0.0.1:80");
        let wanted = table(&[(k, "rr", &[dest("10.0.0.2:80", 1), dest("10.0.0.3:80", 2)])]);
        let ops = diff(&wanted, &IpvsTable::new(), &BTreeSet::new());
        assert_eq!(
            ops,
            vec![
                Op::AddService(service(k, "rr")),
                Op::AddDest(k, dest("10.0.0.2:80", 1)),
                Op::AddDest(k, dest("10.0.0.3:80", 2)),
            ]
        );
        assert_eq!(
            ops[1].to_string(),
            "add dest 10.0.0.2:80 to TCP 10.0.0.1:80 weight 1 (masq)"
        );
    }

    #[test]
    fn equal_tables_need_nothing() {
        let k = key("10.0.0.1:80");
        let t = table(&[(k, "rr", &[dest("10.0.0.2:80", 1)])]);
        assert!(diff(&t, &t, &BTreeSet::from([k])).is_empty());
    }

    #[test]
    fn a_weight_change_is_one_edit_of_that_dest() {
        let k = key("10.0.0.1:80");
        let actual = table(&[(k, "rr", &[dest("10.0.0.2:80", 1), dest("10.0.0.3:80", 1)])]);
        let wanted = table(&[(k, "rr", &[dest("10.0.0.2:80", 1), dest("10.0.0.3:80", 5)])]);
        assert_eq!(
            diff(&wanted, &actual, &BTreeSet::from([k])),
            vec![Op::EditDest(k, dest("10.0.0.3:80", 5))]
        );
    }

    #[test]
    fn a_scheduler_change_edits_the_live_service_without_recreating_it() {
        let k = key("10.0.0.1:80");
        let actual = table(&[(k, "rr", &[dest("10.0.0.2:80", 1)])]);
        let wanted = table(&[(k, "wlc", &[dest("10.0.0.2:80", 1)])]);
        assert_eq!(
            diff(&wanted, &actual, &BTreeSet::from([k])),
            vec![Op::EditService(service(k, "wlc"))]
        );
    }

    #[test]
    fn removed_dests_and_owned_services_are_deleted_foreign_ones_kept() {
        let k1 = key("10.0.0.1:80");
        let k2 = key("10.0.0.9:80");
        let foreign = key("192.0.2.1:25");
        let actual = table(&[
            (k1, "rr", &[dest("10.0.0.2:80", 1), dest("10.0.0.3:80", 1)]),
            (k2, "rr", &[]),
            (foreign, "rr", &[]),
        ]);
        let wanted = table(&[(k1, "rr", &[dest("10.0.0.2:80", 1)])]);
        assert_eq!(
            diff(&wanted, &actual, &BTreeSet::from([k1, k2])),
            vec![
                Op::DelService(k2),
                Op::DelDest(k1, "10.0.0.3:80".parse().unwrap()),
            ]
        );
    }
}
