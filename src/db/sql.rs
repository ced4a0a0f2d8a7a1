//! Helpers for the few statements written by hand (set-based batch writes, upserts that add
//! to a row): parameters in each backend's placeholder style, and JSON arrays read as tables.

use sea_orm::{DbBackend, DbErr, Statement, Value};
use serde::Serialize;

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|err| DbErr::Custom(format!("cannot encode a batch: {err}")))
}

/// A JSON array of objects, bound as one parameter, read as a table `x` by the database.
pub struct JsonRows {
    /// What goes after FROM.
    pub source: String,
    backend: DbBackend,
}

impl JsonRows {
    /// `columns`: each field's name and its PostgreSQL type (SQLite reads the JSON types).
    pub fn new(backend: DbBackend, placeholder: String, columns: &[(&str, &str)]) -> JsonRows {
        let source = if backend == DbBackend::Postgres {
            let typed: Vec<String> = columns.iter().map(|(name, sql_type)| format!("{name} {sql_type}")).collect();
            format!("jsonb_to_recordset({placeholder}::jsonb) AS x({})", typed.join(", "))
        } else {
            format!("json_each({placeholder}) AS x")
        };
        JsonRows { source, backend }
    }

    /// The expression reading one field of the current row.
    pub fn column(&self, name: &str) -> String {
        if self.backend == DbBackend::Postgres { format!("x.{name}") } else { format!("x.value ->> '{name}'") }
    }
}

/// Positional parameters of a hand-written statement, in the backend's placeholder style.
pub struct Params {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Params {
    pub fn new(backend: DbBackend) -> Params {
        Params { backend, values: Vec::new() }
    }

    /// Add a value; returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }

    pub fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}
