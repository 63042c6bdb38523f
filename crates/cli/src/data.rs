//! Data preparation: CSV tables, targets and features, the task, one-hot classes, and scaling.
//!
//! Errors name the file, the line and the column (the field number, counted from 1) where they
//! apply, as `data.csv:3:2: "abc" in column "x1" is not a number`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

pub use backprop_network::model::{Scaling, Task};

/// How to read a CSV file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// The field delimiter; `None` detects it from the header line (see [`detect_delimiter`]).
    pub delimiter: Option<u8>,
    /// The file has no header row: the columns are named `c0, c1, ...`.
    pub no_header: bool,
    /// Columns kept as text exactly as written (ID columns that `predict --keep` copies through).
    pub text: Vec<String>,
}

/// The name of a delimiter as the summary and errors print it.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b',' => "comma".to_owned(),
        b'\t' => "tab".to_owned(),
        b';' => "semicolon".to_owned(),
        b'|' => "pipe".to_owned(),
        other => format!("{:?}", char::from(other)),
    }
}

/// Parses `--delimiter`: `,` `tab` `\t` `;` `|` or any single ASCII character.
///
/// # Errors
/// Anything else.
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        "pipe" => Ok(b'|'),
        _ if s.len() == 1 && s.is_ascii() && !matches!(s, "\"" | "\n" | "\r") => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(format!(
            "{s:?} is not a delimiter (one character, or tab, comma, semicolon, pipe)"
        )),
    }
}

/// The delimiter of a header line: whichever of comma, tab, semicolon and pipe occurs most often
/// outside quotes, the first of that list among equals; comma when none occurs (a file of one
/// column).
pub fn detect_delimiter(line: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(k) = CANDIDATES.iter().position(|&c| c == b) {
                counts[k] += 1;
            }
        }
    }
    let mut best = 0;
    for k in 1..4 {
        if counts[k] > counts[best] {
            best = k;
        }
    }
    CANDIDATES[best]
}

/// A column of a [`Table`]: numbers in the table's matrix, and its text once a field of it is not
/// a number (or when asked for as text).
#[derive(Clone, Debug, Default)]
struct Column {
    /// The fields of every row as text: as written from the first non-number on, earlier numbers
    /// as their shortest decimal. `None` while every field is a number.
    text: Option<Vec<String>>,
    /// The first field that is not a number: its row and its text (empty: a missing value).
    bad: Option<(usize, String)>,
    /// A number of the column is NaN or infinite (or a field is not a number): only such columns
    /// are searched for bad fields.
    nonfinite: bool,
}

/// A CSV file read whole: the header, and the fields as numbers in one row-major matrix (text is
/// kept only for columns that are not all numbers, and for those asked for as text).
#[derive(Clone, Debug)]
pub struct Table {
    /// Where the table came from, as errors name it (a path, `<stdin>`, or a built-in name).
    pub source: String,
    /// The column names.
    pub header: Vec<String>,
    /// The delimiter the fields were split at.
    pub delimiter: u8,
    /// True when the delimiter was detected rather than given.
    pub delimiter_detected: bool,
    /// The line, counted from 1, of each row.
    pub lines: Vec<u64>,
    /// `rows x header.len()` numbers, row-major; NaN where a field is not a number.
    numbers: Vec<f64>,
    columns: Vec<Column>,
}

/// Byte offsets and line ends of the bytes that went through a reader, and whether a quoted field
/// is open at the end: one pass over the bytes with `memchr`, only at line ends and quotes.
#[derive(Debug, Default)]
struct Scan {
    /// Terminator bytes not yet passed by the csv reader: (offset, ends a line).
    pending: std::collections::VecDeque<(u64, bool)>,
    /// Line ends before the first pending one.
    lines_before: u64,
    /// Bytes seen.
    offset: u64,
    /// The previous byte (a quote opens a field only after a delimiter or a line end).
    prev: Option<u8>,
    /// A `\r` whose next byte is not seen yet.
    cr: Option<u64>,
    /// The offset and line of a quote that opened a field, while it is open.
    open_quote: Option<(u64, u64)>,
    /// The offset of a quote inside a quoted field, whose next byte decides: `""` or the end of
    /// the field.
    quote_at: Option<u64>,
    delimiter: u8,
}

impl Scan {
    fn line_ends_before(&self) -> u64 {
        self.lines_before + self.pending.iter().filter(|(_, end)| *end).count() as u64
    }

    fn eat(&mut self, chunk: &[u8]) {
        let base = self.offset;
        for k in memchr::memchr3_iter(b'\n', b'\r', b'"', chunk) {
            let at = base + k as u64;
            let b = chunk[k];
            if let Some(cr) = self.cr.take() {
                // A lone `\r` ends a line; `\r\n` ends one line, at its `\n`.
                let lone = !(b == b'\n' && at == cr + 1);
                self.pending.push_back((cr, lone));
            }
            if let Some(q) = self.quote_at.take() {
                if b == b'"' && at == q + 1 {
                    continue; // `""` inside quotes: a quote, the field stays open
                }
                self.open_quote = None;
            }
            match b {
                b'"' => {
                    let prev = if k == 0 {
                        self.prev
                    } else {
                        Some(chunk[k - 1])
                    };
                    if self.open_quote.is_some() {
                        self.quote_at = Some(at);
                    } else if prev.is_none_or(|p| p == self.delimiter || p == b'\n' || p == b'\r') {
                        let line = 1 + self.line_ends_before();
                        self.open_quote = Some((at, line));
                    }
                }
                b'\n' => self.pending.push_back((at, true)),
                _ => self.cr = Some(at),
            }
        }
        let end = base + chunk.len() as u64;
        // A quote inside quotes followed by a byte that is not a quote closed the field.
        if self.quote_at.is_some_and(|q| q + 1 < end) {
            self.quote_at = None;
            self.open_quote = None;
        }
        if let Some(&b) = chunk.last() {
            self.prev = Some(b);
        }
        self.offset = end;
    }

    /// The line, counted from 1, of a record that the csv reader says starts at byte `offset`:
    /// the line of its first byte after any line ends (the reader counts the `\n` of a `\r\n`, and
    /// blank lines, into the next record). Offsets must not decrease from call to call.
    fn line(&mut self, offset: u64) -> u64 {
        while let Some(&(at, end)) = self.pending.front() {
            if at >= offset {
                break;
            }
            self.lines_before += u64::from(end);
            self.pending.pop_front();
        }
        // A `\r` before `offset` whose next byte is seen and is no `\n`: a lone one.
        if self.cr.is_some_and(|cr| cr < offset) {
            self.lines_before += 1;
            self.cr = None;
        }
        let mut at_offset = offset;
        loop {
            if let Some(&(at, end)) = self.pending.front() {
                if at == at_offset {
                    self.lines_before += u64::from(end);
                    self.pending.pop_front();
                    at_offset += 1;
                    continue;
                }
            }
            if self.cr == Some(at_offset) {
                self.lines_before += 1;
                self.cr = None;
                at_offset += 1;
                continue;
            }
            break;
        }
        1 + self.lines_before
    }
}

/// A reader that feeds every byte through a [`Scan`].
struct Scanned<R> {
    inner: R,
    scan: std::rc::Rc<std::cell::RefCell<Scan>>,
}

impl<R: Read> Read for Scanned<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan.borrow_mut().eat(&buf[..n]);
        Ok(n)
    }
}

/// A gzip stream starts with these two bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The UTF-8 byte order mark some programs write at the start of a text file.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// The bytes the fast reader reads at a time (the buffer grows for a longer line).
const BLOCK: usize = 1 << 20;

/// The header of a table, from the fields of its first line that is not blank.
///
/// # Errors
/// A name that is not UTF-8, empty or given twice; all names numbers (without `no_header`).
fn header_of(
    fields: &[&[u8]],
    source: &str,
    first_line: u64,
    options: &ReadOptions,
) -> Result<Vec<String>> {
    if options.no_header {
        return Ok((0..fields.len()).map(|k| format!("c{k}")).collect());
    }
    let mut header = Vec::with_capacity(fields.len());
    for (k, field) in fields.iter().enumerate() {
        let name = std::str::from_utf8(field.trim_ascii())
            .map_err(|_| anyhow::anyhow!("{source}:{first_line}:{}: not UTF-8 text", k + 1))?;
        header.push(name.strip_prefix('\u{feff}').unwrap_or(name).to_owned());
    }
    for (k, name) in header.iter().enumerate() {
        if name.is_empty() {
            bail!(
                "{source}:{first_line}:{}: column {} has no name",
                k + 1,
                k + 1
            );
        }
        if let Some(first) = header[..k].iter().position(|h| h == name) {
            bail!(
                "{source}:{first_line}:{}: column name {name:?} appears twice (also column {})",
                k + 1,
                first + 1
            );
        }
    }
    if header.iter().all(|h| parse_number(h.as_bytes()).is_some()) {
        bail!(
            "{source}:{first_line}: the header row is all numbers ({}): if the file has no \
             header, give --no-header (the columns are then named c0, c1, ...)",
            list(&header)
        );
    }
    Ok(header)
}

/// The rows of a table being read, and the rule for a field that both readers (the fast one and
/// the csv crate's) share: how a field becomes a number, or text.
struct Rows<'a> {
    source: &'a str,
    header: Vec<String>,
    /// The line of the header (of the first row with `no_header`).
    first_line: u64,
    columns: Vec<Column>,
    numbers: Vec<f64>,
    lines: Vec<u64>,
}

impl<'a> Rows<'a> {
    fn new(source: &'a str, header: Vec<String>, first_line: u64, options: &ReadOptions) -> Self {
        let columns = header
            .iter()
            .map(|h| Column {
                text: options.text.contains(h).then(Vec::new),
                ..Column::default()
            })
            .collect();
        Rows {
            source,
            header,
            first_line,
            columns,
            numbers: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn width(&self) -> usize {
        self.header.len()
    }

    /// Field `c` of row `r` (the last row begun), on line `line`: its number goes to `numbers`,
    /// and its text to the column's text when the column has text.
    fn field(&mut self, r: usize, line: u64, c: usize, field: &[u8]) -> Result<()> {
        let source = self.source;
        let field = field.trim_ascii();
        let x = parse_number(field);
        self.numbers.push(x.unwrap_or(f64::NAN));
        let column = &mut self.columns[c];
        column.nonfinite |= !x.is_some_and(f64::is_finite);
        if x.is_none() && column.bad.is_none() {
            let text = std::str::from_utf8(field)
                .map_err(|_| anyhow::anyhow!("{source}:{line}:{}: not UTF-8 text", c + 1))?;
            column.bad = Some((r, text.to_owned()));
            if column.text.is_none() {
                // Earlier rows were numbers: their shortest decimals.
                let w = self.header.len();
                let numbers = &self.numbers;
                column.text = Some((0..r).map(|k| format!("{}", numbers[k * w + c])).collect());
            }
        }
        if let Some(text) = &mut column.text {
            let s = std::str::from_utf8(field)
                .map_err(|_| anyhow::anyhow!("{source}:{line}:{}: not UTF-8 text", c + 1))?;
            text.push(s.to_owned());
        }
        Ok(())
    }

    /// A record of the csv crate as a row on line `line`.
    fn record(&mut self, line: u64, record: &csv::ByteRecord) -> Result<()> {
        let width = self.width();
        if record.len() != width {
            bail!(
                "{}:{line}:{}: the row has {}, the header has {width}",
                self.source,
                record.len().min(width) + 1,
                count(record.len(), "field", "fields"),
            );
        }
        let r = self.lines.len();
        self.lines.push(line);
        for (c, field) in record.iter().enumerate() {
            self.field(r, line, c, field)?;
        }
        Ok(())
    }

    fn finish(mut self, delimiter: u8, options: &ReadOptions) -> Result<Table> {
        if self.lines.is_empty() {
            bail!(
                "{}:{}: no data rows after the header",
                self.source,
                self.first_line + 1
            );
        }
        self.numbers.shrink_to_fit();
        Ok(Table {
            source: self.source.to_owned(),
            header: self.header,
            delimiter,
            delimiter_detected: options.delimiter.is_none(),
            lines: self.lines,
            numbers: self.numbers,
            columns: self.columns,
        })
    }
}

/// What the fast reader made of a line.
enum Line {
    /// A row, added to the table.
    Row,
    /// A line of nothing but blanks: not a row.
    Blank,
    /// A line the fast reader leaves to the csv crate (a wrong number of fields).
    Unusual,
}

/// The fast reader's state for one table: the rows, and per row reused buffers.
struct Fast<'a> {
    rows: Rows<'a>,
    delimiter: u8,
    /// Per column: its fields may be parsed as plain decimals (the column has no text).
    plain: Vec<bool>,
    /// The numbers of the row being read.
    row: Vec<f64>,
    /// The fields of the row being read that take the general rule: (column, start, end).
    other: Vec<(usize, usize, usize)>,
}

impl Fast<'_> {
    /// Reads `line` (without its line end), line number `n`, as a row.
    fn line(&mut self, line: &[u8], n: u64) -> Result<Line> {
        let width = self.rows.width();
        let d = self.delimiter;
        self.other.clear();
        let mut i = 0;
        for c in 0..width {
            let start = i;
            let mut done = false;
            if self.plain[c] {
                if let Some((x, end)) = plain_decimal(line, i) {
                    if end == line.len() || line[end] == d {
                        self.row[c] = x;
                        i = end;
                        done = true;
                    }
                }
            }
            if !done {
                let end = memchr::memchr(d, &line[start..]).map_or(line.len(), |k| start + k);
                if c == 0 && end == line.len() && line.trim_ascii().is_empty() {
                    return Ok(Line::Blank);
                }
                self.other.push((c, start, end));
                i = end;
            }
            if c + 1 < width {
                if i == line.len() {
                    return Ok(Line::Unusual); // too few fields
                }
                i += 1;
            }
        }
        if i != line.len() {
            return Ok(Line::Unusual); // too many fields
        }
        let r = self.rows.lines.len();
        self.rows.lines.push(n);
        if self.other.is_empty() {
            self.rows.numbers.extend_from_slice(&self.row);
            return Ok(Line::Row);
        }
        let mut next = 0;
        for c in 0..width {
            match self.other.get(next) {
                Some(&(oc, start, end)) if oc == c => {
                    next += 1;
                    self.rows.field(r, n, c, &line[start..end])?;
                    self.plain[c] = self.rows.columns[c].text.is_none();
                }
                _ => self.rows.numbers.push(self.row[c]),
            }
        }
        Ok(Line::Row)
    }
}

/// `10^k` for `k` in `0..=22`: exact as `f64`.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal at `line[i..]`: `-?d+(.d+)?` of at most 19 digits whose digits as an integer
/// `m` are at most `2^53`, with at most 22 after the point, and where it ends. Then `m` and
/// `10^k` are exact as `f64` and their quotient is rounded once, exactly, as [`parse_number`]
/// rounds; `None` for anything else, which is left to [`parse_number`].
fn plain_decimal(line: &[u8], mut i: usize) -> Option<(f64, usize)> {
    let negative = line.get(i) == Some(&b'-');
    i += usize::from(negative);
    let (m, whole, mut i) = digits(line, i, 0);
    let mut m = m;
    let mut fraction = 0;
    if line.get(i) == Some(&b'.') {
        (m, fraction, i) = digits(line, i + 1, m);
        if fraction == 0 {
            return None;
        }
    }
    if whole == 0 || whole + fraction > 19 || fraction > 22 || m > 1 << 53 {
        return None;
    }
    let x = m as f64 / POWERS_OF_TEN[fraction];
    Some((if negative { -x } else { x }, i))
}

/// The run of ASCII digits at `line[i..]` appended to `m` (`m 10^n + digits`, wrapping beyond 19
/// digits), their count `n`, and where they end. (Byte by byte: eight digits at a time with
/// multiplications measured slower on the benchmark's numbers, whose lengths repeat, so that
/// every branch here is predicted.)
#[inline(always)]
fn digits(line: &[u8], mut i: usize, mut m: u64) -> (u64, usize, usize) {
    let start = i;
    while let Some(&b) = line.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        m = m.wrapping_mul(10).wrapping_add(u64::from(digit));
        i += 1;
    }
    (m, i - start, i)
}

/// A block reader over a stream: whole lines from a buffer refilled from `inner`.
struct Blocks<R> {
    inner: R,
    buf: Vec<u8>,
    /// The first byte not yet consumed.
    pos: usize,
    /// The end of the bytes read.
    end: usize,
    eof: bool,
}

impl<R: Read> Blocks<R> {
    /// Moves the bytes not consumed to the front and reads more after them (a larger buffer when
    /// they fill it); false at the end of the stream.
    fn refill(&mut self, source: &str) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.end == self.buf.len() {
            self.buf.resize(2 * self.buf.len(), 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(source, &e)),
            }
        }
    }

    /// The next line: its start and end (before its line end) in `buf`, and the start of the
    /// line after it; `None` at the end of the stream. The last line may lack its `\n`.
    fn next_line(&mut self, source: &str) -> Result<Option<(usize, usize, usize)>> {
        let mut searched = 0;
        loop {
            let from = self.pos + searched;
            if let Some(k) = memchr::memchr(b'\n', &self.buf[from..self.end]) {
                let start = self.pos;
                return Ok(Some((start, from + k, from + k + 1)));
            }
            searched = self.end - self.pos;
            if !self.refill(source)? {
                if self.pos == self.end {
                    return Ok(None);
                }
                return Ok(Some((self.pos, self.end, self.end)));
            }
        }
    }

    /// The bytes not yet consumed, then the rest of the stream.
    fn rest(self, prefix: &[u8]) -> std::io::Chain<std::io::Cursor<Vec<u8>>, R> {
        let mut head = Vec::with_capacity(prefix.len() + self.end - self.pos);
        head.extend_from_slice(prefix);
        head.extend_from_slice(&self.buf[self.pos..self.end]);
        std::io::Cursor::new(head).chain(self.inner)
    }
}

/// The fields of a header line (without its `\n`) with quotes, as the csv crate reads them, when
/// it reads them as one record that ends with the line; `None` otherwise (a quote open at the end
/// of the line, a lone `\r`).
fn quoted_header(line: &[u8], delimiter: u8) -> Option<Vec<Vec<u8>>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // A record after the line shows where the csv crate ends the line's record.
    let mut text = Vec::with_capacity(line.len() + 3);
    text.extend_from_slice(line);
    text.extend_from_slice(b"\nz\n");
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_slice());
    let mut record = csv::ByteRecord::new();
    let read = csv.read_byte_record(&mut record).ok()?;
    (read && csv.position().byte() == line.len() as u64 + 1)
        .then(|| record.iter().map(<[u8]>::to_vec).collect())
}

/// Where a line stops being one the fast reader takes whole: its first quote or carriage return
/// that is not the `\r` of a `\r\n`: `Some(end)`, the end of the line without a final `\r`, when
/// there is none; `None` when there is.
fn plain_line(line: &[u8]) -> Option<usize> {
    match memchr::memchr2(b'"', b'\r', line) {
        None => Some(line.len()),
        Some(k) if line[k] == b'\r' && k + 1 == line.len() => Some(k),
        Some(_) => None,
    }
}

impl Table {
    /// Reads a CSV file (gzip-compressed or not, told by its first bytes); `-` is standard input.
    ///
    /// # Errors
    /// A missing or unreadable file, and as [`read_csv`](Self::read_csv).
    pub fn read_path(path: &Path, options: &ReadOptions) -> Result<Table> {
        if path.as_os_str() == "-" {
            return Table::read_csv(std::io::stdin().lock(), "<stdin>", options);
        }
        let source = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot open"))?;
        Table::read_csv(file, &source, options)
    }

    /// Reads CSV text, gzip-compressed or not, from `reader`; errors name `source`.
    ///
    /// Lines without quotes are split and their numbers parsed by a fast reader; from the first
    /// line with a quote (or a lone `\r`, or the wrong number of fields) on, the csv crate reads
    /// the rest. Both give the same table and the same errors.
    ///
    /// # Errors
    /// An empty file, a header without names or with a name twice, a header of numbers (without
    /// `no_header`), a ragged row, a quote never closed, text that is not UTF-8, no data rows.
    pub fn read_csv<R: Read>(reader: R, source: &str, options: &ReadOptions) -> Result<Table> {
        let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
        let head = reader
            .fill_buf()
            .with_context(|| format!("{source}: cannot read"))?;
        if head.starts_with(&GZIP_MAGIC) {
            let gz = flate2::bufread::MultiGzDecoder::new(reader);
            return Table::read_plain(gz, source, options, BLOCK);
        }
        Table::read_plain(reader, source, options, BLOCK)
    }

    /// Reads CSV text from `reader` with the fast reader, in blocks of `block` bytes, handing
    /// over to [`read_general`](Self::read_general) where it cannot go on.
    fn read_plain<R: Read>(
        reader: R,
        source: &str,
        options: &ReadOptions,
        block: usize,
    ) -> Result<Table> {
        let mut blocks = Blocks {
            inner: reader,
            buf: vec![0; block.max(1)],
            pos: 0,
            end: 0,
            eof: false,
        };
        // The delimiter, from the first line of the first bytes (the BOM left out).
        while blocks.end < 1 << 16
            && memchr::memchr2(b'\n', b'\r', &blocks.buf[..blocks.end]).is_none()
            && blocks.refill(source)?
        {}
        let head = &blocks.buf[..blocks.end];
        let bom = head.starts_with(BOM);
        let head = if bom { &head[BOM.len()..] } else { head };
        let first_line = memchr::memchr2(b'\n', b'\r', head).map_or(head, |k| &head[..k]);
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| detect_delimiter(first_line));
        // A plain decimal must not read across a delimiter.
        if b"0123456789.-+eE".contains(&delimiter) {
            return Table::hand_over(blocks, 0, source, options, delimiter, None);
        }
        if bom {
            blocks.pos = BOM.len();
        }
        // The header (or with `no_header`, the first row): the first line that is not blank.
        let mut n = 0;
        let (header, first_line) = loop {
            let Some((start, end, next)) = blocks.next_line(source)? else {
                bail!("{source}: the file is empty: expected a header row of column names");
            };
            n += 1;
            let line = &blocks.buf[start..end];
            let Some(len) = plain_line(line) else {
                // A header with quotes that close on its line (as R's write.csv writes them) is
                // read by the csv crate alone; the rows go on here.
                if !options.no_header {
                    if let Some(fields) = quoted_header(line, delimiter) {
                        blocks.pos = next;
                        if let [field] = fields.as_slice() {
                            if field.trim_ascii().is_empty() {
                                continue; // `""`: a blank line to the csv crate
                            }
                        }
                        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
                        break (header_of(&fields, source, n, options)?, n);
                    }
                }
                return Table::hand_over(blocks, n - 1, source, options, delimiter, None);
            };
            let line = &line[..len];
            if memchr::memchr(delimiter, line).is_none() && line.trim_ascii().is_empty() {
                blocks.pos = next;
                continue;
            }
            let fields: Vec<&[u8]> = line.split(|&b| b == delimiter).collect();
            let header = header_of(&fields, source, n, options)?;
            if !options.no_header {
                blocks.pos = next;
            }
            break (header, n);
        };
        if options.no_header {
            n -= 1; // the first row is read again, as a row
        }
        let width = header.len();
        let rows = Rows::new(source, header, first_line, options);
        let plain = rows.columns.iter().map(|c| c.text.is_none()).collect();
        let mut fast = Fast {
            rows,
            delimiter,
            plain,
            row: vec![0.0; width],
            other: Vec::with_capacity(width),
        };
        while let Some((start, end, next)) = blocks.next_line(source)? {
            let line = &blocks.buf[start..end];
            let read = match plain_line(line) {
                Some(len) => fast.line(&line[..len], n + 1)?,
                None => Line::Unusual,
            };
            match read {
                Line::Row | Line::Blank => {
                    n += 1;
                    blocks.pos = next;
                }
                Line::Unusual => {
                    return Table::hand_over(
                        blocks,
                        n,
                        source,
                        options,
                        delimiter,
                        Some(fast.rows),
                    );
                }
            }
        }
        fast.rows.finish(delimiter, options)
    }

    /// Hands the bytes `blocks` has not consumed, after `lines` whole lines, and the rest of its
    /// stream to the csv crate, with the rows read so far (`None`: the header is not read yet).
    fn hand_over<R: Read>(
        blocks: Blocks<R>,
        lines: u64,
        source: &str,
        options: &ReadOptions,
        delimiter: u8,
        resume: Option<Rows<'_>>,
    ) -> Result<Table> {
        if lines == 0 {
            return Table::read_general(blocks.rest(b""), source, options, delimiter, 0, resume);
        }
        // A line end before the bytes keeps the csv crate from taking a BOM there for the file's
        // (it strips one at the start of its input); it counts as one of the lines.
        let rest = blocks.rest(b"\n");
        Table::read_general(rest, source, options, delimiter, lines - 1, resume)
    }

    /// Reads CSV text with the csv crate, after `lines` line ends not in the text: from the header,
    /// or with `resume`, on from the rows read so far.
    fn read_general<R: Read>(
        reader: R,
        source: &str,
        options: &ReadOptions,
        delimiter: u8,
        lines: u64,
        resume: Option<Rows<'_>>,
    ) -> Result<Table> {
        let scan = std::rc::Rc::new(std::cell::RefCell::new(Scan {
            delimiter,
            lines_before: lines,
            ..Scan::default()
        }));
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            // Fields are trimmed here, as slices: the csv crate's trimming copies every record.
            .buffer_capacity(1 << 16)
            .from_reader(Scanned {
                inner: reader,
                scan: scan.clone(),
            });
        let mut record = csv::ByteRecord::new();
        // A quote still open that opened before `end`, the byte where the csv reader stopped (the
        // scan may have seen further).
        let unclosed = |scan: &Scan, fields: usize, end: u64| {
            scan.open_quote
                .filter(|&(at, _)| at < end)
                .map(|(_, line)| {
                    anyhow::anyhow!(
                    "{source}:{line}:{fields}: a quoted field is not closed (its quote opens here \
                     and the file ends inside it)"
                )
                })
        };
        let mut rows = match resume {
            Some(rows) => rows,
            None => {
                let Some(first_line) = next_record(&mut csv, &mut record, &scan, source)? else {
                    bail!("{source}: the file is empty: expected a header row of column names");
                };
                let fields: Vec<&[u8]> = record.iter().collect();
                let header = header_of(&fields, source, first_line, options)?;
                let mut rows = Rows::new(source, header, first_line, options);
                if options.no_header {
                    rows.record(first_line, &record)?;
                }
                rows
            }
        };
        let mut last_len = rows.width();
        while let Some(line) = next_record(&mut csv, &mut record, &scan, source)? {
            last_len = record.len();
            if let Err(e) = rows.record(line, &record) {
                // A quote never closed swallows the rest of the file into one ragged record.
                let end = csv.position().byte();
                return Err(unclosed(&scan.borrow(), record.len(), end).unwrap_or(e));
            }
        }
        // Checked once, at the end: a quoted field still open there ran to the end of the file.
        if let Some(e) = unclosed(&scan.borrow(), last_len, u64::MAX) {
            return Err(e);
        }
        rows.finish(delimiter, options)
    }

    /// A table of numbers, and of text for the columns given as `text` (row-major, one entry per
    /// row): how built-in datasets are read as files are.
    pub fn from_parts(
        source: &str,
        header: Vec<String>,
        numbers: Vec<f64>,
        text: &[(usize, Vec<String>)],
    ) -> Table {
        let width = header.len();
        let rows = numbers.len() / width.max(1);
        let mut columns = vec![Column::default(); width];
        for (k, x) in numbers.iter().enumerate() {
            if !x.is_finite() {
                columns[k % width].nonfinite = true;
            }
        }
        for (c, t) in text {
            columns[*c].text = Some(t.clone());
            columns[*c].bad = Some((0, t.first().cloned().unwrap_or_default()));
        }
        Table {
            source: source.to_owned(),
            header,
            delimiter: b',',
            delimiter_detected: false,
            lines: (0..rows as u64).map(|r| r + 2).collect(),
            numbers,
            columns,
        }
    }

    /// The number of data rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True without rows (a table read from a file always has some).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The index of the column called `name`.
    ///
    /// # Errors
    /// An unknown column, with the list of known ones.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}:1: unknown column {name:?} (the columns are {})",
                self.source,
                list(&self.header)
            )
        })
    }

    /// The field in row `r`, column `c`, as text (a number as its shortest decimal).
    pub fn text(&self, r: usize, c: usize) -> std::borrow::Cow<'_, str> {
        match &self.columns[c].text {
            Some(t) => std::borrow::Cow::Borrowed(t[r].as_str()),
            None => std::borrow::Cow::Owned(format!("{}", self.numbers[r * self.header.len() + c])),
        }
    }

    /// True when every field of column `c` is a number.
    pub fn is_numeric(&self, c: usize) -> bool {
        self.columns[c].bad.is_none()
    }

    /// The number in row `r`, column `c`.
    ///
    /// # Errors
    /// A field that is empty, not a number, NaN or infinite.
    pub fn number(&self, r: usize, c: usize) -> Result<f64> {
        let x = self.numbers[r * self.header.len() + c];
        if x.is_finite() {
            return Ok(x);
        }
        let field = self.text(r, c);
        if parse_number(field.as_bytes()).is_none() {
            return Err(self.not_a_number(r, c, &field));
        }
        bail!(
            "{}:{}:{}: {field} in column {:?}: the data must be finite numbers",
            self.source,
            self.lines[r],
            c + 1,
            self.header[c]
        )
    }

    fn not_a_number(&self, r: usize, c: usize, field: &str) -> anyhow::Error {
        let at = format!("{}:{}:{}", self.source, self.lines[r], c + 1);
        if field.is_empty() {
            anyhow::anyhow!("{at}: missing value in column {:?}", self.header[c])
        } else {
            anyhow::anyhow!(
                "{at}: {field:?} in column {:?} is not a number",
                self.header[c]
            )
        }
    }

    /// The numbers of the columns `cols` of every row, as a `cols.len() x rows` matrix (one
    /// sample a column).
    ///
    /// # Errors
    /// As [`number`](Self::number), for the first bad field in row order.
    pub fn matrix(&self, cols: &[usize]) -> Result<Matrix> {
        self.check(cols)?;
        let w = self.header.len();
        let mut out = Vec::with_capacity(cols.len() * self.len());
        for row in self.numbers.chunks_exact(w) {
            out.extend(cols.iter().map(|&c| row[c]));
        }
        Ok(Matrix::from_vec(cols.len(), self.len(), out))
    }

    /// The columns `cols` as a matrix, as [`matrix`](Self::matrix), taking the table's numbers in
    /// place: no second copy of the data is made.
    ///
    /// # Errors
    /// As [`matrix`](Self::matrix); the table is left as it was then.
    pub fn into_matrix(mut self, cols: &[usize]) -> Result<Matrix> {
        self.check(cols)?;
        let (w, n) = (self.header.len(), cols.len());
        let mut numbers = std::mem::take(&mut self.numbers);
        let mut buf = vec![0.0; n];
        for r in 0..self.len() {
            // Row r is read whole before it is written to positions below (r + 1) n <= (r + 1) w.
            for (b, &c) in buf.iter_mut().zip(cols) {
                *b = numbers[r * w + c];
            }
            numbers[r * n..(r + 1) * n].copy_from_slice(&buf);
        }
        numbers.truncate(n * self.len());
        numbers.shrink_to_fit();
        Ok(Matrix::from_vec(n, self.len(), numbers))
    }

    /// The first bad field among the columns `cols`, in row order.
    fn check(&self, cols: &[usize]) -> Result<()> {
        let cols: Vec<usize> = cols
            .iter()
            .copied()
            .filter(|&c| self.columns[c].nonfinite)
            .collect();
        if cols.is_empty() {
            return Ok(());
        }
        for (r, row) in self.numbers.chunks_exact(self.header.len()).enumerate() {
            for &c in &cols {
                if !row[c].is_finite() {
                    self.number(r, c)?;
                }
            }
        }
        Ok(())
    }
}

/// The matrix type of samples: one sample a column.
pub type Matrix = backprop_network::Matrix<f64>;

/// A field as a number, read with an exactly rounding parser; `None` for an empty field or text.
/// `NaN` and `inf` parse (and are refused as data later, with their place).
pub fn parse_number(field: &[u8]) -> Option<f64> {
    if field.is_empty() {
        return None;
    }
    fast_float2::parse(field).ok()
}

fn read_error(source: &str, e: &std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::InvalidInput || e.kind() == std::io::ErrorKind::InvalidData {
        anyhow::anyhow!("{source}: cannot read: {e} (a damaged .gz file?)")
    } else {
        anyhow::anyhow!("{source}: cannot read: {e}")
    }
}

/// Reads the next record that is not a blank line (a line with nothing on it is not a row) into
/// `record`, and returns its line; `None` at the end of the text.
fn next_record<R: Read>(
    csv: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    scan: &std::rc::Rc<std::cell::RefCell<Scan>>,
    source: &str,
) -> Result<Option<u64>> {
    loop {
        match csv.read_byte_record(record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => return Err(csv_error(source, scan, &e)),
        }
        let line = scan
            .borrow_mut()
            .line(record.position().map_or(0, |p| p.byte()));
        if !(record.len() == 1 && record[0].trim_ascii().is_empty()) {
            return Ok(Some(line));
        }
    }
}

fn csv_error(
    source: &str,
    scan: &std::rc::Rc<std::cell::RefCell<Scan>>,
    e: &csv::Error,
) -> anyhow::Error {
    match e.kind() {
        csv::ErrorKind::Io(io) => read_error(source, io),
        _ => match e.position() {
            Some(p) => anyhow::anyhow!("{source}:{}: {e}", scan.borrow_mut().line(p.byte())),
            None => anyhow::anyhow!("{source}: {e}"),
        },
    }
}

/// `1 input`, `2 inputs`: a count with its noun, singular for one.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `a, b, c`, at most 12 names.
pub fn list(names: &[String]) -> String {
    if names.len() <= 12 {
        names.join(", ")
    } else {
        format!("{}, ... ({} in all)", names[..12].join(", "), names.len())
    }
}

/// Samples ready for a network, not yet scaled: features and targets, one sample a column.
#[derive(Clone, Debug)]
pub struct Labeled {
    /// Where the data came from.
    pub source: String,
    /// The feature column names.
    pub inputs: Vec<String>,
    /// The target column names.
    pub targets: Vec<String>,
    /// Classification or regression.
    pub task: Task,
    /// The class names, in output order (empty for regression).
    pub classes: Vec<String>,
    /// `inputs x samples`: the features of sample `k` are column `k`.
    pub x: Matrix,
    /// `outputs x samples`: one-hot over the classes, or the target numbers (no rows when the
    /// targets were not read).
    pub y: Matrix,
    /// What was guessed rather than given, for the summary.
    pub guessed: Guessed,
    /// The delimiter of a CSV file (`None` for a built-in dataset).
    pub delimiter: Option<(u8, bool)>,
}

/// What [`Labeled::from_table`] chose without being told.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guessed {
    /// The target is the last column because none was named.
    pub target: bool,
    /// The task was guessed from the target's values: why.
    pub task: Option<TaskReason>,
}

/// Why a task was guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskReason {
    /// The target holds text.
    Text,
    /// The target holds few distinct integers.
    FewIntegers,
    /// The target holds fractions, or many distinct integers.
    Numbers,
    /// Several target columns.
    SeveralTargets,
}

/// How to pick the columns of a table.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// The target columns; empty means the last column.
    pub targets: Vec<String>,
    /// Columns to ignore.
    pub drop: Vec<String>,
    /// The task, or `None` to guess it from the target.
    pub task: Option<Task>,
}

/// The name of a class value: an integer-valued number without its fraction (`"1.0"` is `"1"`),
/// anything else as written.
pub fn class_name(field: &str) -> String {
    match parse_number(field.as_bytes()) {
        Some(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => field.to_owned(),
    }
}

/// The most distinct integer values a numeric target may have to be guessed a class label. An
/// integer target with more values (a score from 0 to 100, an age) is an ordered quantity, and is
/// guessed a regression target; ten keeps digit labels 0-9 classes. A rating from 1 to 10 is
/// still guessed classes, and the summary says so, with `--task regress` to override.
pub const MAX_GUESSED_CLASSES: usize = 10;

impl Labeled {
    /// Picks targets and features from `table` and builds the samples. Unless `selection.task`
    /// says which, the task is guessed: a single target column of text is classification; one of
    /// integers with at most [`MAX_GUESSED_CLASSES`] distinct values, each seen twice on average
    /// (at most half as many values as rows), is classification; anything else is regression.
    ///
    /// # Errors
    /// Unknown or repeated columns, no feature left, non-numeric features or regression targets,
    /// NaN or infinity, classification with several target columns or fewer than two classes.
    pub fn from_table(table: Table, selection: &Selection) -> Result<Labeled> {
        let src = table.source.clone();
        let targets: Vec<usize> = if selection.targets.is_empty() {
            vec![table.header.len() - 1]
        } else {
            selection
                .targets
                .iter()
                .map(|t| table.column(t))
                .collect::<Result<_>>()?
        };
        for (k, t) in targets.iter().enumerate() {
            if targets[..k].contains(t) {
                bail!("--target names column {:?} twice", table.header[*t]);
            }
        }
        let dropped: Vec<usize> = selection
            .drop
            .iter()
            .map(|d| table.column(d))
            .collect::<Result<_>>()?;
        if let Some(t) = targets.iter().find(|t| dropped.contains(t)) {
            bail!("column {:?} is both a target and dropped", table.header[*t]);
        }
        let features: Vec<usize> = (0..table.header.len())
            .filter(|c| !targets.contains(c) && !dropped.contains(c))
            .collect();
        if features.is_empty() {
            let hint = if table.header.len() == 1 && table.delimiter_detected {
                format!(
                    " (the file has one column {:?}: if its fields are not separated by commas, \
                     tabs, semicolons or pipes, give --delimiter)",
                    table.header[0]
                )
            } else {
                String::new()
            };
            bail!("{src}: no feature columns left after the target and dropped columns{hint}");
        }
        let (task, reason) = match selection.task {
            Some(task) => (task, None),
            None => {
                let (task, reason) = guess_task(&table, &targets);
                (task, Some(reason))
            }
        };
        let names = |cols: &[usize]| -> Vec<String> {
            cols.iter().map(|&c| table.header[c].clone()).collect()
        };
        let (classes, y) = match task {
            Task::Regression => (Vec::new(), table.matrix(&targets)?),
            Task::Classification => {
                let &[t] = targets.as_slice() else {
                    bail!(
                        "classification takes one target column, got {} ({})",
                        targets.len(),
                        list(&names(&targets))
                    );
                };
                let classes = classes_of(&table, t)?;
                let y = one_hot(&table, t, &classes)?;
                (classes, y)
            }
        };
        let (inputs, targets_named) = (names(&features), names(&targets));
        let delimiter = Some((table.delimiter, table.delimiter_detected));
        let x = table.into_matrix(&features)?;
        Ok(Labeled {
            source: src,
            inputs,
            targets: targets_named,
            task,
            classes,
            x,
            y,
            guessed: Guessed {
                target: selection.targets.is_empty(),
                task: reason,
            },
            delimiter,
        })
    }

    /// Samples from one row of features and one row of targets per sample.
    ///
    /// # Panics
    /// Rows of different lengths.
    pub fn from_rows(
        source: &str,
        inputs: Vec<String>,
        targets: Vec<String>,
        task: Task,
        classes: Vec<String>,
        x: &[Vec<f64>],
        y: &[Vec<f64>],
    ) -> Labeled {
        let matrix = |rows: &[Vec<f64>]| {
            let n = rows.first().map_or(0, Vec::len);
            Matrix::from_fn(n, rows.len(), |i, j| rows[j][i])
        };
        Labeled {
            source: source.to_owned(),
            inputs,
            targets,
            task,
            classes,
            x: matrix(x),
            y: matrix(y),
            guessed: Guessed::default(),
            delimiter: None,
        }
    }

    /// The features of sample `k`.
    pub fn sample_x(&self, k: usize) -> &[f64] {
        let n = self.x.nrows();
        &self.x.as_slice()[k * n..(k + 1) * n]
    }

    /// The targets of sample `k` (empty when the targets were not read).
    pub fn sample_y(&self, k: usize) -> &[f64] {
        let n = self.y.nrows();
        &self.y.as_slice()[k * n..(k + 1) * n]
    }

    /// The samples as a table with the feature columns, then the target columns (class names for
    /// classification); row `r` is line `r + 2`, as in a CSV file with a header.
    pub fn to_table(&self) -> Table {
        let header: Vec<String> = self.inputs.iter().chain(&self.targets).cloned().collect();
        let mut numbers = Vec::with_capacity(header.len() * self.len());
        let mut labels = Vec::new();
        for k in 0..self.len() {
            numbers.extend_from_slice(self.sample_x(k));
            match self.task {
                Task::Classification => {
                    let j = self.sample_y(k).iter().position(|&v| v == 1.0).unwrap_or(0);
                    numbers.push(f64::NAN);
                    labels.push(self.classes[j].clone());
                }
                Task::Regression => numbers.extend_from_slice(self.sample_y(k)),
            }
        }
        let text = match self.task {
            Task::Classification => vec![(self.inputs.len(), labels)],
            Task::Regression => Vec::new(),
        };
        Table::from_parts(&self.source, header, numbers, &text)
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// FNV-1a (64 bits) over the column names, then the bits of every feature and target number
    /// in sample order, as 16 hex digits: the data's fingerprint in a model's provenance.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &byte in bytes {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for name in self.inputs.iter().chain(&self.targets).chain(&self.classes) {
            eat(name.as_bytes());
            eat(&[0]);
        }
        for k in 0..self.len() {
            for x in self.sample_x(k).iter().chain(self.sample_y(k)) {
                eat(&x.to_bits().to_le_bytes());
            }
        }
        format!("{h:016x}")
    }

    /// One line for the summary of `train` and `restarts`: the target, the features, the task,
    /// and for each guess, the flag that overrides it.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        let targets = self.targets.join(", ");
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if self.guessed.target {
            let _ = write!(
                text,
                "target: {targets} (the last column; --target to choose)"
            );
        } else {
            let _ = write!(
                text,
                "{}: {targets}",
                if self.targets.len() == 1 {
                    "target"
                } else {
                    "targets"
                }
            );
        }
        let n = self.inputs.len();
        let _ = write!(text, "; {}", plural(n, "feature column", "feature columns"));
        if n <= 8 {
            let _ = write!(text, " ({})", self.inputs.join(", "));
        }
        let _ = write!(text, "; task: {}", self.task);
        if self.task == Task::Classification {
            let _ = write!(text, ", {}", plural(self.classes.len(), "class", "classes"));
        }
        if let Some(reason) = self.guessed.task {
            let why = match reason {
                TaskReason::Text => "guessed from text values",
                TaskReason::FewIntegers => "guessed from integer values",
                TaskReason::Numbers => "guessed from numeric values",
                TaskReason::SeveralTargets => "guessed from several targets",
            };
            let other = match self.task {
                Task::Classification => "regress",
                Task::Regression => "classify",
            };
            if reason == TaskReason::Text {
                // Text cannot be regressed: nothing to override.
                let _ = write!(text, ", {why}");
            } else {
                let _ = write!(text, ", {why}; --task {other} to override");
            }
        }
        if let Some((d, detected)) = self.delimiter {
            let _ = write!(
                text,
                "; delimiter: {}{}",
                delimiter_name(d),
                if detected {
                    " (detected; --delimiter to choose)"
                } else {
                    ""
                }
            );
        }
        text
    }
}

/// Classification when a single target column holds text, or few distinct integers (see
/// [`Labeled::from_table`]).
fn guess_task(table: &Table, targets: &[usize]) -> (Task, TaskReason) {
    let &[t] = targets else {
        return (Task::Regression, TaskReason::SeveralTargets);
    };
    let mut distinct = BTreeSet::new();
    let mut all_integers = true;
    for r in 0..table.len() {
        match table.number(r, t) {
            Ok(x) => {
                if x.fract() != 0.0 {
                    all_integers = false;
                }
                distinct.insert(x.to_bits());
            }
            Err(_) => {
                let field = table.text(r, t);
                // A missing number, NaN or infinity: reported as bad numbers.
                if field.is_empty() || parse_number(field.as_bytes()).is_some() {
                    return (Task::Regression, TaskReason::Numbers);
                }
                return (Task::Classification, TaskReason::Text);
            }
        }
    }
    let n = distinct.len();
    if all_integers && n <= MAX_GUESSED_CLASSES && 2 * n <= table.len() {
        (Task::Classification, TaskReason::FewIntegers)
    } else {
        (Task::Regression, TaskReason::Numbers)
    }
}

/// The sorted class names of column `t`: numerically if they are all numbers, else as strings.
fn classes_of(table: &Table, t: usize) -> Result<Vec<String>> {
    let mut names = BTreeSet::new();
    for r in 0..table.len() {
        let field = table.text(r, t);
        if field.is_empty() {
            bail!(
                "{}:{}:{}: missing class in column {:?}",
                table.source,
                table.lines[r],
                t + 1,
                table.header[t]
            );
        }
        if parse_number(field.as_bytes()).is_some_and(|x| !x.is_finite()) {
            bail!(
                "{}:{}:{}: {field} in column {:?} is not a class label",
                table.source,
                table.lines[r],
                t + 1,
                table.header[t]
            );
        }
        if !names.contains(field.as_ref()) {
            names.insert(class_name(&field));
        }
    }
    let mut classes: Vec<String> = names.into_iter().collect();
    classes.dedup();
    let numbers: Option<Vec<f64>> = classes.iter().map(|c| c.parse().ok()).collect();
    if let Some(numbers) = numbers {
        let mut order: Vec<usize> = (0..classes.len()).collect();
        order.sort_by(|&a, &b| numbers[a].total_cmp(&numbers[b]));
        classes = order.into_iter().map(|k| classes[k].clone()).collect();
    }
    if classes.len() < 2 {
        bail!(
            "{}: column {:?} has a single class ({}): classification needs at least two",
            table.source,
            table.header[t],
            list(&classes)
        );
    }
    Ok(classes)
}

/// One-hot columns for column `t` over `classes`, one sample a column.
///
/// # Errors
/// A value that is not one of the classes, by file, line and column.
pub fn one_hot(table: &Table, t: usize, classes: &[String]) -> Result<Matrix> {
    Ok(one_hot_of(
        &class_indices(table, t, classes)?,
        classes.len(),
    ))
}

/// The index among `classes` of the value of column `t` in every row.
///
/// # Errors
/// A value that is not one of the classes, by file, line and column.
pub fn class_indices(table: &Table, t: usize, classes: &[String]) -> Result<Vec<u32>> {
    if table.is_numeric(t) {
        // Numeric labels: each distinct number is named and looked up once.
        let w = table.header.len();
        let mut seen: Vec<(u64, u32)> = Vec::new();
        let mut out = Vec::with_capacity(table.len());
        for r in 0..table.len() {
            let bits = table.numbers[r * w + t].to_bits();
            let j = match seen.iter().find(|(b, _)| *b == bits) {
                Some(&(_, j)) => j,
                None => {
                    let j = class_index(table, r, t, classes)?;
                    seen.push((bits, j));
                    j
                }
            };
            out.push(j);
        }
        return Ok(out);
    }
    (0..table.len())
        .map(|r| class_index(table, r, t, classes))
        .collect()
}

/// The index among `classes` of the value in row `r`, column `t`.
fn class_index(table: &Table, r: usize, t: usize, classes: &[String]) -> Result<u32> {
    let name = class_name(&table.text(r, t));
    let j = classes.iter().position(|c| *c == name).with_context(|| {
        format!(
            "{}:{}:{}: class {name:?} in column {:?} is not one of the model's classes ({})",
            table.source,
            table.lines[r],
            t + 1,
            table.header[t],
            list(classes)
        )
    })?;
    Ok(j as u32)
}

/// One-hot columns of `k` entries for class indices.
pub fn one_hot_of(indices: &[u32], k: usize) -> Matrix {
    let mut y = Matrix::zeros(k, indices.len());
    for (r, &j) in indices.iter().enumerate() {
        y[(j as usize, r)] = 1.0;
    }
    y
}

/// Splits `"a,b, c"` into names; an empty string gives none.
pub fn split_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Result<Table> {
        Table::read_csv(text.as_bytes(), "t.csv", &ReadOptions::default())
    }

    #[test]
    fn reads_and_guesses_classification_from_strings_and_few_integers() -> Result<()> {
        let t = table("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n")?;
        let data = Labeled::from_table(t.clone(), &Selection::default())?;
        assert_eq!(data.task, Task::Classification);
        assert_eq!(data.classes, ["cat", "dog"]);
        assert_eq!(data.sample_y(1), [0.0, 1.0]);
        assert_eq!(data.sample_x(2), [5.0, 6.0]);
        let t = table("x,y\n0,10\n1,2\n2,10\n3,2\n4,10\n")?;
        let data = Labeled::from_table(t.clone(), &Selection::default())?;
        assert_eq!(data.task, Task::Classification);
        assert_eq!(data.classes, ["2", "10"], "numeric classes sort by value");
        Ok(())
    }

    #[test]
    fn guesses_regression_for_fractions_and_many_values() -> Result<()> {
        let t = table("x,y\n0,0.5\n1,2\n2,10\n3,2\n")?;
        assert_eq!(
            Labeled::from_table(t.clone(), &Selection::default())?.task,
            Task::Regression
        );
        let t = table("x,y\n0,1\n1,2\n2,3\n3,4\n")?;
        assert_eq!(
            Labeled::from_table(t.clone(), &Selection::default())?.task,
            Task::Regression
        );
        Ok(())
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = |text: &str| format!("{:#}", table(text).unwrap_err());
        assert_eq!(
            err(""),
            "t.csv: the file is empty: expected a header row of column names"
        );
        assert_eq!(
            err("a,b\n1,2\n3\n"),
            "t.csv:3:2: the row has 1 field, the header has 2"
        );
        assert_eq!(err("a,b\n"), "t.csv:2: no data rows after the header");
        assert_eq!(
            err(" \n\n"),
            "t.csv: the file is empty: expected a header row of column names"
        );
        assert_eq!(err(",,\n1,2,3\n"), "t.csv:1:1: column 1 has no name");
        let unclosed = "a quoted field is not closed (its quote opens here and the file ends \
                        inside it)";
        assert_eq!(
            err("a,b\n1,2\n\"3,4\n5,6\n"),
            format!("t.csv:3:1: {unclosed}")
        );
        assert_eq!(err("a,b\n1,\"2\n"), format!("t.csv:2:2: {unclosed}"));
        assert_eq!(err("\"a,b\n1,2\n"), format!("t.csv:1:1: {unclosed}"));
        // Closed quotes, doubled quotes inside them, and a quote inside an unquoted field are
        // not errors of quoting.
        let t = table("\"a\",\"b \"\"x\"\"\"\n\"1\",2\"\n").unwrap();
        assert_eq!(t.header, ["a", "b \"x\""]);
        assert_eq!((t.text(0, 0), t.text(0, 1)), ("1".into(), "2\"".into()));
        assert_eq!(err("a,,c\n1,2,3\n"), "t.csv:1:2: column 2 has no name");
        let t = table("a,b,c\n1,2,3\n4,x,6\n").unwrap();
        let e = Labeled::from_table(t.clone(), &Selection::default()).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "t.csv:3:2: \"x\" in column \"b\" is not a number"
        );
        let t = table("a,b,c\n1,NaN,3\n").unwrap();
        let e = Labeled::from_table(t.clone(), &Selection::default()).unwrap_err();
        assert!(format!("{e:#}").starts_with("t.csv:2:2: NaN"), "{e:#}");
        let sel = Selection {
            targets: vec!["z".into()],
            ..Selection::default()
        };
        let e = Labeled::from_table(t.clone(), &sel).unwrap_err();
        assert!(format!("{e:#}").starts_with("t.csv:1: unknown column \"z\""));
    }

    #[test]
    fn line_numbers_hold_for_every_line_ending() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["x1,x2,y", "1,2,0", "", "3,4,1", "5,abc,0", "7,8,1", ""].join(end);
            let t = table(&text).unwrap();
            assert_eq!(t.len(), 4, "{end:?}");
            let e = Labeled::from_table(t.clone(), &Selection::default()).unwrap_err();
            assert!(
                format!("{e:#}").starts_with("t.csv:5:2: \"abc\""),
                "{end:?}: {e:#}"
            );
            let ragged = ["a,b", "1,2", "3"].join(end);
            let e = table(&ragged).unwrap_err();
            assert!(format!("{e:#}").starts_with("t.csv:3:2:"), "{end:?}: {e:#}");
        }
    }

    #[test]
    fn the_delimiter_is_detected_from_the_header_and_can_be_given() -> Result<()> {
        for (d, text) in [
            (b',', "a,b,c\n1,2,3\n"),
            (b'\t', "a\tb\tc\n1\t2\t3\n"),
            (b';', "a;b;c\n1,5;2;3\n"),
            (b'|', "\"a|x\"|b|c\n1|2|3\n"),
        ] {
            let t = table(text)?;
            assert_eq!(t.delimiter, d, "{text:?}");
            assert_eq!(t.header.len(), 3, "{text:?}");
            assert!(t.delimiter_detected);
        }
        let options = ReadOptions {
            delimiter: Some(b';'),
            ..ReadOptions::default()
        };
        let t = Table::read_csv("a,b;c\n1,2;3\n".as_bytes(), "t.csv", &options)?;
        assert_eq!(t.header, ["a,b", "c"]);
        assert!(!t.delimiter_detected);
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert!(parse_delimiter("ab").is_err());
        Ok(())
    }

    #[test]
    fn a_header_of_numbers_is_refused_and_no_header_names_columns() -> Result<()> {
        let e = format!("{:#}", table("1,2,3\n4,5,6\n").unwrap_err());
        assert!(
            e.starts_with("t.csv:1: the header row is all numbers") && e.contains("--no-header"),
            "{e}"
        );
        let options = ReadOptions {
            no_header: true,
            ..ReadOptions::default()
        };
        let t = Table::read_csv("1,2,3\n4,5,6\n".as_bytes(), "t.csv", &options)?;
        assert_eq!(t.header, ["c0", "c1", "c2"]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.lines, [1, 2]);
        assert_eq!(t.number(1, 2)?, 6.0);
        Ok(())
    }

    #[test]
    fn gzip_is_read_as_text() -> Result<()> {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"a\tb\n1\t2\n3\t4.5\n")?;
        let bytes = gz.finish()?;
        let t = Table::read_csv(bytes.as_slice(), "t.csv.gz", &ReadOptions::default())?;
        assert_eq!(t.header, ["a", "b"]);
        assert_eq!(t.matrix(&[1])?.as_slice(), [2.0, 4.5]);
        Ok(())
    }

    #[test]
    fn numbers_round_exactly_and_text_columns_keep_their_text() -> Result<()> {
        let t = table("id,x,label\n007,0.1,cat\n008,2.2250738585072011e-308,1.0\n")?;
        let m = t.matrix(&[1])?;
        assert_eq!(m[(0, 0)].to_bits(), "0.1".parse::<f64>()?.to_bits());
        assert_eq!(
            m[(0, 1)].to_bits(),
            "2.2250738585072011e-308".parse::<f64>()?.to_bits()
        );
        assert_eq!(t.text(1, 2), "1.0");
        let options = ReadOptions {
            text: vec!["id".into()],
            ..ReadOptions::default()
        };
        let t = Table::read_csv("id,x\n007,1\n008,2\n".as_bytes(), "t.csv", &options)?;
        assert_eq!(t.text(0, 0), "007");
        Ok(())
    }

    #[test]
    fn into_matrix_takes_columns_in_any_order() -> Result<()> {
        let t = table("a,b,c\n1,2,3\n4,5,6\n7,8,9\n")?;
        let m = t.clone().into_matrix(&[2, 0])?;
        assert_eq!(m.as_slice(), [3.0, 1.0, 6.0, 4.0, 9.0, 7.0]);
        assert_eq!(t.matrix(&[2, 0])?, m);
        Ok(())
    }

    #[test]
    fn the_summary_names_the_guesses() -> Result<()> {
        let rows: String = (0..40).map(|k| format!("{k},{}\n", 1 + k % 10)).collect();
        let t = table(&format!("x,rating\n{rows}"))?;
        let d = Labeled::from_table(t, &Selection::default())?;
        assert_eq!(
            d.describe(),
            "target: rating (the last column; --target to choose); 1 feature column (x); task: \
             classification, 10 classes, guessed from integer values; --task regress to override; \
             delimiter: comma (detected; --delimiter to choose)"
        );
        // Many ordered integers are a quantity.
        let rows: String = (0..60).map(|k| format!("{k},{}\n", k % 30)).collect();
        let t = table(&format!("x,score\n{rows}"))?;
        let sel = Selection {
            targets: vec!["score".into()],
            ..Selection::default()
        };
        let d = Labeled::from_table(t, &sel)?;
        assert_eq!(d.task, Task::Regression);
        assert!(d.describe().starts_with("target: score; 1 feature column (x); task: regression, guessed from numeric values; --task classify to override"), "{}", d.describe());
        Ok(())
    }

    #[test]
    fn scaling_standardizes_and_inverts() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let s = Scaling::fit(&rows);
        assert_eq!(s.mean, [2.0, 5.0]);
        assert_eq!(s.std, [1.0, 1.0]);
        let mut x = [3.0, 5.0];
        s.apply(&mut x);
        assert_eq!(x, [1.0, 0.0]);
        s.invert(&mut x);
        assert_eq!(x, [3.0, 5.0]);
    }

    /// The table of the csv crate alone (the reader before the fast one), for comparison.
    fn general(text: &[u8], options: &ReadOptions) -> Result<Table> {
        let head = text.strip_prefix(BOM).unwrap_or(text);
        let first = head
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(head, |k| &head[..k]);
        let delimiter = options.delimiter.unwrap_or_else(|| detect_delimiter(first));
        Table::read_general(text, "t.csv", options, delimiter, 0, None)
    }

    /// A stream that gives at most `n` bytes a read, as a pipe may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// The two readers' tables, or their errors, as text that differs where they differ: every
    /// number by its bits, the lines, the header, the delimiter, the text of text columns.
    fn fingerprint(t: &Result<Table>) -> String {
        match t {
            Err(e) => format!("error: {e:#}"),
            Ok(t) => {
                let bits: Vec<u64> = t.numbers.iter().map(|x| x.to_bits()).collect();
                let columns: Vec<_> = t
                    .columns
                    .iter()
                    .map(|c| (&c.text, &c.bad, c.nonfinite))
                    .collect();
                format!(
                    "{} {:?} {:?} {} {:?} {bits:x?} {columns:?}",
                    t.source, t.header, t.delimiter, t.delimiter_detected, t.lines
                )
            }
        }
    }

    /// Asserts that the fast reader, in blocks of several sizes and from a trickling stream,
    /// reads `text` as the csv crate does.
    fn same_as_general(text: &[u8], options: &ReadOptions) -> String {
        let expected = fingerprint(&general(text, options));
        for block in [1, 2, 3, 5, 16, 100, BLOCK] {
            let fast = Table::read_plain(text, "t.csv", options, block);
            assert_eq!(
                fingerprint(&fast),
                expected,
                "block {block}: {:?}",
                String::from_utf8_lossy(text)
            );
        }
        let trickle = Table::read_csv(Trickle(text, 3), "t.csv", options);
        assert_eq!(fingerprint(&trickle), expected, "{text:?}");
        expected
    }

    #[test]
    fn the_fast_reader_reads_tricky_files_as_the_csv_crate() {
        let cases: &[&str] = &[
            "a,b\n1,2\n3,4\n",
            "a,b\r\n1,2\r\n3,4\r\n",
            "a,b\r1,2\r3,4\r",
            "a,b\n1,2\n3,4\n\n",
            "a,b\n1,2\n3,4\n\n\n  \n",
            "a,b\n1,2\n3,4",
            "a,b\r\n1,2\r\n3,4",
            "a,b\n1,2\r3,4\n5,6\n",
            "a,b\n1,\n,4\n,\n",
            "a,b\n1,2\n\"3\",4\n5,6\n",
            "a,b\n1,2\n3,\"4\n5\",6\n7,8\n",
            "a,b\n1,2\n3,4\"\n5,6\n",
            "a,b\n1,2\n\"3,4\n5,6\n",
            "\"a\",b\n1,2\n",
            "a,b\n1,2\n3\n5,6\n",
            "a,b\n1,2\n3,4,5\n",
            "a,b\n1,2\n3,x\n5,6\n",
            "a,b\n1,2\n3, 4 \n 5 ,\t6\t\n",
            "a\tb\n 1\t 2 \n3\t4\n",
            "a;b\n1,5;2\n3;4\n",
            "a|b\n1|2\n3|4\n",
            "\u{feff}a,b\n1,2\n",
            "\u{feff}a,b\n1,2\n\u{feff}\"3\",4\n",
            "\n\n  \na,b\n1,2\n",
            "a,b\n1e5,+1\n.5,5.\n-0,-0.0\n",
            "a,b\n0.12345678901234567890,9007199254740993\n9007199254740992,-9007199254740992\n",
            "a,b\n1.7976931348623157e308,2.2250738585072011e-308\n1e400,-1e-400\n",
            "a,b\nNaN,inf\n-inf,nan\n",
            "a,b\n12345678901234567890,0.0000000000000000000001\n",
            "a,b\n1.000000000000000000001,0.00000000000000000000001\n",
            "a,b\n--1,1-\n1.2.3,1..2\n",
            "a,b\n1,\u{e9}t\u{e9}\n2,3\n",
            "a\n1\n\n2\n \n",
            "a\n1\n,\n",
            "a,b\n",
            "a,b\n\n\n",
            "",
            "\n \n",
            "1,2\n3,4\n",
            "a,a\n1,2\n",
            "a,,c\n1,2,3\n",
            "x,\"y\n1,2\n",
            "\"a\",\"b\"\n1,2\n3,4\n",
            "\"a\",\"b\"\r\n1,2\r\n3,4",
            "\"a,x\",b\n1,2\n",
            "\"a\"\"q\",b\n1,2\n",
            "x,\"a\"b\",\"c\n1,2\n",
            "\"\"\n\"a\",b\n1,2\n",
            "\"a\",b\r1,2\n",
            " \"a\" ,b\n1,2\n",
            "\u{feff}\"a\",\"b\"\n1,2\n",
            "\"\",\"b\"\n1,2\n",
            "\"1\",\"2\"\n3,4\n",
            "\"a\",\"a\"\n3,4\n",
            "\"a\",\"b\"\n1,2\n\"3\",4\n",
        ];
        for case in cases {
            same_as_general(case.as_bytes(), &ReadOptions::default());
            same_as_general(
                case.as_bytes(),
                &ReadOptions {
                    no_header: true,
                    ..ReadOptions::default()
                },
            );
            same_as_general(
                case.as_bytes(),
                &ReadOptions {
                    text: vec!["b".into()],
                    ..ReadOptions::default()
                },
            );
        }
        // Bytes that are not UTF-8, in a text field and in the header.
        same_as_general(b"a,b\n1,2\n3,\xff\n", &ReadOptions::default());
        same_as_general(b"a,\xff\n1,2\n", &ReadOptions::default());
        // A delimiter that a number may contain: the csv crate reads it all.
        let dot = ReadOptions {
            delimiter: Some(b'.'),
            ..ReadOptions::default()
        };
        let t = same_as_general(b"a.b\n1.2\n3.5\n", &dot);
        assert!(t.contains("[\"a\", \"b\"]"), "{t}");
        // The cases give what they should, not only the same as before.
        let t = table("a,b\r\n1,2\r\n3,\"4\"\r\n5,x\r\n").unwrap();
        assert_eq!(t.lines, [2, 3, 4]);
        assert_eq!(t.number(1, 1).unwrap(), 4.0);
        assert_eq!(
            format!("{:#}", t.number(2, 1).unwrap_err()),
            "t.csv:4:2: \"x\" in column \"b\" is not a number"
        );
        assert_eq!(
            format!("{:#}", table("a,b\n1,2\n\"3\",4\n5\n").unwrap_err()),
            "t.csv:4:2: the row has 1 field, the header has 2"
        );
    }

    #[test]
    fn the_fast_reader_takes_rows_and_leaves_the_unusual_ones() -> Result<()> {
        let options = ReadOptions::default();
        let header = vec!["a".to_owned(), "b".to_owned()];
        let rows = Rows::new("t.csv", header, 1, &options);
        let mut fast = Fast {
            rows,
            delimiter: b',',
            plain: vec![true; 2],
            row: vec![0.0; 2],
            other: Vec::new(),
        };
        assert!(matches!(fast.line(b"1.5,-2", 2)?, Line::Row));
        assert!(matches!(fast.line(b" 3 ,x", 3)?, Line::Row));
        assert!(matches!(fast.line(b" \t ", 4)?, Line::Blank));
        assert!(matches!(fast.line(b"1,2,3", 5)?, Line::Unusual));
        assert!(matches!(fast.line(b"1", 6)?, Line::Unusual));
        assert!(matches!(fast.line(b"7,8", 7)?, Line::Row));
        assert_eq!(fast.rows.lines, [2, 3, 7]);
        assert_eq!(fast.rows.numbers[..3], [1.5, -2.0, 3.0]);
        assert!(fast.rows.numbers[3].is_nan());
        assert_eq!(fast.rows.numbers[4..], [7.0, 8.0]);
        assert_eq!(fast.plain, [true, false], "column b has text from row 2 on");
        let t = fast.rows.finish(b',', &options)?;
        assert_eq!((t.text(1, 1), t.text(2, 1)), ("x".into(), "8".into()));
        Ok(())
    }

    #[test]
    fn a_quoted_header_is_read_alone_when_its_quotes_close_on_its_line() {
        let fields = |line: &[u8]| quoted_header(line, b',');
        let names = |v: &[&str]| Some(v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(fields(b"\"a\",\"b,c\""), names(&["a", "b,c"]));
        assert_eq!(fields(b"\"a\"\"q\",b\r"), names(&["a\"q", "b"]));
        assert_eq!(fields(b"x,\"a\"b\",\"c"), None, "a quote open at the end");
        assert_eq!(fields(b"\"a\"\rb"), None, "a lone carriage return");
    }

    #[test]
    fn a_ragged_row_before_an_unclosed_quote_is_the_error() {
        // The csv reader stops at line 2; the quote that opens on line 3 is not its error, however
        // far ahead the bytes were read.
        let text = "a,b\n1\n2,\"3\n4,5\n";
        let expected = "t.csv:2:2: the row has 1 field, the header has 2";
        assert_eq!(format!("{:#}", table(text).unwrap_err()), expected);
        assert_eq!(
            format!(
                "{:#}",
                general(text.as_bytes(), &ReadOptions::default()).unwrap_err()
            ),
            expected
        );
    }

    #[test]
    fn gzip_goes_through_the_fast_reader_as_plain_text() -> Result<()> {
        use std::io::Write as _;
        let text = b"a,b\n1,2\n3,\"4\"\n5,x\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text)?;
        let bytes = gz.finish()?;
        let t = Table::read_csv(Trickle(&bytes, 7), "t.csv", &ReadOptions::default());
        assert_eq!(
            fingerprint(&t),
            fingerprint(&general(text, &ReadOptions::default()))
        );
        Ok(())
    }

    #[test]
    fn plain_decimals_round_as_the_general_parser() {
        for s in [
            "0",
            "-0",
            "0.1",
            "9007199254740992",
            "9007199254740993",
            "0.9007199254740992",
            "1234567890123456789",
            "0.0000000000000000000001",
            "12.5",
            "1.",
            ".5",
            "1e5",
        ] {
            let fast = plain_decimal(s.as_bytes(), 0).map(|(x, end)| (x.to_bits(), end));
            if let Some((bits, end)) = fast.filter(|&(_, end)| end == s.len()) {
                assert_eq!(end, s.len(), "{s}");
                assert_eq!(
                    Some(bits),
                    parse_number(s.as_bytes()).map(f64::to_bits),
                    "{s}"
                );
            }
        }
        assert!(plain_decimal(b"9007199254740993", 0).is_none());
        assert!(plain_decimal(b"1.", 0).is_none());
        assert!(plain_decimal(b".5", 0).is_none());
        // `1e5`: the plain decimal `1`, and a byte after it that is no delimiter.
        assert_eq!(plain_decimal(b"1e5", 0), Some((1.0, 1)));
        assert_eq!(plain_decimal(b"-1.25,", 0), Some((-1.25, 5)));
        assert_eq!(plain_decimal(b"0.123456,0.5", 0), Some((0.123456, 8)));
        assert_eq!(
            plain_decimal(b"12345678.87654321|", 0),
            Some((12345678.87654321, 17))
        );
        assert_eq!(digits(b"123456789012", 0, 0), (123_456_789_012, 12, 12));
        assert_eq!(digits(b"1234567x90123", 0, 7), (71_234_567, 7, 7));
        assert_eq!(digits(b"x12345678", 1, 0), (12_345_678, 8, 9));
        assert_eq!(digits(b"12:45678901", 0, 0), (12, 2, 2));
        assert_eq!(digits(b"1/\xff45678901", 0, 0), (1, 1, 1));
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        /// A field: plain decimals most often, then numbers in other forms, blanks, text and
        /// quoted fields.
        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                6 => (any::<i64>(), 0u32..25).prop_map(|(m, k)| {
                    let digits = format!("{:0>w$}", m.unsigned_abs(), w = k as usize + 1);
                    let (whole, fraction) = digits.split_at(digits.len() - k as usize);
                    let sign = if m < 0 { "-" } else { "" };
                    if k == 0 { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
                }),
                2 => any::<f64>().prop_map(|x| format!("{x}")),
                1 => any::<f64>().prop_map(|x| format!("{x:e}")),
                1 => Just(String::new()),
                1 => prop::sample::select(vec![" 1 ", "\t2.5", "x", "NaN", "-inf", "+3", ".5", "5.", "é", "1e400"])
                    .prop_map(str::to_owned),
                1 => prop::sample::select(vec!["\"1\"", "\"a,b\"", "\"x\"\"y\"", "\"line\nbreak\"", "a\"b", "\""])
                    .prop_map(str::to_owned),
            ]
        }

        /// CSV text: a header of `width` names, rows of mostly `width` fields, line ends of one
        /// kind or mixed, blank lines, and maybe no final line end.
        fn csv_text() -> impl Strategy<Value = (String, u8)> {
            (
                1usize..5,
                prop::sample::select(vec![b',', b'\t', b';', b'|']),
            )
                .prop_flat_map(|(width, d)| {
                    let row = prop_oneof![
                        12 => prop::collection::vec(field(), width),
                        1 => prop::collection::vec(field(), 0..width + 2),
                    ];
                    let end =
                        prop::sample::select(vec!["\n", "\n", "\n", "\r\n", "\r", "\n\n", "\n \n"]);
                    (
                        prop::collection::vec((row, end), 0..12),
                        any::<bool>(),
                        prop::collection::vec(0..4usize, width),
                        Just(d),
                    )
                        .prop_map(move |(rows, last_end, quoting, d)| {
                            let sep = char::from(d).to_string();
                            // Names plain, quoted, with a doubled quote, or with the delimiter.
                            let names: Vec<String> = quoting
                                .iter()
                                .enumerate()
                                .map(|(k, q)| match q {
                                    0 => format!("h{k}"),
                                    1 => format!("\"h{k}\""),
                                    2 => format!("\"h{k}\"\"q\""),
                                    _ => format!("\"h{sep}{k}\""),
                                })
                                .collect();
                            let mut text = names.join(&sep) + "\n";
                            let n = rows.len();
                            for (k, (fields, end)) in rows.into_iter().enumerate() {
                                text += &fields.join(&sep);
                                if k + 1 < n || last_end {
                                    text += end;
                                }
                            }
                            (text, d)
                        })
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn the_fast_reader_reads_as_the_csv_crate((text, d) in csv_text(), no_header in any::<bool>(), given in any::<bool>(), text_column in any::<bool>()) {
                let options = ReadOptions {
                    delimiter: given.then_some(d),
                    no_header,
                    text: if text_column { vec!["h1".into()] } else { Vec::new() },
                };
                same_as_general(text.as_bytes(), &options);
            }

            #[test]
            fn plain_decimals_are_exactly_rounded(m in any::<u64>(), k in 0usize..24, negative in any::<bool>()) {
                let digits = format!("{:0>w$}", m % 10_000_000_000_000_000_000, w = k + 1);
                let (whole, fraction) = digits.split_at(digits.len() - k);
                let s = format!("{}{whole}{}{fraction}", if negative { "-" } else { "" }, if k > 0 { "." } else { "" });
                let expected = parse_number(s.as_bytes()).map(f64::to_bits);
                // Alone, and followed by more bytes.
                for text in [s.clone(), format!("{s},12345678"), format!("{s}|x1234567")] {
                    let fast = plain_decimal(text.as_bytes(), 0);
                    // Up to 15 digits, `m < 2^53`: always a plain decimal.
                    prop_assert!(digits.len() > 15 || fast.is_some(), "{}", text);
                    if let Some((x, end)) = fast {
                        prop_assert_eq!(end, s.len(), "{}", text);
                        prop_assert_eq!(Some(x.to_bits()), expected, "{}", text);
                    }
                }
            }
        }
    }
}
