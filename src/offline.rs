//! `-r FILE`: read a capture file, run the filter over each packet, and write the kept ones
//! unchanged (`-w`) or print a line for each; stop after `-c` kept packets.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::cli::Config;
use crate::error::Error;
use crate::filter::{describe_linktype, dump_text, Filters};
use crate::output::{stdout_file, CaptureWriter};
use crate::print::Printer;
use crate::reader::{Format, Reader, Record};
use crate::savefile::{file_id, Direction, FileFormat, LivePacket, SaveConfig, SaveFile, Written};
use pcap_file::pcap::PcapTsResolution as TsResolution;

enum Sink {
    /// `-w`: kept records copied as they are.
    File(CaptureWriter),
    /// `-w` with `-C`, `-G`, `-W`, `--pcapng` or `--nano`: kept packets written anew, as a
    /// live capture writes them (rotation, format, timestamp precision), all of the file's
    /// one link type.
    Series(SaveFile, u32),
    Summary(Printer<File>),
    /// --count (tcpdump's, reading files): how many packets match.
    Tally(u64),
}

impl Sink {
    fn finish(self) -> Result<(), Error> {
        match self {
            Sink::File(w) => w.finish(),
            Sink::Series(s, _) => s.finish(None),
            Sink::Summary(mut p) => p.flush().map_err(|e| Error::io("stdout", &e)),
            Sink::Tally(n) => {
                crate::output::print(&format!("{n} packet{}\n", if n == 1 { "" } else { "s" }))
            }
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
    let (Ok(i), Ok(o)) = (input.metadata(), std::fs::metadata(out)) else {
        return Ok(());
    };
    if file_id(&i).is_some_and(|id| file_id(&o) == Some(id)) {
        return Err(Error::msg(format!(
            "{}: is the file being read (-r {name}); refusing to write over it",
            out.display()
        )));
    }
    Ok(())
}

pub fn run(cfg: &Config, path: &Path, expr: String) -> Result<(), Error> {
    run_files(cfg, &[path.to_path_buf()], expr)
}

/// Largest `-V` list read (a name a line).
const MAX_LIST: u64 = 1 << 20;

/// `-V LIST`: the files named in LIST, one a line ("-": standard input), read in turn as
/// one capture (tcpdump's -V): one filter, one -c count, one -w output.
pub fn run_list(cfg: &Config, list: &Path, expr: String) -> Result<(), Error> {
    let name = list.display().to_string();
    let mut text = String::new();
    open_input(list, &name)?
        .take(MAX_LIST + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(&name, &e))?;
    if text.len() as u64 > MAX_LIST {
        return Err(Error::msg(format!("{name}: file list larger than 1 MiB")));
    }
    let paths: Vec<PathBuf> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect();
    if paths.is_empty() {
        return Err(Error::msg(format!("{name}: no file names in it")));
    }
    run_files(cfg, &paths, expr)
}

fn run_files(cfg: &Config, paths: &[PathBuf], expr: String) -> Result<(), Error> {
    // Every input, never to be written over (a rotated name can be one of them).
    let protect: Vec<(u64, u64)> = paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter_map(|p| std::fs::metadata(p).ok().as_ref().and_then(file_id))
        .collect();
    let filter_text = expr.trim().to_string();
    let mut filters = Filters::new(expr, cfg);
    let mut sink: Option<Sink> = None;
    let mut printer: Option<Printer<File>> = None;
    let mut result = Ok(());
    for path in paths {
        let name = path.display().to_string();
        let step = (|| {
            let input = open_input(path, &name)?;
            if let Some(out) = &cfg.write {
                refuse_writing_over_input(&input, &name, out)?;
            }
            let mut reader = Reader::open(input, &name)?;
            let Some((linktype, snaplen)) = reader.first_interface()? else {
                return Err(Error::msg(format!(
                    "{name}: the capture file has no Interface Description Blocks"
                )));
            };
            // What the last file printed goes out before this file's line, as tcpdump's
            // stdio does when both go to one pipe.
            if let Some(Sink::Summary(p)) = sink.as_mut() {
                p.flush().map_err(|e| Error::io("stdout", &e))?;
            }
            if let Some(p) = printer.as_mut() {
                p.flush().map_err(|e| Error::io("stdout", &e))?;
            }
            let _ = writeln!(
                io::stderr(),
                "reading from file {name}, {}, snapshot length {snaplen}",
                describe_linktype(linktype)
            );
            // Compile now, so a bad expression is reported before any packet is read.
            let first = filters.program(linktype, snaplen)?;
            if let Some(format) = cfg.dump {
                let Some(prog) = first else {
                    return Err(Error::msg(format!(
                        "filter: {} is not supported by the filter compiler",
                        describe_linktype(linktype)
                    )));
                };
                crate::output::print(&dump_text(prog, format))?;
                return Ok(Stop::All);
            }
            if sink.is_none() {
                let new = open_sink(
                    cfg,
                    &reader,
                    linktype,
                    snaplen,
                    &filter_text,
                    &protect,
                    paths.len() > 1,
                )?;
                sink = Some(new);
                // --print: the packets written are printed too.
                if cfg.write.is_some() && cfg.print_too {
                    printer = Some(Printer::new(
                        stdout_file().map_err(|e| Error::io("stdout", &e))?,
                        cfg.print.clone(),
                    ));
                }
            }
            let sink = sink.as_mut().expect("opened above");
            // -c counts each file's packets, as tcpdump's -V runs pcap_loop with it per file.
            let mut kept = 0;
            filter_loop(
                cfg,
                &name,
                &mut reader,
                &mut filters,
                sink,
                &mut printer,
                &mut kept,
            )
        })();
        match step {
            Ok(Stop::File) => continue,
            Ok(Stop::All) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // Whatever stopped the loop, what was kept so far is flushed; an error there (the
    // output's) is the one to report.
    let printed = match printer {
        Some(mut p) => p.flush().map_err(|e| Error::io("stdout", &e)),
        None => Ok(()),
    };
    let finished = sink.map_or(Ok(()), Sink::finish);
    finished.and(printed).and(result)
}

/// The output, made when the first file is open: its format for a copy (`-w`), a new file
/// as a live capture writes one (`-w` with the options that shape it, or several input
/// files, whose formats may differ), or the printer.
fn open_sink(
    cfg: &Config,
    reader: &Reader,
    linktype: u32,
    snaplen: u32,
    filter_text: &str,
    protect: &[(u64, u64)],
    several: bool,
) -> Result<Sink, Error> {
    Ok(match &cfg.write {
        Some(out) if converting(cfg) || several => {
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
                filter: filter_text.to_string(),
                app: format!("bpfdump {}", env!("CARGO_PKG_VERSION")),
                protect: protect.to_vec(),
            };
            Sink::Series(SaveFile::create(save, Some((0, String::new())))?, linktype)
        }
        Some(out) => Sink::File(CaptureWriter::create(out, reader.format())?),
        None if cfg.count_packets => Sink::Tally(0),
        None => Sink::Summary(Printer::new(
            stdout_file().map_err(|e| Error::io("stdout", &e))?,
            cfg.print.clone(),
        )),
    })
}

fn filter_loop(
    cfg: &Config,
    name: &str,
    reader: &mut Reader,
    filters: &mut Filters,
    sink: &mut Sink,
    printer: &mut Option<Printer<File>>,
    kept: &mut u64,
) -> Result<Stop, Error> {
    if let (true, Sink::File(w), None) = (reader.is_pcap(), &mut *sink, &printer) {
        // pcap into pcap: records are copied as they are, straight from the read buffer,
        // all through the one program of the file's link type.
        let Some((linktype, snaplen)) = reader.first_interface()? else {
            return Ok(Stop::File);
        };
        let (vm, meta) = filters.decoded(linktype, snaplen)?;
        reader.pcap_records(|data, origlen, rec| {
            if vm.is_some_and(|vm| vm.run(data, origlen, meta) == 0) {
                return Ok(true);
            }
            w.pcap_record(rec)?;
            if cfg.live.packet_buffered {
                w.flush()?;
            }
            *kept += 1;
            Ok(cfg.count != Some(*kept))
        })?;
        return Ok(Stop::File);
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
                                "{}: a packet of link type {} after ones of {}: one output \
                                 file holds one link type (-w alone, without -C, -G, -W, \
                                 --pcapng, --nano or -V, copies a file as it is)",
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
                            return Ok(Stop::All);
                        }
                    }
                    Sink::Summary(pr) => pr.packet(&p).map_err(|e| Error::io("stdout", &e))?,
                    Sink::Tally(n) => *n += 1,
                }
                if let Some(pr) = printer {
                    pr.packet(&p).map_err(|e| Error::io("stdout", &e))?;
                }
                *kept += 1;
                if cfg.count == Some(*kept) {
                    return Ok(Stop::File);
                }
            }
        }
    }
    Ok(Stop::File)
}

/// Where reading stopped: this file is done (its end, or -c), or all are (-G with -W filled
/// its last file; -d printed the program).
enum Stop {
    File,
    All,
}
