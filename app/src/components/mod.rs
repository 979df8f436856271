//! Pieces shared by several pages.

mod board_row;
mod payment_banner;
mod quota_meter;
mod site_header;
pub mod upload;
mod verify_banner;

pub use self::{
    board_row::BoardRow, payment_banner::PaymentBanner, quota_meter::QuotaMeter, site_header::SiteHeader,
    verify_banner::VerifyEmailBanner,
};
