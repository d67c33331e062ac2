//! What a flood sends at a Backup: valid lower-priority adverts for its VRID (from forged
//! sources that change with every frame, and from the Master's own address), adverts that
//! break RFC 5798 §7.1 or belong to no instance, or both alternating ([`Mix`]). Every frame goes to 224.0.0.18 inside
//! an Ethernet frame addressed to the Backup's MAC, so only the Backup is attacked: the
//! Master (keepalived, whose advert timer invalid packets push, see LAB.md) stays a clean
//! reference and any transition is the Backup's own doing.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Result;

use crate::xdp_frames::{Advert, L3, fix_ipv4_checksum};

/// Which frames a flood sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mix {
    /// Lower-priority and invalid adverts, alternating (the default).
    #[default]
    Both,
    /// Valid lower-priority adverts only.
    LowerPriority,
    /// Invalid adverts only.
    Invalid,
}

impl Mix {
    /// One line for reports: what [`frames`] sends.
    pub fn description(self) -> &'static str {
        match self {
            Self::Both => {
                "1:1 valid priority-50 adverts for the Backup's VRID (15 forged sources + the \
                 Master's address) and invalid ones (bad checksum, TTL 254, version 4, type 2, \
                 truncated, count mismatch, garbage payload, unknown VRID), to the Backup's MAC"
            }
            Self::LowerPriority => {
                "valid priority-50 adverts for the Backup's VRID (15 forged sources + the \
                 Master's address), to the Backup's MAC"
            }
            Self::Invalid => {
                "invalid adverts (bad checksum, TTL 254, version 4, type 2, truncated, count \
                 mismatch, garbage payload, unknown VRID), to the Backup's MAC"
            }
        }
    }
}

/// The instance under attack.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The Backup's MAC address (Ethernet destination of every frame).
    pub mac: [u8; 6],
    /// The instance's VRID.
    pub vrid: u8,
    /// Its advert interval in centiseconds.
    pub interval_cs: u16,
    /// The Master's address (forged as a source).
    pub master: Ipv4Addr,
    /// The instance's virtual address (carried in the adverts).
    pub vip: Ipv4Addr,
}

const VRRP: usize = L3 + 20;

/// The flood's frames, in the order to send them round robin (16 of each kind in `mix`;
/// with both, lower-priority and invalid alternate).
pub fn frames(target: &Target, mix: Mix) -> Result<Vec<Vec<u8>>> {
    let advert = |source: Ipv4Addr, vrid: u8, priority: u8| -> Result<Vec<u8>> {
        let mut advert = Advert::v3(&source.to_string(), vrid, priority);
        advert.interval_cs = target.interval_cs;
        advert.addresses = vec![IpAddr::V4(target.vip)];
        let mut frame = advert.frame()?;
        frame[..6].copy_from_slice(&target.mac);
        Ok(frame)
    };
    let mut lower = vec![advert(target.master, target.vrid, 50)?];
    for n in 0..15u8 {
        lower.push(advert(Ipv4Addr::new(10, 77, 0, 200 + n), target.vrid, 50)?);
    }
    // Invalid adverts claim priority 250: accepting any of them would show.
    let good = advert(Ipv4Addr::new(10, 77, 0, 199), target.vrid, 250)?;
    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut frame = good.clone();
        f(&mut frame);
        frame
    };
    let invalid = [
        mutate(&|f| f[VRRP + 6] ^= 0xff),
        mutate(&|f| {
            f[L3 + 8] = 254;
            fix_ipv4_checksum(f);
        }),
        mutate(&|f| f[VRRP] = 0x41),
        mutate(&|f| f[VRRP] = 0x32),
        mutate(&|f| {
            f.truncate(VRRP + 4);
            f[L3 + 2..L3 + 4].copy_from_slice(&24u16.to_be_bytes());
            fix_ipv4_checksum(f);
        }),
        mutate(&|f| f[VRRP + 3] = 3),
        mutate(&|f| {
            for (i, byte) in f[VRRP..].iter_mut().enumerate() {
                *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
            }
        }),
        advert(Ipv4Addr::new(10, 77, 0, 199), target.vrid % 255 + 1, 250)?,
    ];
    let invalid: Vec<Vec<u8>> = invalid.iter().chain(invalid.iter()).cloned().collect();
    Ok(match mix {
        Mix::Both => lower
            .into_iter()
            .zip(invalid)
            .flat_map(|(lower, invalid)| [lower, invalid])
            .collect(),
        Mix::LowerPriority => lower,
        Mix::Invalid => invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_and_addresses_the_backup() -> Result<()> {
        let target = Target {
            mac: [2, 0, 0, 0, 0, 2],
            vrid: 1,
            interval_cs: 10,
            master: Ipv4Addr::new(10, 77, 0, 1),
            vip: Ipv4Addr::new(10, 78, 1, 1),
        };
        let frames = frames(&target, Mix::Both)?;
        assert_eq!(frames.len(), 32);
        assert!(frames.iter().all(|frame| frame[..6] == target.mac));
        // Lower-priority adverts at even positions: VRID 1, priority 50.
        assert_eq!(super::frames(&target, Mix::Invalid)?.len(), 16);
        assert!(
            frames
                .iter()
                .step_by(2)
                .all(|f| f[VRRP + 1] == 1 && f[VRRP + 2] == 50)
        );
        Ok(())
    }
}
