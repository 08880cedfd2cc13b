//! Which columns of a file to read: all of them, only some (`--columns`), or all but some
//! (`--drop`). A column is named by its header name or by its 1-based position; columns that
//! are not read are never parsed, so they may hold text (a species name, an id string).
//!
//! ```
//! use em_io::Selection;
//! let s = Selection { columns: None, drop: vec!["species".into()] };
//! let t = em_io::table::parse_selected(
//!     "a,b,species\n1,2,setosa\n3,4,virginica\n",
//!     "t.csv",
//!     &Default::default(),
//!     &s,
//! )?;
//! assert_eq!(t.columns, ["a", "b"]);
//! assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
//! # Ok::<(), em_io::ReadError>(())
//! ```

/// The columns to read. A reference is the exact name of a column (after the header's fields
/// are cleaned) or, when no column has that name, a 1-based position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Read only these columns, in this order (`None`: every column).
    pub columns: Option<Vec<String>>,
    /// Then leave these out.
    pub drop: Vec<String>,
}

/// Why a selection does not fit a file's columns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// No column has this name, and it is not a position within the file's width.
    #[error("no column {reference:?} (columns: {})", list(available))]
    Unknown {
        /// The reference as given.
        reference: String,
        /// The file's column names.
        available: Vec<String>,
    },
    /// The same column was chosen twice by `columns`.
    #[error("column {name:?} is chosen twice")]
    Repeated {
        /// The column's name.
        name: String,
    },
    /// Columns were chosen from a binary table, which is read whole.
    #[error(
        "columns cannot be chosen from a binary table (it is read whole): choose them from the CSV file"
    )]
    Binary,
    /// Nothing is left to read.
    #[error("no column is left to read (columns: {})", list(available))]
    Empty {
        /// The file's column names.
        available: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            if n.is_empty() {
                format!("{} (no name)", j + 1)
            } else {
                n.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Selection {
    /// Whether every column is read.
    pub fn is_all(&self) -> bool {
        self.columns.is_none() && self.drop.is_empty()
    }

    /// The zero-based positions of the columns to read, in output order.
    ///
    /// ```
    /// use em_io::Selection;
    /// let names: Vec<String> = ["id", "a", "b"].map(String::from).to_vec();
    /// let s = Selection { columns: Some(vec!["b".into(), "2".into()]), drop: vec![] };
    /// assert_eq!(s.resolve(&names)?, [2, 1]);
    /// let s = Selection { columns: None, drop: vec!["1".into()] };
    /// assert_eq!(s.resolve(&names)?, [1, 2]);
    /// # Ok::<(), em_io::SelectError>(())
    /// ```
    pub fn resolve(&self, names: &[String]) -> Result<Vec<usize>, SelectError> {
        let find = |r: &String| -> Result<usize, SelectError> {
            if let Some(j) = names.iter().position(|n| n == r.trim()) {
                return Ok(j);
            }
            match r.trim().parse::<usize>() {
                Ok(p) if (1..=names.len()).contains(&p) => Ok(p - 1),
                _ => Err(SelectError::Unknown {
                    reference: r.clone(),
                    available: names.to_vec(),
                }),
            }
        };
        let mut keep = match &self.columns {
            None => (0..names.len()).collect(),
            Some(refs) => {
                let mut keep: Vec<usize> = Vec::with_capacity(refs.len());
                for r in refs {
                    let j = find(r)?;
                    if keep.contains(&j) {
                        return Err(SelectError::Repeated {
                            name: names[j].clone(),
                        });
                    }
                    keep.push(j);
                }
                keep
            }
        };
        for r in &self.drop {
            let j = find(r)?;
            keep.retain(|&k| k != j);
        }
        if keep.is_empty() {
            return Err(SelectError::Empty {
                available: names.to_vec(),
            });
        }
        Ok(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["", "a", "7", "b"].map(String::from).to_vec()
    }

    #[test]
    fn names_win_over_positions_and_errors_list_the_columns() {
        let s = |c: Option<&[&str]>, d: &[&str]| Selection {
            columns: c.map(|c| c.iter().map(|s| s.to_string()).collect()),
            drop: d.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(s(None, &["1"]).resolve(&names()).unwrap(), [1, 2, 3]);
        assert_eq!(s(Some(&["7", "2"]), &[]).resolve(&names()).unwrap(), [2, 1]);
        assert_eq!(
            s(None, &["z"]).resolve(&names()).unwrap_err().to_string(),
            "no column \"z\" (columns: 1 (no name), a, 7, b)"
        );
        assert!(matches!(
            s(Some(&["a", "2"]), &[]).resolve(&names()),
            Err(SelectError::Repeated { .. })
        ));
        assert!(matches!(
            s(Some(&["a"]), &["a"]).resolve(&names()),
            Err(SelectError::Empty { .. })
        ));
        assert!(s(None, &["5"]).resolve(&names()).is_err());
    }

    #[test]
    fn streamed_and_in_memory_readers_select_the_same_columns() {
        use em_core::ChunkSource;
        let text = "id,a,label,b\n1,0.5,x,2\n2,1.5,y,3\n";
        let opts = crate::ReadOptions::default();
        let sel = Selection {
            columns: Some(vec!["b".into(), "a".into()]),
            drop: vec![],
        };
        let t = crate::table::parse_selected(text, "t.csv", &opts, &sel).unwrap();
        assert_eq!(t.columns, ["b", "a"]);
        assert_eq!(t.x, nalgebra::dmatrix![2.0, 0.5; 3.0, 1.5]);
        let cursor = std::io::Cursor::new(text);
        let mut csv = crate::CsvSource::with_selection(cursor, "t.csv", &opts, &sel).unwrap();
        assert_eq!(csv.columns(), ["b", "a"]);
        assert_eq!(csv.next_chunk(10).unwrap(), Some(t.x.clone()));
        // A bad field in a column read is named by its place in the file.
        let sel = Selection {
            columns: None,
            drop: vec!["id".into()],
        };
        let e = crate::table::parse_selected(text, "t.csv", &opts, &sel).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv: line 2, column 3 (label): \"x\" is not a number"
        );
        // Ragged rows are still checked against the file's width.
        let sel = Selection {
            columns: Some(vec!["a".into()]),
            drop: vec![],
        };
        let e = crate::table::parse_selected("a,b\n1,2,3\n", "t.csv", &opts, &sel).unwrap_err();
        assert!(e.to_string().contains("ragged row"), "{e}");
    }

    #[test]
    fn selection_follows_the_read_options_and_skips_missing_values_it_does_not_read() {
        use crate::csv::{Delimiter, Missing, ReadOptions};
        use em_core::ChunkSource;
        // Semicolons, a quoted header name holding the delimiter, a text column and missing
        // values in the column left out.
        let text = "\"na;me\";a;b\n\"x; y\";1;2\nNA;3;4\n;5;NA\n";
        let sel = Selection {
            columns: None,
            drop: vec!["na;me".into()],
        };
        let drop = ReadOptions {
            missing: Missing::Drop,
            ..ReadOptions::default()
        };
        let t = crate::table::parse_selected(text, "t.csv", &drop, &sel).unwrap();
        assert_eq!(t.columns, ["a", "b"]);
        assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
        assert_eq!(t.dropped, 1);
        let cursor = std::io::Cursor::new(text);
        let mut csv = crate::CsvSource::with_selection(cursor, "t.csv", &drop, &sel).unwrap();
        assert_eq!(csv.next_chunk(10).unwrap(), Some(t.x.clone()));
        // By default a missing value in a column read is still an error, named by its place.
        let e =
            crate::table::parse_selected(text, "t.csv", &ReadOptions::default(), &sel).unwrap_err();
        assert!(e.to_string().contains("line 4, column 3 (b)"), "{e}");
        // A forced delimiter and no header: columns are named by position.
        let options = ReadOptions {
            delimiter: Delimiter::Tab,
            header: Some(false),
            ..ReadOptions::default()
        };
        let sel = Selection {
            columns: Some(vec!["2".into()]),
            drop: vec![],
        };
        let t = crate::table::parse_selected("id\t1\nx\t2\n", "t.tsv", &options, &sel).unwrap();
        assert_eq!(t.columns, ["x1"]);
        assert_eq!(t.x, nalgebra::dmatrix![1.0; 2.0]);
        // A binary table cannot have columns chosen.
        let mut w = crate::BinaryWriter::new(Vec::new(), 1, "t.bin").unwrap();
        w.write_row(&[1.0]).unwrap();
        let bytes = w.finish().unwrap();
        let e = crate::table::parse_bytes_selected(bytes, "t.bin", &options, &sel).unwrap_err();
        assert!(matches!(
            e,
            crate::ReadError::Select {
                error: SelectError::Binary,
                ..
            }
        ));
    }
}
