//! A generic netlink socket speaking IPVS: resolves the family id through nlctrl, then
//! sends one request at a time and reads its acknowledgement or dump. Requests are
//! answered by the kernel synchronously, so the socket is a plain blocking one.

use std::net::SocketAddr;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable,
};
use netlink_packet_generic::{
    GenlFamily as _, GenlMessage,
    ctrl::{GenlCtrl, GenlCtrlCmd, nlas::GenlCtrlAttrs},
};
use netlink_sys::{Socket, SocketAddr as NlAddr, protocols::NETLINK_GENERIC};

use super::{
    attr::CmdAttr,
    error::IpvsError,
    message::IpvsMessage,
    model::{Dest, IpvsTable, Service, ServiceEntry, ServiceKey, SyncDaemon, SyncState, Timeouts},
    reply,
    uapi::cmd,
};

/// Receive buffer size.
const RECV_BUFFER: usize = 64 * 1024;

/// A connected IPVS control socket.
pub struct IpvsSocket {
    socket: Socket,
    family: u16,
    seq: u32,
}

impl IpvsSocket {
    /// Opens a generic netlink socket and looks up the IPVS family id.
    pub fn connect() -> Result<Self, IpvsError> {
        let mut socket = Socket::new(NETLINK_GENERIC)?;
        socket.bind_auto()?;
        socket.connect(&NlAddr::new(0, 0))?;
        let mut this = Self {
            socket,
            family: 0,
            seq: 0,
        };
        this.family = this.resolve_family()?;
        Ok(this)
    }

    fn resolve_family(&mut self) -> Result<u16, IpvsError> {
        let request = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(
                IpvsMessage::family_name().to_owned(),
            )],
        });
        let replies = match self.exchange(request, NLM_F_REQUEST | NLM_F_ACK) {
            Err(IpvsError::Kernel { source, .. })
                if source.raw_os_error() == Some(libc::ENOENT) =>
            {
                return Err(IpvsError::NoFamily);
            }
            other => other?,
        };
        replies
            .iter()
            .flat_map(|reply: &GenlMessage<GenlCtrl>| reply.payload.nlas.iter())
            .find_map(|nla| match nla {
                GenlCtrlAttrs::FamilyId(id) => Some(*id),
                _ => None,
            })
            .ok_or(IpvsError::NoFamily)
    }

    /// Sends one request and collects the replies up to the ack or the end of the dump.
    fn exchange<T>(&mut self, payload: T, flags: u16) -> Result<Vec<T>, IpvsError>
    where
        T: NetlinkSerializable + NetlinkDeserializable + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
        message.finalize();
        let mut buffer = vec![0u8; message.buffer_len()];
        message.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;

        let mut replies = Vec::new();
        loop {
            // The kernel fills dump replies up to a page or so; 64 KiB holds any of them.
            let mut data = Vec::with_capacity(RECV_BUFFER);
            let length = self.socket.recv(&mut data, libc::MSG_TRUNC)?;
            if length > data.len() {
                return Err(IpvsError::Decode(format!(
                    "a {length}-byte reply does not fit the receive buffer"
                )));
            }
            let batch = reply::decode_batch::<T>(&data, self.seq, flags & NLM_F_ACK != 0)?;
            replies.extend(batch.replies);
            if batch.done {
                return Ok(replies);
            }
        }
    }

    fn ipvs(
        &mut self,
        what: &str,
        command: u8,
        attrs: Vec<CmdAttr>,
        flags: u16,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let mut message = GenlMessage::from_payload(IpvsMessage::new(command, attrs));
        message.set_resolved_family_id(self.family);
        let replies = self
            .exchange(message, NLM_F_REQUEST | flags)
            .map_err(|err| match err {
                IpvsError::Kernel { source, .. } => IpvsError::Kernel {
                    what: what.to_owned(),
                    source,
                },
                other => other,
            })?;
        Ok(replies.into_iter().map(|reply| reply.payload).collect())
    }

    fn request(&mut self, what: &str, command: u8, attrs: Vec<CmdAttr>) -> Result<(), IpvsError> {
        self.ipvs(what, command, attrs, NLM_F_ACK).map(drop)
    }

    /// Every virtual service (`IPVS_CMD_GET_SERVICE`, dump).
    pub fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        let replies = self.ipvs("list services", cmd::GET_SERVICE, Vec::new(), NLM_F_DUMP)?;
        reply::services(replies.into_iter().map(|reply| reply.attrs).collect())
    }

    /// The destinations of one service (`IPVS_CMD_GET_DEST`, dump).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, IpvsError> {
        let replies = self.ipvs(
            &format!("list dests of {key}"),
            cmd::GET_DEST,
            vec![CmdAttr::Service(key.attrs())],
            NLM_F_DUMP,
        )?;
        reply::dests(
            replies.into_iter().map(|reply| reply.attrs).collect(),
            key.family(),
        )
    }

    /// The whole table: services with their destinations.
    pub fn table(&mut self) -> Result<IpvsTable, IpvsError> {
        let mut table = IpvsTable::new();
        for service in self.services()? {
            let dests = self
                .dests(&service.key)?
                .into_iter()
                .map(|dest| (dest.addr, dest))
                .collect();
            table.insert(service.key, ServiceEntry { service, dests });
        }
        Ok(table)
    }

    /// `ipvsadm -A`.
    pub fn add_service(&mut self, service: &Service) -> Result<(), IpvsError> {
        let what = format!("add service {}", service.key);
        self.request(
            &what,
            cmd::NEW_SERVICE,
            vec![CmdAttr::Service(service.attrs())],
        )
    }

    /// `ipvsadm -E`.
    pub fn edit_service(&mut self, service: &Service) -> Result<(), IpvsError> {
        let what = format!("edit service {}", service.key);
        self.request(
            &what,
            cmd::SET_SERVICE,
            vec![CmdAttr::Service(service.attrs())],
        )
    }

    /// `ipvsadm -D`.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        let what = format!("delete service {key}");
        self.request(&what, cmd::DEL_SERVICE, vec![CmdAttr::Service(key.attrs())])
    }

    /// `ipvsadm -a`.
    pub fn add_dest(&mut self, key: &ServiceKey, dest: &Dest) -> Result<(), IpvsError> {
        let what = format!("add dest {} to {key}", dest.addr);
        let attrs = vec![CmdAttr::Service(key.attrs()), CmdAttr::Dest(dest.attrs())];
        self.request(&what, cmd::NEW_DEST, attrs)
    }

    /// `ipvsadm -e`.
    pub fn edit_dest(&mut self, key: &ServiceKey, dest: &Dest) -> Result<(), IpvsError> {
        let what = format!("edit dest {} of {key}", dest.addr);
        let attrs = vec![CmdAttr::Service(key.attrs()), CmdAttr::Dest(dest.attrs())];
        self.request(&what, cmd::SET_DEST, attrs)
    }

    /// `ipvsadm -d`.
    pub fn del_dest(&mut self, key: &ServiceKey, addr: SocketAddr) -> Result<(), IpvsError> {
        let what = format!("delete dest {addr} from {key}");
        let attrs = vec![
            CmdAttr::Service(key.attrs()),
            CmdAttr::Dest(Dest::key_attrs(addr)),
        ];
        self.request(&what, cmd::DEL_DEST, attrs)
    }

    /// `ipvsadm -C`.
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.request("flush", cmd::FLUSH, Vec::new())
    }

    /// `ipvsadm --set tcp tcpfin udp`.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<(), IpvsError> {
        let attrs = vec![
            CmdAttr::TimeoutTcp(timeouts.tcp),
            CmdAttr::TimeoutTcpFin(timeouts.tcp_fin),
            CmdAttr::TimeoutUdp(timeouts.udp),
        ];
        self.request("set timeouts", cmd::SET_CONFIG, attrs)
    }

    /// `ipvsadm --start-daemon`.
    pub fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        let what = format!("start sync daemon on {}", daemon.interface);
        self.request(
            &what,
            cmd::NEW_DAEMON,
            vec![CmdAttr::Daemon(daemon.attrs())],
        )
    }

    /// `ipvsadm --stop-daemon`.
    pub fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        let attrs = vec![CmdAttr::Daemon(vec![super::attr::DaemonAttr::State(
            state.number(),
        )])];
        self.request("stop sync daemon", cmd::DEL_DAEMON, attrs)
    }
}
