//! What a file holds, from its first bytes (text, gzip, binary, Parquet), and gzip-compressed
//! input that the streamed reader can rewind.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use flate2::read::MultiGzDecoder;

/// The first two bytes of every gzip file.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The first (and last) four bytes of every Parquet file.
pub const PARQUET_MAGIC: [u8; 4] = *b"PAR1";

/// What a file holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text (CSV).
    Text,
    /// gzip-compressed text (the bytes `1f 8b`).
    Gzip,
    /// The binary table format ([`binary`](crate::binary), the bytes `EMF64LE1`).
    Binary,
    /// A Parquet file ([`parquet`](crate::parquet), the bytes `PAR1`).
    Parquet,
}

impl Format {
    /// The format that the bytes opening a file announce.
    ///
    /// ```
    /// use em_io::input::Format;
    /// assert_eq!(Format::sniff(b"EMF64LE1\x02\0\0\0\0\0\0\0"), Format::Binary);
    /// assert_eq!(Format::sniff(&[0x1f, 0x8b, 8]), Format::Gzip);
    /// assert_eq!(Format::sniff(b"PAR1\x15\x04"), Format::Parquet);
    /// assert_eq!(Format::sniff(b"a,b\n"), Format::Text);
    /// ```
    pub fn sniff(start: &[u8]) -> Format {
        if start.starts_with(&crate::binary::MAGIC) {
            Format::Binary
        } else if start.starts_with(&GZIP_MAGIC) {
            Format::Gzip
        } else if start.starts_with(&PARQUET_MAGIC) {
            Format::Parquet
        } else {
            Format::Text
        }
    }

    /// The format of a seekable input, read from its first bytes; the input is left at its
    /// start.
    pub fn of<R: Read + Seek>(reader: &mut R) -> io::Result<Format> {
        reader.seek(SeekFrom::Start(0))?;
        let mut start = Vec::with_capacity(8);
        reader.by_ref().take(8).read_to_end(&mut start)?;
        reader.seek(SeekFrom::Start(0))?;
        Ok(Format::sniff(&start))
    }
}

/// The decompressed bytes of a gzip stream (all its members), with errors of the compressed
/// data reported as such rather than as text that is not UTF-8.
pub(crate) struct Gunzip<R: Read> {
    decoder: MultiGzDecoder<R>,
}

impl<R: Read> Gunzip<R> {
    pub(crate) fn new(reader: R) -> Self {
        Gunzip {
            decoder: MultiGzDecoder::new(reader),
        }
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.decoder
            .read(buf)
            .map_err(|e| io::Error::other(format!("corrupt gzip data: {e}")))
    }
}

/// A gzip file read as the seekable text it decompresses to: seeking forward reads and
/// discards, seeking back starts again from the file's start. Offsets are those of the
/// decompressed text, so the streamed reader rewinds to its first data line as in a plain file.
pub struct GzipFile<R: Read + Seek> {
    decoder: Option<Gunzip<R>>,
    pos: u64,
}

impl<R: Read + Seek> std::fmt::Debug for GzipFile<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipFile").field("pos", &self.pos).finish()
    }
}

impl<R: Read + Seek> GzipFile<R> {
    /// Decompresses `reader` from its start.
    pub fn new(mut reader: R) -> io::Result<Self> {
        reader.seek(SeekFrom::Start(0))?;
        Ok(GzipFile {
            decoder: Some(Gunzip::new(reader)),
            pos: 0,
        })
    }

    fn restart(&mut self) -> io::Result<&mut Gunzip<R>> {
        let Some(d) = self.decoder.take() else {
            return Err(io::Error::other(
                "the gzip input was lost by an earlier error",
            ));
        };
        let mut inner = d.decoder.into_inner();
        inner.seek(SeekFrom::Start(0))?;
        self.pos = 0;
        Ok(self.decoder.insert(Gunzip::new(inner)))
    }
}

impl<R: Read + Seek> Read for GzipFile<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(d) = self.decoder.as_mut() else {
            return Err(io::Error::other(
                "the gzip input was lost by an earlier error",
            ));
        };
        let n = d.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for GzipFile<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => n,
            SeekFrom::Current(d) => self.pos.checked_add_signed(d).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")
            })?,
            SeekFrom::End(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "cannot seek from the end of gzip data",
                ));
            }
        };
        if target < self.pos {
            self.restart()?;
        }
        let skip = target - self.pos;
        if skip > 0 {
            let copied = io::copy(&mut self.by_ref().take(skip), &mut io::sink())?;
            if copied < skip {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "seek past the end of the gzip data",
                ));
            }
        }
        Ok(self.pos)
    }
}

/// A file that the streamed CSV reader reads: plain, or gzip-compressed (recognised by its
/// first bytes).
#[derive(Debug)]
pub enum FileInput {
    /// A plain text file.
    Plain(File),
    /// A gzip-compressed file, decompressed as it is read.
    Gzip(Box<GzipFile<File>>),
}

impl FileInput {
    /// Wraps an open file according to its first bytes.
    pub fn new(mut file: File) -> io::Result<Self> {
        Ok(match Format::of(&mut file)? {
            Format::Gzip => FileInput::Gzip(Box::new(GzipFile::new(file)?)),
            Format::Text | Format::Binary | Format::Parquet => FileInput::Plain(file),
        })
    }
}

impl Read for FileInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            FileInput::Plain(f) => f.read(buf),
            FileInput::Gzip(g) => g.read(buf),
        }
    }
}

impl Seek for FileInput {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            FileInput::Plain(f) => f.seek(to),
            FileInput::Gzip(g) => g.seek(to),
        }
    }
}
