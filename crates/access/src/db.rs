//! The one SQL interface the access operations are written against, with two backends:
//! SQLite (embedded, one file) and PostgreSQL (a server several processes share).
//!
//! Operations write portable SQL with `?N` placeholders; the PostgreSQL backend rewrites
//! them to `$N`. Values are 64-bit integers, text or NULL on both sides (flags are 0/1
//! integers), so a row reads the same whatever the backend.

use crate::error::{AccessError, Result};
use std::cell::RefCell;

/// A value bound to a placeholder or read from a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds the parameter list of a query: `p![a, b]`.
macro_rules! p {
    () => { &[] as &[$crate::db::Value] };
    ($($v:expr),+ $(,)?) => { &[$($crate::db::Value::from($v)),+] as &[$crate::db::Value] };
}
pub(crate) use p;

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

fn column_error(index: usize, wanted: &str, got: &Value) -> AccessError {
    AccessError::Corrupt {
        path: Default::default(),
        problem: format!("column {index}: expected {wanted}, found {got:?}"),
    }
}

impl Row {
    fn get(&self, index: usize) -> &Value {
        self.0.get(index).unwrap_or(&Value::Null)
    }

    pub fn int(&self, index: usize) -> Result<i64> {
        match self.get(index) {
            Value::Int(v) => Ok(*v),
            other => Err(column_error(index, "an integer", other)),
        }
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>> {
        match self.get(index) {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            other => Err(column_error(index, "an integer or NULL", other)),
        }
    }

    pub fn flag(&self, index: usize) -> Result<bool> {
        Ok(self.int(index)? != 0)
    }

    pub fn text(&self, index: usize) -> Result<String> {
        match self.get(index) {
            Value::Text(v) => Ok(v.clone()),
            other => Err(column_error(index, "text", other)),
        }
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>> {
        match self.get(index) {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(column_error(index, "text or NULL", other)),
        }
    }
}

/// An open transaction on either backend. Every operation of the access core runs inside
/// exactly one of these.
pub enum Conn<'a> {
    /// A connection inside a transaction, or (for one-statement reads) in autocommit.
    Sqlite(&'a rusqlite::Connection),
    Postgres(RefCell<PgHandle<'a>>, &'a StatementCache),
}

/// A PostgreSQL transaction, or the bare client for a one-statement read, which is its own
/// snapshot and so needs no `BEGIN`/`COMMIT` round trips.
pub enum PgHandle<'a> {
    Transaction(postgres::Transaction<'a>),
    Autocommit(&'a mut postgres::Client),
}

impl PgHandle<'_> {
    fn prepare(&mut self, sql: &str) -> std::result::Result<postgres::Statement, postgres::Error> {
        match self {
            PgHandle::Transaction(tx) => tx.prepare(sql),
            PgHandle::Autocommit(client) => client.prepare(sql),
        }
    }

    fn execute(
        &mut self,
        statement: &postgres::Statement,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> std::result::Result<u64, postgres::Error> {
        match self {
            PgHandle::Transaction(tx) => tx.execute(statement, params),
            PgHandle::Autocommit(client) => client.execute(statement, params),
        }
    }

    fn query(
        &mut self,
        statement: &postgres::Statement,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> std::result::Result<Vec<postgres::Row>, postgres::Error> {
        match self {
            PgHandle::Transaction(tx) => tx.query(statement, params),
            PgHandle::Autocommit(client) => client.query(statement, params),
        }
    }

    fn batch_execute(&mut self, sql: &str) -> std::result::Result<(), postgres::Error> {
        match self {
            PgHandle::Transaction(tx) => tx.batch_execute(sql),
            PgHandle::Autocommit(client) => client.batch_execute(sql),
        }
    }
}

/// Statements prepared on one PostgreSQL connection, by their SQL: a query then costs one
/// round trip instead of two (prepare, then execute). Prepared statements outlive the
/// transactions they were prepared in.
pub type StatementCache = RefCell<std::collections::HashMap<String, postgres::Statement>>;

fn prepared(
    tx: &RefCell<PgHandle<'_>>,
    cache: &StatementCache,
    sql: &str,
) -> Result<postgres::Statement> {
    if let Some(statement) = cache.borrow().get(sql) {
        return Ok(statement.clone());
    }
    let statement = tx.borrow_mut().prepare(&dollar_placeholders(sql))?;
    cache.borrow_mut().insert(sql.to_owned(), statement.clone());
    Ok(statement)
}

impl Conn<'_> {
    /// Runs a statement and returns the number of rows it changed.
    pub fn exec(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            Conn::Sqlite(tx) => {
                let n = tx.execute(sql, rusqlite::params_from_iter(params.iter()))?;
                Ok(n as u64)
            }
            Conn::Postgres(tx, cache) => {
                let statement = prepared(tx, cache, sql)?;
                let refs = pg_params(params);
                Ok(tx.borrow_mut().execute(&statement, &refs)?)
            }
        }
    }

    /// Runs several statements without parameters (schema changes).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Conn::Postgres(tx, _) => Ok(tx.borrow_mut().batch_execute(sql)?),
        }
    }

    /// Every row of a query.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        match self {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    let mut values = Vec::with_capacity(columns);
                    for i in 0..columns {
                        values.push(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                            rusqlite::types::ValueRef::Real(v) => Value::Int(v as i64),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => {
                                Value::Text(String::from_utf8_lossy(b).into_owned())
                            }
                        });
                    }
                    Ok(Row(values))
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Conn::Postgres(tx, cache) => {
                let statement = prepared(tx, cache, sql)?;
                let refs = pg_params(params);
                let rows = tx.borrow_mut().query(&statement, &refs)?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// The first row of a query, if any.
    pub fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of a query, which must exist.
    pub fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| AccessError::Corrupt {
                path: Default::default(),
                problem: format!("a query that always returns a row returned none: {sql}"),
            })
    }

    /// Whether this is the PostgreSQL backend (for the few statements that differ).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(..))
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(t) => t.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

pub(crate) fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

pub(crate) fn pg_row(row: &postgres::Row) -> Result<Row> {
    use postgres::types::Type;
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::VOID => None,
            _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

/// `?1` → `$1`. Our SQL never has a `?` inside a string literal.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = $12"
        );
    }
}
