//! Capture file devices, with the `pcap-file` crate: [`PcapReader`]
//! receives the frames of a capture, [`PcapWriter`] writes every frame it
//! is given as a record. `strata replay` runs the stack between the two.
//!
//! **Reading.** Classic pcap (either byte order, micro- or nanosecond
//! timestamps) with link type Ethernet (1); any other link type is refused
//! at open ([`PcapDevError::NotEthernet`]). pcapng is accepted too (the
//! crate's `PcapNgReader`): enhanced and simple packet blocks are read,
//! other blocks skipped, and packets of interfaces whose link type is not
//! Ethernet dropped and counted (pcapng declares interfaces as it goes, so
//! this cannot be checked at open). Each frame is copied into a buffer of
//! the pool; a frame longer than a fresh buffer's room is dropped and
//! counted, as is a truncated capture (caplen < origlen) unless
//! [`PcapReaderConfig::keep_truncated`] asks for the captured part. The
//! capture timestamp of every frame is kept: [`PcapReader::next_timestamp`]
//! is the next frame's (the replay uses it as "now" before receiving it)
//! and [`PcapReader::burst_timestamps`] those of the last burst.
//!
//! **Hostile files.** A file that ends inside a record, or whose bytes
//! cannot be a record, ends the capture with one error value
//! ([`PcapReader::take_error`]); after it the reader is done. Never a
//! panic; memory stays bounded:
//! - classic pcap is read record by record by this module (the crate's own
//!   reader keeps an 8 MB buffer and reads whatever length a record header
//!   claims): the 16-byte record header is read first and a record longer
//!   than [`PcapReaderConfig::max_record`] (256 KiB by default) is refused
//!   before anything is allocated for it; the crate then parses the record
//!   from one reused buffer (`PcapParser::next_raw_packet`) and checks its
//!   fields (`try_into_pcap_packet`). A record with bad fields (a fraction
//!   of a second ≥ 1 s, caplen > origlen) but sound framing is skipped and
//!   counted (`malformed`). The crate's check that origlen ≤ the file's
//!   snaplen is not applied: real captures taken with `-s 96` break it.
//! - pcapng goes through the crate's reader, whose buffer is a fixed 8 MB:
//!   a block claiming more is an error, so memory is bounded by that.
//!   The crate also keeps every interface block of a section: more than
//!   [`MAX_PCAPNG_INTERFACES`] is an error.
//!   Timestamps are scaled by the interface's `if_tsresol` and
//!   `if_tsoffset` (the crate reads them as nanoseconds).
//!
//! **Writing.** Classic pcap in the machine's byte order, nanosecond
//! timestamps, link type Ethernet, snaplen 65535; frames longer than that
//! are written cut to 65535 bytes with their true origlen (and counted).
//! Chained buffers are written flattened. Each record's timestamp is the
//! one last given to [`PcapWriter::set_time`]. The first write error is
//! kept and returned by [`PcapWriter::flush`] or [`PcapWriter::finish`];
//! frames given after it are dropped and counted.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapParser};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};
use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::{NetBuf, Pool};

use super::{Device, DeviceInfo, DeviceStats};

/// The snaplen of written files.
pub const WRITE_SNAPLEN: u32 = 65535;

/// What went wrong with a capture file.
#[derive(Debug, thiserror::Error)]
pub enum PcapDevError {
    /// The system could not read or write the file.
    #[error("capture file: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not a capture file, or not a sound one.
    #[error("capture file: {0}")]
    Format(String),
    /// The file's link type is not Ethernet (tcpdump.org's LINKTYPE values).
    #[error("capture file: link type {link_type} is not Ethernet (1)")]
    NotEthernet {
        /// The link type found.
        link_type: u32,
    },
    /// A record header claims more bytes than the reader accepts.
    #[error("capture file: a record of {len} bytes is over the {max}-byte limit")]
    RecordTooLarge {
        /// Bytes the record claims.
        len: u32,
        /// The limit ([`PcapReaderConfig::max_record`]).
        max: usize,
    },
    /// The file ends inside a header or record.
    #[error("capture file: truncated inside a record")]
    Truncated,
}

impl From<PcapError> for PcapDevError {
    fn from(e: PcapError) -> Self {
        match e {
            PcapError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                PcapDevError::Truncated
            }
            PcapError::IoError(e) => PcapDevError::Io(e),
            PcapError::IncompleteBuffer => PcapDevError::Truncated,
            other => PcapDevError::Format(other.to_string()),
        }
    }
}

/// Settings of a [`PcapReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapReaderConfig {
    /// The port's name (the file's, say).
    pub name: String,
    /// The Ethernet address the receiving interface has.
    pub mac: EthernetAddress,
    /// Its MTU.
    pub mtu: usize,
    /// What it claims to check (nothing: software by default).
    pub caps: ChecksumCaps,
    /// The longest record accepted (classic pcap); a longer one is an error.
    pub max_record: usize,
    /// Deliver the captured part of truncated captures (caplen < origlen)
    /// instead of dropping them. Either way they are counted.
    pub keep_truncated: bool,
}

impl Default for PcapReaderConfig {
    fn default() -> Self {
        PcapReaderConfig {
            name: "pcap0".to_owned(),
            mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            mtu: 1500,
            caps: ChecksumCaps::software(),
            max_record: 256 * 1024,
            keep_truncated: false,
        }
    }
}

/// What a [`PcapReader`] read and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PcapReaderStats {
    /// Packet records read from the file.
    pub records: u64,
    /// Frames dropped: longer than a buffer's room.
    pub too_long: u64,
    /// Truncated captures (caplen < origlen), delivered or not.
    pub truncated: u64,
    /// Records skipped for bad fields.
    pub malformed: u64,
    /// pcapng packets of a non-Ethernet interface (or an unknown one).
    pub not_ethernet: u64,
    /// Bursts cut short because the pool was empty (the frame waits).
    pub alloc_waits: u64,
}

type Input = Box<dyn Read + Send>;

enum Source {
    Pcap {
        input: BufReader<Input>,
        parser: PcapParser,
    },
    PcapNg(Box<PcapNgReader<Input>>),
}

/// The next frame, read ahead: its bytes are in `PcapReader::data`.
#[derive(Debug, Clone, Copy)]
struct Peeked {
    ts: Duration,
    orig_len: u32,
}

/// A device receiving the frames of a capture file. See the module
/// documentation.
pub struct PcapReader {
    info: DeviceInfo,
    pool: Pool,
    room: usize,
    max_record: usize,
    keep_truncated: bool,
    source: Source,
    /// The record read ahead (classic pcap: with its 16-byte header).
    record: Vec<u8>,
    data_start: usize,
    peeked: Option<Peeked>,
    last_ts: Duration,
    burst_ts: Vec<Duration>,
    done: bool,
    error: Option<PcapDevError>,
    stats: DeviceStats,
    counters: PcapReaderStats,
}

impl fmt::Debug for PcapReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapReader")
            .field("info", &self.info)
            .field("pcapng", &matches!(self.source, Source::PcapNg(_)))
            .field("done", &self.done)
            .field("stats", &self.stats)
            .field("counters", &self.counters)
            .finish()
    }
}

/// The most pcapng interface blocks a section may declare: the crate keeps
/// them all, so a file made of nothing else would otherwise grow memory
/// with its size.
pub const MAX_PCAPNG_INTERFACES: usize = 1024;

/// pcapng's section header block type, which starts every pcapng file.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match input.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl PcapReader {
    /// Opens a capture file.
    ///
    /// # Errors
    ///
    /// [`PcapDevError`] if the file cannot be read, is no capture, or its
    /// link type is not Ethernet.
    pub fn open(
        path: impl AsRef<Path>,
        config: &PcapReaderConfig,
        pool: &Pool,
    ) -> Result<Self, PcapDevError> {
        let file = File::open(path)?;
        Self::from_reader(file, config, pool)
    }

    /// Reads a capture from any byte source.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn from_reader<R: Read + Send + 'static>(
        reader: R,
        config: &PcapReaderConfig,
        pool: &Pool,
    ) -> Result<Self, PcapDevError> {
        let mut input = BufReader::new(Box::new(reader) as Input);
        let mut header = [0u8; 24];
        let got = read_full(&mut input, &mut header[..4])?;
        let source = if got == 4 && header[..4] == PCAPNG_MAGIC {
            // Give the crate the bytes we looked at, then the rest.
            let chained: Input = Box::new(io::Cursor::new(PCAPNG_MAGIC).chain(input));
            Source::PcapNg(Box::new(PcapNgReader::new(chained)?))
        } else {
            let got = got + read_full(&mut input, &mut header[got..])?;
            if got < 24 {
                return Err(PcapDevError::Truncated);
            }
            let (_, parser) = PcapParser::new(&header)?;
            let datalink = parser.header().datalink;
            if datalink != DataLink::ETHERNET {
                return Err(PcapDevError::NotEthernet {
                    link_type: datalink.into(),
                });
            }
            Source::Pcap { input, parser }
        };
        let mut reader = PcapReader {
            info: DeviceInfo {
                name: config.name.clone(),
                kind: "pcap",
                mac: config.mac,
                mtu: config.mtu,
                queue: 0,
                queues: 1,
                caps: config.caps,
            },
            pool: pool.clone(),
            room: pool.frame_size() - pool.headroom(),
            max_record: config.max_record,
            keep_truncated: config.keep_truncated,
            source,
            record: Vec::new(),
            data_start: 0,
            peeked: None,
            last_ts: Duration::ZERO,
            burst_ts: Vec::new(),
            done: false,
            error: None,
            stats: DeviceStats::default(),
            counters: PcapReaderStats::default(),
        };
        reader.advance();
        Ok(reader)
    }

    /// Whether every frame has been received (or the file failed).
    pub fn is_done(&self) -> bool {
        self.done && self.peeked.is_none()
    }

    /// The capture timestamp of the next record, if any: the frame the next
    /// [`rx_burst`](Device::rx_burst) hands over first, unless that record
    /// is then dropped (too long, truncated).
    pub fn next_timestamp(&self) -> Option<Duration> {
        self.peeked.map(|p| p.ts)
    }

    /// The capture timestamps of the frames the last
    /// [`rx_burst`](Device::rx_burst) appended, in order.
    pub fn burst_timestamps(&self) -> &[Duration] {
        &self.burst_ts
    }

    /// The error that ended the capture early, once; `None` after that, or
    /// if the file was sound.
    pub fn take_error(&mut self) -> Option<PcapDevError> {
        self.error.take()
    }

    /// Whether the file is pcapng.
    pub fn is_pcapng(&self) -> bool {
        matches!(self.source, Source::PcapNg(_))
    }

    /// What was read and skipped.
    pub fn reader_stats(&self) -> PcapReaderStats {
        self.counters
    }

    fn fail(&mut self, e: PcapDevError) {
        self.done = true;
        self.error = Some(e);
    }

    /// Reads ahead the next packet record into `self.record`.
    fn advance(&mut self) {
        self.peeked = None;
        while !self.done && self.peeked.is_none() {
            let step = match &mut self.source {
                Source::Pcap { input, parser } => {
                    Self::next_pcap(input, parser, &mut self.record, self.max_record)
                }
                Source::PcapNg(reader) => Self::next_pcapng(reader, &mut self.record),
            };
            match step {
                Step::Packet(p, start) => {
                    self.counters.records += 1;
                    self.data_start = start;
                    self.last_ts = p.ts;
                    self.peeked = Some(p);
                }
                Step::Simple(orig_len) => {
                    self.counters.records += 1;
                    self.data_start = 0;
                    self.peeked = Some(Peeked {
                        ts: self.last_ts,
                        orig_len,
                    });
                }
                Step::Skip(reason) => match reason {
                    Skip::Malformed => self.counters.malformed += 1,
                    Skip::NotEthernet => {
                        self.counters.records += 1;
                        self.counters.not_ethernet += 1;
                        self.stats.rx_dropped += 1;
                    }
                    Skip::Other => {}
                },
                Step::End => self.done = true,
                Step::Fail(e) => self.fail(e),
            }
        }
    }

    fn next_pcap(
        input: &mut BufReader<Input>,
        parser: &PcapParser,
        record: &mut Vec<u8>,
        max_record: usize,
    ) -> Step {
        record.resize(16, 0);
        match read_full(input, &mut record[..16]) {
            Ok(0) => return Step::End,
            Ok(16) => {}
            Ok(_) => return Step::Fail(PcapDevError::Truncated),
            Err(e) => return Step::Fail(e.into()),
        }
        let header = parser.header();
        let field: [u8; 4] = [record[8], record[9], record[10], record[11]];
        let incl_len = match header.endianness {
            Endianness::Big => u32::from_be_bytes(field),
            Endianness::Little => u32::from_le_bytes(field),
        };
        if incl_len as usize > max_record {
            return Step::Fail(PcapDevError::RecordTooLarge {
                len: incl_len,
                max: max_record,
            });
        }
        record.resize(16 + incl_len as usize, 0);
        match read_full(input, &mut record[16..]) {
            Ok(n) if n == incl_len as usize => {}
            Ok(_) => return Step::Fail(PcapDevError::Truncated),
            Err(e) => return Step::Fail(e.into()),
        }
        let checked = parser.next_raw_packet(record).and_then(|(_, raw)| {
            // Our own snaplen check: none (see the module documentation).
            raw.try_into_pcap_packet(header.ts_resolution, u32::MAX)
        });
        match checked {
            Ok(p) => Step::Packet(
                Peeked {
                    ts: p.timestamp,
                    orig_len: p.orig_len,
                },
                16,
            ),
            Err(PcapError::InvalidField(_)) => Step::Skip(Skip::Malformed),
            Err(e) => Step::Fail(e.into()),
        }
    }

    fn next_pcapng(reader: &mut PcapNgReader<Input>, record: &mut Vec<u8>) -> Step {
        let (iface, raw_ts, orig_len) = match reader.next_block() {
            None => return Step::End,
            Some(Err(e)) => return Step::Fail(e.into()),
            Some(Ok(Block::EnhancedPacket(epb))) => {
                record.clear();
                record.extend_from_slice(&epb.data);
                (epb.interface_id, Some(epb.timestamp), epb.original_len)
            }
            Some(Ok(Block::SimplePacket(spb))) => {
                record.clear();
                record.extend_from_slice(&spb.data);
                (0, None, spb.original_len)
            }
            Some(Ok(_)) => {
                // The crate keeps every interface block of the section.
                if reader.interfaces().len() > MAX_PCAPNG_INTERFACES {
                    return Step::Fail(PcapDevError::Format(format!(
                        "more than {MAX_PCAPNG_INTERFACES} pcapng interfaces"
                    )));
                }
                return Step::Skip(Skip::Other);
            }
        };
        let Some(idb) = reader.interfaces().get(iface as usize) else {
            return Step::Skip(Skip::NotEthernet);
        };
        if idb.linktype != DataLink::ETHERNET {
            return Step::Skip(Skip::NotEthernet);
        }
        let Some(raw_ts) = raw_ts else {
            return Step::Simple(orig_len);
        };
        let mut resol = 6u8;
        let mut offset = 0u64;
        for opt in &idb.options {
            match opt {
                InterfaceDescriptionOption::IfTsResol(r) => resol = *r,
                InterfaceDescriptionOption::IfTsOffset(o) => offset = *o,
                _ => {}
            }
        }
        // The crate took the 64-bit count as nanoseconds; undo and rescale.
        let ticks = raw_ts.as_nanos();
        let ts = scale_ticks(ticks, resol).saturating_add(Duration::from_secs(offset));
        Step::Packet(Peeked { ts, orig_len }, 0)
    }
}

/// `ticks` units of `if_tsresol` (10^-r s, or 2^-r s with the top bit
/// set) as a duration.
fn scale_ticks(ticks: u128, resol: u8) -> Duration {
    let exp = u32::from(resol & 0x7f);
    let nanos: u128 = if resol & 0x80 != 0 {
        if exp >= 128 {
            0
        } else {
            ticks.saturating_mul(1_000_000_000) >> exp
        }
    } else if exp <= 9 {
        ticks.saturating_mul(10u128.pow(9 - exp))
    } else {
        ticks / 10u128.saturating_pow(exp - 9)
    };
    let secs = nanos / 1_000_000_000;
    if secs > u128::from(u64::MAX) {
        return Duration::MAX;
    }
    Duration::new(secs as u64, (nanos % 1_000_000_000) as u32)
}

enum Skip {
    Malformed,
    NotEthernet,
    Other,
}

enum Step {
    /// A frame; its data starts at this offset of the record buffer.
    Packet(Peeked, usize),
    /// A pcapng simple packet: no timestamp of its own.
    Simple(u32),
    Skip(Skip),
    End,
    Fail(PcapDevError),
}

impl Device for PcapReader {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        self.burst_ts.clear();
        let mut n = 0;
        while n < max {
            let Some(p) = self.peeked else {
                break;
            };
            let data = &self.record[self.data_start..];
            let truncated = (p.orig_len as usize) > data.len();
            if truncated && !self.keep_truncated {
                self.counters.truncated += 1;
                self.stats.rx_dropped += 1;
                self.advance();
                continue;
            }
            if data.len() > self.room {
                self.counters.too_long += 1;
                self.stats.rx_dropped += 1;
                self.advance();
                continue;
            }
            let Ok(mut buf) = self.pool.alloc() else {
                // The file can wait: the frame stays for the next burst.
                self.counters.alloc_waits += 1;
                break;
            };
            if buf.put(data).is_err() {
                self.counters.too_long += 1;
                self.stats.rx_dropped += 1;
                self.advance();
                continue;
            }
            if truncated {
                self.counters.truncated += 1;
            }
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += data.len() as u64;
            out.push(buf);
            self.burst_ts.push(p.ts);
            n += 1;
            self.advance();
        }
        n
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        // A capture being read transmits nothing: frames are taken and
        // dropped, as a receive-only port would.
        let n = bufs.len();
        self.stats.tx_dropped += n as u64;
        bufs.clear();
        n
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}

/// Settings of a [`PcapWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapWriterConfig {
    /// The port's name.
    pub name: String,
    /// Its Ethernet address.
    pub mac: EthernetAddress,
    /// Its MTU.
    pub mtu: usize,
    /// What it claims to fill in (nothing: software by default).
    pub caps: ChecksumCaps,
}

impl Default for PcapWriterConfig {
    fn default() -> Self {
        PcapWriterConfig {
            name: "pcap-out0".to_owned(),
            mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            mtu: 1500,
            caps: ChecksumCaps::software(),
        }
    }
}

/// The crate's writer writes through this into the shared sink, so
/// [`PcapWriter::flush`] can reach the sink (the crate's writer lends it
/// out only when consumed). Never contended: one owner.
struct Tap<W: Write>(Arc<Mutex<BufWriter<W>>>);

impl<W: Write> Write for Tap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("capture writer poisoned"))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("capture writer poisoned"))?
            .flush()
    }
}

/// A device writing every frame it transmits to a capture file. See the
/// module documentation.
pub struct PcapWriter<W: Write + Send = File> {
    info: DeviceInfo,
    writer: pcap_file::pcap::PcapWriter<Tap<W>>,
    sink: Arc<Mutex<BufWriter<W>>>,
    now: Duration,
    flat: Vec<u8>,
    error: Option<PcapDevError>,
    stats: DeviceStats,
    cut: u64,
}

impl<W: Write + Send> fmt::Debug for PcapWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapWriter")
            .field("info", &self.info)
            .field("now", &self.now)
            .field("failed", &self.error.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

impl PcapWriter<File> {
    /// Creates (or truncates) a capture file and writes its header.
    ///
    /// # Errors
    ///
    /// [`PcapDevError::Io`] if the file cannot be created or written.
    pub fn create(path: impl AsRef<Path>, config: &PcapWriterConfig) -> Result<Self, PcapDevError> {
        Self::from_writer(File::create(path)?, config)
    }
}

impl<W: Write + Send> PcapWriter<W> {
    /// Writes a capture into any byte sink (buffered here).
    ///
    /// # Errors
    ///
    /// [`PcapDevError::Io`] if the header cannot be written.
    pub fn from_writer(writer: W, config: &PcapWriterConfig) -> Result<Self, PcapDevError> {
        let sink = Arc::new(Mutex::new(BufWriter::new(writer)));
        let header = PcapHeader {
            snaplen: WRITE_SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let writer = pcap_file::pcap::PcapWriter::with_header(Tap(Arc::clone(&sink)), header)?;
        Ok(PcapWriter {
            info: DeviceInfo {
                name: config.name.clone(),
                kind: "pcap",
                mac: config.mac,
                mtu: config.mtu,
                queue: 0,
                queues: 1,
                caps: config.caps,
            },
            writer,
            sink,
            now: Duration::ZERO,
            flat: Vec::new(),
            error: None,
            stats: DeviceStats::default(),
            cut: 0,
        })
    }

    /// Sets the timestamp of the records written next.
    pub fn set_time(&mut self, now: Duration) {
        self.now = now;
    }

    /// Frames written cut to the snaplen.
    pub fn cut(&self) -> u64 {
        self.cut
    }

    /// Pushes buffered records to the sink.
    ///
    /// # Errors
    ///
    /// The first write error since the last call, or the flush's own.
    pub fn flush(&mut self) -> Result<(), PcapDevError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.sink
            .lock()
            .map_err(|_| PcapDevError::Format("capture writer poisoned".into()))?
            .flush()?;
        Ok(())
    }

    /// Flushes and hands back the sink.
    ///
    /// # Errors
    ///
    /// As [`flush`](Self::flush).
    pub fn finish(mut self) -> Result<W, PcapDevError> {
        self.flush()?;
        let PcapWriter { writer, sink, .. } = self;
        drop(writer);
        let buffered = Arc::try_unwrap(sink)
            .map_err(|_| PcapDevError::Format("capture writer still shared".into()))?
            .into_inner()
            .map_err(|_| PcapDevError::Format("capture writer poisoned".into()))?;
        buffered
            .into_inner()
            .map_err(|e| PcapDevError::Io(e.into_error()))
    }

    fn write_one(&mut self, buf: &NetBuf) -> Result<usize, PcapError> {
        let total = buf.total_len();
        let data: &[u8] = if buf.next().is_none() {
            buf.data()
        } else {
            self.flat.resize(total, 0);
            buf.copy_to(&mut self.flat);
            &self.flat
        };
        let kept = total.min(WRITE_SNAPLEN as usize);
        let orig_len = u32::try_from(total).unwrap_or(u32::MAX);
        let packet = PcapPacket::new(self.now, orig_len, &data[..kept]);
        self.writer.write_packet(&packet)?;
        Ok(kept)
    }
}

impl<W: Write + Send> Device for PcapWriter<W> {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, _out: &mut Vec<NetBuf>, _max: usize) -> usize {
        0
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let n = bufs.len();
        for buf in bufs.drain(..) {
            if self.error.is_some() {
                self.stats.tx_dropped += 1;
                continue;
            }
            let total = buf.total_len();
            match self.write_one(&buf) {
                Ok(kept) => {
                    if kept < total {
                        self.cut += 1;
                    }
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += total as u64;
                }
                Err(e) => {
                    self.stats.tx_dropped += 1;
                    self.error = Some(e.into());
                }
            }
        }
        n
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;
    use strata_pools::PoolConfig;

    fn pool(frames: usize) -> Pool {
        Pool::new(PoolConfig {
            frames,
            cache_size: 0,
            ..PoolConfig::named("pcap-test")
        })
        .unwrap()
    }

    fn buf(pool: &Pool, bytes: &[u8]) -> NetBuf {
        let mut b = pool.alloc().unwrap();
        b.put(bytes).unwrap();
        b
    }

    fn frame_bytes(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|k| (k * 7 + i) as u8).collect()
    }

    fn reader(bytes: Vec<u8>, pool: &Pool) -> Result<PcapReader, PcapDevError> {
        PcapReader::from_reader(io::Cursor::new(bytes), &PcapReaderConfig::default(), pool)
    }

    /// Reads every frame, one burst of `burst` at a time, with timestamps.
    fn read_all(r: &mut PcapReader, burst: usize) -> Vec<(Duration, Vec<u8>)> {
        let mut got = Vec::new();
        let mut out = Vec::new();
        loop {
            let n = r.rx_burst(&mut out, burst);
            if n == 0 {
                break;
            }
            assert_eq!(r.burst_timestamps().len(), n);
            for (b, ts) in out.drain(..).zip(r.burst_timestamps()) {
                got.push((*ts, b.data().to_vec()));
            }
        }
        got
    }

    /// A classic pcap header, by hand.
    fn header_be_micro(link_type: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
        h.extend_from_slice(&2u16.to_be_bytes());
        h.extend_from_slice(&4u16.to_be_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&65535u32.to_be_bytes());
        h.extend_from_slice(&link_type.to_be_bytes());
        h
    }

    fn record_be(h: &mut Vec<u8>, sec: u32, usec: u32, data: &[u8], orig_len: u32) {
        h.extend_from_slice(&sec.to_be_bytes());
        h.extend_from_slice(&usec.to_be_bytes());
        h.extend_from_slice(&(data.len() as u32).to_be_bytes());
        h.extend_from_slice(&orig_len.to_be_bytes());
        h.extend_from_slice(data);
    }

    /// Writes frames of several sizes (one a chain) at known times.
    fn written(pool: &Pool) -> (Vec<u8>, Vec<(Duration, Vec<u8>)>) {
        let mut w = PcapWriter::from_writer(Vec::new(), &PcapWriterConfig::default()).unwrap();
        let mut expect = Vec::new();
        for (i, len) in [60usize, 1514, 64, 300, 42].into_iter().enumerate() {
            let ts = Duration::new(
                1_700_000_000 + i as u64,
                123_456_789 * i as u32 % 1_000_000_000,
            );
            w.set_time(ts);
            let bytes = frame_bytes(i, len);
            let b = if i == 3 {
                // A chain of two fragments, written flat.
                let mut head = buf(pool, &bytes[..100]);
                head.append(buf(pool, &bytes[100..]));
                head
            } else {
                buf(pool, &bytes)
            };
            assert_eq!(w.tx_burst(&mut vec![b]), 1);
            expect.push((ts, bytes));
        }
        assert_eq!(w.stats().tx_packets, 5);
        assert_eq!(w.stats().tx_bytes, 60 + 1514 + 64 + 300 + 42);
        (w.finish().unwrap(), expect)
    }

    #[test]
    fn written_frames_read_back_identical() {
        let pool = pool(16);
        let (file, expect) = written(&pool);
        assert_eq!(pool.stats().free, pool.capacity(), "the writer freed them");
        let mut r = reader(file, &pool).unwrap();
        assert!(!r.is_pcapng());
        // The next frame's time is known before it is received.
        let mut out = Vec::new();
        assert_eq!(r.next_timestamp(), Some(expect[0].0));
        assert_eq!(r.rx_burst(&mut out, 1), 1);
        assert_eq!(r.burst_timestamps(), [expect[0].0]);
        assert_eq!(r.next_timestamp(), Some(expect[1].0));
        assert_eq!(r.rx_burst(&mut out, 1), 1);
        assert_eq!(r.next_timestamp(), Some(expect[2].0));
        let mut got: Vec<(Duration, Vec<u8>)> = out
            .iter()
            .zip(&expect)
            .map(|(b, e)| (e.0, b.data().to_vec()))
            .collect();
        drop(out);
        got.extend(read_all(&mut r, 2));
        assert_eq!(got, expect);
        assert!(r.is_done());
        assert!(r.take_error().is_none());
        assert_eq!(r.next_timestamp(), None);
        assert_eq!(r.stats().rx_packets, 5);
        assert_eq!(r.reader_stats().records, 5);
        drop(r);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn a_file_truncated_inside_a_record_ends_with_one_error() {
        let pool = pool(16);
        let (file, expect) = written(&pool);
        // Cut in the middle of the last record's data.
        let cut = file.len() - 20;
        let mut r = reader(file[..cut].to_vec(), &pool).unwrap();
        let got = read_all(&mut r, 32);
        assert_eq!(got, expect[..4]);
        assert!(r.is_done());
        assert!(matches!(r.take_error(), Some(PcapDevError::Truncated)));
        assert!(r.take_error().is_none(), "once");
        assert_eq!(r.rx_burst(&mut Vec::new(), 32), 0);
        // Cut inside a record header.
        let (file, _) = written(&pool);
        let mut r = reader(file[..24 + 16 + 60 + 5].to_vec(), &pool).unwrap();
        assert_eq!(read_all(&mut r, 32).len(), 1);
        assert!(matches!(r.take_error(), Some(PcapDevError::Truncated)));
        // Cut inside the file header: an error at open.
        assert!(matches!(
            reader(vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0], &pool),
            Err(PcapDevError::Truncated)
        ));
        // Not a capture at all.
        assert!(matches!(
            reader(
                b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
                &pool
            ),
            Err(PcapDevError::Format(_))
        ));
        assert!(matches!(
            reader(Vec::new(), &pool),
            Err(PcapDevError::Truncated)
        ));
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn a_non_ethernet_link_type_is_refused_at_open() {
        let pool = pool(4);
        // LINKTYPE_RAW (101): bare IP packets.
        let mut file = header_be_micro(101);
        record_be(&mut file, 1, 0, &[0x45; 20], 20);
        match reader(file, &pool) {
            Err(PcapDevError::NotEthernet { link_type }) => assert_eq!(link_type, 101),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_oversized_record_is_refused_before_allocating() {
        let pool = pool(4);
        let mut file = header_be_micro(1);
        record_be(&mut file, 1, 0, &frame_bytes(0, 60), 60);
        // A record header claiming 2 GiB, and nothing behind it.
        file.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        file.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
        file.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
        let mut r = reader(file, &pool).unwrap();
        assert_eq!(read_all(&mut r, 32).len(), 1);
        match r.take_error() {
            Some(PcapDevError::RecordTooLarge { len, max }) => {
                assert_eq!((len, max), (0x7fff_ffff, 256 * 1024));
            }
            other => panic!("{other:?}"),
        }
        assert!(r.is_done());
    }

    #[test]
    fn frames_longer_than_a_buffer_are_dropped_and_counted() {
        let pool = pool(4);
        let room = pool.frame_size() - pool.headroom();
        let mut file = header_be_micro(1);
        record_be(&mut file, 1, 0, &frame_bytes(0, room + 1), room as u32 + 1);
        record_be(&mut file, 2, 0, &frame_bytes(1, room), room as u32);
        let mut r = reader(file, &pool).unwrap();
        let got = read_all(&mut r, 32);
        assert_eq!(got, [(Duration::from_secs(2), frame_bytes(1, room))]);
        assert_eq!(r.reader_stats().too_long, 1);
        assert_eq!(r.stats().rx_dropped, 1);
    }

    /// Big-endian, microseconds, by hand: a truncated capture (tcpdump
    /// `-s 60` of a full-size frame) and a record whose microseconds
    /// overflow a second.
    fn hand_made() -> Vec<u8> {
        let mut file = header_be_micro(1);
        record_be(&mut file, 10, 250_000, &frame_bytes(0, 60), 60);
        record_be(&mut file, 11, 0, &frame_bytes(1, 60), 1514);
        record_be(&mut file, 12, 1_000_000, &frame_bytes(2, 60), 60);
        record_be(&mut file, 13, 999_999, &frame_bytes(3, 42), 42);
        file
    }

    #[test]
    fn a_hand_made_big_endian_file_with_truncated_and_malformed_records() {
        let pool = pool(8);
        let mut r = reader(hand_made(), &pool).unwrap();
        let got = read_all(&mut r, 32);
        assert_eq!(
            got,
            [
                (Duration::new(10, 250_000_000), frame_bytes(0, 60)),
                (Duration::new(13, 999_999_000), frame_bytes(3, 42)),
            ]
        );
        let s = r.reader_stats();
        assert_eq!((s.records, s.truncated, s.malformed), (3, 1, 1));
        assert!(r.take_error().is_none());
        // Asked for, the truncated capture's 60 bytes are delivered.
        let config = PcapReaderConfig {
            keep_truncated: true,
            ..PcapReaderConfig::default()
        };
        let mut r = PcapReader::from_reader(io::Cursor::new(hand_made()), &config, &pool).unwrap();
        let got = read_all(&mut r, 32);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], (Duration::from_secs(11), frame_bytes(1, 60)));
        assert_eq!(r.reader_stats().truncated, 1);
    }

    #[test]
    fn an_empty_pool_makes_the_file_wait() {
        let pool = pool(2);
        let (file, expect) = {
            let big = self::pool(16);
            written(&big)
        };
        let mut r = reader(file, &pool).unwrap();
        let mut out = Vec::new();
        assert_eq!(r.rx_burst(&mut out, 32), 2);
        assert_eq!(r.rx_burst(&mut out, 32), 0);
        assert!(!r.is_done());
        assert_eq!(r.reader_stats().alloc_waits, 2);
        assert_eq!(r.next_timestamp(), Some(expect[2].0));
        out.clear();
        let got = read_all(&mut r, 1);
        assert_eq!(got, expect[2..]);
    }

    #[test]
    fn writer_errors_are_values() {
        /// A sink that takes `room` bytes, then fails.
        struct Small(usize);
        impl Write for Small {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk full"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let pool = pool(8);
        let mut w = PcapWriter::from_writer(Small(100), &PcapWriterConfig::default()).unwrap();
        let mut bufs: Vec<NetBuf> = (0..4).map(|i| buf(&pool, &frame_bytes(i, 60))).collect();
        assert_eq!(w.tx_burst(&mut bufs), 4);
        // Buffered, so the failure shows when flushed.
        assert!(matches!(w.flush(), Err(PcapDevError::Io(_))));
        assert_eq!(pool.stats().free, pool.capacity());
        // A timestamp past 2106 cannot be written in classic pcap.
        let mut w = PcapWriter::from_writer(Vec::new(), &PcapWriterConfig::default()).unwrap();
        w.set_time(Duration::from_secs(1 << 33));
        let mut bufs: Vec<NetBuf> = (0..2).map(|i| buf(&pool, &frame_bytes(i, 60))).collect();
        assert_eq!(w.tx_burst(&mut bufs), 2);
        assert_eq!(w.stats().tx_dropped, 2);
        assert!(matches!(w.flush(), Err(PcapDevError::Format(_))));
        assert!(w.flush().is_ok(), "reported once");
    }

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("strata-devs-{}-{name}", std::process::id()))
    }

    fn have(tool: &str) -> bool {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// `frame.time_epoch` of every frame, as tshark reads the file.
    fn tshark_times(path: &Path) -> Vec<Duration> {
        let out = Command::new("tshark")
            .args(["-r"])
            .arg(path)
            .args(["-T", "fields", "-e", "frame.time_epoch"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let (s, f) = l.trim().split_once('.').unwrap();
                let nanos = format!("{f:0<9}");
                Duration::new(s.parse().unwrap(), nanos[..9].parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn files_from_text2pcap_pcap_and_pcapng_read_as_tshark_reads_them() {
        if !have("text2pcap") || !have("tshark") {
            eprintln!("text2pcap or tshark missing: skipped");
            return;
        }
        let arp = "0000  ff ff ff ff ff ff 02 00 00 00 00 01 08 06 00 01\n\
                   0010  08 00 06 04 00 01 02 00 00 00 00 01 0a 00 00 01\n\
                   0020  00 00 00 00 00 00 0a 00 00 02\n\n";
        let ip = "0000  02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00\n\
                  0010  00 14 00 00 00 00 40 00 00 00 0a 00 00 01 0a 00\n\
                  0020  00 02\n";
        let text = temp("in.txt");
        std::fs::write(&text, format!("{arp}{ip}")).unwrap();
        let pool = pool(8);
        let classic = temp("t2p.pcap");
        let ng = temp("t2p.pcapng");
        // editcap writes no if_tsresol: microseconds, the pcapng default.
        let ng_micro = temp("editcap.pcapng");
        for (format, path) in [("pcap", &classic), ("pcapng", &ng)] {
            let status = Command::new("text2pcap")
                .args(["-q", "-F", format])
                .arg(&text)
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        }
        let mut files = vec![(&classic, false), (&ng, true)];
        if have("editcap") {
            let status = Command::new("editcap")
                .args(["-F", "pcapng"])
                .arg(&classic)
                .arg(&ng_micro)
                .status()
                .unwrap();
            assert!(status.success());
            files.push((&ng_micro, true));
        }
        for (path, pcapng) in files {
            let mut r = PcapReader::open(path, &PcapReaderConfig::default(), &pool).unwrap();
            assert_eq!(r.is_pcapng(), pcapng);
            let got = read_all(&mut r, 32);
            assert!(r.take_error().is_none());
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].1.len(), 42);
            assert_eq!(&got[0].1[12..14], &[0x08, 0x06]);
            assert_eq!(got[1].1.len(), 34);
            let times: Vec<Duration> = got.iter().map(|g| g.0).collect();
            assert_eq!(times, tshark_times(path), "{}", path.display());
            std::fs::remove_file(path).ok();
        }
        std::fs::remove_file(&text).ok();
    }

    #[test]
    fn tshark_reads_what_the_writer_wrote() {
        if !have("tshark") {
            eprintln!("tshark missing: skipped");
            return;
        }
        let pool = pool(16);
        let path = temp("out.pcap");
        let mut w = PcapWriter::create(&path, &PcapWriterConfig::default()).unwrap();
        let mut expect = Vec::new();
        for i in 0..3u32 {
            let ts = Duration::new(1_600_000_000 + u64::from(i), 1_000 * i + 7);
            w.set_time(ts);
            // An ARP request.
            let mut f = vec![0xff; 6];
            f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
            f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
            assert_eq!(w.tx_burst(&mut vec![buf(&pool, &f)]), 1);
            expect.push(ts);
        }
        drop(w.finish().unwrap());
        assert_eq!(tshark_times(&path), expect);
        let out = Command::new("tshark")
            .args(["-r"])
            .arg(&path)
            .args(["-T", "fields", "-e", "arp.dst.proto_ipv4"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .collect::<Vec<_>>(),
            ["10.0.0.2"; 3]
        );
        std::fs::remove_file(&path).ok();
    }

    /// A pcapng file by hand (little-endian): a section, an Ethernet
    /// interface with microsecond resolution, two enhanced packets.
    fn pcapng_by_hand() -> Vec<u8> {
        fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
            let len = 12 + body.len() as u32;
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(&len.to_le_bytes());
        }
        let mut f = Vec::new();
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&[0xff; 8]);
        block(&mut f, 0x0a0d_0d0a, &shb);
        // Link type 1, reserved, snaplen 0; no options (microseconds).
        block(&mut f, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        for (i, ts) in [(0u32, 1_500_000u64), (1, 2_000_001)] {
            let data = frame_bytes(i as usize, 60);
            let mut epb = Vec::new();
            epb.extend_from_slice(&0u32.to_le_bytes());
            epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(ts as u32).to_le_bytes());
            epb.extend_from_slice(&60u32.to_le_bytes());
            epb.extend_from_slice(&60u32.to_le_bytes());
            epb.extend_from_slice(&data);
            block(&mut f, 6, &epb);
        }
        f
    }

    #[test]
    fn a_hand_made_pcapng_reads_with_microsecond_stamps() {
        let pool = pool(8);
        let mut r = reader(pcapng_by_hand(), &pool).unwrap();
        assert!(r.is_pcapng());
        assert_eq!(
            read_all(&mut r, 32),
            [
                (Duration::new(1, 500_000_000), frame_bytes(0, 60)),
                (Duration::new(2, 1_000), frame_bytes(1, 60)),
            ]
        );
        assert!(r.take_error().is_none());
        // Cut short: the frames before the cut, then one error.
        let file = pcapng_by_hand();
        let mut r = reader(file[..file.len() - 10].to_vec(), &pool).unwrap();
        assert_eq!(read_all(&mut r, 32).len(), 1);
        assert!(r.take_error().is_some());
        assert!(r.is_done());
    }

    #[test]
    fn endless_pcapng_interfaces_are_refused() {
        let pool = pool(4);
        let mut file = pcapng_by_hand();
        let idb = [
            1u8, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0,
        ];
        for _ in 0..2000 {
            file.extend_from_slice(&idb);
        }
        let mut r = reader(file, &pool).unwrap();
        assert_eq!(read_all(&mut r, 32).len(), 2);
        assert!(matches!(r.take_error(), Some(PcapDevError::Format(_))));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Damaged files of either format: no panic, the reading ends, and
        /// every frame delivered fits a buffer.
        #[test]
        fn damaged_files_never_panic(
            ng in proptest::bool::ANY,
            flips in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 0..8),
            cut in 0usize..4096,
        ) {
            let pool = pool(8);
            let mut file = if ng { pcapng_by_hand() } else { hand_made() };
            for (at, byte) in flips {
                let at = at % file.len();
                file[at] = byte;
            }
            file.truncate(cut.max(4));
            if let Ok(mut r) = reader(file, &pool) {
                let mut out = Vec::new();
                for _ in 0..100 {
                    if r.rx_burst(&mut out, 4) == 0 && (r.is_done() || r.reader_stats().alloc_waits > 0) {
                        break;
                    }
                    out.clear();
                }
                proptest::prop_assert!(r.is_done());
                proptest::prop_assert!(r.stats().rx_packets <= r.reader_stats().records);
            }
            proptest::prop_assert_eq!(pool.stats().free, pool.capacity());
        }
    }

    #[test]
    fn tick_scaling_follows_if_tsresol() {
        assert_eq!(scale_ticks(1_500_000, 6), Duration::new(1, 500_000_000));
        assert_eq!(scale_ticks(1_500_000_000, 9), Duration::new(1, 500_000_000));
        assert_eq!(scale_ticks(15, 1), Duration::new(1, 500_000_000));
        assert_eq!(
            scale_ticks(3 << 9, 0x80 | 10),
            Duration::new(1, 500_000_000)
        );
        assert_eq!(
            scale_ticks(1_500_000_000_000, 12),
            Duration::new(1, 500_000_000)
        );
        assert_eq!(
            scale_ticks(u128::from(u64::MAX), 0x80 | 127),
            Duration::ZERO
        );
        assert_eq!(
            scale_ticks(u128::from(u64::MAX), 0),
            Duration::from_secs(u64::MAX)
        );
        assert_eq!(scale_ticks(u128::from(u64::MAX) * 2, 0), Duration::MAX);
    }
}
