//! Reading the test vectors: classic pcap and pcapng files of Ethernet frames.

use std::{fs::File, path::Path, time::Duration};

use anyhow::{Context as _, Result, bail};
use pcap_file::{pcap::PcapReader, pcapng::Block, pcapng::PcapNgReader};

/// One captured Ethernet frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Capture time since the Unix epoch.
    pub timestamp: Duration,
    /// The frame from the destination MAC on.
    pub data: Vec<u8>,
}

/// Every frame of a pcap or pcapng file, in capture order.
pub fn read_frames(path: &Path) -> Result<Vec<Frame>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let magic = bytes
        .get(..4)
        .context("capture shorter than its magic number")?;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut frames = Vec::new();
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut reader = PcapNgReader::new(file).context("pcapng header")?;
        while let Some(block) = reader.next_block() {
            match block.context("pcapng block")? {
                Block::EnhancedPacket(packet) => frames.push(Frame {
                    timestamp: packet.timestamp,
                    data: packet.data.into_owned(),
                }),
                Block::SimplePacket(packet) => frames.push(Frame {
                    timestamp: Duration::ZERO,
                    data: packet.data.into_owned(),
                }),
                _ => {}
            }
        }
    } else {
        let mut reader = match PcapReader::new(file) {
            Ok(reader) => reader,
            Err(err) => bail!("{}: not a pcap or pcapng file: {err}", path.display()),
        };
        while let Some(packet) = reader.next_packet() {
            let packet = packet.context("pcap record")?;
            frames.push(Frame {
                timestamp: packet.timestamp,
                data: packet.data.into_owned(),
            });
        }
    }
    Ok(frames)
}

/// Every `*.pcap` file under `dir` (recursively), sorted by path.
pub fn capture_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "pcap") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
