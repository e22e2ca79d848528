//! A sled tree with string keys and JSON values, so no handler ever
//! assembles bytes by hand.

use super::{FlushGate, Result, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;
use std::marker::PhantomData;

/// A value's stored bytes (shared with sled's cache, not copied).
#[derive(Clone, PartialEq, Eq)]
pub struct RawValue(sled::IVec);

pub struct TypedTree<V> {
    tree: sled::Tree,
    gate: FlushGate,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for TypedTree<V> {
    fn clone(&self) -> Self {
        Self {
            tree: self.tree.clone(),
            gate: self.gate.clone(),
            _value: PhantomData,
        }
    }
}

impl<V: Serialize + DeserializeOwned> TypedTree<V> {
    pub(super) fn new(tree: sled::Tree, gate: FlushGate) -> Self {
        Self {
            tree,
            gate,
            _value: PhantomData,
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<V>> {
        match self.tree.get(key)? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The stored bytes of `key`, not decoded: for a caller that keeps
    /// what it made of them and needs only to know they did not change.
    pub fn get_raw(&self, key: &str) -> Result<Option<RawValue>> {
        Ok(self.tree.get(key)?.map(RawValue))
    }

    /// Decodes bytes read by [`TypedTree::get_raw`].
    pub fn decode(&self, raw: &RawValue) -> Result<V> {
        Ok(serde_json::from_slice(&raw.0)?)
    }

    pub fn insert(&self, key: &str, value: &V) -> Result<()> {
        self.tree.insert(key, serde_json::to_vec(value)?)?;
        Ok(())
    }

    /// Inserts only when the key is absent; `false` when it was present.
    pub fn insert_new(&self, key: &str, value: &V) -> Result<bool> {
        let bytes = serde_json::to_vec(value)?;
        Ok(self
            .tree
            .compare_and_swap(key, None as Option<&[u8]>, Some(bytes))?
            .is_ok())
    }

    /// Inserts only when the key is absent; returns the value that won.
    pub fn get_or_insert(&self, key: &str, value: &V) -> Result<V>
    where
        V: Clone,
    {
        let bytes = serde_json::to_vec(value)?;
        match self
            .tree
            .compare_and_swap(key, None as Option<&[u8]>, Some(bytes))?
        {
            Ok(()) => Ok(value.clone()),
            Err(current) => {
                let existing = current.current.expect("compare failed on a present key");
                Ok(serde_json::from_slice(&existing)?)
            }
        }
    }

    pub fn remove(&self, key: &str) -> Result<Option<V>> {
        match self.tree.remove(key)? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Every value in key order; a decoding or storage error is returned, not
    /// skipped.
    pub fn values(&self) -> Result<Vec<V>> {
        self.tree
            .iter()
            .values()
            .map(|item| Ok(serde_json::from_slice(&item?)?))
            .collect()
    }

    /// Values whose keys start with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &str) -> Result<Vec<V>> {
        self.tree
            .scan_prefix(prefix)
            .values()
            .map(|item| Ok(serde_json::from_slice(&item?)?))
            .collect()
    }

    /// Every (key, value) pair in key order.
    pub fn entries(&self) -> Result<Vec<(String, V)>> {
        self.tree.iter().map(decode).collect()
    }

    /// Keys that start with `prefix`, in order.
    pub fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        self.tree
            .scan_prefix(prefix)
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    pub fn contains_key(&self, key: &str) -> Result<bool> {
        Ok(self.tree.contains_key(key)?)
    }

    /// The last value whose key starts with `prefix`.
    pub fn last_with_prefix(&self, prefix: &str) -> Result<Option<V>> {
        match self.tree.scan_prefix(prefix).next_back() {
            Some(item) => Ok(Some(serde_json::from_slice(&item?.1)?)),
            None => Ok(None),
        }
    }

    /// Up to `limit` values with keys in `start..end`, in key order.
    pub fn range_values(&self, start: &str, end: &str, limit: usize) -> Result<Vec<V>> {
        self.tree
            .range(start.as_bytes()..end.as_bytes())
            .values()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// (key, value) pairs from the last key backwards; stops at the first
    /// storage or decoding error, which it yields.
    pub fn iter_rev(&self) -> impl Iterator<Item = Result<(String, V)>> + '_ {
        self.tree.iter().rev().map(decode)
    }

    /// One page of the values under `prefix`, in key order: skipped keys
    /// are not decoded.
    pub fn page_with_prefix(&self, prefix: &str, offset: usize, limit: usize) -> Result<Vec<V>> {
        self.tree
            .scan_prefix(prefix)
            .values()
            .skip(offset)
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// The first `n` (key, value) pairs under `prefix`, in key order.
    pub fn first_with_prefix(&self, prefix: &str, n: usize) -> Result<Vec<(String, V)>> {
        self.tree.scan_prefix(prefix).take(n).map(decode).collect()
    }

    /// Removes every key that starts with `prefix`, in one batch.
    pub fn remove_prefix(&self, prefix: &str) -> Result<usize> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for key in self.tree.scan_prefix(prefix).keys() {
            batch.remove(key?);
            n += 1;
        }
        self.tree_wide(|| self.tree.apply_batch(batch))?;
        Ok(n)
    }

    /// Retention for keys that grow in age order under a prefix: keeps the
    /// last `keep`, removes the rest; how many went.
    pub fn keep_last_with_prefix(&self, prefix: &str, keep: usize) -> Result<usize> {
        let keys = self.keys_with_prefix(prefix)?;
        let excess = keys.len().saturating_sub(keep);
        let mut batch = sled::Batch::default();
        for key in keys.into_iter().take(excess) {
            batch.remove(key.as_bytes());
        }
        self.tree_wide(|| self.tree.apply_batch(batch))?;
        Ok(excess)
    }

    /// Retention for maps whose value says when an entry was made: removes
    /// entries made before `cutoff` (if given) and the oldest beyond
    /// `keep`. A full scan: call it off the async workers.
    pub fn keep_newest<T: Ord>(
        &self,
        keep: usize,
        cutoff: Option<T>,
        when: impl Fn(&V) -> T,
    ) -> Result<usize> {
        let mut entries: Vec<(String, T)> = self
            .entries()?
            .into_iter()
            .map(|(k, v)| {
                let at = when(&v);
                (k, at)
            })
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1));
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for (i, (key, at)) in entries.iter().enumerate() {
            if i >= keep || cutoff.as_ref().is_some_and(|c| at < c) {
                batch.remove(key.as_bytes());
                removed += 1;
            }
        }
        self.tree_wide(|| self.tree.apply_batch(batch))?;
        Ok(removed)
    }

    /// Runs `change` atomically over this tree and `other`: either every
    /// write of it happens, or none. `change` may run more than once.
    pub fn transaction_with<W, R>(
        &self,
        other: &TypedTree<W>,
        change: impl Fn(Tx<'_, V>, Tx<'_, W>) -> Result<R, TxError>,
    ) -> Result<R>
    where
        W: Serialize + DeserializeOwned,
    {
        self.tree_wide(|| {
            (&self.tree, &other.tree).transaction(|(a, b)| change(Tx::new(a), Tx::new(b)))
        })
        .map_err(|e| match e {
            TransactionError::Abort(e) => StoreError::Transaction(e),
            TransactionError::Storage(e) => StoreError::Sled(e),
        })
    }

    /// Runs a sled write that takes sled's database-wide lock (a batch, a
    /// transaction) after any flush in progress: sled's flush holds that
    /// lock shared through its fsync, so such a write waited for the fsync
    /// with the lock requested, and every read of every bot queued behind
    /// it. Waiting here instead, the reads go on.
    fn tree_wide<T>(&self, write: impl FnOnce() -> T) -> T {
        let _no_flush = self.gate.write();
        write()
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

/// A stored (key, value) pair, decoded.
fn decode<V: DeserializeOwned>(
    item: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<(String, V)> {
    let (k, v) = item?;
    Ok((
        String::from_utf8_lossy(&k).into_owned(),
        serde_json::from_slice(&v)?,
    ))
}

/// Why a transaction's closure stopped: a conflict sled retries, or an error.
pub type TxError = ConflictableTransactionError<String>;

/// One tree inside a transaction, typed like its [`TypedTree`].
pub struct Tx<'a, V> {
    tree: &'a TransactionalTree,
    _value: PhantomData<fn() -> V>,
}

impl<'a, V: Serialize + DeserializeOwned> Tx<'a, V> {
    fn new(tree: &'a TransactionalTree) -> Self {
        Self {
            tree,
            _value: PhantomData,
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<V>, TxError> {
        match self.tree.get(key).map_err(unabortable)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ConflictableTransactionError::Abort(e.to_string())),
            None => Ok(None),
        }
    }

    /// `true` when the key was new.
    pub fn insert(&self, key: &str, value: &V) -> Result<bool, TxError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
        Ok(self.tree.insert(key, bytes).map_err(unabortable)?.is_none())
    }

    /// `true` when there was a value to remove.
    pub fn remove(&self, key: &str) -> Result<bool, TxError> {
        Ok(self.tree.remove(key).map_err(unabortable)?.is_some())
    }
}

fn unabortable(e: UnabortableTransactionError) -> TxError {
    e.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree<V: Serialize + DeserializeOwned>(db: &sled::Db, name: &str) -> TypedTree<V> {
        TypedTree::new(db.open_tree(name).unwrap(), FlushGate::default())
    }

    #[test]
    fn retention_keeps_the_newest_and_the_last_under_a_prefix() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let seen: TypedTree<i64> = tree(&db, "seen");
        for (id, at) in [("a", 1), ("b", 5), ("c", 3), ("d", 9)] {
            seen.insert(id, &at).unwrap();
        }
        // Older than 2 goes; then only the 2 newest stay.
        assert_eq!(seen.keep_newest(2, Some(2), |at| *at).unwrap(), 2);
        let left: Vec<String> = seen.entries().unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(left, ["b", "d"]);

        let turns: TypedTree<u32> = tree(&db, "turns");
        for i in 0..5u32 {
            turns.insert(&format!("s1/{i:03}"), &i).unwrap();
            turns.insert(&format!("s2/{i:03}"), &i).unwrap();
        }
        assert_eq!(turns.keep_last_with_prefix("s1/", 2).unwrap(), 3);
        assert_eq!(turns.scan_prefix("s1/").unwrap(), [3, 4]);
        assert_eq!(turns.scan_prefix("s2/").unwrap().len(), 5);
    }

    #[test]
    fn a_transaction_writes_both_trees_or_neither() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let a: TypedTree<u32> = tree(&db, "a");
        let b: TypedTree<String> = tree(&db, "b");
        a.transaction_with(&b, |a, b| {
            a.insert("k", &1)?;
            b.insert("k", &"one".to_string())
        })
        .unwrap();
        let failed = a.transaction_with(&b, |a, b| {
            a.insert("k2", &2)?;
            b.insert("k2", &"two".to_string())?;
            Err::<(), _>(TxError::Abort("no".into()))
        });
        assert!(matches!(failed, Err(StoreError::Transaction(_))));
        assert_eq!(a.get("k").unwrap(), Some(1));
        assert_eq!(a.get("k2").unwrap(), None);
        assert_eq!(b.get("k2").unwrap(), None);
    }
}
