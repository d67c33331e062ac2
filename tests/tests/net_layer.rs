//! kad's kernel-facing network layer in real network namespaces: VRRP raw sockets (IPv4 and
//! IPv6, multicast and unicast), interface addresses over rtnetlink, and gratuitous ARP /
//! unsolicited NA frames identical to keepalived's.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use kad::{
    net::{
        addr::{AddressControl, InterfaceAddress, Scope},
        garp::{gratuitous_arp, unsolicited_na},
        interface::ifindex,
        vrrp_socket::{Received, VrrpSocket},
    },
    xdp::PROBE_FRAME,
};
use kad_tests::{
    capture::read_frames,
    netns::{NetNs, veth_pair},
    vectors_dir,
};

fn first_frame(name: &str) -> Result<Vec<u8>> {
    Ok(read_frames(&vectors_dir().join("single").join(name))?
        .into_iter()
        .next()
        .with_context(|| format!("{name} is empty"))?
        .data)
}

#[test]
fn gratuitous_arp_matches_keepalived_byte_for_byte() -> Result<()> {
    let captured = first_frame("garp-keepalived.pcap")?;
    let mac: [u8; 6] = captured[6..12].try_into()?;
    let vip = Ipv4Addr::new(captured[28], captured[29], captured[30], captured[31]);
    assert_eq!(vip, Ipv4Addr::new(10, 77, 0, 100));
    assert_eq!(gratuitous_arp(mac, vip).as_slice(), captured.as_slice());
    Ok(())
}

#[test]
fn unsolicited_na_matches_keepalived_byte_for_byte() -> Result<()> {
    let captured = first_frame("una-keepalived.pcap")?;
    let mac: [u8; 6] = captured[6..12].try_into()?;
    let target: [u8; 16] = captured[62..78].try_into()?;
    let vip = Ipv6Addr::from(target);
    assert_eq!(vip, "fe80::77:100".parse::<Ipv6Addr>()?);
    assert_eq!(unsolicited_na(mac, vip).as_slice(), captured.as_slice());
    Ok(())
}

/// Two namespaces joined by a veth: `a` (10.77.0.1, fe80::a) and `b` (10.77.0.2, fe80::b).
struct Pair {
    a: NetNs,
    b: NetNs,
}

fn pair() -> Result<Pair> {
    let a = NetNs::new("na")?;
    let b = NetNs::new("nb")?;
    veth_pair(&a, "eth0", &b, "eth0")?;
    for (ns, octet) in [(&a, "1"), (&b, "2")] {
        ns.ip(&["addr", "add", &format!("10.77.0.{octet}/24"), "dev", "eth0"])?;
    }
    a.ip(&["addr", "add", "fe80::a/64", "dev", "eth0", "nodad"])?;
    b.ip(&["addr", "add", "fe80::b/64", "dev", "eth0", "nodad"])?;
    Ok(Pair { a, b })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Opens a VRRP socket on `eth0` inside `ns`, registered with `rt`.
fn open(
    ns: &NetNs,
    rt: &tokio::runtime::Runtime,
    v6_source: Option<Ipv6Addr>,
) -> Result<VrrpSocket> {
    let handle = rt.handle().clone();
    ns.run(move || {
        let _entered = handle.enter();
        let index = ifindex("eth0")?;
        // RFC 5798 §5.1.1.2 / §5.1.2.2: the group kad joins for an instance by default.
        let (socket, group) = match v6_source {
            None => (
                VrrpSocket::open_v4("eth0", index)?,
                IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            ),
            Some(source) => (
                VrrpSocket::open_v6("eth0", index, source)?,
                "ff02::12".parse()?,
            ),
        };
        socket.join(group)?;
        Ok(socket)
    })
}

async fn receive(socket: &VrrpSocket, buf: &mut [u8]) -> Result<Received> {
    match tokio::time::timeout(Duration::from_secs(3), socket.recv(buf)).await {
        Ok(received) => Ok(received?),
        Err(_) => bail!("nothing received within 3 s"),
    }
}

#[test]
fn ipv4_vrrp_sockets_carry_multicast_and_unicast_adverts() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let lab = pair()?;
    let rt = runtime()?;
    let tx = open(&lab.a, &rt, None)?;
    let rx = open(&lab.b, &rt, None)?;
    let advert = &PROBE_FRAME[14..];
    rt.block_on(async {
        let mut buf = [0u8; 1500];
        tx.send(advert, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)))
            .await?;
        let got = receive(&rx, &mut buf).await?;
        assert_eq!(
            &buf[..got.len],
            advert,
            "the advert arrives byte for byte, IP header included"
        );
        assert_eq!(got.source, IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)));

        // unicast_peer: the same socket, the peer's address in the IP header.
        let mut unicast = advert.to_vec();
        unicast[16..20].copy_from_slice(&[10, 77, 0, 2]);
        tx.send(&unicast, IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2)))
            .await?;
        let got = receive(&rx, &mut buf).await?;
        assert_eq!(&buf[16..20], &[10, 77, 0, 2], "unicast advert received");
        assert_eq!(buf[8], 255, "TTL stays 255");
        assert_eq!(got.len, unicast.len());
        anyhow::Ok(())
    })
}

#[test]
fn ipv6_vrrp_sockets_report_hop_limit_and_destination() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let lab = pair()?;
    let rt = runtime()?;
    let a_ll: Ipv6Addr = "fe80::a".parse()?;
    let tx = open(&lab.a, &rt, Some(a_ll))?;
    let rx = open(&lab.b, &rt, Some("fe80::b".parse()?))?;
    let frame = first_frame("v3-ipv6-prio200-2vips.pcap")?;
    let advert = &frame[54..];
    rt.block_on(async {
        let mut buf = [0u8; 1500];
        tx.send(advert, "ff02::12".parse()?).await?;
        let got = receive(&rx, &mut buf).await?;
        assert_eq!(got.source, IpAddr::V6(a_ll));
        assert_eq!(got.destination, Some("ff02::12".parse()?));
        assert_eq!(got.hop_limit, Some(255));
        assert_eq!(got.len, advert.len());
        // The kernel recomputes the checksum for our source address; the rest is as sent.
        assert_eq!(&buf[..6], &advert[..6]);
        assert_eq!(&buf[8..got.len], &advert[8..]);
        anyhow::Ok(())
    })
}

#[test]
fn addresses_are_added_with_attributes_listed_and_removed_idempotently() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let lab = pair()?;
    let show = |ns: &NetNs| -> Result<String> {
        let out = std::process::Command::new("ip")
            .args(["-n", ns.name(), "addr", "show", "dev", "eth0"])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    lab.a.run(|| {
        let rt = runtime()?;
        rt.block_on(async {
            let control = AddressControl::connect()?;
            let index = ifindex("eth0")?;
            let vip4 = InterfaceAddress {
                address: IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100)),
                prefix_len: 24,
                ifindex: index,
                broadcast: Some(Ipv4Addr::new(10, 77, 0, 255)),
                scope: Scope::Global,
                label: Some("eth0:vip".into()),
            };
            let vip6 = InterfaceAddress {
                address: "fd77::100".parse()?,
                prefix_len: 64,
                ifindex: index,
                broadcast: None,
                scope: Scope::Global,
                label: None,
            };
            for vip in [&vip4, &vip6] {
                control.add(vip).await?;
                control.add(vip).await?; // already there: still fine
            }
            let listed = control.list(index).await?;
            assert!(listed.contains(&(vip4.address, 24)), "{listed:?}");
            assert!(listed.contains(&(vip6.address, 64)), "{listed:?}");
            anyhow::Ok((control, vip4, vip6))
        })
        .and_then(|(control, vip4, vip6)| {
            let text = show(&lab.a)?;
            assert!(
                text.contains(
                    "inet 10.77.0.100/24 brd 10.77.0.255 scope global secondary eth0:vip"
                ),
                "{text}"
            );
            assert!(
                text.contains("inet6 fd77::100/64 scope global nodad"),
                "{text}"
            );
            let vip6_line = text
                .lines()
                .find(|line| line.contains("fd77::100"))
                .unwrap_or_default();
            assert!(!vip6_line.contains("tentative"), "VIPs skip DAD: {text}");
            rt.block_on(async {
                for vip in [&vip4, &vip6] {
                    control.remove(vip).await?;
                    control.remove(vip).await?; // already gone: still fine
                }
                let listed = control.list(vip4.ifindex).await?;
                assert!(
                    !listed
                        .iter()
                        .any(|(a, _)| *a == vip4.address || *a == vip6.address)
                );
                anyhow::Ok(())
            })
        })
    })
}
