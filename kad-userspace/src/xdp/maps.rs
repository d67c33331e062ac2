//! PLACEHOLDER (lead's local compile shim; replaced by the xdp-kernel branch's maps.rs).
use std::net::IpAddr;

use aya::maps::{MapData, RingBuf};
use kad_common::xdp_maps::{VrrpConfig, VrrpEvent, VrrpKey, VrrpSeen};

use super::{XdpCounters, XdpDataplane, XdpError};

impl XdpDataplane {
    pub fn set_vrrp_config(&mut self, _key: VrrpKey, _config: &VrrpConfig) -> Result<(), XdpError> {
        Err(XdpError::MissingMap("KAD_VRRP_CONFIG"))
    }
    pub fn remove_vrrp_config(&mut self, _key: &VrrpKey) -> Result<(), XdpError> {
        Err(XdpError::MissingMap("KAD_VRRP_CONFIG"))
    }
    pub fn vrrp_seen(&self, _key: &VrrpKey) -> Result<Option<VrrpSeen>, XdpError> {
        Err(XdpError::MissingMap("KAD_VRRP_SEEN"))
    }
    pub fn set_interface_slot(&mut self, _ifindex: u32, _slot: u32) -> Result<(), XdpError> {
        Err(XdpError::MissingMap("x"))
    }
    pub fn interface_counters(&self, _slot: u32) -> Result<XdpCounters, XdpError> {
        Err(XdpError::MissingMap("x"))
    }
    pub fn set_vip(&mut self, _address: IpAddr, _drop: bool) -> Result<(), XdpError> {
        Err(XdpError::MissingMap("x"))
    }
    pub fn set_unicast_peers(&mut self, _key: VrrpKey, _peers: &[IpAddr]) -> Result<(), XdpError> {
        Err(XdpError::MissingMap("x"))
    }
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>, XdpError> {
        Err(XdpError::MissingMap("KAD_VRRP_EVENTS"))
    }
}

pub fn parse_event(_bytes: &[u8]) -> Option<VrrpEvent> {
    None
}
