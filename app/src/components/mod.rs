//! Pieces shared by several pages.

pub mod job_watch;
mod quota_meter;
mod site_header;
pub mod upload;

pub use self::{quota_meter::QuotaMeter, site_header::SiteHeader};
