//! Data preparation: CSV tables, targets and features, the task, one-hot classes, and scaling.
//!
//! Errors name the file, the line and the column (the field number, counted from 1) where they
//! apply, as `data.csv:3:2: "abc" in column "x1" is not a number`.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context, Result};

/// What a network learns: classes (one-hot outputs) or numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// One target column of class names; one output per class.
    Classification,
    /// One or more numeric target columns; one output per column.
    Regression,
}

impl Task {
    /// The name used in model files.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Task {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classify" | "classification" => Ok(Task::Classification),
            "regress" | "regression" => Ok(Task::Regression),
            _ => Err(format!("unknown task {s:?} (expected classify or regress)")),
        }
    }
}

/// One data row of a CSV file and the line it starts on.
#[derive(Clone, Debug)]
pub struct Row {
    /// The line number, counted from 1 (the header is line 1 of a file).
    pub line: u64,
    /// The fields, trimmed.
    pub fields: Vec<String>,
}

/// A CSV file read whole: the header and the rows, every row as long as the header.
#[derive(Clone, Debug)]
pub struct Table {
    /// Where the table came from, as errors name it (a path or a built-in dataset's name).
    pub source: String,
    /// The column names.
    pub header: Vec<String>,
    /// The data rows.
    pub rows: Vec<Row>,
}

impl Table {
    /// Reads a CSV file with a header row.
    ///
    /// # Errors
    /// A missing or unreadable file, an empty file, a header without names or with a name twice,
    /// a ragged row, a file without data rows.
    pub fn read_path(path: &Path) -> Result<Table> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot open"))?;
        Table::read_csv(file, &source)
    }

    /// Reads CSV text with a header row from `reader`; errors name `source`.
    ///
    /// # Errors
    /// As [`read_path`](Self::read_path).
    pub fn read_csv<R: Read>(mut reader: R, source: &str) -> Result<Table> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .with_context(|| format!("{source}: cannot read"))?;
        let lines = Lines::new(&bytes);
        // The csv reader takes a quoted field that is never closed to the end of the file, as
        // one field; that is a broken file, not a row.
        if let Some((at, field)) = unclosed_quote(&bytes) {
            bail!(
                "{source}:{}:{field}: a quoted field is not closed (its quote opens here and the \
                 file ends inside it)",
                lines.line(at as u64)
            );
        }
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes.as_slice());
        let header: Vec<String> = csv
            .headers()
            .map_err(|e| csv_error(source, &lines, &e))?
            .iter()
            .map(str::to_owned)
            .collect();
        // A header of one blank field is a file of blank lines; `,,` is a header of nameless
        // columns, reported below.
        if header.is_empty() || header.len() == 1 && header[0].is_empty() {
            bail!("{source}: the file is empty: expected a header row of column names");
        }
        for (k, name) in header.iter().enumerate() {
            if name.is_empty() {
                bail!("{source}:1:{}: column {} has no name", k + 1, k + 1);
            }
            if let Some(first) = header[..k].iter().position(|h| h == name) {
                bail!(
                    "{source}:1:{}: column name {name:?} appears twice (also column {})",
                    k + 1,
                    first + 1
                );
            }
        }
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(csv_error(source, &lines, &e)),
            }
            let line = record.position().map_or(0, |p| lines.line(p.byte()));
            // A line with nothing on it is not a row.
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            if record.len() != header.len() {
                bail!(
                    "{source}:{line}:{}: the row has {} fields, the header has {}",
                    record.len().min(header.len()) + 1,
                    record.len(),
                    header.len()
                );
            }
            rows.push(Row {
                line,
                fields: record.iter().map(str::to_owned).collect(),
            });
        }
        if rows.is_empty() {
            bail!("{source}:2: no data rows after the header");
        }
        Ok(Table {
            source: source.to_owned(),
            header,
            rows,
        })
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

    /// The number in row `r`, column `c`.
    ///
    /// # Errors
    /// A field that is empty, not a number, NaN or infinite.
    pub fn number(&self, r: usize, c: usize) -> Result<f64> {
        let row = &self.rows[r];
        let field = &row.fields[c];
        let at = || format!("{}:{}:{}", self.source, row.line, c + 1);
        if field.is_empty() {
            bail!("{}: missing value in column {:?}", at(), self.header[c]);
        }
        let x: f64 = field.parse().map_err(|_| {
            anyhow::anyhow!(
                "{}: {field:?} in column {:?} is not a number",
                at(),
                self.header[c]
            )
        })?;
        if !x.is_finite() {
            bail!(
                "{}: {field} in column {:?}: the data must be finite numbers",
                at(),
                self.header[c]
            );
        }
        Ok(x)
    }

    /// The numbers of the columns `cols` of every row, as rows.
    ///
    /// # Errors
    /// As [`number`](Self::number).
    pub fn numbers(&self, cols: &[usize]) -> Result<Vec<Vec<f64>>> {
        (0..self.rows.len())
            .map(|r| cols.iter().map(|&c| self.number(r, c)).collect())
            .collect()
    }
}

/// Line numbers of byte offsets in a text: `\n`, `\r\n` and a lone `\r` each end a line. (The
/// csv crate's own `Position::line` counts a `\r\n` line end twice.)
struct Lines<'a> {
    text: &'a [u8],
    /// The byte offsets at which lines 2, 3, ... start.
    starts: Vec<u64>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Lines<'a> {
        let mut starts = Vec::new();
        for (k, &b) in text.iter().enumerate() {
            let ends = b == b'\n' || (b == b'\r' && text.get(k + 1) != Some(&b'\n'));
            if ends {
                starts.push(k as u64 + 1);
            }
        }
        Lines { text, starts }
    }

    /// The line, counted from 1, of a record that the csv reader says starts at byte `offset`:
    /// the line of its first byte after any line ends (the reader counts the `\n` of a `\r\n`
    /// as the start of the next record).
    fn line(&self, offset: u64) -> u64 {
        let skip = self
            .text
            .iter()
            .skip(offset as usize)
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        1 + self.starts.partition_point(|&s| s <= offset + skip as u64) as u64
    }
}

/// The byte offset and the field number (from 1, within its line) of a quote that opens a field
/// and is never closed, read as the csv reader reads (a `"` opens a quoted field only as the
/// field's first byte; inside, `""` is a quote and `"` closes it).
fn unclosed_quote(text: &[u8]) -> Option<(usize, usize)> {
    let (mut field_start, mut field) = (true, 1);
    let mut open = None;
    let mut k = 0;
    while k < text.len() {
        let b = text[k];
        if open.is_some() {
            if b == b'"' {
                if text.get(k + 1) == Some(&b'"') {
                    k += 1;
                } else {
                    open = None;
                }
            }
        } else if field_start && b == b'"' {
            open = Some((k, field));
            field_start = false;
        } else {
            field_start = matches!(b, b',' | b'\n' | b'\r');
            match b {
                b',' => field += 1,
                b'\n' | b'\r' => field = 1,
                _ => {}
            }
        }
        k += 1;
    }
    open
}

fn csv_error(source: &str, lines: &Lines<'_>, e: &csv::Error) -> anyhow::Error {
    match e.kind() {
        csv::ErrorKind::Io(io) => anyhow::anyhow!("{source}: cannot read: {io}"),
        csv::ErrorKind::Utf8 { pos, err } => {
            let line = pos.as_ref().map_or(0, |p| lines.line(p.byte()));
            anyhow::anyhow!("{source}:{line}:{}: not UTF-8 text", err.field() + 1)
        }
        _ => match e.position() {
            Some(p) => anyhow::anyhow!("{source}:{}: {e}", lines.line(p.byte())),
            None => anyhow::anyhow!("{source}: {e}"),
        },
    }
}

/// `a, b, c`, at most 12 names.
pub fn list(names: &[String]) -> String {
    if names.len() <= 12 {
        names.join(", ")
    } else {
        format!("{}, ... ({} in all)", names[..12].join(", "), names.len())
    }
}

/// Standardization: `x -> (x - mean) / std`, per column.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaling {
    /// The mean of each column.
    pub mean: Vec<f64>,
    /// The standard deviation of each column (1 where a column is constant).
    pub std: Vec<f64>,
}

impl Scaling {
    /// The mean and (population) standard deviation of each column of `rows`, summed in row
    /// order; a constant column gets standard deviation 1, so it maps to 0.
    ///
    /// # Panics
    /// If `rows` is empty.
    pub fn fit(rows: &[Vec<f64>]) -> Scaling {
        let n = rows[0].len();
        let m = rows.len() as f64;
        let mut mean = vec![0.0; n];
        for row in rows {
            for (s, &x) in mean.iter_mut().zip(row) {
                *s += x;
            }
        }
        mean.iter_mut().for_each(|s| *s /= m);
        let mut var = vec![0.0; n];
        for row in rows {
            for ((s, &x), &mu) in var.iter_mut().zip(row).zip(&mean) {
                *s += (x - mu) * (x - mu);
            }
        }
        let std = var
            .into_iter()
            .map(|v| {
                let s = (v / m).sqrt();
                if s > 0.0 && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Scaling { mean, std }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True for a scaling of no columns.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// `x <- (x - mean) / std`.
    pub fn apply(&self, x: &mut [f64]) {
        for ((x, &mu), &sd) in x.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = (*x - mu) / sd;
        }
    }

    /// `x <- x std + mean`, the inverse of [`apply`](Self::apply).
    pub fn invert(&self, x: &mut [f64]) {
        for ((x, &mu), &sd) in x.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = *x * sd + mu;
        }
    }
}

/// Samples ready for a network, not yet scaled: features and targets as rows.
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
    /// One row of features per sample.
    pub x: Vec<Vec<f64>>,
    /// One row of targets per sample: one-hot over the classes, or the target numbers.
    pub y: Vec<Vec<f64>>,
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
    match field.parse::<f64>() {
        Ok(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => field.to_owned(),
    }
}

/// The most distinct integer values a numeric target may have to be guessed a class label.
pub const MAX_GUESSED_CLASSES: usize = 20;

impl Labeled {
    /// Picks targets and features from `table` and builds the samples: a target column of strings,
    /// or of integers with at most [`MAX_GUESSED_CLASSES`] distinct values and at most half as many
    /// values as rows, is a classification target, any other a regression target, unless
    /// `selection.task` says which.
    ///
    /// # Errors
    /// Unknown or repeated columns, no feature left, non-numeric features or regression targets,
    /// NaN or infinity, classification with several target columns or fewer than two classes.
    pub fn from_table(table: &Table, selection: &Selection) -> Result<Labeled> {
        let src = &table.source;
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
            bail!("{src}: no feature columns left after the target and dropped columns");
        }
        let x = table.numbers(&features)?;
        let task = match selection.task {
            Some(task) => task,
            None => guess_task(table, &targets),
        };
        let names = |cols: &[usize]| -> Vec<String> {
            cols.iter().map(|&c| table.header[c].clone()).collect()
        };
        let (classes, y) = match task {
            Task::Regression => (Vec::new(), table.numbers(&targets)?),
            Task::Classification => {
                let &[t] = targets.as_slice() else {
                    bail!(
                        "classification takes one target column, got {} ({})",
                        targets.len(),
                        list(&names(&targets))
                    );
                };
                let classes = classes_of(table, t)?;
                let y = one_hot(table, t, &classes)?;
                (classes, y)
            }
        };
        Ok(Labeled {
            source: src.clone(),
            inputs: names(&features),
            targets: names(&targets),
            task,
            classes,
            x,
            y,
        })
    }

    /// The samples as a table with the feature columns, then the target columns (class names for
    /// classification), numbers written so that they read back exactly; row `r` is line `r + 2`,
    /// as in a CSV file with a header.
    pub fn to_table(&self) -> Table {
        let header = self.inputs.iter().chain(&self.targets).cloned().collect();
        let rows = self
            .x
            .iter()
            .zip(&self.y)
            .enumerate()
            .map(|(r, (x, y))| {
                let mut fields: Vec<String> = x.iter().map(|v| v.to_string()).collect();
                match self.task {
                    Task::Classification => {
                        let k = y.iter().position(|&v| v == 1.0).unwrap_or(0);
                        fields.push(self.classes[k].clone());
                    }
                    Task::Regression => fields.extend(y.iter().map(|v| v.to_string())),
                }
                Row {
                    line: r as u64 + 2,
                    fields,
                }
            })
            .collect();
        Table {
            source: self.source.clone(),
            header,
            rows,
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// Classification when a single target column holds strings, or few distinct integers.
fn guess_task(table: &Table, targets: &[usize]) -> Task {
    let &[t] = targets else {
        return Task::Regression;
    };
    let mut distinct = BTreeSet::new();
    let mut all_integers = true;
    for row in &table.rows {
        let field = row.fields[t].as_str();
        match field.parse::<f64>() {
            Ok(x) if x.is_finite() => {
                if x.fract() != 0.0 {
                    all_integers = false;
                }
                distinct.insert(x.to_bits());
            }
            Ok(_) => return Task::Regression, // NaN or infinity: reported as bad numbers
            Err(_) if field.is_empty() => return Task::Regression, // a missing number
            Err(_) => return Task::Classification,
        }
    }
    let n = distinct.len();
    if all_integers && n <= MAX_GUESSED_CLASSES && 2 * n <= table.rows.len() {
        Task::Classification
    } else {
        Task::Regression
    }
}

/// The sorted class names of column `t`: numerically if they are all numbers, else as strings.
fn classes_of(table: &Table, t: usize) -> Result<Vec<String>> {
    let mut names = BTreeSet::new();
    for row in &table.rows {
        let field = &row.fields[t];
        if field.is_empty() {
            bail!(
                "{}:{}:{}: missing class in column {:?}",
                table.source,
                row.line,
                t + 1,
                table.header[t]
            );
        }
        if field.parse::<f64>().is_ok_and(|x| !x.is_finite()) {
            bail!(
                "{}:{}:{}: {field} in column {:?} is not a class label",
                table.source,
                row.line,
                t + 1,
                table.header[t]
            );
        }
        names.insert(class_name(field));
    }
    let mut classes: Vec<String> = names.into_iter().collect();
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

/// One-hot rows for column `t` over `classes`.
///
/// # Errors
/// A value that is not one of the classes, by file, line and column.
pub fn one_hot(table: &Table, t: usize, classes: &[String]) -> Result<Vec<Vec<f64>>> {
    table
        .rows
        .iter()
        .map(|row| {
            let name = class_name(&row.fields[t]);
            let k = classes.iter().position(|c| *c == name).with_context(|| {
                format!(
                    "{}:{}:{}: class {name:?} in column {:?} is not one of the model's classes ({})",
                    table.source,
                    row.line,
                    t + 1,
                    table.header[t],
                    list(classes)
                )
            })?;
            let mut y = vec![0.0; classes.len()];
            y[k] = 1.0;
            Ok(y)
        })
        .collect()
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
        Table::read_csv(text.as_bytes(), "t.csv")
    }

    #[test]
    fn reads_and_guesses_classification_from_strings_and_few_integers() -> Result<()> {
        let t = table("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n")?;
        let data = Labeled::from_table(&t, &Selection::default())?;
        assert_eq!(data.task, Task::Classification);
        assert_eq!(data.classes, ["cat", "dog"]);
        assert_eq!(data.y[1], [0.0, 1.0]);
        assert_eq!(data.x[2], [5.0, 6.0]);
        let t = table("x,y\n0,10\n1,2\n2,10\n3,2\n4,10\n")?;
        let data = Labeled::from_table(&t, &Selection::default())?;
        assert_eq!(data.task, Task::Classification);
        assert_eq!(data.classes, ["2", "10"], "numeric classes sort by value");
        Ok(())
    }

    #[test]
    fn guesses_regression_for_fractions_and_many_values() -> Result<()> {
        let t = table("x,y\n0,0.5\n1,2\n2,10\n3,2\n")?;
        assert_eq!(
            Labeled::from_table(&t, &Selection::default())?.task,
            Task::Regression
        );
        let t = table("x,y\n0,1\n1,2\n2,3\n3,4\n")?;
        assert_eq!(
            Labeled::from_table(&t, &Selection::default())?.task,
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
            "t.csv:3:2: the row has 1 fields, the header has 2"
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
        assert_eq!(t.rows[0].fields, ["1", "2\""]);
        assert_eq!(err("a,,c\n1,2,3\n"), "t.csv:1:2: column 2 has no name");
        let t = table("a,b,c\n1,2,3\n4,x,6\n").unwrap();
        let e = Labeled::from_table(&t, &Selection::default()).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "t.csv:3:2: \"x\" in column \"b\" is not a number"
        );
        let t = table("a,b,c\n1,NaN,3\n").unwrap();
        let e = Labeled::from_table(&t, &Selection::default()).unwrap_err();
        assert!(format!("{e:#}").starts_with("t.csv:2:2: NaN"), "{e:#}");
        let sel = Selection {
            targets: vec!["z".into()],
            ..Selection::default()
        };
        let e = Labeled::from_table(&t, &sel).unwrap_err();
        assert!(format!("{e:#}").starts_with("t.csv:1: unknown column \"z\""));
    }

    #[test]
    fn line_numbers_hold_for_every_line_ending() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["x1,x2,y", "1,2,0", "", "3,4,1", "5,abc,0", "7,8,1", ""].join(end);
            let t = table(&text).unwrap();
            assert_eq!(t.rows.len(), 4, "{end:?}");
            let e = Labeled::from_table(&t, &Selection::default()).unwrap_err();
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
}
