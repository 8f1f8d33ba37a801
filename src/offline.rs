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
use crate::reader::{Reader, Record};

enum Sink {
    File(CaptureWriter),
    Summary(Printer<File>),
}

impl Sink {
    fn finish(self) -> Result<(), Error> {
        match self {
            Sink::File(w) => w.finish(),
            Sink::Summary(mut p) => p.flush().map_err(|e| Error::io("stdout", &e)),
        }
    }
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
        Some(out) => Sink::File(CaptureWriter::create(out, reader.format())?),
        None => Sink::Summary(Printer::new(
            stdout_file().map_err(|e| Error::io("stdout", &e))?,
            cfg.print.clone(),
        )),
    };
    let result = filter_loop(cfg, &mut reader, &mut filters, &mut sink);
    // Whatever stopped the loop, what was kept so far is flushed; an error there (the
    // output's) is the one to report.
    let finished = sink.finish();
    finished.and(result)
}

fn filter_loop(
    cfg: &Config,
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
