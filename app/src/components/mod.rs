//! Pieces shared by several pages.

mod site_header;

pub use self::site_header::SiteHeader;
