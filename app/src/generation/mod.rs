//! Generation in the browser, one feature: the page with its form and live progress ([`page`]),
//! the server functions it calls ([`server_fns`], the same core functions as the REST API), and
//! the job's event stream ([`watch`]).

pub mod page;
pub mod server_fns;
pub mod watch;

pub use page::GeneratePage;
