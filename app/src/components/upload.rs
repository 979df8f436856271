//! Uploading an image of one's own from the browser: the chosen file goes to
//! `POST /api/v1/images/upload` as multipart form data with the in-memory access token (server
//! functions do not carry files), and the REST answer comes back as an [`ImageInfo`].

#[cfg(feature = "hydrate")]
use contract::{error::UiError, images::ImageInfo};

/// What an upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// One of my pictures, in the gallery.
    Gallery,
    /// An image for an edit to start from (the canvas's base or mask), out of the gallery.
    Asset,
}

/// Uploads `file` (to `board`, if given) as the holder of `access_token`.
///
/// # Errors
/// [`UiError::Unauthenticated`] for a 401 (so the caller refreshes and retries), the server's
/// message otherwise.
#[cfg(feature = "hydrate")]
pub async fn upload_image(
    access_token: String,
    file: web_sys::Blob,
    name: &str,
    board: Option<contract::ids::BoardId>,
    purpose: Purpose,
) -> Result<ImageInfo, UiError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let failed = |what: &str| UiError::Failed(format!("The upload failed: {what}."));
    let form = web_sys::FormData::new().map_err(|_| failed("no form data"))?;
    form.append_with_blob_and_filename("file", &file, name).map_err(|_| failed("the file"))?;
    if purpose == Purpose::Asset {
        form.append_with_str("purpose", "asset").map_err(|_| failed("the purpose"))?;
    }
    if let Some(board) = board {
        form.append_with_str("board_id", &board.to_string()).map_err(|_| failed("the board"))?;
    }
    let headers = web_sys::Headers::new().map_err(|_| failed("headers"))?;
    headers.set("Authorization", &format!("Bearer {access_token}")).map_err(|_| failed("headers"))?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&form);
    let request = web_sys::Request::new_with_str_and_init("/api/v1/images/upload", &init)
        .map_err(|_| failed("the request"))?;
    let response: web_sys::Response = JsFuture::from(leptos::prelude::window().fetch_with_request(&request))
        .await
        .map_err(|_| {
            UiError::Failed("Could not reach the server. Check your connection and try again.".into())
        })?
        .unchecked_into();
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(|_| failed("the answer"))?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    match status {
        201 => serde_json::from_str(&text).map_err(|_| failed("an answer we did not understand")),
        401 => Err(UiError::Unauthenticated),
        _ => {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("The upload failed (HTTP {status})."));
            Err(UiError::Refused { status, message })
        }
    }
}
