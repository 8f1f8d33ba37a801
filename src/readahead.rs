//! A file read ahead by a thread of its own, so that the kernel's copy of the next chunk
//! (read(2) from the page cache: about half of the time of filtering a cached capture
//! file) runs on the other CPU while the caller works through the chunk before it.
//!
//! Chunks are handed over whole, not copied: each buffer has room in front of its data for
//! the tail of the previous chunk (a record cut in two), which the caller moves there so
//! that the record is contiguous. Buffers go back to the thread once the caller is done
//! with them, so memory stays at a few chunks however long the file is.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

/// Bytes per read(2): 1 MiB reads of a cached file measured 0.06 s/GB, 256 KiB 0.09 s.
pub const CHUNK: usize = 1024 * 1024;
/// Room in front of a chunk's data for the previous chunk's tail: a whole pcap record at
/// the largest snapshot length (262144 + 16); longer tails take the caller's slow path.
pub const HEAD: usize = 256 * 1024 + 64;
/// Reads land on a 64-byte-aligned address: the kernel copies into user memory with
/// `rep movsb`, which on the AMD machines we measured runs 2-4x slower to a destination
/// that is not (0.06 s/GB aligned, 0.15-0.4 s/GB with the destination 8 or 24 bytes off).
pub const ALIGN: usize = 64;
/// Chunks read but not yet taken: enough to ride out a slow read or a slow record.
const DEPTH: usize = 2;
/// Buffers in all: DEPTH waiting, one being read into, one the caller works through. They
/// are made once and go round (fresh memory for every chunk costs page faults, and in a VM
/// that returns freed memory to its host, the host's faults too).
const BUFFERS: usize = DEPTH + 2;
/// The length of a chunk's buffer.
pub const BUF_LEN: usize = HEAD + ALIGN + CHUNK;

/// One chunk of the file: `len` bytes at `buf[start..]`, with at least [`HEAD`] bytes of
/// the buffer in front of them.
pub struct Chunk {
    pub buf: Vec<u8>,
    pub start: usize,
    pub len: usize,
}

pub struct ReadAhead {
    full: Receiver<io::Result<Chunk>>,
    free: SyncSender<Vec<u8>>,
}

impl ReadAhead {
    /// Starts reading `file` (a file, a pipe, anything) from its current position.
    pub fn start<R: Read + Send + 'static>(file: R) -> io::Result<ReadAhead> {
        let (full_tx, full) = mpsc::sync_channel(DEPTH);
        let (free, free_rx) = mpsc::sync_channel(BUFFERS);
        thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || reader(file, &full_tx, &free_rx))?;
        Ok(ReadAhead { full, free })
    }

    /// The next chunk, or None at the end of the file. After an error, None.
    pub fn next(&mut self) -> Option<io::Result<Chunk>> {
        self.full.recv().ok()
    }

    /// Gives a chunk's buffer back for another chunk once the caller is done with it (every
    /// one must come back, or the thread runs out). Other buffers are dropped.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if buf.len() == BUF_LEN {
            let _ = self.free.try_send(buf);
        }
    }
}

/// The thread: reads chunks until the end of the file, an error, or the caller hanging up.
/// It is never joined: a pipe can block it in read(2) for ever after the caller has seen
/// all it wants (`-c`), and it owns nothing but the file.
fn reader<R: Read>(mut file: R, full: &SyncSender<io::Result<Chunk>>, free: &Receiver<Vec<u8>>) {
    let mut made = 0;
    loop {
        let mut buf = match free.try_recv() {
            Ok(buf) => buf,
            Err(_) if made < BUFFERS => {
                made += 1;
                vec![0; BUF_LEN]
            }
            Err(_) => match free.recv() {
                Ok(buf) => buf,
                Err(_) => return,
            },
        };
        let start = HEAD + (ALIGN - (buf.as_ptr() as usize + HEAD) % ALIGN) % ALIGN;
        // One read per chunk: a regular file fills it, a pipe hands over what it has, which
        // is passed on at once (a `tcpdump -w - | bpfdump -r -` shows packets as they come).
        let got = loop {
            match file.read(&mut buf[start..start + CHUNK]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        match got {
            Ok(0) => return,
            Ok(len) => {
                if full.send(Ok(Chunk { buf, start, len })).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = full.send(Err(e));
                return;
            }
        }
    }
}
