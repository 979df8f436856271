//! One module per page.

mod account;
mod auth_complete;
mod home;
mod legal;
mod login;
mod not_found;
mod register;
pub mod sign_in_messages;
mod upgrade;

pub use self::{
    account::AccountPage,
    auth_complete::AuthCompletePage,
    home::HomePage,
    legal::{PrivacyPage, TermsPage},
    login::LoginPage,
    not_found::NotFound,
    register::RegisterPage,
    upgrade::UpgradePage,
};
