//! The UI's server functions, one file per feature. The types they exchange live in `contract`;
//! on the server each calls the core (`pingvas_core`) through [`call`], as the REST API does.

pub mod account_fns;
pub mod billing_fns;
#[cfg(feature = "ssr")]
pub mod call;
pub mod gallery_fns;
pub mod tenant_fns;
