//! A sled tree with string keys and JSON values, so no handler ever
//! assembles bytes by hand.

use super::Result;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

pub struct TypedTree<V> {
    tree: sled::Tree,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for TypedTree<V> {
    fn clone(&self) -> Self {
        Self {
            tree: self.tree.clone(),
            _value: PhantomData,
        }
    }
}

impl<V: Serialize + DeserializeOwned> TypedTree<V> {
    pub(super) fn new(tree: sled::Tree) -> Self {
        Self {
            tree,
            _value: PhantomData,
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<V>> {
        match self.tree.get(key)? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
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
        self.tree
            .iter()
            .map(|item| {
                let (k, v) = item?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    serde_json::from_slice(&v)?,
                ))
            })
            .collect()
    }

    /// Keys that start with `prefix`, in order.
    pub fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        self.tree
            .scan_prefix(prefix)
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub fn raw(&self) -> &sled::Tree {
        &self.tree
    }
}
