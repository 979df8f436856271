//! Pieces shared by several pages.

mod quota_meter;
mod site_header;

pub use self::{quota_meter::QuotaMeter, site_header::SiteHeader};
