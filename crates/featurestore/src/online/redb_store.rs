//! The embedded online store: one redb file, one table per feature view keyed by entity id.
//! A publish is one write transaction; redb's MVCC gives every reader the last committed
//! snapshot, so readers see the old view until the commit and the new one after it.

use std::path::{Path, PathBuf};

use fsdemo_core::{FeatureRow, FeatureValue};
use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError,
};

use super::{decide, newest_per_entity, Decision, OnlineStore, OnlineStoreError, PublishReport};

/// Version tag of the row encoding, first byte of every stored value.
const ENCODING_V1: u8 = 1;
const TAG_NULL: u8 = 0;
const TAG_INT64: u8 = 1;
const TAG_FLOAT64: u8 = 2;

/// An online store in a redb file (`<workdir>/featurestore/online.redb` by convention).
///
/// Values are stored in a compact binary form: a version byte, the timestamp, then one tag
/// per value (NULL, INT64 or FLOAT64) with its 8 bytes. A NULL stays a NULL.
///
/// Limitation: redb lets one process open the file; a CLI sync while the local service
/// runs must go through the service. A production online store (Bigtable, Redis) is a
/// server that many processes share.
#[derive(Debug)]
pub struct RedbStore {
    path: PathBuf,
    db: Database,
}

impl RedbStore {
    /// Opens the store at `path`, creating the file (and its folder) if missing.
    pub fn open(path: &Path) -> Result<RedbStore, OnlineStoreError> {
        let fail = |message: String| OnlineStoreError::Open { path: path.into(), message };
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|e| fail(format!("cannot create the folder: {e}")))?;
        }

        let db = Database::create(path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => fail(
                "another process (the local service?) has it open; stop it, or sync through \
                 its HTTP API"
                    .into(),
            ),
            other => fail(format!("{other}; delete the file and run a sync to rebuild it")),
        })?;
        tracing::debug!(path = %path.display(), "online store opened");
        Ok(RedbStore { path: path.into(), db })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `read` over the view's table in one read snapshot; an absent table reads as
    /// `None`.
    fn read<T>(
        &self,
        step: &'static str,
        view: &str,
        read: impl FnOnce(&redb::ReadOnlyTable<i64, &[u8]>) -> Result<T, OnlineStoreError>,
    ) -> Result<Option<T>, OnlineStoreError> {
        let txn = self.db.begin_read().map_err(storage(step, view))?;
        match txn.open_table(table(view)) {
            Ok(rows) => read(&rows).map(Some),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(storage(step, view)(e)),
        }
    }
}

impl OnlineStore for RedbStore {
    fn publish(
        &self,
        view: &str,
        rows: Vec<FeatureRow>,
    ) -> Result<PublishReport, OnlineStoreError> {
        let txn = self.db.begin_write().map_err(storage("begin publish to", view))?;
        let mut report = PublishReport::default();

        {
            let mut stored_rows = txn.open_table(table(view)).map_err(storage("open", view))?;
            for row in newest_per_entity(rows) {
                let stored = stored_rows.get(row.entity_id).map_err(storage("read", view))?;
                // A row that cannot be decoded is overwritten rather than blocking the sync.
                let stored =
                    stored.and_then(|bytes| decode(view, row.entity_id, bytes.value()).ok());

                let decision = decide(stored.as_ref(), &row);
                report.count(decision);
                if decision == Decision::Write {
                    let bytes = encode(&row);
                    stored_rows
                        .insert(row.entity_id, bytes.as_slice())
                        .map_err(storage("write", view))?;
                }
            }
        }

        // The commit is the moment readers switch to the new rows.
        if report.written > 0 {
            txn.commit().map_err(storage("commit publish to", view))?;
        } else {
            txn.abort().map_err(storage("abort unchanged publish to", view))?;
        }
        Ok(report)
    }

    fn get(&self, view: &str, entity_id: i64) -> Result<Option<FeatureRow>, OnlineStoreError> {
        let row = self.read("get from", view, |rows| {
            let bytes = rows.get(entity_id).map_err(storage("get from", view))?;
            bytes.map(|bytes| decode(view, entity_id, bytes.value())).transpose()
        })?;
        Ok(row.flatten())
    }

    fn get_many(
        &self,
        view: &str,
        entity_ids: &[i64],
    ) -> Result<Vec<Option<FeatureRow>>, OnlineStoreError> {
        let found = self.read("get from", view, |rows| {
            let mut found = Vec::with_capacity(entity_ids.len());
            for &entity_id in entity_ids {
                let bytes = rows.get(entity_id).map_err(storage("get from", view))?;
                found.push(bytes.map(|bytes| decode(view, entity_id, bytes.value())).transpose()?);
            }
            Ok(found)
        })?;
        Ok(found.unwrap_or_else(|| vec![None; entity_ids.len()]))
    }

    fn count(&self, view: &str) -> Result<u64, OnlineStoreError> {
        let count = self.read("count", view, |rows| rows.len().map_err(storage("count", view)))?;
        Ok(count.unwrap_or(0))
    }

    fn entity_ids(&self, view: &str, limit: usize) -> Result<Vec<i64>, OnlineStoreError> {
        let ids = self.read("list", view, |rows| {
            let mut ids = Vec::new();
            for entry in rows.iter().map_err(storage("list", view))?.take(limit) {
                let (key, _) = entry.map_err(storage("list", view))?;
                ids.push(key.value());
            }
            Ok(ids)
        })?;
        Ok(ids.unwrap_or_default())
    }

    fn clear(&self, view: &str) -> Result<u64, OnlineStoreError> {
        let removed = self.count(view)?;
        let txn = self.db.begin_write().map_err(storage("begin clear of", view))?;
        txn.delete_table(table(view)).map_err(storage("clear", view))?;
        txn.commit().map_err(storage("commit clear of", view))?;
        Ok(removed)
    }
}

/// The table of one feature view, named by the view's full name.
fn table(view: &str) -> TableDefinition<'_, i64, &'static [u8]> {
    TableDefinition::new(view)
}

/// Maps any redb error to [`OnlineStoreError::Storage`] for `step` on `view`.
fn storage<'v, E: std::fmt::Display>(
    step: &'static str,
    view: &'v str,
) -> impl FnOnce(E) -> OnlineStoreError + 'v {
    move |e| OnlineStoreError::Storage { step, view: view.to_string(), message: e.to_string() }
}

/// Encodes a row's timestamp and values (the entity id is the key).
fn encode(row: &FeatureRow) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(13 + 9 * row.values.len());
    bytes.push(ENCODING_V1);
    bytes.extend_from_slice(&row.feature_timestamp.to_le_bytes());
    bytes.extend_from_slice(&(row.values.len() as u32).to_le_bytes());
    for value in &row.values {
        match value {
            None => bytes.push(TAG_NULL),
            Some(FeatureValue::Int64(v)) => {
                bytes.push(TAG_INT64);
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            Some(FeatureValue::Float64(v)) => {
                bytes.push(TAG_FLOAT64);
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    bytes
}

/// Decodes what [`encode`] wrote, refusing anything else.
fn decode(view: &str, entity_id: i64, bytes: &[u8]) -> Result<FeatureRow, OnlineStoreError> {
    let corrupt = |message: &str| OnlineStoreError::Corrupt {
        view: view.into(),
        entity_id,
        message: message.into(),
    };
    let mut reader = Reader { bytes };

    if reader.take::<1>().map(|[v]| v) != Some(ENCODING_V1) {
        return Err(corrupt("unknown encoding version"));
    }
    let feature_timestamp = i64::from_le_bytes(reader.take().ok_or_else(|| corrupt("short"))?);
    let count = u32::from_le_bytes(reader.take().ok_or_else(|| corrupt("short"))?);

    let mut values = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let value = match reader.take::<1>().ok_or_else(|| corrupt("short"))? {
            [TAG_NULL] => None,
            [TAG_INT64] => Some(FeatureValue::Int64(i64::from_le_bytes(
                reader.take().ok_or_else(|| corrupt("short"))?,
            ))),
            [TAG_FLOAT64] => Some(FeatureValue::Float64(f64::from_le_bytes(
                reader.take().ok_or_else(|| corrupt("short"))?,
            ))),
            _ => return Err(corrupt("unknown value tag")),
        };
        values.push(value);
    }
    if !reader.bytes.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(FeatureRow { entity_id, feature_timestamp, values })
}

/// Reads fixed-size pieces off the front of a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_nulls_ints_and_floats() {
        let row = FeatureRow {
            entity_id: 1501,
            feature_timestamp: 1_709_769_600_000_000,
            values: vec![Some(FeatureValue::Int64(-3)), None, Some(FeatureValue::Float64(12.5))],
        };

        let decoded = decode("v", 1501, &encode(&row)).unwrap();

        assert_eq!(decoded, row);
    }

    #[test]
    fn truncated_bytes_are_corrupt_not_a_row() {
        let row = FeatureRow { entity_id: 1, feature_timestamp: 0, values: vec![None, None] };
        let bytes = encode(&row);

        let err = decode("views/v", 1, &bytes[..bytes.len() - 1]).unwrap_err().to_string();

        assert!(err.contains("views/v") && err.contains("entity 1"), "{err}");
    }

    #[test]
    fn second_open_of_the_same_file_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("online.redb");
        let _first = RedbStore::open(&path).unwrap();

        let err = RedbStore::open(&path).unwrap_err().to_string();

        assert!(err.contains("online.redb") && err.contains("another process"), "{err}");
    }
}
