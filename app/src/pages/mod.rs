//! One module per page.

mod account;
mod admin;
mod auth_complete;
mod billing;
mod email_links;
mod gallery;
mod home;
mod image_detail;
mod legal;
mod login;
mod models;
mod not_found;
mod register;
pub mod sign_in_messages;
mod upgrade;
mod workflows;

pub use self::{
    account::AccountPage,
    admin::AdminPage,
    auth_complete::AuthCompletePage,
    billing::BillingPage,
    email_links::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage},
    gallery::GalleryPage,
    home::{EDIT_SHOWCASE, EditExample, HomePage, SHOWCASE, ShowcaseExample},
    image_detail::ImageDetailPage,
    legal::{PrivacyPage, TermsPage},
    login::LoginPage,
    models::ModelsPage,
    not_found::NotFound,
    register::RegisterPage,
    upgrade::UpgradePage,
    workflows::WorkflowsPage,
};
