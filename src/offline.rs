//! `-r FILE`: read a capture file, run the filter over each packet, and write the kept ones
//! unchanged (`-w`) or print a line for each; stop after `-c` kept packets.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::cli::Config;
use crate::error::Error;
use crate::filter::{describe_linktype, dump_text, Filters};
use crate::output::{stdout_file, CaptureWriter};
use crate::print::Printer;
use crate::reader::{Format, Reader, Record};
use crate::savefile::{Direction, FileFormat, LivePacket, SaveConfig, SaveFile, Written};
use pcap_file::pcap::PcapTsResolution as TsResolution;

enum Sink {
    /// `-w`: kept records copied as they are.
    File(CaptureWriter),
    /// `-w` with `-C`, `-G`, `-W`, `--pcapng` or `--nano`: kept packets written anew, as a
    /// live capture writes them (rotation, format, timestamp precision), all of the file's
    /// one link type.
    Series(SaveFile, u32),
    Summary(Printer<File>),
}

impl Sink {
    fn finish(self) -> Result<(), Error> {
        match self {
            Sink::File(w) => w.finish(),
            Sink::Series(s, _) => s.finish(None),
            Sink::Summary(mut p) => p.flush().map_err(|e| Error::io("stdout", &e)),
        }
    }
}

/// Whether `-w` must write anew: the options that shape the output file.
fn converting(cfg: &Config) -> bool {
    let l = &cfg.live;
    l.rotate_bytes.is_some()
        || l.rotate_secs.is_some()
        || l.max_files.is_some()
        || l.pcapng
        || l.nanos
}

fn open_input(path: &Path, name: &str) -> Result<File, Error> {
    if path.as_os_str() == "-" {
        let fd = io::stdin().lock();
        let f = std::os::fd::AsFd::as_fd(&fd)
            .try_clone_to_owned()
            .map_err(|e| Error::io(name, &e))?;
        return Ok(File::from(f));
    }
    File::open(path).map_err(|e| Error::io(name, &e))
}

/// Refuses `-w OUT` when OUT is the file being read (`-r X -w X`, or another name for it:
/// a link, `./X`): opening it for writing would truncate the input before it is read
/// (tcpdump does, and loses the file). Same device and inode, as `cp` checks.
fn refuse_writing_over_input(input: &File, name: &str, out: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(i), Ok(o)) = (input.metadata(), std::fs::metadata(out)) else {
        return Ok(());
    };
    if i.is_file() && (i.dev(), i.ino()) == (o.dev(), o.ino()) {
        return Err(Error::msg(format!(
            "{}: is the file being read (-r {name}); refusing to write over it",
            out.display()
        )));
    }
    Ok(())
}

pub fn run(cfg: &Config, path: &Path, expr: String) -> Result<(), Error> {
    let name = path.display().to_string();
    let input = open_input(path, &name)?;
    if let Some(out) = &cfg.write {
        refuse_writing_over_input(&input, &name, out)?;
    }
    let input_id = input.metadata().ok().filter(|m| m.is_file()).map(|m| {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    });
    let mut reader = Reader::open(input, &name)?;
    let Some((linktype, snaplen)) = reader.first_interface()? else {
        return Err(Error::msg(format!(
            "{name}: the capture file has no Interface Description Blocks"
        )));
    };
    let _ = writeln!(
        io::stderr(),
        "reading from file {name}, {}, snapshot length {snaplen}",
        describe_linktype(linktype)
    );

    let filter_text = expr.trim().to_string();
    let mut filters = Filters::new(expr, cfg);
    // Compile now, so a bad expression is reported before any packet is read.
    let first = filters.program(linktype, snaplen)?;

    if let Some(format) = cfg.dump {
        let Some(prog) = first else {
            return Err(Error::msg(format!(
                "filter: {} is not supported by the filter compiler",
                describe_linktype(linktype)
            )));
        };
        return crate::output::print(&dump_text(prog, format));
    }

    let mut sink = match &cfg.write {
        Some(out) if converting(cfg) => {
            // A nanosecond pcap keeps its digits; otherwise microseconds, unless --nano (as
            // tcpdump writes what it reads at the precision it opened the file with).
            let nano_input = matches!(reader.format(), Format::Pcap(h) if h.ts_resolution == TsResolution::NanoSecond);
            let save = SaveConfig {
                path: out.clone(),
                format: if cfg.live.pcapng {
                    FileFormat::PcapNg
                } else {
                    FileFormat::Pcap
                },
                linktype,
                snaplen,
                nanos: cfg.live.nanos || nano_input,
                rotate_bytes: cfg.live.rotate_bytes,
                rotate_secs: cfg.live.rotate_secs,
                max_files: cfg.live.max_files,
                flush_each: cfg.live.packet_buffered,
                filter: filter_text,
                app: format!("bpfdump {}", env!("CARGO_PKG_VERSION")),
                protect: input_id,
            };
            Sink::Series(SaveFile::create(save, Some((0, String::new())))?, linktype)
        }
        Some(out) => Sink::File(CaptureWriter::create(out, reader.format())?),
        None => Sink::Summary(Printer::new(
            stdout_file().map_err(|e| Error::io("stdout", &e))?,
            cfg.print.clone(),
        )),
    };
    let result = filter_loop(cfg, &name, &mut reader, &mut filters, &mut sink);
    // Whatever stopped the loop, what was kept so far is flushed; an error there (the
    // output's) is the one to report.
    let finished = sink.finish();
    finished.and(result)
}

fn filter_loop(
    cfg: &Config,
    name: &str,
    reader: &mut Reader,
    filters: &mut Filters,
    sink: &mut Sink,
) -> Result<(), Error> {
    let mut kept: u64 = 0;
    if let (true, Sink::File(w)) = (reader.is_pcap(), &mut *sink) {
        // pcap into pcap: records are copied as they are, straight from the read buffer,
        // all through the one program of the file's link type.
        let Some((linktype, snaplen)) = reader.first_interface()? else {
            return Ok(());
        };
        let (vm, meta) = filters.decoded(linktype, snaplen)?;
        return reader.pcap_records(|data, origlen, rec| {
            if vm.is_some_and(|vm| vm.run(data, origlen, meta) == 0) {
                return Ok(true);
            }
            w.pcap_record(rec)?;
            if cfg.live.packet_buffered {
                w.flush()?;
            }
            kept += 1;
            Ok(cfg.count != Some(kept))
        });
    }
    while let Some(rec) = reader.next() {
        match rec? {
            Record::Block(raw) => {
                if let Sink::File(w) = sink {
                    w.block(&raw)?;
                }
            }
            Record::Packet(p, raw) => {
                if !filters.matches(p.linktype, p.snaplen, p.data, p.origlen)? {
                    continue;
                }
                match sink {
                    Sink::File(w) => {
                        w.packet(&raw)?;
                        if cfg.live.packet_buffered {
                            w.flush()?;
                        }
                    }
                    Sink::Series(out, linktype) => {
                        if p.linktype != *linktype {
                            return Err(Error::msg(format!(
                                "{}: a packet of link type {} after ones of {}: -C, -G, -W, \
                                 --pcapng and --nano write one link type; -w alone copies the \
                                 file as it is",
                                name, p.linktype, linktype
                            )));
                        }
                        let written = out.packet(&LivePacket {
                            ts_sec: p.ts.secs,
                            ts_nsec: p.ts.nanos,
                            data: p.data,
                            orig_len: p.origlen,
                            ifindex: 0,
                            ifname: "",
                            direction: Direction::Unknown,
                        })?;
                        if written == Written::LimitReached {
                            break;
                        }
                    }
                    Sink::Summary(pr) => pr.packet(&p).map_err(|e| Error::io("stdout", &e))?,
                }
                kept += 1;
                if cfg.count == Some(kept) {
                    break;
                }
            }
        }
    }
    Ok(())
}
