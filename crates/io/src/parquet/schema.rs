//! Which Parquet columns hold numbers, and how their stored values become `f64`: decided from
//! the schema alone, before any row is read, so that a text column is reported at once (and
//! a column left out by the selection is never looked at beyond its name).

use ::parquet::basic::{ConvertedType, LogicalType, Type as PhysicalType};
use ::parquet::schema::types::ColumnDescriptor;

/// How the values of a numeric column are stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// `DOUBLE`.
    Double,
    /// `FLOAT`.
    Float,
    /// `INT32`: signed, unsigned (`UINT_*`, read as the bits' unsigned value), or a decimal
    /// (divided by its scale factor).
    Int32(Integer),
    /// `INT64`, as [`Kind::Int32`]. Integers beyond 2^53 lose precision in `f64`.
    Int64(Integer),
}

/// How a stored integer is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Integer {
    /// A signed integer.
    Signed,
    /// An unsigned integer stored in the signed type's bits.
    Unsigned,
    /// A decimal: the integer divided by this power of ten.
    Decimal(f64),
}

impl Integer {
    pub(super) fn convert_i32(self, v: i32) -> f64 {
        match self {
            Integer::Signed => f64::from(v),
            Integer::Unsigned => f64::from(v as u32),
            Integer::Decimal(scale) => f64::from(v) / scale,
        }
    }

    pub(super) fn convert_i64(self, v: i64) -> f64 {
        match self {
            Integer::Signed => v as f64,
            Integer::Unsigned => (v as u64) as f64,
            Integer::Decimal(scale) => v as f64 / scale,
        }
    }
}

/// A column's name as messages and `--columns` use it: its path in the schema, `a.b` for a
/// field `b` of a group `a`, and just its name for an ordinary top-level column.
pub(super) fn name(column: &ColumnDescriptor) -> String {
    column.path().string()
}

/// How a column's values become numbers, or what it holds instead (in words, for
/// [`ReadError::NotNumeric`](crate::ReadError::NotNumeric)).
pub(super) fn kind(column: &ColumnDescriptor) -> Result<Kind, &'static str> {
    if column.max_rep_level() > 0 {
        return Err("lists (repeated values)");
    }
    let integer = integer_kind(column)?;
    match column.physical_type() {
        PhysicalType::DOUBLE => Ok(Kind::Double),
        PhysicalType::FLOAT => Ok(Kind::Float),
        PhysicalType::INT32 => Ok(Kind::Int32(integer)),
        PhysicalType::INT64 => Ok(Kind::Int64(integer)),
        PhysicalType::BOOLEAN => Err("booleans"),
        PhysicalType::INT96 => Err("timestamps (INT96)"),
        PhysicalType::BYTE_ARRAY => Err(match text_like(column) {
            true => "text",
            false => "bytes (or decimals stored as bytes)",
        }),
        PhysicalType::FIXED_LEN_BYTE_ARRAY => {
            Err("fixed-length bytes (16-bit floats, UUIDs or wide decimals)")
        }
    }
}

/// Whether a byte-array column is text (so the message says so rather than "bytes").
fn text_like(column: &ColumnDescriptor) -> bool {
    matches!(
        column.logical_type_ref(),
        Some(LogicalType::String | LogicalType::Enum | LogicalType::Json)
    ) || matches!(
        column.converted_type(),
        ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON
    )
}

/// How an integer column is read, from its annotation (the logical type of current writers,
/// else the converted type of older ones); dates and times are refused: they are stored as
/// integers but are not measurements a mixture should fit as numbers.
fn integer_kind(column: &ColumnDescriptor) -> Result<Integer, &'static str> {
    if let Some(logical) = column.logical_type_ref() {
        return match logical {
            LogicalType::Integer(t) if !t.is_signed => Ok(Integer::Unsigned),
            LogicalType::Decimal(d) => Ok(decimal(d.scale)),
            LogicalType::Date => Err("dates"),
            LogicalType::Time(_) => Err("times of day"),
            LogicalType::Timestamp(_) => Err("timestamps"),
            _ => Ok(Integer::Signed),
        };
    }
    match column.converted_type() {
        ConvertedType::UINT_8
        | ConvertedType::UINT_16
        | ConvertedType::UINT_32
        | ConvertedType::UINT_64 => Ok(Integer::Unsigned),
        ConvertedType::DECIMAL => Ok(decimal(column.type_scale())),
        ConvertedType::DATE => Err("dates"),
        ConvertedType::TIME_MILLIS | ConvertedType::TIME_MICROS => Err("times of day"),
        ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS => Err("timestamps"),
        ConvertedType::INTERVAL => Err("intervals"),
        _ => Ok(Integer::Signed),
    }
}

fn decimal(scale: i32) -> Integer {
    match scale {
        0 => Integer::Signed,
        s => Integer::Decimal(10f64.powi(s)),
    }
}
