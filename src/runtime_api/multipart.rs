//! Reads a `multipart/form-data` body into a [`Form`], counting bytes as they
//! arrive: a body over the limit is refused at the first chunk past it (a
//! chunked body has no Content-Length for the guard to check up front).

use crate::error::{Error, RequestError, Result};
use crate::messages::{Form, FormPart};
use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::{http::header, web, HttpRequest};
use futures_util::StreamExt;

pub async fn read_form(req: &HttpRequest, body: web::Payload, limit: usize) -> Result<Form> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(Error::new(
            crate::error::Code::InvalidUpload,
            format!(
                "expected a multipart/form-data body, got `{}`",
                if content_type.is_empty() {
                    "no Content-Type"
                } else {
                    content_type
                }
            ),
        ));
    }
    let mut seen = 0usize;
    let counted = body.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > limit {
            Err(PayloadError::Overflow)
        } else {
            Ok(chunk)
        }
    });
    let mut multipart = Multipart::new(req.headers(), counted);
    let mut form = Form::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| rejected(e, limit))?;
        let name = field.name().unwrap_or_default().to_string();
        // `filename`, or RFC 5987's `filename*` (non-ASCII names).
        let filename = field.content_disposition().and_then(|cd| {
            cd.get_filename().map(str::to_owned).or_else(|| {
                cd.get_filename_ext()
                    .map(|ext| String::from_utf8_lossy(&ext.value).into_owned())
            })
        });
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| rejected(e, limit))?);
        }
        form.push(FormPart {
            name,
            filename,
            bytes,
        });
    }
    Ok(form)
}

fn rejected(err: MultipartError, limit: usize) -> Error {
    match err {
        MultipartError::Payload(PayloadError::Overflow) => {
            RequestError::BodyTooLarge { limit: Some(limit) }.into()
        }
        other => Error::new(
            crate::error::Code::InvalidUpload,
            format!("invalid multipart body: {other}"),
        ),
    }
}
