//! A JSON body that must be an object: serde also fills a struct from an
//! array (`["text"]`), which the documents never promise.

use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The app's `JsonConfig` (limit, errors as JSON) still applies.
        let body = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            if !value.is_object() {
                return Err(Error::bad_request("invalid JSON body: expected an object").into());
            }
            serde_json::from_value(value)
                .map(JsonObject)
                .map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")).into())
        })
    }
}
