//! Typed values on top of any `Store`, serialised compactly with postcard.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Store, StoreError};

/// Serialises values with postcard before handing bytes to the store.
///
/// postcard is compact (no field names) which keeps Redis memory and bandwidth low; the
/// price is that stored types must evolve compatibly (append fields, or change the key
/// namespace). A value that no longer decodes is reported as [`StoreError::Corrupt`].
/// Implemented for every `Store`, including `dyn Store`.
#[async_trait]
pub trait StoreExt: Store {
    /// Serialises and stores `value` (see [`Store::put`]).
    async fn put_value<T: Serialize + Sync>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let bytes = encode(value)?;
        self.put(key, &bytes, ttl).await
    }

    /// Reads and decodes the value under `key` (see [`Store::get`]).
    async fn get_value<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.get(key).await?.map(|b| decode(&b)).transpose()
    }

    /// Atomically takes and decodes the value under `key` (see [`Store::take`]).
    async fn take_value<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.take(key).await?.map(|b| decode(&b)).transpose()
    }

    /// Serialises `value` and stores it if `key` is free (see [`Store::insert_if_absent`]).
    async fn insert_value_if_absent<T: Serialize + Sync>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let bytes = encode(value)?;
        self.insert_if_absent(key, &bytes, ttl).await
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(value).map_err(|e| StoreError::Encode {
        reason: e.to_string(),
    })
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::corrupt(format!("undecodable value: {e}")))
}
